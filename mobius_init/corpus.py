"""Text sources -> documents, and the normalisation presets.

A *document* is the unit that co-occurrence windows never cross:

* a plain-text file: one document per non-empty line (gensim's ``LineSentence`` convention);
* a WikiExtractor file (first line is a ``<doc ...>`` tag alone): one document per article, with the
  ``<doc ...>`` / ``</doc>`` markup lines dropped;
* an iterable of strings, a ``datasets`` dataset or a hub dataset: one document per item / row.

Files are read as bytes in large blocks (``.gz``, ``.bz2`` and ``.xz`` decompressed on the fly) and
decoded as UTF-8 with invalid bytes replaced; a file that looks binary is rejected before any work.
:func:`read_corpus` yields normalised ``str`` documents; :func:`raw_documents` yields them un-normalised,
as ``bytes`` for files (the fast path of the word encoder works on bytes) and ``str`` otherwise.

Normalisation presets (:data:`NORMALIZATIONS`) are defined once here, as Python string operations and as
the equivalent ``tokenizers`` normaliser (:func:`normalizer`; a test pins the equivalence):

* ``none``: text unchanged;
* ``lower``: lowercase;
* ``text8``: every run of characters other than ASCII letters becomes one space, then ASCII lowercase
  (Matt Mahoney's text8 convention, without spelling out digits).
"""

from __future__ import annotations

import bz2
import glob
import gzip
import lzma
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tokenizers import Regex, normalizers

NORMALIZATIONS = ("none", "lower", "text8")
BUILTIN = {"lee": "lee_background.cor"}
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
COMPRESSED_SUFFIXES = frozenset(_OPENERS)
_NOT_ASCII_LETTERS = re.compile("[^A-Za-z]+")
_BLOCK = 1 << 23  # bytes read at a time
# Bytes -> text8 bytes in one C call: ASCII letters lowercased, every other byte (UTF-8 multi-byte
# characters included) a space.
TEXT8_BYTES = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256))


def check_preset(preset: str) -> None:
    if preset not in NORMALIZATIONS:
        raise ValueError(f"unknown normalisation {preset!r}; choose one of {', '.join(NORMALIZATIONS)}")


def normalize_text(text: str, preset: str) -> str:
    """``text`` under a normalisation preset (module docstring)."""
    if preset == "lower":
        return text.lower()
    if preset == "text8":
        return _NOT_ASCII_LETTERS.sub(" ", text).lower()
    return text


def normalizer(preset: str) -> normalizers.Normalizer | None:
    """The ``tokenizers`` normaliser equal to :func:`normalize_text` for ``preset`` (None for ``none``)."""
    check_preset(preset)
    if preset == "none":
        return None
    if preset == "lower":
        return normalizers.Lowercase()
    return normalizers.Sequence([normalizers.Replace(Regex("[^A-Za-z]+"), " "), normalizers.Lowercase()])


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


class Files(tuple):
    """A source made of files read in the given order, repeats allowed: ``Files(["a.xz", "b.xz"] * 20)``
    (a plain list of strings is a list of documents)."""


def source_files(source: Any) -> list[Path] | None:
    """The files a path-like, glob, :class:`Files` or ``builtin:`` source reads, checked to exist; None
    for other sources."""
    if isinstance(source, Files):
        return [file for item in source for file in source_files(item)]
    if not isinstance(source, (str, Path)):
        return None
    text = str(source)
    if text.startswith("builtin:"):
        return [builtin_path(text[len("builtin:") :])]
    if text.startswith("hf:"):
        return None
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise FileNotFoundError(f"no corpus file matches {text!r}")
        return files
    return corpus_files(Path(text))


def check_text(block: bytes, path: Path) -> None:
    """Raise ``ValueError`` when the first block of a file is not text (NUL bytes, or mostly bytes
    that are neither printable ASCII nor valid UTF-8)."""
    sample = block[: 1 << 16]
    if b"\x00" in sample:
        raise ValueError(f"{str(path)!r} is not a text file (it contains NUL bytes); pass a text corpus")
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") + sum(1 for ch in text if ch < " " and ch not in "\t\n\r\x0b\x0c")
    if sample and bad > 0.05 * len(text):
        raise ValueError(
            f"{str(path)!r} does not look like UTF-8 text ({bad} of its first {len(text)} characters "
            "are invalid or control bytes); pass a text corpus"
        )


