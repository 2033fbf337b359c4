"""The baseline a user would otherwise pick: gensim's word2vec, fed the same text the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mobius_init.corpus import TEXT8_BYTES, raw_documents

MAX_SENTENCE = 10_000  # gensim silently truncates longer "sentences"


def word2vec_sentences(source: Any, min_doc_tokens: int = 1) -> list[list[str]]:
    """``source``'s documents as text8 word lists (the toolkit's fast path: bytes -> text8 -> split, one
    decode per document), documents shorter than ``min_doc_tokens`` left out, longer ones cut into
    pieces of at most 10,000 words."""
    sentences = []
    for doc in raw_documents(source):
        raw = doc if isinstance(doc, bytes) else doc.encode("utf-8", "replace")
        words = raw.translate(TEXT8_BYTES).decode("ascii").split()
        if len(words) >= min_doc_tokens:
            sentences.extend(words[i : i + MAX_SENTENCE] for i in range(0, len(words), MAX_SENTENCE))
    return sentences


def train_word2vec(
    sentences: list[list[str]],
    *,
    sg: bool = True,
    vector_size: int = 300,
    window: int = 5,
    min_count: int = 5,
    negative: int = 5,
    epochs: int = 5,
    sample: float = 1e-3,
    workers: int = 2,
    seed: int = 0,
    vocabulary: tuple[Sequence[str], Sequence[int]] | None = None,
) -> Any:
    """gensim ``Word2Vec`` (skip-gram or CBOW); ``vocabulary`` (words and counts) fixes its vocabulary
    exactly instead of ``min_count``. Returns its ``KeyedVectors``."""
    from gensim.models import Word2Vec

    model = Word2Vec(
        sg=int(sg),
        vector_size=vector_size,
        window=window,
        min_count=min_count,
        negative=negative,
        sample=sample,
        workers=workers,
        seed=seed,
    )
    if vocabulary is None:
        model.build_vocab(sentences)
    else:
        model.build_vocab_from_freq(dict(zip(vocabulary[0], [int(c) for c in vocabulary[1]], strict=True)))
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    return model.wv
