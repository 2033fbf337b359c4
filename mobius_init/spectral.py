"""Spectral tools shared by the analytic inits and Res2Vec: randomized truncated SVD of a sparse
matrix, and the top eigenpairs of word2vec's M* matrix without forming it densely.

Sparse x dense products run in torch (CSR, multithreaded); everything is seeded and deterministic.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch


def torch_csr(X: sp.spmatrix, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A ``scipy.sparse`` matrix as a torch sparse CSR tensor."""
    X = X.tocsr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(
            torch.from_numpy(X.indptr.astype(np.int64)),
            torch.from_numpy(X.indices.astype(np.int64)),
            torch.from_numpy(X.data).to(dtype),
            size=X.shape,
        )


def _orthonormal(Y: torch.Tensor) -> torch.Tensor:
    return torch.linalg.qr(Y, mode="reduced").Q


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


def randomized_svd(
    X: sp.spmatrix,
    k: int,
    *,
    n_oversamples: int = 20,
    n_iter: int = 5,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` singular triplets of sparse ``X`` (m x n): ``U`` (m x k), ``S`` (k,), ``Vt`` (k x n).

    Halko, Martinsson & Tropp (2011): a seeded Gaussian sketch of ``k + n_oversamples`` columns,
    ``n_iter`` power iterations with QR re-orthonormalisation, then an exact SVD of the small
    projected matrix. Signs are fixed (:func:`fix_signs`) so the output is unique.
    """
    m, n = X.shape
    if not 1 <= k <= min(m, n):
        raise ValueError(f"k must be in [1, {min(m, n)}] for a {m} x {n} matrix, got {k}")
    width = min(k + n_oversamples, min(m, n))
    A, At = torch_csr(X, dtype), torch_csr(X.T, dtype)
    omega = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, width))).to(dtype)
    Q = _orthonormal(A @ omega)
    for _ in range(n_iter):
        Q = _orthonormal(A @ _orthonormal(At @ Q))
    B = (At @ Q).T  # Q^T A, width x n
    Ub, S, Vt = torch.linalg.svd(B, full_matrices=False)
    U = (Q @ Ub[:, :k]).numpy().astype(np.float64)
    U, Vt = fix_signs(U, Vt[:k].numpy().astype(np.float64), axis_of_components=0)
    return U, S[:k].numpy().astype(np.float64), Vt


def mstar_parts(C: sp.spmatrix, unigram_counts: np.ndarray) -> sp.csr_matrix:
    """The sparse part ``S`` of word2vec's ``M* = S - 2 * 1 1^T`` (Karkada et al. 2025).

    ``M*_ij = (P_ij - P_i P_j) / (0.5 (P_ij + P_i P_j))`` with ``P_ij = C_ij / sum(C)`` and
    ``P_i = count_i / sum(count)``. Where ``P_ij = 0`` the entry is exactly -2, so
    ``S_ij = M*_ij + 2 = 4 P_ij / (P_ij + P_i P_j)`` on the non-zeros of ``C`` and 0 elsewhere.
    """
    C = C.tocsr()
    counts = np.asarray(unigram_counts, dtype=np.float64)
    if counts.shape != (C.shape[0],) or C.shape[0] != C.shape[1]:
        raise ValueError(f"C has shape {C.shape} but there are {counts.shape} unigram counts")
    if counts.sum() <= 0 or C.data.sum() <= 0:
        raise ValueError("M* needs non-zero co-occurrence and unigram counts")
    p = counts / counts.sum()
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    pij = C.data / C.data.sum()
    indep = p[rows] * p[C.indices]
    S = sp.csr_matrix((4.0 * pij / (pij + indep), C.indices.copy(), C.indptr.copy()), shape=C.shape)
    S.eliminate_zeros()
    return S


def mstar_dense(C: sp.spmatrix, unigram_counts: np.ndarray) -> np.ndarray:
    """The dense ``M*`` (for tests and small V only)."""
    return mstar_parts(C, unigram_counts).toarray() - 2.0


def mstar_eigenpairs(
    C: sp.spmatrix, unigram_counts: np.ndarray, k: int, *, seed: int = 0, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (largest algebraic) eigenpairs of ``M*`` by Lanczos (ARPACK) on ``S - 2 * 1 1^T``
    with sparse mat-vecs only; eigenvalues descending, eigenvector signs fixed."""
    S = mstar_parts(C, unigram_counts)
    V = S.shape[0]
    if not 1 <= k < V:
        raise ValueError(f"k must be in [1, {V - 1}] for M* of size {V}, got {k}")
    S_t = torch_csr(S, torch.float64)

    def matmat(x: np.ndarray) -> np.ndarray:
        x2 = x.reshape(V, -1)
        y = (S_t @ torch.from_numpy(np.ascontiguousarray(x2, dtype=np.float64))).numpy()
        y -= 2.0 * x2.sum(axis=0, keepdims=True)
        return y.reshape(x.shape)

    op = spla.LinearOperator((V, V), matvec=matmat, matmat=matmat, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(V)
    vals, vecs = spla.eigsh(op, k=k, which="LA", v0=v0, tol=tol)
    order = np.argsort(-vals, kind="stable")
    (vecs,) = fix_signs(vecs[:, order])
    return vals[order], vecs
