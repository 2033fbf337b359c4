"""Windowed co-occurrence counts, streamed over documents of token ids.

``C[a, b]`` sums, over every ordered pair of positions ``(p, q)`` in the same document with
``1 <= |p - q| <= window``, the weight ``w(|p - q|)`` when ``tokens[p] = a`` and ``tokens[q] = b``.
Both directions are counted, so ``C`` is symmetric and a token next to itself adds ``2 w(d)`` to
the diagonal. Weightings of distance ``d``:

* ``uniform``:  1 (the MobiusKernel report's rule);
* ``harmonic``: 1 / d (GloVe, Res2Vec);
* ``linear``:   (window + 1 - d) / window (word2vec's dynamic window, in expectation).

Documents are gathered into chunks of about ``chunk_tokens`` tokens (split at document
boundaries; a longer document is cut into pieces that overlap by ``window`` tokens), each chunk
is reduced to a sparse matrix of forward pairs in a worker thread (NumPy, SciPy and torch release the GIL),
and the partial matrices are merged pairwise, so memory is bounded by the matrix and a few chunks.

**Exact arithmetic.** Weights are scaled to integers by a common denominator (1 for uniform,
``lcm(1..window)`` for harmonic, ``window`` for linear), so every partial sum is an integer held
exactly in float64 (up to 2^53) and the one division at the end rounds once. The result is therefore
bit-identical however the corpus is split: for any number of threads or chunk size, and across
machines (:func:`count_partial` per part, any sum of parts, :func:`finish_counts`; see
:mod:`mobius_init.distributed`). A harmonic window with ``lcm(1..window) > 2^20`` (window > 16) falls
back to float weights, exact only up to summation order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

WEIGHTINGS = ("uniform", "harmonic", "linear")


def distance_weights(window: int, weighting: str = "uniform") -> np.ndarray:
    """Weights (float64, length ``window``) for distances 1..window."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    d = np.arange(1, window + 1, dtype=np.float64)
    if weighting == "uniform":
        return np.ones(window)
    if weighting == "harmonic":
        return 1.0 / d
    if weighting == "linear":
        return (window + 1 - d) / window
    raise ValueError(f"unknown weighting {weighting!r}; choose one of {', '.join(WEIGHTINGS)}")


EXACT_DENOMINATOR_MAX = 2**20


