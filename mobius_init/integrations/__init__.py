"""Adapters for other trainers; each imports its framework only when its module is imported."""

from __future__ import annotations

import math
from typing import Any


def loggable(report: dict[str, Any], prefix: str) -> dict[str, float]:
    """A monitor report's finite numbers under ``prefix/`` (loggers take scalars; the trainer adds the step)."""
    return {
        f"{prefix}/{k}": float(v)
        for k, v in report.items()
        if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }
