"""``CorpusStats``: the vocabulary, unigram counts and co-occurrence matrix of one corpus, the
matrices derived from it (thin methods over :mod:`mobius_init.matrices`) and a versioned ``.npz`` format."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tokenizers import Tokenizer

from . import matrices
from .cooccurrence import count_cooccurrence, distance_weights
from .encoding import Encoded, encode_corpus, encode_texts
from .vocab import Vocabulary

FORMAT = "mobius-init/corpus-stats"
VERSION = 1
MATRICES = ("C", "D", "ppmi")


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
    def from_encoded(
        cls,
        encoded: Encoded,
        window: int = 5,
        weighting: str = "uniform",
        *,
        workers: int | None = None,
        progress: bool = False,
    ) -> CorpusStats:
        """Count the co-occurrences of an encoded corpus (see :func:`count_cooccurrence`)."""
        if len(encoded.vocab) < 2:
            raise ValueError(
                f"the corpus gives a vocabulary of {len(encoded.vocab)} token ({encoded.vocab.tokens[0]!r}): "
                "co-occurrence statistics need at least 2; use a larger corpus or lower min_count"
            )
        C = count_cooccurrence(
            encoded.documents(),
            len(encoded.vocab),
            window,
            weighting,
            workers=workers,
            progress=progress,
            total_tokens=encoded.n_tokens,
        )
        return cls(
            encoded.vocab,
            C,
            window,
            weighting,
            encoded.n_tokens,
            encoded.n_tokens_raw,
            encoded.n_docs,
            encoded.normalize,
            encoded.tokenizer,
        )

    @classmethod
    def from_corpus(
        cls,
        source: Any,
        *,
        window: int = 5,
        weighting: str = "uniform",
        workers: int | None = None,
        progress: bool = False,
        **encode_options: Any,
    ) -> CorpusStats:
        """:func:`encode_corpus` (``source``, ``encode_options``) then :meth:`from_encoded`."""
        distance_weights(window, weighting)  # bad settings fail before the corpus is read
        encoded = encode_corpus(source, progress=progress, **encode_options)
        return cls.from_encoded(encoded, window, weighting, workers=workers, progress=progress)

    def encode(self, docs: Iterable[str]) -> Iterator[np.ndarray]:
        """Vocabulary ids (int32) of raw documents, out-of-vocabulary tokens removed: the same ids
        the corpus was counted in (the tokenizer applies the corpus normalisation)."""
        if self.tokenizer is None:
            raise ValueError("these statistics carry no tokenizer, so they cannot encode text")
        return encode_texts(self.tokenizer, self.vocab, docs)

    # ----------------------------------------------------------------- derived matrices
    def D(self) -> sp.csr_matrix:
        """``D = log(1 + C)`` (:func:`matrices.log_counts`)."""
        return matrices.log_counts(self.C)

    def ppmi(self, cds: float = 0.75) -> sp.csr_matrix:
        """Positive PMI with context-distribution smoothing (:func:`matrices.ppmi`)."""
        return matrices.ppmi(self.C, cds)

    def mstar_parts(self) -> sp.csr_matrix:
        """The sparse part ``S`` of word2vec's ``M* = S - 2 * 1 1ᵀ`` (:func:`matrices.mstar_parts`)."""
        return matrices.mstar_parts(self.C, self.vocab.counts)

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
        return replace(self, vocab=self.vocab.subset(keep), C=C)

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
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{str(path)!r} is not a mobius-init statistics file (not a complete .npz archive)")
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
