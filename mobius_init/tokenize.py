"""``tokenizers`` glue: train a word-level or BPE tokenizer on a corpus, encode documents in batches."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterable, Iterator

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

KINDS = ("word", "bpe")
# Whitespace splitting can never produce a token containing a space, so this unknown-word token
# cannot collide with a corpus word (WikiText, for one, contains the literal word "<unk>").
UNK = "[ UNK ]"


def train_tokenizer(
    docs: Iterable[str],
    kind: str = "word",
    *,
    vocab_size: int | None = None,
    progress: bool = False,
) -> Tokenizer:
    """Train a tokenizer on already-normalised ``docs``.

    ``word``: whitespace splitting, one id per distinct word in the corpus (ordered by frequency),
    plus an unknown-word id. ``bpe``: byte-level BPE (GPT-2 style) with ``vocab_size`` ids.
    The tokenizer has no normaliser; give it the corpus preset's (``corpus.normalizer``) before
    using it on raw text.
    """
    if kind == "word":
        counter: collections.Counter[str] = collections.Counter()
        for doc in docs:
            counter.update(doc.split())
        words = sorted(counter, key=lambda w: (-counter[w], w))
        tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate([*words, UNK])}, unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    elif kind == "bpe":
        if vocab_size is None or vocab_size < 257:
            raise ValueError(f"BPE needs vocab_size >= 257 (256 byte symbols + merges), got {vocab_size}")
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=progress,
        )
        tokenizer.train_from_iterator(docs, trainer)
        if tokenizer.get_vocab_size() < vocab_size:
            raise ValueError(
                f"the corpus supports only {tokenizer.get_vocab_size()} BPE tokens, fewer than "
                f"vocab_size={vocab_size}; lower vocab_size or use a larger corpus"
            )
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(KINDS)} or pass a Tokenizer")
    return tokenizer


def encode(tokenizer: Tokenizer, docs: Iterable[str], batch_size: int = 256) -> Iterator[np.ndarray]:
    """Token ids (int32 array) of each document, encoded ``batch_size`` documents at a time
    (``tokenizers`` spreads each batch over the CPU cores)."""
    it = iter(docs)
    while batch := list(itertools.islice(it, batch_size)):
        for encoding in tokenizer.encode_batch_fast(batch, add_special_tokens=False):
            yield np.asarray(encoding.ids, dtype=np.int32)


def tokenizer_tokens(tokenizer: Tokenizer) -> list[str]:
    """The token string of every tokenizer id, by id."""
    tokens = [""] * tokenizer.get_vocab_size()
    for token, i in tokenizer.get_vocab().items():
        tokens[i] = token
    return tokens
