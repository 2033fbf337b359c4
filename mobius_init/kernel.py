"""The MobiusKernel formulas, implemented exactly as the report states them, plus scalable forms.

Notation: ``D`` is a symmetric V x V matrix (``log(1 + C)``), ``D = Q diag(lam) Q^T``; ``eps`` in
(0, 1). ``circ(k0)`` is the circulant matrix ``K[i, j] = k0[(j - i) mod V]``. FFT2 divisions use
the report's guard: entries of ``FFT2(D)`` with modulus <= 1e-10 are replaced by 1e-10.

Exact (dense, O(V^3) or O(V^2 log V)): :func:`derive_k0` (``eigh``, ``fft``), :func:`empirical_kernel`,
:func:`circulant_score`, :func:`reconstruct_w`, :func:`embeddings_from_w`.

Scalable, and what the tests prove equal to the exact forms:

(a) ``FFT2(circ(k0))`` is zero off the anti-diagonal, so ``reconstruct_w(D, k0)`` is itself
    circulant with first row ``w = d (*) k0`` (1-D circular convolution), where ``d[s]`` sums ``D``
    along the wrapped diagonal ``j - i = s (mod V)``: :func:`wrapped_diagonal_sums`,
    :func:`reconstruct_w_row` in O(nnz(D) + V log V). Its eigenvectors are the real Fourier basis,
    so :func:`circulant_embeddings` needs no eigensolver.
(b) For ``eps < 1``, clipped eigenvalues (<= 1e-15) are raised to ``eps - 1`` and dominate
    (1e-15^(eps-1) ~ 1e15), so ``derive_k0(method="eigh")`` is, to ~1e-12 relative, the projection
    of ``e0`` on the eigenspace of the non-positive eigenvalues of ``D``.
    :func:`derive_k0` ``method="auto"`` computes ``f(D) e0`` with the same spectral function ``f``
    by Lanczos (sparse mat-vecs only), stopping when successive iterates agree to ``tol``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

GUARD = 1e-10
EIGENVALUE_FLOOR = 1e-15
K0_METHODS = ("eigh", "fft", "auto")


# ----------------------------------------------------------------------------- validation
def check_square_symmetric(D: np.ndarray | sp.spmatrix, name: str = "D", rtol: float = 1e-8) -> None:
    """Raise ``ValueError`` unless ``D`` is square, V >= 2, finite and symmetric."""
    shape = getattr(D, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {shape}")
    if shape[0] < 2:
        raise ValueError(f"{name} must be at least 2 x 2 (V = {shape[0]}): a kernel over one token is meaningless")
    values = D.data if sp.issparse(D) else np.asarray(D)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or Inf")
    asym = abs(D - D.T).max() if sp.issparse(D) else np.abs(D - D.T).max()
    scale = abs(D).max() if sp.issparse(D) else np.abs(D).max()
    if asym > rtol * max(scale, 1e-300):
        raise ValueError(f"{name} must be symmetric (max |{name} - {name}^T| = {asym:.3g})")


def check_epsilon(epsilon: float) -> None:
    if not (np.isfinite(epsilon) and 0 < epsilon < 1):
        raise ValueError(f"epsilon must lie strictly between 0 and 1, got {epsilon}")


def _dense(D: np.ndarray | sp.spmatrix) -> np.ndarray:
    return D.toarray() if sp.issparse(D) else np.asarray(D, dtype=np.float64)


def _check_k0(k0: np.ndarray, V: int) -> np.ndarray:
    k0 = np.asarray(k0, dtype=np.float64)
    if k0.shape != (V,):
        raise ValueError(f"k0 must have shape ({V},) to match D, got {k0.shape}")
    if not np.all(np.isfinite(k0)):
        raise ValueError("k0 contains NaN or Inf")
    return k0


# ----------------------------------------------------------------------------- exact forms
def spectral_function(lam: np.ndarray, power: float) -> np.ndarray:
    """``max(lam, 1e-15) ** power``: the report's clipped eigenvalue power."""
    return np.maximum(lam, EIGENVALUE_FLOOR) ** power


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two arrays (flattened); NaN when either is zero."""
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.ravel(a) @ np.ravel(b) / denominator) if denominator > 0 else float("nan")


def guarded_fft2(D: np.ndarray) -> np.ndarray:
    """``FFT2(D)`` with entries of modulus <= 1e-10 replaced by 1e-10."""
    F = np.fft.fft2(D)
    F[np.abs(F) <= GUARD] = GUARD
    return F


def circulant(k0: np.ndarray) -> np.ndarray:
    """``K[i, j] = k0[(j - i) mod V]`` (dense V x V)."""
    k0 = np.asarray(k0)
    V = len(k0)
    return k0[(np.arange(V)[None, :] - np.arange(V)[:, None]) % V]


@dataclass(frozen=True)
class K0Info:
    """Accuracy report of a matrix-free k0: Lanczos ``iterations``, ``change`` = 1 - cos between
    the last two iterates (the accuracy estimate), and whether it fell below ``tol``."""

    iterations: int
    change: float
    converged: bool


def derive_k0(
    D: np.ndarray | sp.spmatrix,
    epsilon: float = 0.003,
    method: str = "eigh",
    *,
    tol: float = 1e-4,
    max_iter: int = 1000,
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, K0Info]:
    """The derived kernel row ``k0`` (length V, float64).

    ``eigh``: first row of ``Q diag(max(lam, 1e-15)^(eps-1)) Q^T`` (numpy.linalg.eigh).
    ``fft``: ``D_eps = Q diag(max(lam, 1e-15)^eps) Q^T``, ``K = real(IFFT2(FFT2(D_eps) / F))``,
    ``k0 = K[0]`` (the report's FFT variant). ``auto``: the ``eigh`` row computed matrix-free by
    Lanczos on ``e0`` (module docstring, (b)); ``tol`` bounds the change between successive
    iterates, checked every 25 iterations; ``return_info`` also returns a :class:`K0Info`.
    """
    check_square_symmetric(D)
    check_epsilon(epsilon)
    if method not in K0_METHODS:
        raise ValueError(f"unknown k0 method {method!r}; choose one of {', '.join(K0_METHODS)}")
    info = None
    if method == "auto":
        k0, info = _k0_lanczos(D, epsilon, tol, max_iter)
        if not info.converged:
            warnings.warn(
                f"matrix-free k0 did not converge in {info.iterations} iterations "
                f"(last change 1 - cos = {info.change:.2e} > tol {tol:.0e})",
                RuntimeWarning,
                stacklevel=2,
            )
    else:
        k0 = derive_k0_variants(D, epsilon, (method,))[method]
    return (k0, info) if return_info else k0


def derive_k0_variants(
    D: np.ndarray | sp.spmatrix, epsilon: float = 0.003, methods: tuple[str, ...] = ("eigh", "fft")
) -> dict[str, np.ndarray]:
    """The dense ``eigh`` and/or ``fft`` k0 of :func:`derive_k0` from one eigendecomposition of D."""
    check_square_symmetric(D)
    check_epsilon(epsilon)
    unknown = set(methods) - {"eigh", "fft"}
    if unknown:
        raise ValueError(f"dense k0 methods are 'eigh' and 'fft', got {sorted(unknown)}")
    Dd = _dense(D)
    lam, Q = np.linalg.eigh(Dd)
    out = {}
    if "eigh" in methods:
        out["eigh"] = spectral_row(Q, spectral_function(lam, epsilon - 1))
    if "fft" in methods:
        out["fft"] = deconvolve((Q * spectral_function(lam, epsilon)) @ Q.T, guarded_fft2(Dd))[0]
    return out


def spectral_row(Q: np.ndarray, f: np.ndarray) -> np.ndarray:
    """First row of ``Q diag(f) Qᵀ`` (Q: eigenvectors as columns)."""
    return (Q * f) @ Q[0]


def _k0_lanczos(D: np.ndarray | sp.spmatrix, epsilon: float, tol: float, max_iter: int) -> tuple[np.ndarray, K0Info]:
    """``f(D) e0`` with ``f(lam) = max(lam, 1e-15)^(eps-1)`` by Lanczos with full reorthogonalisation:
    ``f(D) e0 ~ V_m f(T_m) e_1``. Deterministic (the start vector is e0)."""
    V = D.shape[0]
    A = D.tocsr() if sp.issparse(D) else np.asarray(D, dtype=np.float64)
    m_max = min(max_iter, V)
    basis = np.zeros((m_max, V))
    alpha = np.zeros(m_max)
    beta = np.zeros(m_max)
    basis[0, 0] = 1.0
    previous, change, m = None, np.inf, 0
    for j in range(m_max):
        w = A @ basis[j]
        alpha[j] = w @ basis[j]
        for _ in range(2):  # full reorthogonalisation, twice is enough
            w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        m = j + 1
        invariant = False
        if m < m_max:
            beta[j] = np.linalg.norm(w)
            invariant = beta[j] <= 1e-12 * max(abs(alpha[: j + 1]).max(), 1.0)
            if not invariant:
                basis[m] = w / beta[j]
        if m % 25 == 0 or invariant or m == m_max:
            coeffs = _lanczos_coefficients(alpha[:m], beta[: m - 1], epsilon)
            if previous is not None:
                padded = np.zeros(m)
                padded[: len(previous)] = previous
                change = 1.0 - abs(coeffs @ padded) / (np.linalg.norm(coeffs) * np.linalg.norm(padded))
            previous = coeffs
            if invariant or m == V or change < tol:
                change = 0.0 if (invariant or m == V) else change
                break
    k0 = basis[:m].T @ previous
    return k0, K0Info(iterations=m, change=float(max(change, 0.0)), converged=bool(change < tol))


def _lanczos_coefficients(alpha: np.ndarray, beta: np.ndarray, epsilon: float) -> np.ndarray:
    """``f(T) e_1`` for the tridiagonal ``T`` with diagonal ``alpha`` and off-diagonal ``beta``."""
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    theta, S = np.linalg.eigh(T)
    return S @ (spectral_function(theta, epsilon - 1) * S[0])


def empirical_kernel(W: np.ndarray, D: np.ndarray | sp.spmatrix) -> np.ndarray:
    """``real(IFFT2(FFT2(W) / F))``, F the guarded ``FFT2(D)`` (dense V x V)."""
    check_square_symmetric(D)
    W = np.asarray(W, dtype=np.float64)
    if W.shape != D.shape:
        raise ValueError(f"W has shape {W.shape} but D has {D.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or Inf")
    return deconvolve(W, guarded_fft2(_dense(D)))


def deconvolve(W: np.ndarray, F: np.ndarray) -> np.ndarray:
    """``real(IFFT2(FFT2(W) / F))`` for a precomputed guarded ``F`` (see :func:`guarded_fft2`).

    W and D are real and the guard treats mirrored entries alike (their moduli agree to rounding),
    so the quotient is Hermitian-symmetric and the half-spectrum transforms give the same result
    at half the cost (tested against the full complex formula).
    """
    half = W.shape[1] // 2 + 1
    return np.fft.irfft2(np.fft.rfft2(W) / F[:, :half], s=W.shape)


def circulant_score(K: np.ndarray) -> float:
    """Median over rows ``i`` of ``cos(K[i, :], roll(K[0, :], i))`` (1.0 for a circulant K)."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be square, got shape {K.shape}")
    V = K.shape[0]
    rolled = K[0][(np.arange(V)[None, :] - np.arange(V)[:, None]) % V]  # row i = roll(K[0], i)
    norms = np.linalg.norm(K, axis=1) * np.linalg.norm(K[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.einsum("ij,ij->i", K, rolled) / norms
    return float(np.median(np.nan_to_num(cos)))


def reconstruct_w(D: np.ndarray | sp.spmatrix, k0: np.ndarray) -> np.ndarray:
    """``real(IFFT2(FFT2(D) . FFT2(circ(k0))))`` (dense V x V, the report's formula)."""
    check_square_symmetric(D)
    k0 = _check_k0(k0, D.shape[0])
    return np.real(np.fft.ifft2(np.fft.fft2(_dense(D)) * np.fft.fft2(circulant(k0))))


def embeddings_from_w(W: np.ndarray, dim: int) -> np.ndarray:
    """``E`` (V x dim) with ``E E^T`` the best rank-``dim`` PSD approximation of ``(W + W^T) / 2``:
    top-``dim`` eigenpairs, negative eigenvalues clipped to 0 (their columns are zero)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    _check_dim(dim, W.shape[0])
    if not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or Inf")
    lam, Q = np.linalg.eigh((W + W.T) / 2)
    top = np.argsort(-lam, kind="stable")[:dim]
    return Q[:, top] * np.sqrt(np.maximum(lam[top], 0.0))


def _check_dim(dim: int, V: int) -> None:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 1 <= dim <= V:
        raise ValueError(f"dim must be an integer in [1, V = {V}], got {dim!r}")


# ----------------------------------------------------------------------------- scalable forms
def wrapped_diagonal_sums(D: np.ndarray | sp.spmatrix) -> np.ndarray:
    """``d[s] = sum_i D[i, (i + s) mod V]`` (length V), in O(nnz(D))."""
    if sp.issparse(D):
        coo = D.tocoo()
        rows, cols, vals = coo.row, coo.col, coo.data
    else:
        D = np.asarray(D, dtype=np.float64)
        rows, cols = np.indices(D.shape).reshape(2, -1)
        vals = D.ravel()
    V = D.shape[0]
    return np.bincount((cols.astype(np.int64) - rows) % V, weights=vals, minlength=V)


def reconstruct_w_row(D: np.ndarray | sp.spmatrix, k0: np.ndarray) -> np.ndarray:
    """First row ``w`` of ``reconstruct_w(D, k0)``, which equals ``circulant(w)``; no V x V array."""
    check_square_symmetric(D)
    k0 = _check_k0(k0, D.shape[0])
    d = wrapped_diagonal_sums(D)
    return np.real(np.fft.ifft(np.fft.fft(d) * np.fft.fft(k0)))


def circulant_embeddings(w: np.ndarray, dim: int) -> np.ndarray:
    """``embeddings_from_w(circulant(w), dim)`` from the real Fourier basis, without an eigensolver.

    ``(circ(w) + circ(w)^T) / 2`` has eigenvalue ``Re(FFT(w))[k]`` on the Fourier modes ``k`` and
    ``V - k``; its real eigenvectors are ``cos(2 pi k n / V)`` and ``sin(2 pi k n / V)`` (scaled to unit
    norm). Eigenvalues are ranked in descending order, ties by ``k`` with cos before sin.
    """
    w = np.asarray(w, dtype=np.float64)
    V = len(w)
    _check_dim(dim, V)
    lam = np.real(np.fft.fft(w))
    lam = (lam + lam[(-np.arange(V)) % V]) / 2  # exactly symmetric in k <-> V - k
    k = np.arange(V // 2 + 1)
    kinds = [(kk, 0) for kk in k] + [(kk, 1) for kk in k if 0 < kk and 2 * kk != V]  # 0: cos, 1: sin
    freq = np.array([kk for kk, _ in kinds])
    sine = np.array([s for _, s in kinds])
    order = np.lexsort((sine, freq, -lam[freq]))[:dim]
    n = np.arange(V)
    angle = 2 * np.pi * ((n[:, None] * freq[order][None, :]) % V) / V
    basis = np.where(sine[order][None, :] == 1, np.sin(angle), np.cos(angle))
    basis /= np.linalg.norm(basis, axis=0)
    return basis * np.sqrt(np.maximum(lam[freq[order]], 0.0))
