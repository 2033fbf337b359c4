"""``tokenizers`` glue: train a byte-level BPE tokenizer, build the word-level tokenizer that the fast
word encoder is equal to, accept users' own tokenizers, and encode documents in batches."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from .corpus import normalizer

KINDS = ("word", "bpe")
# Splitting on whitespace can never produce a token containing a space, so this unknown-word token
# cannot collide with a corpus word (WikiText, for one, contains the literal word "<unk>").
UNK = "[ UNK ]"
# Exactly the characters Python's str.split() splits on (tokenizers' WhitespaceSplit omits \x1c-\x1f),
# so the word-level tokenizer and the fast word encoder give the same tokens (tested).
PYTHON_WHITESPACE = "[\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"


def tokenizer_file(path: str | Path) -> Path:
    """The ``tokenizer.json`` of ``path``: the file itself, or the one inside a directory (a Hugging Face
    tokenizer saved with ``save_pretrained``); ``ValueError`` saying which is missing."""
    path = Path(path)
    if path.is_dir():
        if (path / "tokenizer.json").is_file():
            return path / "tokenizer.json"
        raise ValueError(
            f"the tokenizer directory {str(path)!r} holds no tokenizer.json (a fast tokenizer's "
            "save_pretrained writes one; slow tokenizers have none)"
        )
    if not path.is_file():
        raise ValueError(
            f"unknown tokenizer {str(path)!r}: choose {' or '.join(KINDS)}, or give the path of a "
            "tokenizer.json file or of a directory holding one (no such file)"
        )
    return path


def as_tokenizer(tokenizer: Any) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` from itself, the path of a ``tokenizer.json`` file, or a
    ``transformers`` fast tokenizer (its backend)."""
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    if isinstance(tokenizer, (str, Path)):
        path = tokenizer_file(tokenizer)
        try:
            return Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
            try:
                parsed = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ValueError(f"cannot read {str(path)!r} as a tokenizers tokenizer.json: {exc}") from None
            keys = ", ".join(sorted(parsed)[:5]) if isinstance(parsed, dict) else type(parsed).__name__
            raise ValueError(
                f"{str(path)!r} is JSON but not a tokenizers tokenizer.json (its keys: {keys or 'none'}; a "
                "tokenizer.json has 'model', 'normalizer', 'pre_tokenizer', ...): save one with tokenizer.save(path)"
            ) from None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if isinstance(backend, Tokenizer):
        return backend
    raise TypeError(
        f"expected 'word', 'bpe', a tokenizer.json path, a tokenizers.Tokenizer or a transformers fast "
        f"tokenizer, got {type(tokenizer).__name__}"
    )


def train_bpe(docs: Iterable[str], vocab_size: int, *, progress: bool = False) -> Tokenizer:
    """A byte-level BPE tokenizer (GPT-2 style) with ``vocab_size`` ids, trained on normalised ``docs``.
    It has no normaliser; attach the corpus preset's (:func:`corpus.normalizer`) before raw text."""
    if vocab_size is None or vocab_size < 257:
        raise ValueError(f"BPE needs vocab_size >= 257 (256 byte symbols + merges), got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=progress
    )
    tokenizer.train_from_iterator(docs, trainer)
    if tokenizer.get_vocab_size() < vocab_size:
        raise ValueError(
            f"the corpus supports only {tokenizer.get_vocab_size()} BPE tokens, fewer than "
            f"vocab_size={vocab_size}; lower vocab_size or use a larger corpus"
        )
    return tokenizer


def word_tokenizer(tokens: Iterable[str], normalize: str) -> Tokenizer:
    """A word-level ``tokenizers.Tokenizer`` over ``tokens`` (ids in that order, then the unknown-word
    id), with the preset's normaliser and Python's whitespace splitting: the same ids as the fast
    word encoder, usable wherever a ``tokenizers`` or ``transformers`` tokenizer is."""
    vocab = {token: i for i, token in enumerate(tokens)}
    vocab[UNK] = len(vocab)
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tokenizer.normalizer = normalizer(normalize)
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(PYTHON_WHITESPACE), behavior="removed")
    return tokenizer


def encode_batches(tokenizer: Tokenizer, docs: Iterable[str], batch_size: int = 256) -> Iterator[np.ndarray]:
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
