"""Token ids of many documents, appended in order, kept in memory or spilled to a temporary file
when there are more than fit comfortably."""

from __future__ import annotations

import tempfile
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

SPILL_TOKENS = 1 << 27  # ids kept in memory before they go to a temporary file (512 MiB of int32)


class IdStream:
    """Token ids of many documents, appended in order, kept in memory or spilled to a temporary file."""

    def __init__(self, spill_tokens: int = SPILL_TOKENS, spill_dir: str | None = None) -> None:
        self.spill_tokens, self.spill_dir = spill_tokens, spill_dir
        self._chunks: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._file: Any = None
        self.n_tokens = 0
        self._ids: np.ndarray | None = None

    def append(self, ids: np.ndarray, lengths: Iterable[int]) -> None:
        """Add the concatenated ids of some documents and their lengths."""
        self._lengths.append(np.asarray(lengths, dtype=np.int64))
        self.n_tokens += len(ids)
        if self._file is None and self.n_tokens > self.spill_tokens:
            self._file = tempfile.NamedTemporaryFile(prefix="mobius-ids-", suffix=".i32", dir=self.spill_dir)
            weakref.finalize(self, self._file.close)
            for chunk in self._chunks:
                chunk.tofile(self._file)
            self._chunks = []
        if self._file is not None:
            np.asarray(ids, dtype=np.int32).tofile(self._file)
        else:
            self._chunks.append(np.asarray(ids, dtype=np.int32))

    def finish(self) -> IdStream:
        """Freeze: every id in one (possibly memory-mapped) int32 array."""
        if self._file is not None:
            self._file.flush()
            self._ids = np.memmap(self._file.name, dtype=np.int32, mode="r", shape=(self.n_tokens,))
        else:
            self._ids = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int32)
            self._chunks = []
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        return self

    @property
    def ids(self) -> np.ndarray:
        """Every id in order (after :meth:`finish`): int32, memory-mapped when spilled."""
        return self._ids

    def counts(self, n: int, block_tokens: int = 1 << 24) -> np.ndarray:
        """How often each id in ``range(n)`` occurs (int64, length ``n``), counted a block at a time:
        ``np.bincount`` casts its input to int64, so one call on every id would copy them all."""
        counts = np.zeros(n, dtype=np.int64)
        for start in range(0, self.n_tokens, block_tokens):
            counts += np.bincount(self._ids[start : start + block_tokens], minlength=n)
        return counts

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    def documents(self, table: np.ndarray, block_tokens: int = 1 << 22) -> Iterator[np.ndarray]:
        """Each document's ids mapped through ``table`` (-1 entries removed), read in blocks."""
        ids, offsets = self._ids, self.offsets
        doc = 0
        while doc < self.n_docs:
            end = int(np.searchsorted(offsets, offsets[doc] + block_tokens, side="right")) - 1
            end = max(end, doc + 1)
            mapped = table[ids[offsets[doc] : offsets[end]]]
            keep = mapped >= 0  # documents are never empty, so every reduceat segment is too
            kept = np.add.reduceat(keep, offsets[doc:end] - offsets[doc], dtype=np.int64)
            yield from np.split(mapped[keep], np.cumsum(kept[:-1]))
            doc = end
