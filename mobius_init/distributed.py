"""Counting beyond one machine: vocabulary and co-occurrence counts of many files on a Dask cluster.

    from dask.distributed import Client
    from mobius_init.distributed import stats_on_dask

    client = Client("tcp://scheduler:8786")          # or LocalCluster() to try it on one machine
    stats = stats_on_dask(["shards/part-000.txt.xz", ...], client, window=2, weighting="linear")

Word-level vocabularies only. Two passes over the files, each file one task: word counts (merged
into the vocabulary on the client), then each file's co-occurrences with that vocabulary. Counting
is exact (:mod:`mobius_init.cooccurrence`), so the result is bit-identical to ``CorpusStats.from_corpus``
on the same files, whatever the number of workers or the order tasks finish. The parts are summed on
the cluster; only the final matrix comes back. The embedding (SVD) stays local.
"""

from __future__ import annotations

import glob
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .cooccurrence import count_partial, distance_weights, finish_counts
from .corpus import check_preset, file_documents
from .encoding import WORD_MIN_COUNT, doc_batches, encode_words
from .stats import CorpusStats
from .tokenization import word_tokenizer
from .vocab import Vocabulary


def expand(files: str | Path | Sequence[str | Path]) -> list[str]:
    """Paths or glob patterns -> existing files (each pattern sorted, in the order given)."""
    items = [files] if isinstance(files, (str, Path)) else list(files)
    out: list[str] = []
    for item in items:
        matched = sorted(glob.glob(str(item))) if any(c in str(item) for c in "*?[") else [str(item)]
        missing = [m for m in matched if not Path(m).is_file()]
        if not matched or missing:
            raise FileNotFoundError(f"no corpus file at {str(item)!r}")
        out += matched
    return out


def _batches(path: str, normalize: str, markup: bool | str) -> Iterator[tuple[list, np.ndarray, list[int]]]:
    for batch in doc_batches(file_documents(Path(path), markup)):
        yield encode_words(batch, normalize)


def file_word_counts(path: str, normalize: str, markup: bool | str = "auto") -> dict[str, int]:
    """Word -> count of one file (a task on a worker)."""
    counts: dict[Any, int] = {}
    for words, ids, _ in _batches(path, normalize, markup):
        for word, count in zip(words, np.bincount(ids, minlength=len(words)).tolist(), strict=True):
            counts[word] = counts.get(word, 0) + count
    return {(w if isinstance(w, str) else w.decode("ascii")): c for w, c in counts.items()}


def file_counts(
    path: str, index: dict[str, int], window: int, weighting: str, normalize: str, markup: bool | str = "auto"
) -> tuple[sp.csr_matrix, int, int, int]:
    """One file's forward-pair counts with the global vocabulary ``index`` (out-of-vocabulary words
    removed before windowing), and its raw tokens, kept tokens and documents (a task on a worker)."""
    lookup = {(w.encode("ascii") if normalize == "text8" else w): i for w, i in index.items()}
    docs: list[np.ndarray] = []
    n_raw = 0
    for words, local_ids, lengths in _batches(path, normalize, markup):
        table = np.fromiter(map(lookup.get, words, itertools.repeat(-1)), dtype=np.int32, count=len(words))
        ids = table[local_ids]
        n_raw += len(ids)
        docs += [d[d >= 0] for d in np.split(ids, np.cumsum(lengths)[:-1])]
    forward = count_partial(docs, len(index), window, weighting, workers=1)
    return forward, n_raw, int(sum(len(d) for d in docs)), len(docs)


def _add(*parts: Any) -> Any:
    return sum(parts[1:], parts[0])


def _matrix(part: tuple) -> sp.csr_matrix:
    return part[0]


def _tallies(part: tuple) -> tuple[int, int, int]:
    return part[1:]


def stats_on_dask(
    files: str | Path | Sequence[str | Path],
    client: Any,
    *,
    min_count: int = WORD_MIN_COUNT,
    vocab_size: int | None = None,
    normalize: str = "text8",
    window: int = 5,
    weighting: str = "uniform",
    markup: bool | str = "auto",
) -> CorpusStats:
    """Word-level :class:`CorpusStats` of ``files`` counted on the Dask ``client``'s cluster; the
    same result as ``CorpusStats.from_corpus(files, ...)`` on one machine (tested on a LocalCluster)."""
    check_preset(normalize)
    distance_weights(window, weighting)
    paths = expand(files)
    vocab_counts: dict[str, int] = {}
    for part in client.gather(client.map(file_word_counts, paths, normalize=normalize, markup=markup, pure=False)):
        for word, count in part.items():
            vocab_counts[word] = vocab_counts.get(word, 0) + count
    if not vocab_counts:
        raise ValueError(f"the corpus is empty: no tokens after {normalize!r} normalisation")
    tokens = list(vocab_counts)
    counted = Vocabulary.from_counts(
        tokens, np.fromiter(vocab_counts.values(), np.int64, len(tokens)), min_count=min_count, vocab_size=vocab_size
    )
    vocab = Vocabulary(counted.tokens, counted.counts, np.arange(len(counted), dtype=np.int64))
    # a list of one, since scatter would spread a dict's items as separate data
    [index] = client.scatter([{t: i for i, t in enumerate(vocab.tokens)}], broadcast=True)
    parts = client.map(
        file_counts,
        paths,
        index=index,
        window=window,
        weighting=weighting,
        normalize=normalize,
        markup=markup,
        pure=False,
    )
    forwards = [client.submit(_matrix, p) for p in parts]
    while len(forwards) > 1:  # pairwise sums on the cluster; exact, so the pairing does not matter
        forwards = [client.submit(_add, *forwards[i : i + 2]) for i in range(0, len(forwards), 2)]
    totals = client.gather([client.submit(_tallies, p) for p in parts])
    C = finish_counts(forwards[0].result(), window, weighting)
    n_raw, n_kept, n_docs = (int(sum(t[i] for t in totals)) for i in range(3))
    return CorpusStats(
        vocab, C, window, weighting, n_kept, n_raw, n_docs, normalize, word_tokenizer(vocab.tokens, normalize)
    )


def dask_client(address: str, timeout: float = 5.0) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address`` (``tcp://host:8786``); ValueError in
    one line when it does not answer within ``timeout`` seconds."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ImportError("--dask needs dask.distributed: pip install 'mobius-init[dask]'") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ValueError(
            f"the Dask scheduler at {address!r} did not answer within {timeout:g} s ({type(exc).__name__}): "
            "start one with 'dask scheduler' and workers with 'dask worker ADDRESS', or check the address"
        ) from None
