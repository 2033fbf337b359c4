"""Text sources -> an iterator of documents (``str``), normalised.

A *document* is the unit that co-occurrence windows never cross:

* a plain-text file: one document per non-empty line (gensim's ``LineSentence`` convention);
* a WikiExtractor file (first line starts with ``<doc ``): one document per article, with the
  ``<doc ...>`` / ``</doc>`` markup lines dropped;
* an iterable of strings, a ``datasets`` dataset or a hub dataset: one document per item / row.

Normalisation presets run as plain Python string operations here (the fastest path), and
:func:`normalizer` gives the same preset as a ``tokenizers`` normaliser, which the toolkit attaches to
the tokenizers it trains so that raw text encodes to the same ids (a test pins the equivalence).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from tokenizers import Regex, normalizers

_NON_AZ = re.compile("[^a-z]+")
NORMALIZATIONS: dict[str, Callable[[str], str] | None] = {
    "none": None,
    "lower": str.lower,
    "text8": lambda text: _NON_AZ.sub(" ", text.lower()),
}
BUILTIN = {"lee": "lee_background.cor"}
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def normalizer(preset: str) -> normalizers.Normalizer | None:
    """The ``tokenizers`` normaliser for a preset.

    ``none``: text unchanged. ``lower``: lowercase. ``text8``: lowercase, then every run of
    characters outside ``a-z`` becomes one space (Matt Mahoney's text8 convention, without
    spelling out digits).
    """
    _check_preset(preset)
    if preset == "none":
        return None
    if preset == "lower":
        return normalizers.Lowercase()
    return normalizers.Sequence([normalizers.Lowercase(), normalizers.Replace(Regex("[^a-z]+"), " ")])


def _check_preset(preset: str) -> None:
    if preset not in NORMALIZATIONS:
        raise ValueError(f"unknown normalisation {preset!r}; choose one of {', '.join(NORMALIZATIONS)}")


def builtin_path(name: str) -> Path:
    """Path of a corpus shipped with an installed package (``builtin:lee`` is gensim's Lee corpus)."""
    if name not in BUILTIN:
        raise ValueError(f"unknown built-in corpus {name!r}; available: {', '.join(sorted(BUILTIN))}")
    from gensim.test.utils import datapath

    return Path(datapath(BUILTIN[name]))


def corpus_files(path: Path) -> list[Path]:
    """The readable files of ``path``: itself, or every file below a directory in sorted order."""
    if not path.exists():
        raise FileNotFoundError(f"corpus path {str(path)!r} does not exist")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"corpus directory {str(path)!r} contains no files")
    return files