def _lines(path: Path) -> Iterator[bytes]:
    """Lines of a (possibly compressed) file, without their newline, read in large blocks."""
    opener = _OPENERS.get(path.suffix, open)
    try:
        f = opener(path, "rb")
    except OSError as exc:
        raise OSError(f"cannot read corpus file {str(path)!r}: {exc.strerror or exc}") from exc
    with f:
        tail = b""
        first = True
        while True:
            try:
                block = f.read(_BLOCK)
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise OSError(f"corpus file {str(path)!r} is truncated or corrupt: {exc}") from exc
            if first:
                check_text(block, path)
                first = False
            if not block:
                break
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            yield from lines
        if tail:
            yield tail


def _doc_tag(line: bytes) -> bool:
    """A WikiExtractor opening tag: a whole line ``<doc ...>`` (text after the tag is not markup)."""
    return line.startswith(b"<doc ") and line.rstrip().endswith(b">")


def file_documents(path: Path, markup: bool | str = "auto") -> Iterator[bytes]:
    """Documents of one file as raw UTF-8 bytes (module docstring)."""
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        return
    wiki = _doc_tag(first) if markup == "auto" else bool(markup)
    lines = _chain(first, lines)
    if not wiki:
        yield from (line for line in lines if line.strip())
        return
    parts: list[bytes] = []
    for line in lines:
        if _doc_tag(line):
            parts = []
        elif line.startswith(b"</doc>"):
            if parts:
                yield b" ".join(parts)
            parts = []
        elif line.strip():
            parts.append(line)
    if parts:  # an article cut off by the end of the file is kept, not lost
        yield b" ".join(parts)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


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


HUB_HOST = ("huggingface.co", 443)


def check_hub_reachable(timeout: float = 3.0) -> None:
    """Fail in seconds, not after the hub client's retries, when the Hugging Face hub cannot be reached
    (skipped with ``HF_HUB_OFFLINE=1`` or ``HF_DATASETS_OFFLINE=1``, which read the local cache)."""
    import os
    import socket

    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return
    try:
        socket.create_connection(HUB_HOST, timeout=timeout).close()
    except OSError as exc:
        raise OSError(
            f"cannot reach the Hugging Face hub ({HUB_HOST[0]}): {exc.strerror or exc}. Without network, download "
            "the dataset elsewhere and pass its files, or set HF_HUB_OFFLINE=1 to read a dataset already cached"
        ) from None


def _hub_documents(spec: str, text_column: str) -> Iterator[str]:
    try:
        import datasets
    except ImportError:
        raise ImportError("hf: sources need the datasets package: pip install 'mobius-init[datasets]'") from None
    path, config, split = hub_arguments(spec)
    check_hub_reachable()
    return _dataset_documents(datasets.load_dataset(path, config, split=split, streaming=True), text_column)


def is_dataset(source: Any) -> bool:
    """True for a ``datasets.Dataset`` / ``IterableDataset`` (checked without importing ``datasets``)."""
    module = type(source).__module__ or ""
    return module.startswith("datasets.")


def raw_documents(source: Any, markup: bool | str = "auto", text_column: str = "text") -> Iterator[str | bytes]:
    """Un-normalised documents of ``source``: ``bytes`` from files, ``str`` from other sources."""
    if markup not in ("auto", True, False):
        raise ValueError(f"markup must be 'auto', True or False, not {markup!r}")
    files = source_files(source)
    if files is not None:
        for file in files:
            yield from file_documents(file, markup)
    elif isinstance(source, (str, Path)):  # hf:NAME
        yield from _hub_documents(str(source)[3:], text_column)
    elif is_dataset(source):
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


def decode(doc: str | bytes) -> str:
    return doc if isinstance(doc, str) else doc.decode("utf-8", errors="replace")


def read_corpus(
    source: Any,
    *,
    normalize: str = "none",
    markup: bool | str = "auto",
    text_column: str = "text",
) -> Iterator[str]:
    """Documents of ``source`` as normalised strings; documents left empty are skipped.

    Args:
        source: a file or directory path (plain, ``.gz``, ``.bz2``, ``.xz``), or a glob pattern of files
            (``"shards/*.txt.xz"``, read in sorted order); ``"builtin:lee"``;
            ``"hf:NAME[/CONFIG][:SPLIT]"`` (a Hugging Face hub dataset, needs network, e.g.
            ``"hf:wikitext/wikitext-2-raw-v1:train"``); a ``datasets.Dataset`` or
            ``IterableDataset``; or any iterable of ``str``.
        normalize: ``"none"``, ``"lower"`` or ``"text8"`` (module docstring).
        markup: WikiExtractor ``<doc>`` handling for files: ``"auto"`` detects it from a file's
            first line, ``True`` forces it, ``False`` reads every line as text.
        text_column: the column holding text in a ``datasets`` source.
    """
    check_preset(normalize)
    for doc in raw_documents(source, markup, text_column):
        doc = normalize_text(decode(doc), normalize)
        if doc and not doc.isspace():
            yield doc
