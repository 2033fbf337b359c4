"""Res2Vec's directory format and gensim conversions.

A saved model is a directory: ``embeddings.npy`` (float32, V x d), ``vocab.json`` ({word: index}),
``counts.npy`` (int64 corpus counts by index), ``metric.npy`` (float64, d x d), ``results.json``
(dimension search, geometry, per-stage seconds, parameters) and, when the model was evaluated,
``evaluation.json``. Everything but the ``seconds`` field of ``results.json`` is bit-identical for
the same corpus and parameters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gensim.models import KeyedVectors

REQUIRED = ("embeddings.npy", "vocab.json", "counts.npy", "metric.npy", "results.json")


def keyed_vectors(words: Sequence[str], E: np.ndarray, counts: np.ndarray | None = None) -> KeyedVectors:
    """A gensim ``KeyedVectors`` holding ``E`` (float32) in the given word order, with counts
    (``kv.get_vecattr(word, "count")``) when given."""
    kv = KeyedVectors(vector_size=E.shape[1], dtype=np.float32)
    kv.add_vectors(list(words), np.asarray(E, dtype=np.float32))
    if counts is not None:  # add_vectors(extras=...) is broken in gensim 4.4, so set the attribute after
        kv.allocate_vecattrs(["count"], [np.int64])
        kv.expandos["count"][:] = counts
    return kv


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_directory(
    directory: str | Path,
    kv: KeyedVectors,
    metric: np.ndarray,
    results: dict[str, Any],
    evaluation: dict[str, Any] | None,
) -> Path:
    """Write a model's files into ``directory`` (created if missing). Each file is written beside its
    final name and then renamed into place, and a previous model's ``evaluation.json`` is removed when
    this one has none, so the directory never mixes two models' files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []

    def stage(name: str) -> Path:
        final = directory / name
        partial = final.with_name(f".{name}.partial")
        staged.append((partial, final))
        return partial

    with open(stage("embeddings.npy"), "wb") as f:
        np.save(f, np.ascontiguousarray(kv.vectors, dtype=np.float32))
    _write_json(stage("vocab.json"), {word: i for i, word in enumerate(kv.index_to_key)})
    with open(stage("counts.npy"), "wb") as f:
        np.save(f, np.asarray(kv.expandos["count"], dtype=np.int64))
    with open(stage("metric.npy"), "wb") as f:
        np.save(f, np.asarray(metric, dtype=np.float64))
    _write_json(stage("results.json"), results)
    if evaluation is not None:
        _write_json(stage("evaluation.json"), evaluation)
    else:
        (directory / "evaluation.json").unlink(missing_ok=True)
    for partial, final in staged:
        os.replace(partial, final)
    return directory


def read_directory(directory: str | Path) -> dict[str, Any]:
    """The contents of a directory written by :func:`write_directory`: ``kv`` (with counts),
    ``metric``, ``results`` and ``evaluation`` (None when absent); a clear error for missing or
    inconsistent files."""
    directory = Path(directory)
    missing = [name for name in REQUIRED if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory} is not a Res2Vec directory: missing {', '.join(missing)}")
    E = np.load(directory / "embeddings.npy", allow_pickle=False)
    counts = np.load(directory / "counts.npy", allow_pickle=False)
    vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
    words = sorted(vocab, key=vocab.get)
    if E.ndim != 2 or len(words) != E.shape[0] or [vocab[w] for w in words] != list(range(len(words))):
        raise ValueError(f"{directory}: vocab.json ({len(words)} words) does not index embeddings.npy {E.shape}")
    if counts.shape != (len(words),):
        raise ValueError(f"{directory}: counts.npy has shape {counts.shape}, expected ({len(words)},)")
    evaluation = directory / "evaluation.json"
    return {
        "kv": keyed_vectors(words, E, counts),
        "metric": np.load(directory / "metric.npy", allow_pickle=False),
        "results": json.loads((directory / "results.json").read_text(encoding="utf-8")),
        "evaluation": json.loads(evaluation.read_text(encoding="utf-8")) if evaluation.is_file() else None,
    }


def load_vectors(path: str | Path) -> KeyedVectors:
    """Word vectors from a Res2Vec directory, a word2vec text (``.txt``/``.vec``) or binary (``.bin``)
    file, or a gensim ``KeyedVectors`` file (``.kv``); a clear error for anything else."""
    path = Path(path)
    if path.is_dir():
        return read_directory(path)["kv"]
    if not path.is_file():
        raise FileNotFoundError(
            f"no vectors at {str(path)!r}: give a res2vec directory or a .bin, .txt, .vec or .kv file"
        )
    try:
        if path.suffix == ".kv":
            return KeyedVectors.load(str(path))
        if path.suffix in (".bin", ".txt", ".vec"):
            return KeyedVectors.load_word2vec_format(str(path), binary=path.suffix == ".bin")
    except Exception as exc:  # gensim raises many types for a malformed file
        raise ValueError(f"cannot read {str(path)!r} as {path.suffix} word vectors: {exc}") from None
    raise ValueError(
        f"{str(path)!r}: unknown vector format {path.suffix!r}; use a res2vec directory, .bin, .txt, .vec or .kv"
    )
