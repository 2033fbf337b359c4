"""Matrices derived from co-occurrence counts, as pure functions of sparse ``C`` (V x V, symmetric).

* :func:`log_counts`: the MobiusKernel report's ``D = log(1 + C)``;
* :func:`ppmi`: positive PMI with context-distribution smoothing (Levy, Goldberg & Dagan 2015);
* :func:`mstar_parts` / :func:`mstar_dense`: word2vec's ``M*`` (Karkada, Simon, Bahri & DeWeese 2025).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _row_ids(C: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))


def log_counts(C: sp.spmatrix) -> sp.csr_matrix:
    """``D = log(1 + C)`` (sparse: zero where ``C`` is zero)."""
    D = sp.csr_matrix(C, copy=True)
    D.data = np.log1p(D.data)
    return D


def ppmi(C: sp.spmatrix, cds: float = 0.75, dtype: type = np.float64) -> sp.csr_matrix:
    """``max(PMI, 0)`` on the non-zeros of ``C``.

    ``PMI(i, j) = log(C_ij * |C| / (C_i* * c_j))`` with ``c_j = |C| * C_*j^cds / sum_k C_*k^cds``
    (marginals of ``C`` itself); ``cds=1`` is plain PPMI. Entries that are not positive are dropped.
    """
    if not np.isfinite(cds) or cds <= 0:
        raise ValueError(f"cds must be a positive number, got {cds}")
    C = sp.csr_matrix(C)
    total = C.data.sum()
    row = np.asarray(C.sum(axis=1)).ravel()
    ctx = np.asarray(C.sum(axis=0)).ravel() ** cds
    with np.errstate(divide="ignore"):
        log_row = np.log(row / total)
        log_ctx = np.log(ctx / ctx.sum())
        pmi = np.log(C.data / total) - log_row[_row_ids(C)] - log_ctx[C.indices]
    P = sp.csr_matrix((np.maximum(pmi, 0.0).astype(dtype), C.indices.copy(), C.indptr.copy()), shape=C.shape)
    P.eliminate_zeros()
    return P


def mstar_parts(C: sp.spmatrix, unigram_counts: np.ndarray) -> sp.csr_matrix:
    """The sparse part ``S`` of word2vec's ``M* = S - 2 * 1 1^T``.

    ``M*_ij = (P_ij - P_i P_j) / (0.5 (P_ij + P_i P_j))`` with ``P_ij = C_ij / sum(C)`` and
    ``P_i = count_i / sum(count)``. Where ``P_ij = 0`` the entry is exactly -2, so
    ``S_ij = M*_ij + 2 = 4 P_ij / (P_ij + P_i P_j)`` on the non-zeros of ``C`` and 0 elsewhere.
    """
    C = sp.csr_matrix(C)
    counts = np.asarray(unigram_counts, dtype=np.float64)
    if counts.shape != (C.shape[0],) or C.shape[0] != C.shape[1]:
        raise ValueError(f"C has shape {C.shape} but there are {counts.shape} unigram counts")
    if counts.sum() <= 0 or C.data.sum() <= 0:
        raise ValueError("M* needs non-zero co-occurrence and unigram counts")
    p = counts / counts.sum()
    pij = C.data / C.data.sum()
    independent = p[_row_ids(C)] * p[C.indices]
    S = sp.csr_matrix((4.0 * pij / (pij + independent), C.indices.copy(), C.indptr.copy()), shape=C.shape)
    S.eliminate_zeros()
    return S


MSTAR_SHIFT = -2.0  # M* = mstar_parts + MSTAR_SHIFT * 1 1^T


def mstar_dense(C: sp.spmatrix, unigram_counts: np.ndarray) -> np.ndarray:
    """The dense ``M*`` (for tests and small V only)."""
    return mstar_parts(C, unigram_counts).toarray() + MSTAR_SHIFT
