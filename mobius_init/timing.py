"""Wall-clock seconds per named stage of a long computation (counting, SVD, training, ...)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class StageTimer:
    """``done(name)`` records the seconds since the previous ``done`` (or since the timer was made or
    :meth:`restart`-ed) under ``name``; a name recorded twice adds up. ``seconds`` is the dict given,
    filled in place, or a new one."""

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds = {} if seconds is None else seconds
        self.t0 = time.perf_counter()

    def restart(self) -> None:
        self.t0 = time.perf_counter()

    def done(self, name: str) -> float:
        """Close the stage ``name``: its seconds."""
        now = time.perf_counter()
        elapsed, self.t0 = now - self.t0, now
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
        return elapsed

    def time(self, name: str, function: Callable[[], T]) -> T:
        """``function()``, timed as the stage ``name`` from now."""
        self.restart()
        value = function()
        self.done(name)
        return value
