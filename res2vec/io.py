"""Res2Vec's directory format.

``embeddings.npy`` (float32, V x d), ``vocab.json`` ({word: index}), ``metric.npy`` (float64, d x d),
``results.json`` (dimension search, geometry, per-stage seconds, the R(d) curve, parameters) and
``evaluation.json`` (benchmarks). Everything but the ``seconds`` field of ``results.json`` is
bit-identical for the same corpus and parameters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .model import Res2Vec

FILES = ("embeddings.npy", "vocab.json", "metric.npy", "results.json", "evaluation.json")


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def save(model: Res2Vec, directory: str | Path) -> Path:
    """Write a fitted model's files into ``directory`` (created if missing)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "embeddings.npy", np.ascontiguousarray(model.wv.vectors, dtype=np.float32))
    _write_json(directory / "vocab.json", {word: i for i, word in enumerate(model.wv.index_to_key)})
    np.save(directory / "metric.npy", np.asarray(model.metric_, dtype=np.float64))
    _write_json(directory / "results.json", model.results_)
    _write_json(directory / "evaluation.json", model.evaluation_)
    return directory


def load(directory: str | Path) -> Res2Vec:
    """Read a directory written by :meth:`Res2Vec.save`; a clear error for missing or inconsistent files."""
    from .model import Res2Vec, keyed_vectors

    directory = Path(directory)
    missing = [name for name in FILES[:4] if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory} is not a Res2Vec directory: missing {', '.join(missing)}")
    E = np.load(directory / "embeddings.npy", allow_pickle=False)
    vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
    words = sorted(vocab, key=vocab.get)
    if E.ndim != 2 or len(words) != E.shape[0] or [vocab[w] for w in words] != list(range(len(words))):
        raise ValueError(f"{directory}: vocab.json ({len(words)} words) does not index embeddings.npy {E.shape}")
    results = json.loads((directory / "results.json").read_text(encoding="utf-8"))
    params = {k: v for k, v in results.get("params", {}).items() if k in Res2Vec().get_params()}
    model = Res2Vec(**params)
    model.wv = keyed_vectors(words, E)
    model.metric_ = np.load(directory / "metric.npy", allow_pickle=False)
    model.results_ = results
    model.curve_ = np.array([point["R"] for point in results.get("curve", [])])
    evaluation = directory / "evaluation.json"
    model.evaluation_ = json.loads(evaluation.read_text(encoding="utf-8")) if evaluation.is_file() else None
    return model
