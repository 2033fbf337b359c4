"""The data of an experiment: held-out validation documents, statistics of the rest, both id streams."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..corpus import read_corpus
from ..encoding import encode_corpus
from ..settings import CorpusConfig
from ..stats import CorpusStats
from ..train_config import RUN_LOCAL_FIELDS, TrainConfig

if TYPE_CHECKING:
    from .arms import ExperimentConfig


@dataclass
class ExperimentData:
    stats: CorpusStats  # counted on the training documents only
    train_ids: np.ndarray  # int64 vocabulary ids, documents concatenated
    val_ids: np.ndarray


def prepare_data(
    source: str,
    corpus: CorpusConfig,
    *,
    val_fraction: float = 0.1,
    max_docs: int | None = None,
    progress: bool = True,
) -> ExperimentData:
    """Hold out the last ``val_fraction`` of the documents (of the first ``max_docs``) for validation,
    count statistics on the others, and encode both with the same tokenizer, so no init sees
    validation text."""
    docs = list(itertools.islice(read_corpus(source, text_column=corpus.text_column), max_docs))
    n_val = max(1, int(round(len(docs) * val_fraction)))
    if len(docs) < 2 or n_val >= len(docs):
        raise ValueError(f"the corpus has {len(docs)} documents: too few to hold out {val_fraction:.0%} for validation")
    encoded = encode_corpus(docs[:-n_val], progress=progress, **corpus.encode_options())
    stats = CorpusStats.from_encoded(encoded, corpus.window, corpus.weighting, progress=progress)
    val = list(encoded.encode(docs[-n_val:]))
    val_ids = np.concatenate(val) if val else np.zeros(0, np.int32)
    return ExperimentData(stats, encoded.ids().astype(np.int64), val_ids.astype(np.int64))


def load_or_prepare(config: ExperimentConfig, out: Path) -> ExperimentData:
    """The prepared data, reused from ``out/data`` when it was made with the same corpus settings."""
    key = json.dumps(
        {"corpus": config.corpus, "data": asdict(config.data), "val": config.val_fraction, "max_docs": config.max_docs},
        sort_keys=True,
    )
    folder = out / "data"
    if (folder / "key.json").is_file() and (folder / "key.json").read_text() == key:
        return ExperimentData(
            CorpusStats.load(folder / "stats.npz"), np.load(folder / "train_ids.npy"), np.load(folder / "val_ids.npy")
        )
    data = prepare_data(
        config.corpus, config.data, val_fraction=config.val_fraction, max_docs=config.max_docs, progress=config.progress
    )
    folder.mkdir(parents=True, exist_ok=True)
    data.stats.save(folder / "stats.npz")
    np.save(folder / "train_ids.npy", data.train_ids)
    np.save(folder / "val_ids.npy", data.val_ids)
    (folder / "key.json").write_text(key)
    return data


def run_settings(config: Any, model: Any, init: str, train: TrainConfig) -> dict[str, Any]:
    """Everything that decides what one run of an experiment computes (corpus, data, model, init and
    training settings; not where it logs), as JSON values: saved with the run, compared on resume."""
    return json.loads(
        json.dumps(
            {
                "corpus": config.corpus,
                "data": asdict(config.data),
                "val_fraction": config.val_fraction,
                "max_docs": config.max_docs,
                "architecture": config.architecture,
                "model": asdict(model),
                "init": init,
                "train": {k: v for k, v in asdict(train).items() if k not in RUN_LOCAL_FIELDS},
            }
        )
    )


def _defaults() -> dict[str, Any]:
    """Every corpus, model and training setting at its default (a run saved before a setting existed
    was made with that setting's default)."""
    from ..minigpt import MiniGPTConfig

    values: dict[str, Any] = {}
    for config in (CorpusConfig(), MiniGPTConfig(), TrainConfig(device="cpu")):
        values.update(json.loads(json.dumps(asdict(config))))
    return {k: v for k, v in values.items() if k not in RUN_LOCAL_FIELDS}


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v) if isinstance(v, dict) else {k: v})
    return out


def changed_settings(saved: dict[str, Any], wanted: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(name, saved value, wanted value)`` of every setting that differs between two run settings
    (nested dicts compared by field name; a setting the toolkit gained later counts as its default)."""
    a, b = _flat(saved), _flat(wanted)
    defaults = _defaults()
    a.update({k: defaults[k] for k in b if k not in a and k in defaults})
    return [
        (k, a.get(k, "<absent>"), b.get(k, "<absent>"))
        for k in sorted(set(a) | set(b))
        if a.get(k, "<absent>") != b.get(k, "<absent>")
    ]


def refuse_changed_settings(path: Path, saved: dict[str, Any], wanted: dict[str, Any]) -> None:
    """One clear error naming the settings (``lr``, ``n_embd``: field names, which a command line shows
    as its flags) that differ between what a saved run was made with and what is asked now."""
    differ = changed_settings(saved, wanted)
    if differ:
        shown = ", ".join(f"{k}={a!r}, now {b!r}" for k, a, b in differ[:6])
        raise ValueError(
            f"cannot resume from {path}: it was made with other settings ({shown}"
            + (f", and {len(differ) - 6} more" if len(differ) > 6 else "")
            + "); start afresh without --resume or use another output directory"
        )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` through a temporary file renamed into place: a reader (or a second process writing
    the same report) never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextmanager
def output_folders(out: Path, names: tuple[str, ...]) -> Iterator[None]:
    """Create ``out/NAME`` for each name; if the body fails, remove those it created that are still
    empty (and ``out`` itself, if it was created and is empty), so a failed run leaves no empty shells."""
    created = [p for p in (out, *(out / name for name in names)) if not p.exists()]
    for name in names:
        (out / name).mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for path in reversed(created):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        raise
