"""Spectral helpers: matrix functions (dense and matrix-free), eigensolvers and the randomized SVD.

Sparse x dense products run in torch (CSR, multithreaded); everything is seeded and deterministic.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

EIGENVALUE_FLOOR = 1e-15


# ----------------------------------------------------------------------------- matrix functions
def clipped_power(lam: np.ndarray, power: float) -> np.ndarray:
    """``max(lam, 1e-15) ** power``: the MobiusKernel report's clipped eigenvalue power."""
    return np.maximum(lam, EIGENVALUE_FLOOR) ** power


def matrix_function(Q: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``Q diag(f) Qᵀ`` (Q: orthonormal eigenvectors as columns, f: a function of their eigenvalues)."""
    return (Q * f) @ Q.T


def spectral_row(Q: np.ndarray, f: np.ndarray) -> np.ndarray:
    """First row of ``Q diag(f) Qᵀ``, without forming the matrix."""
    return (Q * f) @ Q[0]


def low_rank(M: np.ndarray, r: int) -> np.ndarray:
    """The best rank-``r`` approximation of a dense matrix (truncated SVD)."""
    U, S, Vt = np.linalg.svd(M)
    return (U[:, :r] * S[:r]) @ Vt[:r]


@dataclass(frozen=True)
class LanczosInfo:
    """Accuracy report of :func:`lanczos_function`: ``iterations``, ``change`` = 1 - cos between the
    last two iterates (the accuracy estimate), and whether it fell below ``tol``."""

    iterations: int
    change: float
    converged: bool


def lanczos_function(
    A: np.ndarray | sp.spmatrix,
    f: Callable[[np.ndarray], np.ndarray],
    start: int = 0,
    *,
    tol: float = 1e-4,
    max_iter: int = 1000,
    check_every: int = 25,
) -> tuple[np.ndarray, LanczosInfo]:
    """``f(A) e_start`` for symmetric ``A`` by Lanczos with full reorthogonalisation, matrix-free:
    ``f(A) e ~ V_m f(T_m) e_1``. Stops when iterates ``check_every`` steps apart agree to ``tol``
    (1 - cos), on an invariant subspace, or after ``max_iter``. Deterministic (the start is ``e_start``)."""
    V = A.shape[0]
    A = A.tocsr() if sp.issparse(A) else np.asarray(A, dtype=np.float64)
    m_max = min(max_iter, V)
    basis = np.zeros((m_max, V))
    alpha = np.zeros(m_max)
    beta = np.zeros(m_max)
    basis[0, start] = 1.0
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
        if m % check_every == 0 or invariant or m == m_max:
            T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
            theta, S = np.linalg.eigh(T)
            coeffs = S @ (f(theta) * S[0])
            if previous is not None:
                padded = np.zeros(m)
                padded[: len(previous)] = previous
                change = 1.0 - abs(coeffs @ padded) / (np.linalg.norm(coeffs) * np.linalg.norm(padded))
            previous = coeffs
            if invariant or m == V or change < tol:
                change = 0.0 if (invariant or m == V) else change
                break
    y = basis[:m].T @ previous
    return y, LanczosInfo(iterations=m, change=float(max(change, 0.0)), converged=bool(change < tol))


# ----------------------------------------------------------------------------- sparse products
def torch_csr(X: sp.spmatrix, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A ``scipy.sparse`` matrix as a torch sparse CSR tensor, with int32 indices wherever they fit (the
    same products bit for bit, faster on the CPU: ``benchmarks/bench_svd_sketch.py`` times both), int64
    otherwise."""
    X = X.tocsr()
    index = np.int32 if max(X.nnz, *X.shape) < np.iinfo(np.int32).max else np.int64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(
            torch.from_numpy(X.indptr.astype(index, copy=False)),
            torch.from_numpy(X.indices.astype(index, copy=False)),
            torch.from_numpy(X.data).to(dtype),
            size=X.shape,
        )


PANEL_COLUMNS = 32  # a CSR product reads one row of the dense factor per non-zero: 128-byte rows of a panel
# kept in cache (32 columns of a 250,000-row factor fill 32 MiB) instead of 1.2 KB rows of a 300-column factor


def sparse_matmul(A: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """``A @ Y`` for sparse CSR ``A`` (m x n) and dense ``Y`` (n x w), computed in panels of
    :data:`PANEL_COLUMNS` columns of ``Y``: the same values (each entry's sum runs in the same order),
    a fraction of the memory traffic when ``Y`` is wider than a panel."""
    if Y.shape[1] <= PANEL_COLUMNS:
        return A @ Y
    return torch.cat([A @ Y[:, i : i + PANEL_COLUMNS].contiguous() for i in range(0, Y.shape[1], PANEL_COLUMNS)], 1)


def fix_signs(U: np.ndarray, *others: np.ndarray, axis_of_components: int = 1) -> tuple[np.ndarray, ...]:
    """Flip each component (column of ``U``) so its largest-magnitude entry is positive; apply the
    same flips to ``others`` (rows of ``Vt`` when ``axis_of_components=0``). Makes output unique."""
    pivot = np.abs(U).argmax(axis=0)
    signs = np.sign(U[pivot, np.arange(U.shape[1])])
    signs[signs == 0] = 1
    flipped = [U * signs]
    for M in others:
        flipped.append(M * (signs[:, None] if axis_of_components == 0 else signs))
    return tuple(flipped)


# ----------------------------------------------------------------------------- SVD and eigensolvers
def orthonormal(Y: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of the columns of a tall ``Y`` by Cholesky QR (``Y R⁻¹`` with ``RᵀR = YᵀY``,
    the Gram matrix in float64): the same Q as a QR decomposition, at half its cost. Falls back to QR
    when the Gram matrix is not numerically positive definite."""
    gram = Y.T.double() @ Y.double()
    R, info = torch.linalg.cholesky_ex(gram, upper=True)
    if int(info) != 0:
        return torch.linalg.qr(Y, mode="reduced").Q
    return torch.linalg.solve_triangular(R.to(Y.dtype), Y, upper=True, left=False)


def randomized_svd(
    X: sp.spmatrix,
    k: int,
    *,
    n_oversamples: int = 20,
    n_iter: int = 5,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` singular triplets of sparse ``X`` (m x n): ``U`` (m x k), ``S`` (k,), ``Vt`` (k x n).

    Halko, Martinsson & Tropp (2011): a seeded Gaussian sketch of ``k + n_oversamples`` columns,
    ``n_iter`` power iterations re-orthonormalised after every product (:func:`orthonormal`), then
    the SVD of the small projected matrix ``B = QᵀX`` from the eigendecomposition of ``B Bᵀ`` (float64).
    The sparse products run in torch on ``device`` (CUDA: on the GPU). Signs are fixed
    (:func:`fix_signs`) so the output is unique.
    """
    width = min(k + n_oversamples, min(X.shape))
    if _dense_is_cheaper(X, k, width):
        return _dense_svd(X, k)
    A, At, omega = _sketch_start(X, width, seed, dtype, device)
    Q = orthonormal(sparse_matmul(A, omega))
    for _ in range(n_iter):
        Q = orthonormal(sparse_matmul(A, orthonormal(sparse_matmul(At, Q))))
    return rayleigh_ritz(At, Q, k)


def block_krylov_svd(
    X: sp.spmatrix,
    k: int,
    *,
    block_size: int | None = None,
    n_iter: int = 6,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` singular triplets of sparse ``X`` by randomized block Krylov iteration (Musco & Musco
    2015): a seeded Gaussian block of ``block_size`` columns (default ``k // 2 + 10``), and **every**
    iterate kept, ``[XΩ, (XXᵀ)XΩ, …, (XXᵀ)^n_iter XΩ]`` (each block orthonormalised), then the
    Rayleigh–Ritz step on that whole space of ``block_size * (n_iter + 1)`` columns (orthonormalised once
    more). It reaches a given accuracy ε in O(1/√ε) iterations where the power method needs O(1/ε); a
    block narrower than ``k`` builds the same width from a higher-degree polynomial
    (``benchmarks/bench_svd_sketch.py`` measures both). Same outputs' form as :func:`randomized_svd`; a
    space nearly as wide as the matrix takes the dense path.
    """
    width = krylov_block(k, block_size, n_iter)
    if _dense_is_cheaper(X, k, width * (n_iter + 1)):
        return _dense_svd(X, k)
    A, At, omega = _sketch_start(X, width, seed, dtype, device)
    blocks = [orthonormal(sparse_matmul(A, omega))]
    for _ in range(n_iter):
        blocks.append(orthonormal(sparse_matmul(A, sparse_matmul(At, blocks[-1]))))
    Q = torch.linalg.qr(torch.cat(blocks, dim=1), mode="reduced").Q  # the blocks overlap: Householder, not Cholesky
    return rayleigh_ritz(At, Q, k)


def krylov_block(k: int, block_size: int | None, n_iter: int, *, k_name: str = "k") -> int:
    """Block Krylov's columns per block for ``k`` triplets: ``block_size``, or by default ``k // 2 + 10``.
    Raises ``ValueError`` (naming ``k`` as ``k_name``) when ``n_iter + 1`` blocks cannot hold ``k`` columns."""
    width = k // 2 + 10 if block_size is None else block_size
    if width < 1 or width * (n_iter + 1) < k:
        raise ValueError(f"block_size * (n_iter + 1) must be at least {k_name} = {k}, got {width} * {n_iter + 1}")
    return width


def _dense_is_cheaper(X: sp.spmatrix, k: int, space: int) -> bool:
    """Check ``k`` against ``X``'s shape; True when a sketch space of ``space`` columns is nearly as wide as
    the matrix (:data:`DENSE_FRACTION`), where a dense SVD is cheaper."""
    m, n = X.shape
    if not 1 <= k <= min(m, n):
        raise ValueError(f"k must be in [1, {min(m, n)}] for a {m} x {n} matrix, got {k}")
    return space >= DENSE_FRACTION * min(m, n)


def _sketch_start(
    X: sp.spmatrix, width: int, seed: int, dtype: torch.dtype, device: str | torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``X`` and ``Xᵀ`` as torch CSR on ``device`` and the seeded Gaussian sketch (n x width)."""
    A, At = torch_csr(X, dtype).to(device), torch_csr(X.T, dtype).to(device)
    omega = torch.from_numpy(np.random.default_rng(seed).standard_normal((X.shape[1], width))).to(dtype).to(device)
    return A, At, omega


def rayleigh_ritz(At: torch.Tensor, Q: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top-``k`` triplets of ``X`` within the orthonormal basis ``Q`` (m x w): the SVD of ``B = QᵀX``
    from the eigendecomposition of ``B Bᵀ`` (formed in the sketch's dtype, decomposed in float64); the
    products back to ``U`` and ``Vᵀ`` in the sketch's dtype; signs fixed (:func:`fix_signs`)."""
    B = sparse_matmul(At, Q).T  # QᵀX, w x n
    eigenvalues, Ub = torch.linalg.eigh((B @ B.T).double())
    order = torch.argsort(eigenvalues, descending=True)[:k]
    S = eigenvalues[order].clamp_min(0).sqrt()
    Ub = Ub[:, order]
    Vt = (Ub.T.to(B.dtype) @ B).double() / S.clamp_min(torch.finfo(torch.float64).tiny)[:, None]
    U = (Q @ Ub.to(Q.dtype)).double().cpu().numpy()
    U, Vt = fix_signs(U, Vt.cpu().numpy(), axis_of_components=0)
    return U, S.cpu().numpy(), Vt


DENSE_FRACTION = 0.3  # k + oversampling beyond this share of the smaller side: the dense path is faster
DENSE_WARN_BYTES = 2**30  # a dense path larger than this warns with its size (solvers and monitors alike)


def _dense_warning(shape: tuple[int, int], what: str) -> None:
    size = 8 * shape[0] * shape[1] * 3  # the matrix and two factors of its size, in float64
    if size > DENSE_WARN_BYTES:
        warnings.warn(
            f"{what} of a dense {shape[0]:,} x {shape[1]:,} matrix (about {size / 2**30:.1f} GiB); "
            f"a few minutes on 2 cores at V = 10,000",
            ResourceWarning,
            stacklevel=3,
        )


def _dense_svd(X: sp.spmatrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` singular triplets by LAPACK on the dense matrix (for ``k`` near the matrix's size)."""
    _dense_warning(X.shape, "an exact SVD")
    U, S, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    U, Vt = fix_signs(U[:, :k], Vt[:k], axis_of_components=0)
    return U, S[:k], Vt


def sparse_plus_constant_eigenpairs(
    S: sp.spmatrix, shift: float, k: int, *, seed: int = 0, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (largest algebraic) eigenpairs of the symmetric ``S + shift * 1 1ᵀ`` by Lanczos
    (ARPACK) with sparse mat-vecs only; eigenvalues descending, eigenvector signs fixed."""
    V = S.shape[0]
    if not 1 <= k < V:
        raise ValueError(f"k must be in [1, {V - 1}] for a matrix of size {V}, got {k}")
    if k >= DENSE_FRACTION * V:  # Lanczos for most of the spectrum: the dense eigensolver is faster
        _dense_warning(S.shape, "an exact eigendecomposition")
        vals, vecs = np.linalg.eigh(S.toarray() + shift)
        order = np.argsort(-vals, kind="stable")[:k]
        (vecs,) = fix_signs(vecs[:, order])
        return vals[order], vecs
    S_t = torch_csr(S, torch.float64)

    def matmat(x: np.ndarray) -> np.ndarray:
        x2 = x.reshape(V, -1)
        y = (S_t @ torch.from_numpy(np.ascontiguousarray(x2, dtype=np.float64))).numpy()
        y += shift * x2.sum(axis=0, keepdims=True)
        return y.reshape(x.shape)

    op = spla.LinearOperator((V, V), matvec=matmat, matmat=matmat, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(V)
    vals, vecs = spla.eigsh(op, k=k, which="LA", v0=v0, tol=tol)
    order = np.argsort(-vals, kind="stable")
    (vecs,) = fix_signs(vecs[:, order])
    return vals[order], vecs


def subspace_overlap(A: np.ndarray, B: np.ndarray) -> float:
    """How much of the column space of ``B`` lies in that of ``A`` (both V x k, any scaling): the mean
    squared cosine of their principal angles, ``||Qaᵀ Qb||_F² / k`` (1: the same space; k/V on average
    for a random one)."""
    Qa = np.linalg.qr(np.asarray(A, dtype=np.float64))[0]
    Qb = np.linalg.qr(np.asarray(B, dtype=np.float64))[0]
    return float(np.sum(np.square(Qa.T @ Qb)) / Qb.shape[1])
