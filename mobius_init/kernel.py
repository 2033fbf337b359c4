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

What the report reads off a trained model (:func:`kernel_quantities`: k0 cosines, circulant score,
cos(W, I), off-diagonal energy) and its candidate formulas for k0 (:func:`candidate_k0s`) live here
too, so the monitor and ``verify`` compute them with the same code.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .spectral import LanczosInfo, clipped_power, lanczos_function, low_rank, matrix_function, spectral_row

GUARD = 1e-10
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


def derive_k0(
    D: np.ndarray | sp.spmatrix,
    epsilon: float = 0.003,
    method: str = "eigh",
    *,
    tol: float = 1e-4,
    max_iter: int = 1000,
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, LanczosInfo]:
    """The derived kernel row ``k0`` (length V, float64).

    ``eigh``: first row of ``Q diag(max(lam, 1e-15)^(eps-1)) Q^T`` (numpy.linalg.eigh).
    ``fft``: ``D_eps = Q diag(max(lam, 1e-15)^eps) Q^T``, ``K = real(IFFT2(FFT2(D_eps) / F))``,
    ``k0 = K[0]`` (the report's FFT variant). ``auto``: the ``eigh`` row computed matrix-free by
    Lanczos on ``e0`` (module docstring, (b)); ``tol`` bounds the change between successive
    iterates, checked every 25 iterations; ``return_info`` also returns a :class:`LanczosInfo`.
    """
    check_square_symmetric(D)
    check_epsilon(epsilon)
    if method not in K0_METHODS:
        raise ValueError(f"unknown k0 method {method!r}; choose one of {', '.join(K0_METHODS)}")
    info = None
    if method == "auto":
        k0, info = lanczos_function(D, lambda lam: clipped_power(lam, epsilon - 1), tol=tol, max_iter=max_iter)
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
        out["eigh"] = spectral_row(Q, clipped_power(lam, epsilon - 1))
    if "fft" in methods:
        out["fft"] = deconvolve(matrix_function(Q, clipped_power(lam, epsilon)), guarded_fft2(Dd))[0]
    return out


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


def convolve(D: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``real(IFFT2(FFT2(D) . FFT2(K)))``: the report's ``W = D (*) K`` (dense V x V)."""
    return np.real(np.fft.ifft2(np.fft.fft2(D) * np.fft.fft2(K)))


def reconstruct_w(D: np.ndarray | sp.spmatrix, k0: np.ndarray) -> np.ndarray:
    """``D (*) circ(k0)`` (dense V x V, the report's formula)."""
    check_square_symmetric(D)
    k0 = _check_k0(k0, D.shape[0])
    return convolve(_dense(D), circulant(k0))


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


# ----------------------------------------------------------------------------- quantities of an embedding
# What the MobiusKernel report reads off a trained model; the monitor and `verify` both compute them here.
KERNEL_QUANTITIES = ("k0_cos_eigh", "k0_cos_fft", "circulant_score", "cos_W_I", "offdiag_energy")


def cos_with_identity(W: np.ndarray) -> float:
    """Frobenius cosine of ``W`` with the identity, ``tr(W) / (||W||_F sqrt(V))`` (1 for ``W = cI``)."""
    total = float(np.sum(W * W))
    return float(np.trace(W) / np.sqrt(total * len(W))) if total > 0 else float("nan")


def offdiag_energy(W: np.ndarray) -> float:
    """Share of ``||W||_F²`` off the diagonal (0 for a diagonal W)."""
    total = float(np.sum(W * W))
    return 1.0 - float(np.sum(np.diag(W) ** 2)) / total if total > 0 else float("nan")


def embedding_kernel(E: np.ndarray, F: np.ndarray) -> np.ndarray:
    """The empirical kernel ``K = real(IFFT2(FFT2(E Eᵀ) / F))`` of an embedding (V x d, F guarded FFT2(D))."""
    return deconvolve(E @ E.T, F)


def kernel_quantities(E: np.ndarray, F: np.ndarray, k0: dict[str, np.ndarray]) -> dict[str, float]:
    """:data:`KERNEL_QUANTITIES` for an embedding ``E`` (V x d, float64): ``W = E Eᵀ``, ``K`` its
    empirical kernel against ``D`` (``F`` = guarded FFT2(D)), ``k0_cos_*`` = cos(K[0], derived k0)
    for ``k0["eigh"]`` and ``k0["fft"]``, the circulant score of K, cos(W, I), off-diagonal energy."""
    W = E @ E.T
    K = deconvolve(W, F)
    return {
        "k0_cos_eigh": cosine(K[0], k0["eigh"]),
        "k0_cos_fft": cosine(K[0], k0["fft"]),
        "circulant_score": circulant_score(K),
        "cos_W_I": cos_with_identity(W),
        "offdiag_energy": offdiag_energy(W),
    }


def eigen_exponent(k0: np.ndarray, lam: np.ndarray, Q: np.ndarray) -> float:
    """Fitted exponent p in ``|q_kᵀ k0| / |q_k[0]| ~ lam_k^p`` over eigenpairs with ``lam_k > 0``
    (``k0 = D^p e0`` gives exactly p)."""
    keep = (lam > 1e-8) & (np.abs(Q[0]) > 1e-8)
    coeff = np.abs(Q.T @ k0)[keep] / np.abs(Q[0, keep])
    ok = coeff > 0
    if ok.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log(lam[keep][ok]), np.log(coeff[ok]), 1)[0])