def _open_text(path: Path) -> io.TextIOBase:
    opener = _OPENERS.get(path.suffix, open)
    try:
        return opener(path, "rt", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise OSError(f"cannot read corpus file {str(path)!r}: {exc.strerror or exc}") from exc


def _file_documents(path: Path, markup: bool | str) -> Iterator[str]:
    with _open_text(path) as f:
        try:
            first = f.readline()
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise OSError(f"cannot read corpus file {str(path)!r}: {exc}") from exc
        wiki = first.startswith("<doc ") if markup == "auto" else bool(markup)
        lines = _chain_first(first, f, path)
        if not wiki:
            for line in lines:
                if line.strip():
                    yield line.rstrip("\n")
            return
        parts: list[str] = []
        for line in lines:
            if line.startswith("<doc "):
                parts = []
            elif line.startswith("</doc>"):
                if parts:
                    yield " ".join(parts)
                parts = []
            elif line.strip():
                parts.append(line.rstrip("\n"))
        if parts:  # an article cut off by the end of the file is kept, not lost
            yield " ".join(parts)


def _chain_first(first: str, rest: Iterable[str], path: Path) -> Iterator[str]:
    yield first
    try:
        yield from rest
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise OSError(f"corpus file {str(path)!r} is truncated or corrupt: {exc}") from exc


def _dataset_documents(dataset: Any, text_column: str) -> Iterator[str]:
    names = getattr(dataset, "column_names", None)
    if names is not None and text_column not in names:
        raise ValueError(f"dataset has no column {text_column!r}; its columns are {names}; pass text_column=")
    for row in dataset:
        yield row[text_column]


def hub_arguments(spec: str) -> tuple[str, str | None, str]:
    """``NAME[/CONFIG][:SPLIT]`` -> ``(path, config, split)`` for ``datasets.load_dataset``.

    ``wikitext/wikitext-2-raw-v1:test`` -> ``("wikitext", "wikitext-2-raw-v1", "test")``;
    an owner-qualified name takes three parts: ``Salesforce/wikitext/wikitext-2-raw-v1``, or
    ``owner/name/`` for no config. The split defaults to ``train``.
    """
    name, _, split = spec.partition(":")
    parts = name.split("/")
    if not name or len(parts) > 3 or not all(parts[:-1]):
        raise ValueError(f"cannot parse hub dataset {spec!r}; expected hf:NAME[/CONFIG][:SPLIT]")
    path = parts[0] if len(parts) < 3 else f"{parts[0]}/{parts[1]}"
    config = parts[-1] if len(parts) > 1 and parts[-1] else None
    return path, config, split or "train"


def _hub_documents(spec: str, text_column: str) -> Iterator[str]:
    import datasets

    path, config, split = hub_arguments(spec)
    return _dataset_documents(datasets.load_dataset(path, config, split=split, streaming=True), text_column)


def _is_dataset(source: Any) -> bool:
    module = type(source).__module__ or ""
    return module.startswith("datasets.")


def _raw_documents(source: Any, markup: bool | str, text_column: str) -> Iterator[str]:
    if isinstance(source, (str, Path)):
        text = str(source)
        if text.startswith("builtin:"):
            yield from _file_documents(builtin_path(text[len("builtin:") :]), markup)
        elif text.startswith("hf:"):
            yield from _hub_documents(text[3:], text_column)
        else:
            for file in corpus_files(Path(text)):
                yield from _file_documents(file, markup)
    elif _is_dataset(source):
        yield from _dataset_documents(source, text_column)
    elif isinstance(source, Iterable):
        for i, doc in enumerate(source):
            if not isinstance(doc, str):
                raise TypeError(f"corpus item {i} is {type(doc).__name__}, expected str")
            yield doc
    else:
        raise TypeError(
            f"cannot read a corpus from {type(source).__name__}: pass a path, 'builtin:lee', 'hf:NAME', "
            "an iterable of str or a datasets.Dataset"
        )


def read_corpus(
    source: Any,
    *,
    normalize: str = "none",
    markup: bool | str = "auto",
    text_column: str = "text",
) -> Iterator[str]:
    """Documents of ``source`` as normalised strings; empty documents are skipped.

    Args:
        source: a file or directory path (plain, ``.gz``, ``.bz2``, ``.xz``); ``"builtin:lee"``;
            ``"hf:NAME[/CONFIG][:SPLIT]"`` (a Hugging Face hub dataset, needs network, e.g.
            ``"hf:wikitext/wikitext-2-raw-v1:train"``); a ``datasets.Dataset`` or
            ``IterableDataset``; or any iterable of ``str``.
        normalize: ``"none"``, ``"lower"`` or ``"text8"`` (see :func:`normalizer`).
        markup: WikiExtractor ``<doc>`` handling for files: ``"auto"`` detects it from a file's
            first line, ``True`` forces it, ``False`` reads every line as text.
        text_column: the column holding text in a ``datasets`` source.
    """
    if markup not in ("auto", True, False):
        raise ValueError(f"markup must be 'auto', True or False, not {markup!r}")
    _check_preset(normalize)
    norm = NORMALIZATIONS[normalize]
    for doc in _raw_documents(source, markup, text_column):
        if norm is not None:
            doc = norm(doc)
        if doc and not doc.isspace():
            yield doc