def integer_weights(window: int, weighting: str = "uniform") -> tuple[np.ndarray, float]:
    """``(numerators, denominator)`` with ``numerators / denominator == distance_weights(...)`` and
    integer numerators (as float64), or the float weights and 1.0 when no small denominator exists."""
    weights = distance_weights(window, weighting)
    d = np.arange(1, window + 1)
    if weighting == "uniform":
        return weights, 1.0
    if weighting == "linear":
        return (window + 1 - d).astype(np.float64), float(window)
    denominator = math.lcm(*range(1, window + 1))
    if denominator > EXACT_DENOMINATOR_MAX:
        return weights, 1.0
    return (denominator // d).astype(np.float64), float(denominator)


def _chunks(docs: Iterable[np.ndarray], window: int, chunk_tokens: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Yield ``(tokens, segment, n_start)``: pairs start at positions ``< n_start`` and never
    join positions of different ``segment``."""
    buffer: list[np.ndarray] = []
    size = 0

    def flush() -> tuple[np.ndarray, np.ndarray, int]:
        tokens = np.concatenate(buffer)
        segment = np.repeat(np.arange(len(buffer), dtype=np.int32), [len(b) for b in buffer])
        return tokens, segment, len(tokens)

    for doc in docs:
        if len(doc) < 2:
            continue
        if len(doc) > chunk_tokens:
            if buffer:
                yield flush()
                buffer, size = [], 0
            for start in range(0, len(doc) - 1, chunk_tokens):
                piece = doc[start : start + chunk_tokens + window]
                yield piece, np.zeros(len(piece), dtype=np.int32), min(chunk_tokens, len(piece))
            continue
        buffer.append(doc)
        size += len(doc)
        if size >= chunk_tokens:
            yield flush()
            buffer, size = [], 0
    if buffer:
        yield flush()


DENSE_IDS = 2048  # pairs of two ids below this are summed in a dense block; with ids ranked by count (the
# word tokenizer's), that is about half of a Wikipedia chunk's pairs, which then need no sort


def _forward_pairs(
    tokens: np.ndarray, segment: np.ndarray, n_start: int, weights: np.ndarray, vocab_size: int
) -> sp.csr_matrix:
    """Canonical CSR of forward pairs ``(tokens[p], tokens[p + d])`` weighted by ``weights[d - 1]``.

    Pairs of two ids below :data:`DENSE_IDS` are summed into a dense block by one weighted ``np.bincount``.
    Every other pair becomes one int64 key ``(a * V + b) * window + (d - 1)``; one flat sort (torch's,
    faster than NumPy's here) groups equal pairs (ordered by distance inside a group, so sums are
    deterministic) and ``reduceat`` adds them. With integer weights both sums are exact, so the split
    between them changes no bit.
    """
    window, dense = len(weights), min(DENSE_IDS, vocab_size)
    small_keys, keys = [], []
    for d in range(1, window + 1):
        end = min(n_start, len(tokens) - d)
        if end <= 0:
            break
        same = segment[:end] == segment[d : d + end]
        left, right = tokens[:end][same].astype(np.int64), tokens[d : d + end][same]
        small = (left < dense) & (right < dense)
        small_keys.append(left[small] * dense + right[small])
        keys.append((left[~small] * vocab_size + right[~small]) * window + (d - 1))
    if not keys:
        return sp.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    small_weights = np.repeat(weights[: len(small_keys)], [len(k) for k in small_keys])
    block = np.bincount(np.concatenate(small_keys), small_weights, minlength=dense * dense)
    key = torch.sort(torch.from_numpy(np.concatenate(keys))).values.numpy()
    pair, dist = np.divmod(key, window)
    starts = np.flatnonzero(np.diff(pair, prepend=-1))  # each pair's first key (ids are >= 0)
    in_block = np.flatnonzero(block)
    return _csr(np.divmod(in_block, dense), block[in_block], vocab_size) + _csr(
        np.divmod(pair[starts], vocab_size), np.add.reduceat(weights[dist], starts), vocab_size
    )


def _csr(rows_cols: tuple[np.ndarray, np.ndarray], data: np.ndarray, vocab_size: int) -> sp.csr_matrix:
    """A canonical V x V CSR matrix from entries sorted by (row, column), each pair once."""
    rows, cols = rows_cols
    index = np.int32 if max(vocab_size, len(data)) < 2**31 else np.int64
    indptr = np.zeros(vocab_size + 1, dtype=index)
    np.cumsum(np.bincount(rows, minlength=vocab_size), out=indptr[1:])
    matrix = sp.csr_matrix((data, cols.astype(index), indptr), shape=(vocab_size, vocab_size))
    matrix.has_canonical_format = True
    return matrix


def _check_ids(tokens: np.ndarray, vocab_size: int) -> None:
    if not np.issubdtype(tokens.dtype, np.integer):
        raise TypeError(f"token ids must be integers, got dtype {tokens.dtype}")
    if len(tokens) and (tokens.min() < 0 or tokens.max() >= vocab_size):
        bad = tokens[(tokens < 0) | (tokens >= vocab_size)][0]
        raise ValueError(f"token id {bad} is outside the vocabulary [0, {vocab_size})")


def count_partial(
    docs: Iterable[np.ndarray],
    vocab_size: int,
    window: int = 5,
    weighting: str = "uniform",
    *,
    chunk_tokens: int = 1 << 21,
    workers: int | None = None,
    progress: bool = False,
    total_tokens: int | None = None,
) -> sp.csr_matrix:
    """Forward-pair counts of ``docs`` with integer weights (:func:`integer_weights`), not yet
    symmetrised or divided: the part of the corpus these documents are. Parts add up exactly."""
    numerators, _ = integer_weights(window, weighting)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be an integer >= 1, got {vocab_size!r}")
    vocab_size = int(vocab_size)
    workers = workers or min(os.cpu_count() or 1, 8)
    # Binary-counter merge: stack[k] holds the sum of 2**k chunks, so each count is merged
    # O(log chunks) times and memory stays near that of the final matrix.
    stack: list[tuple[int, sp.csr_matrix]] = []

    def push(matrix: sp.csr_matrix) -> None:
        level = 0
        while stack and stack[-1][0] == level:
            matrix = stack.pop()[1] + matrix
            level += 1
        stack.append((level, matrix))

    def checked(chunks: Iterator[tuple[np.ndarray, np.ndarray, int]]) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        for chunk in chunks:
            _check_ids(chunk[0], vocab_size)
            yield chunk

    bar = tqdm(total=total_tokens, unit="tok", unit_scale=True, desc="co-occurrence", disable=not progress)
    pending: list[tuple[Future, int]] = []
    with ThreadPoolExecutor(workers) as pool, bar:
        for tokens, segment, n_start in checked(_chunks(docs, window, chunk_tokens)):
            pending.append((pool.submit(_forward_pairs, tokens, segment, n_start, numerators, vocab_size), n_start))
            while len(pending) > workers:  # bounded in-flight work, results taken in order
                future, n = pending.pop(0)
                push(future.result())
                bar.update(n)
        for future, n in pending:
            push(future.result())
            bar.update(n)
    forward = sp.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    for _, matrix in reversed(stack):
        forward = matrix + forward
    return forward


def finish_counts(forward: sp.spmatrix, window: int = 5, weighting: str = "uniform") -> sp.csr_matrix:
    """The symmetric co-occurrence matrix from summed :func:`count_partial` parts."""
    _, denominator = integer_weights(window, weighting)
    C = (forward + forward.T).tocsr()
    if denominator != 1.0:
        C.data /= denominator
    C.sort_indices()
    return C


def count_cooccurrence(
    docs: Iterable[np.ndarray],
    vocab_size: int,
    window: int = 5,
    weighting: str = "uniform",
    *,
    chunk_tokens: int = 1 << 21,
    workers: int | None = None,
    progress: bool = False,
    total_tokens: int | None = None,
) -> sp.csr_matrix:
    """Symmetric co-occurrence matrix (``vocab_size`` x ``vocab_size``, float64, canonical CSR).

    Args:
        docs: integer id arrays, one per document; windows never span two documents.
        vocab_size: number of ids; every id must lie in ``[0, vocab_size)``.
        window: largest distance counted (>= 1).
        weighting: ``uniform``, ``harmonic`` or ``linear`` (module docstring).
        chunk_tokens: tokens reduced at once per worker (memory ~ 40 bytes x window x this, and the
            dense block of :data:`DENSE_IDS` squared float64).
        workers: threads (default: the CPU count, at most 8).
        progress: show a tqdm bar in tokens (``total_tokens`` sets its length).
    """
    forward = count_partial(
        docs,
        vocab_size,
        window,
        weighting,
        chunk_tokens=chunk_tokens,
        workers=workers,
        progress=progress,
        total_tokens=total_tokens,
    )
    return finish_counts(forward, window, weighting)
