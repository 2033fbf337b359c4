"""The encode stage: a text source -> :class:`Encoded`, the corpus as vocabulary ids.

    read/normalise (corpus) -> tokenize -> vocabulary -> encode     (this module)
    Encoded -> count -> CorpusStats                                (cooccurrence, stats)

Word-level corpora take a fast path with one pass over the text and no Python work per token: each
batch of documents (about 4 MiB) is normalised (``text8`` by one ``bytes.translate``), split by
``str``/``bytes`` ``split`` and encoded with C-level dictionary operations to batch-local ids
(:func:`encode_words`; in worker processes for large files), while a background thread reads and
decompresses the next batches; the main process merges each batch's distinct words into provisional
global ids in order of first occurrence (:class:`FirstOccurrence`). Once the whole text is read, the
vocabulary (ids by descending count, ties by token string) is fixed and a lookup table maps
provisional ids to it. BPE and users' own tokenizers go through ``tokenizers`` (a trained BPE holds
the normalised text in memory for its one read). The ids of a large corpus are spilled to a
temporary file, so memory is bound by the vocabulary, not the corpus.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import multiprocessing
import os
import queue
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from .corpus import (
    COMPRESSED_SUFFIXES,
    TEXT8_BYTES,
    check_preset,
    decode,
    normalize_text,
    normalizer,
    raw_documents,
    source_files,
)
from .id_stream import IdStream
from .tokenization import KINDS, as_tokenizer, encode_batches, tokenizer_tokens, train_bpe, word_tokenizer
from .vocab import ORDERS, Vocabulary

WORD_MIN_COUNT = 5  # word2vec's and gensim's default
_BATCH_BYTES = 1 << 22  # text encoded at a time on the word path
PARALLEL_BYTES = 1 << 25  # file sources of this much text are split into words by worker processes
COMPRESSION_RATIO = 4  # text bytes per byte of a .gz/.bz2/.xz file, roughly (English text: 3-4.5 x)


def default_normalize(tokenizer: Any) -> str:
    """``text8`` for word-level vocabularies; ``none`` for BPE and existing tokenizers (case and
    punctuation are part of their vocabulary)."""
    return "text8" if tokenizer == "word" else "none"


def default_min_count(tokenizer: Any) -> int:
    """5 for word-level (word2vec's default); 1 for a trained BPE (ids that never occur get none);
    0 for an existing tokenizer (its ids are kept as they are)."""
    return WORD_MIN_COUNT if tokenizer == "word" else 1 if tokenizer == "bpe" else 0


@dataclass(eq=False)
class Encoded:
    """A corpus as vocabulary ids (the output of :func:`encode_corpus`).

    Attributes:
        vocab: the vocabulary (ids in descending frequency unless an existing tokenizer's ids are kept).
        tokenizer: a ``tokenizers.Tokenizer`` that encodes raw text to the ids it was counted in (the
            preset's normaliser attached; for word-level corpora, one built from the vocabulary).
        normalize: the text preset. n_tokens_raw: tokens before out-of-vocabulary tokens were removed.
    """

    vocab: Vocabulary
    tokenizer: Tokenizer
    normalize: str
    n_tokens_raw: int
    stream: IdStream
    table: np.ndarray  # provisional / tokenizer id -> vocabulary id, -1 when out of vocabulary

    @property
    def n_docs(self) -> int:
        return self.stream.n_docs

    @property
    def n_tokens(self) -> int:
        """Tokens in the vocabulary (those counted and trained on)."""
        return int(self.vocab.counts.sum())

    def documents(self) -> Iterator[np.ndarray]:
        """Each document's vocabulary ids (int32), out-of-vocabulary tokens removed, in corpus order."""
        return self.stream.documents(self.table)

    def ids(self) -> np.ndarray:
        """The whole corpus as one int32 stream of vocabulary ids (documents concatenated)."""
        return np.concatenate(list(self.documents())) if self.n_docs else np.zeros(0, dtype=np.int32)

    def encode(self, docs: Iterable[str]) -> Iterator[np.ndarray]:
        """Vocabulary ids of new raw documents, out-of-vocabulary tokens removed."""
        return encode_texts(self.tokenizer, self.vocab, docs)


def encode_texts(tokenizer: Tokenizer, vocab: Vocabulary, docs: Iterable[str]) -> Iterator[np.ndarray]:
    """Vocabulary ids (int32) of raw documents: the tokenizer (with its normaliser) then the vocabulary's
    lookup table, out-of-vocabulary tokens removed."""
    table = vocab.remap(tokenizer.get_vocab_size())
    for ids in encode_batches(tokenizer, docs):
        mapped = table[ids]
        yield mapped[mapped >= 0]


def prefetch(items: Iterator[Any], depth: int = 256) -> Iterator[Any]:
    """``items``, produced by a background thread up to ``depth`` ahead (reading and decompressing
    release the GIL, so this overlaps them with the consumer's work)."""
    q: queue.Queue = queue.Queue(depth)
    done = object()
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer
            put(exc)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class FirstOccurrence:
    """Global word ids in order of first occurrence, assigned with C-level dict operations."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def merge(self, words: list) -> np.ndarray:
        """The global ids (int32) of ``words``, a batch's distinct words in order of first occurrence; new
        words get the next ids in that order. One C-level ``map`` of ``dict.setdefault`` looks every word
        up and enters each new one at ``known + its position``; the new ones are then renumbered densely."""
        known = len(self.index)
        ids = np.fromiter(map(self.index.setdefault, words, itertools.count(known)), dtype=np.int64, count=len(words))
        new = np.flatnonzero(ids >= known)
        ids[new] = np.arange(known, known + len(new))
        self.index.update(zip(map(words.__getitem__, new.tolist()), range(known, known + len(new)), strict=True))
        return ids.astype(np.int32)


def _words(doc: str | bytes, normalize: str) -> list:
    if normalize == "text8":
        raw = doc if isinstance(doc, bytes) else doc.encode("utf-8", "replace")
        return raw.translate(TEXT8_BYTES).split()
    return normalize_text(decode(doc), normalize).split()


def encode_words(batch: list, normalize: str, min_doc_tokens: int = 1) -> tuple[list, np.ndarray, list[int]]:
    """One batch of raw documents -> its distinct words (in order of first occurrence), every kept word
    as a batch-local id (int32) into them, and each kept document's length (documents with fewer than
    ``min_doc_tokens`` words, or none, are left out). No Python work per word: list ``split`` and
    ``extend`` and one C-level ``map`` of ``dict.setdefault`` (each word's first position, ranked into
    dense ids by ``searchsorted``); batches can go to other processes."""
    words: list = []
    lengths: list[int] = []
    for doc in batch:
        tokens = _words(doc, normalize)
        if len(tokens) >= max(min_doc_tokens, 1):
            words += tokens
            lengths.append(len(tokens))
    first: dict = {}  # word -> position of its first occurrence, in order of first occurrence
    position = np.fromiter(map(first.setdefault, words, itertools.count()), dtype=np.int64, count=len(words))
    starts = np.fromiter(first.values(), dtype=np.int64, count=len(first))  # increasing
    return list(first), np.searchsorted(starts, position).astype(np.int32), lengths


def doc_batches(docs: Iterable[str | bytes], batch_bytes: int | None = None) -> Iterator[list]:
    """Documents grouped into lists of about ``batch_bytes`` (default: 4 MiB) of text."""
    batch_bytes = batch_bytes or _BATCH_BYTES
    batch: list = []
    size = 0
    for doc in docs:
        batch.append(doc)
        size += len(doc)
        if size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _text_bytes(path: Path) -> int:
    """About how many bytes of text a corpus file holds (a compressed file's size times the usual ratio)."""
    size = path.stat().st_size
    return size * COMPRESSION_RATIO if path.suffix in COMPRESSED_SUFFIXES else size


def _pool(workers: int, source: Any) -> Any:
    """A process pool for the word path when it pays: file sources holding 32 MB of text or more
    (:func:`_text_bytes`), fork available."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return contextlib.nullcontext()
    files = source_files(source)
    if files is None or sum(_text_bytes(f) for f in files) < PARALLEL_BYTES:
        return contextlib.nullcontext()
    return multiprocessing.get_context("fork").Pool(workers)


def _check_empty(n_tokens: int, normalize: str) -> None:
    if n_tokens == 0:
        hint = " (text8 keeps ASCII letters only: for other scripts use --normalize none or lower)"
        raise ValueError(
            f"the corpus is empty: no tokens after {normalize!r} normalisation" + (hint if normalize == "text8" else "")
        )


def encode_corpus(
    source: Any,
    *,
    tokenizer: Any = "word",
    vocab_size: int | None = None,
    min_count: int | None = None,
    normalize: str | None = None,
    markup: bool | str = "auto",
    text_column: str = "text",
    id_order: str | None = None,
    min_doc_tokens: int = 1,
    workers: int | None = None,
    progress: bool = False,
    spill_dir: str | None = None,
) -> Encoded:
    """Read, normalise, tokenize and encode ``source`` (anything :func:`read_corpus` reads).

    Args:
        tokenizer: ``"word"`` (whitespace after normalisation), ``"bpe"`` (byte-level BPE trained
            with ``vocab_size`` ids) or an existing ``tokenizers.Tokenizer`` / ``transformers`` fast
            tokenizer (its ids are kept unless ``id_order="frequency"``; it normalises the text itself).
        vocab_size: the most ids the vocabulary may have: for ``word``, the most frequent words kept;
            for ``bpe``, the size trained.
        min_count: tokens seen fewer times are removed (default: :func:`default_min_count`).
            Out-of-vocabulary tokens are removed before windowing, as word2vec does.
        normalize: ``none``, ``lower`` or ``text8`` (default: :func:`default_normalize`).
        markup, text_column: see :func:`read_corpus`.
        min_doc_tokens: word-level only: documents with fewer words are left out entirely (e.g. 500,
            as Karkada et al. keep Wikipedia articles).
        workers: processes that split and encode words (default: the CPU count); used for file
            sources of 32 MB or more. The result does not depend on it.
        progress: a tqdm bar in tokens. spill_dir: where ids of a large corpus are spilled.
    """
    trained = isinstance(tokenizer, str) and tokenizer in KINDS
    tokenizer_kind, tokenizer = (tokenizer, tokenizer) if trained else (None, as_tokenizer(tokenizer))
    normalize, min_count, order = _checked_options(
        tokenizer, trained, vocab_size, min_count, normalize, id_order, min_doc_tokens
    )
    stream = IdStream(spill_dir=spill_dir)
    with tqdm(unit="tok", unit_scale=True, desc="encode", disable=not progress) as bar:
        if tokenizer == "word":
            tokens = _encode_words(stream, bar, source, markup, text_column, normalize, min_doc_tokens, workers)
        else:
            texts = (normalize_text(decode(d), normalize) for d in prefetch(raw_documents(source, markup, text_column)))
            if tokenizer == "bpe":
                texts = list(texts)  # BPE training and encoding read the text twice; the file once
                tokenizer = train_bpe(texts, vocab_size, progress=progress)
            _encode_texts(stream, bar, tokenizer, texts)
            if trained:  # raw text given to encode() later goes through the same preset
                tokenizer.normalizer = normalizer(normalize)
            tokens = tokenizer_tokens(tokenizer)
    stream.finish()
    _check_empty(stream.n_tokens, normalize)
    vocab = _vocabulary(stream, tokens, min_count, vocab_size, order, tokenizer == "word", tokenizer_kind == "bpe")
    table = vocab.remap(len(tokens))
    if tokenizer == "word":
        tokenizer = word_tokenizer(vocab.tokens, normalize)
        vocab = Vocabulary(vocab.tokens, vocab.counts, np.arange(len(vocab), dtype=np.int64))
    return Encoded(vocab, tokenizer, normalize, stream.n_tokens, stream, table)


def _vocabulary(
    stream: IdStream, tokens: list[str], min_count: int, vocab_size: int | None, order: str, word: bool, bpe: bool
) -> Vocabulary:
    """The vocabulary of the encoded ids: tokens seen at least ``min_count`` times (the ``vocab_size`` most
    frequent of them for words), in ``order``; a BPE that trained more ids than occur is warned about."""
    counts = stream.counts(len(tokens))
    vocab = Vocabulary.from_counts(
        tokens, counts, min_count=min_count, vocab_size=vocab_size if word else None, order=order
    )
    if len(vocab) == 0:
        raise ValueError(f"no token occurs at least min_count={min_count} times; lower min_count")
    if bpe and len(vocab) < vocab_size:
        warnings.warn(
            f"BPE trained {vocab_size} ids, but only {len(vocab)} occur at least min_count={min_count} times in the "
            f"corpus: the vocabulary has {len(vocab)} ids (a model for these statistics embeds {len(vocab)})",
            UserWarning,
            stacklevel=3,
        )
    return vocab


def _checked_options(
    tokenizer: Any,
    trained: bool,
    vocab_size: int | None,
    min_count: int | None,
    normalize: str | None,
    id_order: str | None,
    min_doc_tokens: int,
) -> tuple[str, int, str]:
    """:func:`encode_corpus`'s options checked before any text is read: ``(normalize, min_count, id order)``."""
    if not trained:
        if normalize not in (None, "none"):
            raise ValueError("an existing tokenizer normalises text itself: leave normalize at 'none'")
        if vocab_size is not None:
            raise ValueError("vocab_size sets the size of a trained vocabulary; an existing tokenizer has its own")
    if id_order not in (None, *ORDERS) or (tokenizer == "word" and id_order == "tokenizer"):
        raise ValueError(
            f"id_order must be 'frequency' or (for BPE and existing tokenizers) 'tokenizer', got {id_order!r}"
        )
    normalize = default_normalize(tokenizer) if normalize is None else normalize
    check_preset(normalize)
    if tokenizer == "word" and vocab_size is not None and vocab_size < 1:
        raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
    if min_doc_tokens != 1 and tokenizer != "word":
        raise ValueError("min_doc_tokens applies to word-level vocabularies only")
    min_count = default_min_count(tokenizer) if min_count is None else min_count
    return normalize, min_count, id_order or ("frequency" if trained else "tokenizer")


def _encode_texts(stream: IdStream, bar: Any, tokenizer: Any, texts: Iterable[str]) -> None:
    """Subword ids of each text appended to ``stream``, one document each (empty ones left out)."""
    for ids in encode_batches(tokenizer, texts):
        if len(ids):
            stream.append(ids, [len(ids)])
            bar.update(len(ids))


def _encode_words(
    stream: IdStream,
    bar: Any,
    source: Any,
    markup: bool | str,
    text_column: str,
    normalize: str,
    min_doc_tokens: int,
    workers: int | None,
) -> list[str]:
    """Word-level ids of ``source`` appended to ``stream`` (ids in order of first occurrence): the words."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    first = FirstOccurrence()
    work = functools.partial(encode_words, normalize=normalize, min_doc_tokens=min_doc_tokens)
    with _pool(workers, source) as pool:  # forked before the reading thread starts
        batches = doc_batches(prefetch(raw_documents(source, markup, text_column)))
        for words, ids, lengths in pool.imap(work, batches) if pool else map(work, batches):
            stream.append(first.merge(words)[ids], lengths)
            bar.update(len(ids))
    return [t if isinstance(t, str) else t.decode("ascii") for t in first.index]
