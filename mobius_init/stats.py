"""``CorpusStats``: vocabulary, unigram counts and the co-occurrence matrix of one corpus, with
the matrices derived from it (``D = log(1 + C)``, PPMI) and a versioned ``.npz`` file format."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from .cooccurrence import count_cooccurrence, distance_weights
from .corpus import _is_dataset, normalizer, read_corpus
from .tokenize import UNK, encode, tokenizer_tokens, train_tokenizer
from .vocab import Vocabulary

FORMAT = "mobius-init/corpus-stats"
VERSION = 1
MATRICES = ("C", "D", "ppmi")


def _in_vocabulary(table: np.ndarray, tokenizer_ids: np.ndarray) -> np.ndarray:
    """Map tokenizer ids through ``table`` (from ``Vocabulary.remap``) and drop the unmapped ones."""
    mapped = table[tokenizer_ids]
    return mapped[mapped >= 0]


@dataclass(eq=False)
class CorpusStats:
    """Statistics of a corpus.

    Attributes:
        vocab: ids, token strings and unigram counts (ids in descending frequency by default).
        C: symmetric co-occurrence counts, ``len(vocab)`` x ``len(vocab)`` float64 CSR
            (see :mod:`mobius_init.cooccurrence` for the counting rule).
        window, weighting: the counting settings.
        n_tokens: tokens counted (in the vocabulary); ``n_tokens_raw``: tokens the tokenizer
            produced, before out-of-vocabulary tokens were removed.
        n_docs: documents read. normalize: the text preset used.
        tokenizer: the tokenizer that produced the ids (with the preset's normaliser attached).
    """

    vocab: Vocabulary
    C: sp.csr_matrix
    window: int
    weighting: str
    n_tokens: int
    n_tokens_raw: int
    n_docs: int
    normalize: str = "none"
    tokenizer: Tokenizer | None = None

    def __post_init__(self) -> None:
        v = len(self.vocab)
        if self.C.shape != (v, v):
            raise ValueError(f"co-occurrence matrix has shape {self.C.shape}, vocabulary has {v} ids")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @classmethod
    def from_corpus(
        cls,
        source: Any,
        *,
        tokenizer: str | Tokenizer = "word",
        vocab_size: int | None = None,
        min_count: int = 1,
        max_size: int | None = None,
        window: int = 5,
        weighting: str = "uniform",
        normalize: str = "none",
        markup: bool | str = "auto",
        text_column: str = "text",
        id_order: str | None = None,
        progress: bool = False,
        timings: dict[str, float] | None = None,
    ) -> CorpusStats:
        """Read, tokenize and count ``source`` (any source :func:`read_corpus` takes).

        ``tokenizer``: ``"word"`` (whitespace after normalisation), ``"bpe"`` (trained with
        ``vocab_size`` ids) or an existing ``tokenizers.Tokenizer`` (its ids are kept as they are
        unless ``id_order="frequency"``; :meth:`encode` then applies that tokenizer's own normaliser
        only, so pass ``normalize="none"`` unless the tokenizer normalises the same way). Tokens
        below ``min_count`` or past ``max_size`` are removed before windowing (as word2vec does),
        so windows close over the gap.

        The source is read twice (tokenizer training, then encoding); a one-shot iterator is
        held in memory for that. Token ids are held as int32 (4 bytes per token); counting
        itself streams. ``timings``, if given, receives the seconds of the ``vocabulary`` stage
        (reading, tokenizer, encoding, vocabulary) and of the ``cooccurrence`` stage.
        """
        start = time.perf_counter()
        distance_weights(window, weighting)  # validate before any work
        trained = not isinstance(tokenizer, Tokenizer)
        if vocab_size is not None and tokenizer != "bpe":
            raise ValueError(
                "vocab_size sets the size of a BPE tokenizer to train; for word-level or an existing "
                "tokenizer use max_size"
            )
        order = id_order or ("frequency" if trained else "tokenizer")

        def documents():
            return read_corpus(source, normalize=normalize, markup=markup, text_column=text_column)

        if not trained or isinstance(source, (str, Path, Sequence)) or _is_dataset(source):
            docs = documents
        else:  # a one-shot iterator: keep it for the second pass
            held = list(documents())
            docs = lambda: iter(held)  # noqa: E731
        tok = train_tokenizer(docs(), tokenizer, vocab_size=vocab_size, progress=progress) if trained else tokenizer
        bar = tqdm(docs(), unit="doc", desc="encode", disable=not progress)
        ids = list(encode(tok, bar))
        n_raw = int(sum(len(a) for a in ids))
        if n_raw == 0:
            raise ValueError(f"the corpus is empty: no tokens after {normalize!r} normalisation ({len(ids)} documents)")
        tokens = tokenizer_tokens(tok)
        raw_counts = np.bincount(np.concatenate(ids), minlength=len(tokens))
        exclude = [tok.token_to_id(UNK)] if trained and tokenizer == "word" else []
        vocab = Vocabulary.from_counts(
            tokens, raw_counts, min_count=min_count, max_size=max_size, order=order, exclude=exclude
        )
        if len(vocab) == 0:
            raise ValueError(f"no token occurs at least min_count={min_count} times; lower min_count")
        table = vocab.remap(len(tokens))
        kept = [_in_vocabulary(table, a) for a in ids]
        del ids
        n_tokens = int(sum(len(a) for a in kept))
        counted = time.perf_counter()
        C = count_cooccurrence(kept, len(vocab), window, weighting, progress=progress, total_tokens=n_tokens)
        if timings is not None:
            timings["vocabulary"] = counted - start
            timings["cooccurrence"] = time.perf_counter() - counted
        if trained:
            tok.normalizer = normalizer(normalize)
        return cls(vocab, C, window, weighting, n_tokens, n_raw, len(kept), normalize, tok)

    def encode(self, docs: Iterable[str]) -> Iterator[np.ndarray]:
        """Vocabulary ids (int32) of raw documents, out-of-vocabulary tokens removed: the same ids
        the corpus was counted in (the tokenizer applies the corpus normalisation)."""
        if self.tokenizer is None:
            raise ValueError("these statistics carry no tokenizer, so they cannot encode text")
        table = self.vocab.remap(self.tokenizer.get_vocab_size())
        for ids in encode(self.tokenizer, docs):
            yield _in_vocabulary(table, ids)

    # ----------------------------------------------------------------- derived matrices
    def D(self) -> sp.csr_matrix:
        """``D = log(1 + C)`` (sparse: zero where ``C`` is zero)."""
        D = self.C.copy()
        D.data = np.log1p(D.data)
        return D

    def ppmi(self, cds: float = 0.75) -> sp.csr_matrix:
        """Positive PMI of ``C`` with context-distribution smoothing (Levy, Goldberg & Dagan 2015).

        ``PMI(i, j) = log(C_ij * |C| / (C_i* * c_j))`` with ``c_j = C_*j^cds / sum_k C_*k^cds * |C|``
        (marginals of ``C`` itself); negative values become zero. ``cds=1`` is plain PPMI.
        """
        if not np.isfinite(cds) or cds <= 0:
            raise ValueError(f"cds must be a positive number, got {cds}")
        C = self.C
        total = C.data.sum()
        row = np.asarray(C.sum(axis=1)).ravel()
        ctx = np.asarray(C.sum(axis=0)).ravel() ** cds
        ctx_prob = ctx / ctx.sum()
        rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
        with np.errstate(divide="ignore"):
            pmi = np.log(C.data / total) - np.log(row[rows] / total) - np.log(ctx_prob[C.indices])
        P = sp.csr_matrix((np.maximum(pmi, 0.0), C.indices.copy(), C.indptr.copy()), shape=C.shape)
        P.eliminate_zeros()
        return P

    def matrix(self, which: str = "D", **kwargs: Any) -> sp.csr_matrix:
        """``"C"``, ``"D"`` or ``"ppmi"`` (keyword arguments go to :meth:`ppmi`)."""
        if which not in MATRICES:
            raise ValueError(f"unknown matrix {which!r}; choose one of {', '.join(MATRICES)}")
        return self.C if which == "C" else self.D() if which == "D" else self.ppmi(**kwargs)

    def restrict(self, n: int) -> CorpusStats:
        """The statistics of the ``n`` most frequent ids only (counts between them unchanged)."""
        if not 1 <= n <= self.vocab_size:
            raise ValueError(f"cannot restrict to {n} ids: the vocabulary has {self.vocab_size}")
        keep = self.vocab.top_ids(n)
        C = self.C[keep][:, keep].tocsr()
        C.sort_indices()
        return CorpusStats(
            self.vocab.subset(keep),
            C,
            self.window,
            self.weighting,
            self.n_tokens,
            self.n_tokens_raw,
            self.n_docs,
            self.normalize,
            self.tokenizer,
        )

    def dense(self, which: str = "D", n: int | None = None, **kwargs: Any) -> np.ndarray:
        """A dense float64 copy of :meth:`matrix` over the ``n`` most frequent ids (all if None)."""
        stats = self if n is None else self.restrict(n)
        return stats.matrix(which, **kwargs).toarray()

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write a versioned ``.npz`` (uncompressed) to exactly ``path``; returns it."""
        path = Path(path)
        meta = {
            "window": self.window,
            "weighting": self.weighting,
            "n_tokens": self.n_tokens,
            "n_tokens_raw": self.n_tokens_raw,
            "n_docs": self.n_docs,
            "normalize": self.normalize,
            "tokens": list(self.vocab.tokens),
        }
        with open(path, "wb") as f:
            np.savez(
                f,
                format=np.array(FORMAT),
                version=np.array(VERSION),
                meta=np.array(json.dumps(meta, ensure_ascii=False)),
                tokenizer=np.array(self.tokenizer.to_str() if self.tokenizer is not None else ""),
                counts=self.vocab.counts,
                tokenizer_ids=self.vocab.tokenizer_ids,
                data=self.C.data,
                indices=self.C.indices,
                indptr=self.C.indptr,
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> CorpusStats:
        """Read a file written by :meth:`save`; ``ValueError`` if it is not one, or of another version."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"stats file {str(path)!r} does not exist")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "format" not in z or str(z["format"]) != FORMAT:
                    raise ValueError("it is not a corpus-statistics file")
                version = int(z["version"])
                if version != VERSION:
                    raise ValueError(f"it has format version {version}; this mobius-init reads version {VERSION}")
                meta = json.loads(str(z["meta"]))
                tokenizer_json = str(z["tokenizer"])
                vocab = Vocabulary(tuple(meta["tokens"]), z["counts"], z["tokenizer_ids"])
                v = len(vocab)
                C = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(v, v))
        except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot load {str(path)!r} as mobius-init statistics: {exc}") from exc
        C.has_canonical_format = True
        tok = Tokenizer.from_str(tokenizer_json) if tokenizer_json else None
        return cls(
            vocab,
            C,
            meta["window"],
            meta["weighting"],
            meta["n_tokens"],
            meta["n_tokens_raw"],
            meta["n_docs"],
            meta["normalize"],
            tok,
        )

    def summary(self) -> str:
        """One line: sizes and settings."""
        dropped = self.n_tokens_raw - self.n_tokens
        return (
            f"{self.n_docs:,} documents, {self.n_tokens_raw:,} tokens ({dropped:,} out of vocabulary, removed), "
            f"vocabulary {self.vocab_size:,}, window {self.window} {self.weighting}, "
            f"{self.C.nnz:,} non-zero co-occurrences"
        )