def candidate_k0s(D: np.ndarray, ppmi: np.ndarray, dim: int, epsilon: float) -> dict[str, tuple[np.ndarray, str]]:
    """The report's 14 candidate formulas for k0, each ``(vector of length V, one-line definition)``.
    The report leaves H6, H7, H9, H10 and H11 vague; these are the readings implemented."""
    V = len(D)
    lam, Q = np.linalg.eigh(D)
    F = guarded_fft2(D)

    def first(M: np.ndarray) -> np.ndarray:  # row 0 of IFFT2(FFT2(M) / FFT2(D))
        return deconvolve(M, F)[0]

    d0_hat = np.fft.fft(D[0])
    lowpass = d0_hat.copy()
    lowpass[V // 8 + 1 : V - V // 8] = 0
    ev = np.sort(lam)[::-1]
    out = {
        "H1": (
            np.real(np.fft.ifft(1 / np.sqrt(np.maximum(np.abs(d0_hat), 1e-10)))),
            "spectral whitening: IFFT(1/sqrt|FFT(D[0])|)",
        ),
        "H2": (np.linalg.norm(D, axis=1), "row energy: ||D_i||_2 for each i"),
        "H3": (-np.log(np.maximum(np.diag(D), 1e-12)), "-log diag(D) (diagonal floored at 1e-12)"),
        "H4": (
            spectral_row(Q, clipped_power(lam, epsilon - 1)),
            f"D^(eps-1) deconvolution, eps = {epsilon}: row 0 of Q diag(lam^(eps-1)) Q^T",
        ),
        "H5": (first(ppmi), "PMI kernel: row 0 of IFFT2(FFT2(PPMI)/FFT2(D)) (PPMI cds 0.75 of the same counts)"),
        "H6": (low_rank(D, dim)[0], f"SVD truncation: row 0 of the rank-{dim} (model dim) SVD of D"),
        "H7": (np.real(np.fft.ifft(lowpass)), "FFT low-pass: D[0] keeping the lowest V/8 frequencies"),
        "H8": (wrapped_diagonal_sums(D) / V, "mean row profile: mean over i of D[i, (i+s) mod V]"),
        "H9": ((D - low_rank(D, dim))[0], f"residual: row 0 of D - rank-{dim} SVD of D"),
        "H10": (
            np.real(np.fft.ifft(np.abs(np.fft.fft(ev - ev.mean())) ** 2)),
            "eigenvalue autocorrelation: circular autocorrelation of D's sorted, centred eigenvalues",
        ),
        "H12": (spectral_row(Q, clipped_power(lam, 0.5)), "power law: row 0 of D^0.5 (eigenvalues clipped at 1e-15)"),
        "H_cI": (dim * np.real(np.fft.ifft2(1 / F))[0], "identity deconvolution: d * row 0 of IFFT2(1/FFT2(D))"),
        "H_logD": (
            first(matrix_function(Q, np.log(np.maximum(lam, 1e-15)))),
            "log-matrix deconvolution: row 0 of IFFT2(FFT2(logm D)/FFT2(D)), logm via clipped eigenvalues",
        ),
    }
    for r in (4, 16, dim):
        out[f"H11 r={r}"] = (
            first(low_rank(ppmi, r)),
            f"SVD-PPMI / D: row 0 of IFFT2(FFT2(rank-{r} SVD of PPMI)/FFT2(D))",
        )
    return out
