"""Learning-rate schedules as pure functions of a training config (``TrainConfig`` or anything with its
fields: ``lr``, ``steps``, ``schedule``, ``warmup``, ``min_lr_ratio``, ``decay_steps``, ``decay_shape``):
a linear warmup, then cosine decay to ``min_lr_ratio`` x lr, a constant rate, or warmup-stable-decay
(constant, then a linear or 1 - sqrt decay over the last steps; Hägele et al. 2024). Used by
:func:`mobius_init.train` and by the loss-law forecasts, which need the whole schedule in advance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SCHEDULES = ("cosine", "constant", "wsd")
DECAY_SHAPES = ("linear", "sqrt")


def lr_multiplier(config: Any, completed: int) -> float:
    """The learning rate of update ``completed + 1`` as a fraction of ``config.lr``."""
    warmup = config.warmup
    if completed < warmup:
        return (completed + 1) / warmup
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "wsd":
        decay_start = config.steps - config.decay_steps
        if completed < decay_start:
            return 1.0
        progress = min(1.0, (completed - decay_start + 1) / config.decay_steps)
        remaining = 1 - progress if config.decay_shape == "linear" else 1 - math.sqrt(progress)
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * remaining
    progress = (completed - warmup) / max(1, config.steps - 1 - warmup)
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def learning_rates(config: Any) -> np.ndarray:
    """The learning rate of every update of a run (length ``config.steps``): the schedule, in advance."""
    return np.array([config.lr * lr_multiplier(config, i) for i in range(config.steps)])
