"""The vocabulary: token strings, their ids and unigram counts.

Ids run in descending corpus frequency, ties broken by the token string (code-point order), so
the same corpus always gives the same ids. ``order="tokenizer"`` keeps a given tokenizer's own
ids instead (to compute statistics in a model's id space).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ORDERS = ("frequency", "tokenizer")


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """``tokens[i]`` is the string of id ``i``, ``counts[i]`` its number of occurrences in the
    corpus (int64) and ``tokenizer_ids[i]`` its id in the tokenizer that produced it (int64)."""

    tokens: tuple[str, ...]
    counts: np.ndarray
    tokenizer_ids: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.tokens)
        if self.counts.shape != (n,) or self.tokenizer_ids.shape != (n,):
            raise ValueError(
                f"vocabulary arrays disagree: {n} tokens, counts {self.counts.shape}, "
                f"tokenizer_ids {self.tokenizer_ids.shape}"
            )

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    @property
    def _index(self) -> dict[str, int]:
        index = self.__dict__.get("_index_cache")
        if index is None:
            index = {t: i for i, t in enumerate(self.tokens)}
            object.__setattr__(self, "_index_cache", index)
        return index

    def index(self, token: str) -> int:
        """The id of ``token``; ``KeyError`` naming it when it is not in the vocabulary."""
        try:
            return self._index[token]
        except KeyError:
            raise KeyError(f"token {token!r} is not in the vocabulary ({len(self)} tokens)") from None

    def remap(self, n_tokenizer_ids: int) -> np.ndarray:
        """Lookup array (int32, length ``n_tokenizer_ids``): tokenizer id -> vocabulary id, -1 if dropped."""
        table = np.full(n_tokenizer_ids, -1, dtype=np.int32)
        table[self.tokenizer_ids] = np.arange(len(self), dtype=np.int32)
        return table

    def top_ids(self, n: int) -> np.ndarray:
        """Ids of the ``n`` most frequent entries, most frequent first (ties by token string)."""
        return frequency_order(self.tokens, self.counts)[:n]

    def subset(self, ids: np.ndarray) -> Vocabulary:
        """The entries ``ids``, renumbered 0..len(ids)-1 in that order."""
        return Vocabulary(tuple(self.tokens[i] for i in ids), self.counts[ids], self.tokenizer_ids[ids])

    @classmethod
    def from_counts(
        cls,
        tokens: Sequence[str],
        counts: np.ndarray,
        *,
        min_count: int = 1,
        vocab_size: int | None = None,
        order: str = "frequency",
    ) -> Vocabulary:
        """Build from per-tokenizer-id ``tokens`` and ``counts`` (same length).

        ``frequency`` order keeps ids with ``count >= min_count`` (``min_count=0`` keeps tokens that
        never occur, ranked last), at most ``vocab_size`` of them. ``tokenizer``
        order keeps every id as it is, so ``min_count``/``vocab_size`` must be left at their defaults.
        """
        counts = np.asarray(counts, dtype=np.int64)
        if len(tokens) != len(counts):
            raise ValueError(f"{len(tokens)} tokens but {len(counts)} counts")
        if order not in ORDERS:
            raise ValueError(f"unknown id order {order!r}; choose one of {', '.join(ORDERS)}")
        if min_count < 0:
            raise ValueError(f"min_count must be >= 0, got {min_count}")
        if vocab_size is not None and vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        if order == "tokenizer":
            if min_count > 1 or vocab_size is not None:
                raise ValueError("an existing tokenizer's ids are kept as they are; do not set min_count or vocab_size")
            return cls(tuple(tokens), counts, np.arange(len(tokens), dtype=np.int64))
        candidates = np.flatnonzero(counts >= min_count)
        ranked = candidates[frequency_order([tokens[i] for i in candidates], counts[candidates])]
        if vocab_size is not None:
            if vocab_size > len(ranked):
                raise ValueError(
                    f"the corpus has only {len(ranked)} distinct tokens with count >= {min_count}, "
                    f"fewer than vocab_size={vocab_size}; lower vocab_size or min_count, or use a larger corpus"
                )
            ranked = ranked[:vocab_size]
        return cls(tuple(tokens[i] for i in ranked), counts[ranked], ranked.astype(np.int64))


def frequency_order(tokens: Sequence[str], counts: np.ndarray) -> np.ndarray:
    """Indices sorting by descending count, then ascending token string (deterministic)."""
    by_token = np.argsort(np.array(tokens, dtype=object), kind="stable") if len(tokens) else np.zeros(0, int)
    return by_token[np.argsort(-np.asarray(counts)[by_token], kind="stable")]
