"""What a long report computes once and a rerun reuses: each stage's result kept under ``DIR/cache``
with the settings it was made with, so a report interrupted (or failed) late restarts where it stopped."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


class StageCache:
    """``get(name, compute)`` returns the stage's kept result when the cache was made with ``key``, else
    computes and keeps it. A cache made with other settings is emptied first."""

    def __init__(self, folder: str | Path, key: dict[str, Any]) -> None:
        self.folder = Path(folder)
        text = json.dumps(key, sort_keys=True, default=str)
        stamp = self.folder / "key.json"
        if self.folder.is_dir() and (not stamp.is_file() or stamp.read_text() != text):
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(text)
        self.reused: list[str] = []

    def get(
        self,
        name: str,
        compute: Callable[[], T],
        save: Callable[[T, Path], Any] | None = None,
        load: Callable[[Path], T] | None = None,
    ) -> T:
        """``save(value, path)`` / ``load(path)`` default to a NumPy array in ``name.npy``."""
        path = self.folder / (name if save is not None else f"{name}.npy")
        if path.exists():
            self.reused.append(name)
            return load(path) if load is not None else np.load(path)
        value = compute()
        partial = path.with_name(f"{path.name}.partial{path.suffix}")
        (save or (lambda v, p: np.save(p, v)))(value, partial)
        os.replace(partial, path)
        return value
