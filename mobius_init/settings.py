"""Where settings and their defaults are written once: :func:`setting` fields (a default and a help
text, from which :mod:`mobius_init.options` derives command-line options) and the corpus settings that
every command shares. Model and training settings live beside their code (``MiniGPTConfig`` in
:mod:`minigpt`, ``TrainConfig`` in :mod:`training`); experiment configs compose these, never restate them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cooccurrence import WEIGHTINGS
from .corpus import NORMALIZATIONS


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    choices: Sequence[Any] | None = None,
    factory: Any = dataclasses.MISSING,
    cli: bool = True,
    flag: str | None = None,
) -> Any:
    """A dataclass field with its help text (and allowed values); ``cli=False`` keeps it off the command
    line; ``flag`` names its option when the field's own name would be ambiguous there."""
    metadata = {"help": help, "choices": tuple(choices) if choices else None, "cli": cli, "flag": flag}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class InvalidSetting(ValueError):
    """A setting with a bad value. ``field`` names it, so a command line can name its flag instead."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field} {problem}")


def check_positive(config: Any, *names: str, allow_none: bool = False) -> None:
    """``InvalidSetting`` unless each named field of ``config`` is an integer >= 1 (or None when allowed)."""
    for name in names:
        value = getattr(config, name)
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidSetting(name, f"must be a positive integer, got {value!r}")


@dataclasses.dataclass
class CorpusConfig:
    """How text becomes ids and co-occurrence counts (shared by stats, init, compare, verify, res2vec)."""

    tokenizer: str = setting(
        "word",
        "'word' (whitespace after normalisation), 'bpe' (byte-level BPE trained on "
        "the corpus), or the path of a tokenizer.json file or a directory holding one (its ids are kept)",
    )
    vocab_size: int | None = setting(
        None, "the most ids the vocabulary keeps: word-level, the most frequent words; BPE, the size trained (needed)"
    )
    min_count: int | None = setting(
        None,
        "drop tokens seen fewer times (default: 5 for word-level, as word2vec; "
        "1 for BPE; an existing tokenizer keeps every id)",
    )
    normalize: str | None = setting(
        None,
        "text preset: none, lower, or text8: ASCII letters, lowercased (default: text8 for word-level, none for "
        "BPE and existing tokenizers)",
        choices=NORMALIZATIONS,
    )
    window: int = setting(5, "largest distance counted as co-occurrence")
    weighting: str = setting(
        "uniform",
        "weight of a pair at distance d: uniform 1, harmonic 1/d, linear (window + 1 - d)/window",
        choices=WEIGHTINGS,
    )
    text_column: str = setting("text", "column holding the text of a datasets source")

    def __post_init__(self) -> None:
        check_positive(self, "window")
        check_positive(self, "vocab_size", allow_none=True)
        if self.tokenizer not in ("word", "bpe") and not Path(self.tokenizer).is_file():
            if (Path(self.tokenizer) / "tokenizer.json").is_file():
                self.tokenizer = str(Path(self.tokenizer) / "tokenizer.json")  # a save_pretrained directory
            else:
                raise InvalidSetting(
                    "tokenizer",
                    f"is {self.tokenizer!r}: choose word or bpe (lowercase), or give the path of a tokenizer.json "
                    "file or of a directory holding one (no such file"
                    + (" in it)" if Path(self.tokenizer).is_dir() else ")"),
                )
        if self.tokenizer == "bpe" and self.vocab_size is None:
            raise InvalidSetting("vocab_size", "is required with the bpe tokenizer (the number of ids to train)")
        if self.min_count is not None and (isinstance(self.min_count, bool) or self.min_count < 0):
            raise InvalidSetting("min_count", f"must be >= 0, got {self.min_count!r}")

    def encode_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`mobius_init.encode_corpus`."""
        return {
            "tokenizer": self.tokenizer,
            "vocab_size": self.vocab_size,
            "min_count": self.min_count,
            "normalize": self.normalize,
            "text_column": self.text_column,
        }


def with_values(config: Any, values: dict[str, Any]) -> Any:
    """A copy of ``config`` with fields set by dotted name (``{"model.n_embd": 16}``)."""
    changes: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for dotted, value in values.items():
        head, _, rest = dotted.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            changes[head] = value
    for head, inner in nested.items():
        changes[head] = with_values(getattr(config, head), inner)
    return dataclasses.replace(config, **changes)
