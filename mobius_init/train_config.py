"""Settings of one training run (optimizer, schedule, device, evaluation, checkpoints), validated
when made, and the device they name."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .schedules import DECAY_SHAPES, SCHEDULES
from .settings import InvalidSetting, check_positive, setting

# Fields that say where and how a run reports, not what it computes: a resumed run may change them.
RUN_LOCAL_FIELDS = ("device", "threads", "log_path", "checkpoint_path", "resume", "progress", "desc", "keep_states_at")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    """Training: optimizer, schedule, device, evaluation and checkpoints."""

    steps: int = setting(1000, "optimizer steps")
    batch_size: int = setting(16, "blocks per step")
    lr: float = setting(3e-4, "AdamW peak learning rate")
    weight_decay: float = setting(0.01, "AdamW weight decay (matrices only)")
    schedule: str = setting(
        "cosine",
        "learning rate after a linear warmup: cosine decay to min_lr_ratio x lr; constant; or wsd "
        "(warmup-stable-decay: constant, then a decay to min_lr_ratio x lr over the last decay_fraction of the steps)",
        choices=SCHEDULES,
    )
    warmup_steps: int | None = setting(
        None, "steps of linear warmup (default: 2%% of the steps for cosine and wsd, 0 for constant)"
    )
    min_lr_ratio: float = setting(0.1, "the final learning rate of cosine and wsd, as a fraction of lr")
    decay_fraction: float = setting(0.2, "wsd: the share of the steps spent decaying (Hagele et al. 2024 use 0.2)")
    decay_shape: str = setting(
        "linear", "wsd: the decay's shape, linear or sqrt (1 - sqrt of the decay's progress)", choices=DECAY_SHAPES
    )
    embedding_lr_mult: float = setting(
        1.0, "the tied embedding's learning rate as a multiple of lr (the other parameters use lr; 0 freezes it)"
    )
    eval_every: int = setting(100, "steps between validations (also at the first and last step)")
    eval_blocks: int = setting(64, "validation blocks, evenly spaced over the validation ids")
    grad_clip: float | None = setting(1.0, "largest gradient norm ('none': no clipping)")
    seed: int = setting(0, "seed of the run's data order and dropout")
    device: str = setting("auto", "cpu, cuda, cuda:N, mps, or auto (CUDA when available)")
    threads: int | None = setting(
        None,
        "CPU threads while training (default: 1 for small models, whose steps are too small to split and "
        "slow down many times beside another job; otherwise torch's own number)",
    )
    precision: str = setting("auto", "auto (bf16 autocast on CUDA, fp32 elsewhere), fp32 or bf16", choices=PRECISIONS)
    log_path: str | None = setting(None, "JSONL file: every validation and every callback report", cli=False)
    checkpoint_path: str | None = setting(None, "where the run's full state is written at each validation", cli=False)
    resume: bool = setting(False, "continue from checkpoint_path when it exists", cli=False)
    keep_states_at: tuple[int, ...] = setting(
        (), "steps at which the full state is also validated and kept, as CHECKPOINT.stepN.pt", cli=False
    )
    progress: bool = setting(True, "show a progress bar", cli=False)
    desc: str = setting("train", "label of the progress bar", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "steps", "batch_size", "eval_every", "eval_blocks")
        check_positive(self, "threads", allow_none=True)
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InvalidSetting("lr", f"must be a positive number, got {self.lr}")
        if self.warmup_steps is not None and not 0 <= self.warmup_steps < self.steps:
            raise InvalidSetting(
                "warmup_steps", f"({self.warmup_steps}) must be >= 0 and shorter than the run ({self.steps} steps)"
            )
        if not 0 <= self.min_lr_ratio <= 1:
            raise InvalidSetting("min_lr_ratio", f"must lie in [0, 1], got {self.min_lr_ratio}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise InvalidSetting("grad_clip", f"must be positive or none, got {self.grad_clip}")
        if not 0 < self.decay_fraction < 1:
            raise InvalidSetting("decay_fraction", f"must lie in (0, 1), got {self.decay_fraction}")
        if self.decay_shape not in DECAY_SHAPES:
            raise InvalidSetting("decay_shape", f"must be one of {', '.join(DECAY_SHAPES)}, got {self.decay_shape!r}")
        if not (math.isfinite(self.embedding_lr_mult) and self.embedding_lr_mult >= 0):
            raise InvalidSetting("embedding_lr_mult", f"must be a number >= 0, got {self.embedding_lr_mult}")
        if self.schedule == "wsd" and self.warmup + self.decay_steps > self.steps:
            raise InvalidSetting(
                "steps",
                f"({self.steps}) is shorter than warmup ({self.warmup}) + decay ({self.decay_steps}) of the wsd schedule",
            )
        if self.schedule not in SCHEDULES:
            raise InvalidSetting("schedule", f"must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise InvalidSetting("precision", f"must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        resolve_device(self.device)  # an unavailable device fails here, before any data is read

    @property
    def warmup(self) -> int:
        """Warmup steps in effect."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        return max(1, round(0.02 * self.steps)) if self.schedule in ("cosine", "wsd") else 0

    @property
    def decay_steps(self) -> int:
        """Steps of the wsd schedule's final decay (at least 1)."""
        return max(1, round(self.decay_fraction * self.steps))

    def settings_that_differ(self, saved: dict[str, Any]) -> list[str]:
        """Names of the settings that change what is computed and differ from ``saved`` (an ``asdict``)."""
        mine = asdict(self)
        local = set(RUN_LOCAL_FIELDS)
        if (
            self.schedule == saved.get("schedule") == "constant"
            and self.warmup_steps == saved.get("warmup_steps")
            and (self.warmup_steps is not None and self.steps >= saved.get("steps", 0))
        ):
            local.add("steps")  # a constant rate with a fixed warmup: a longer run continues a shorter one
        return sorted(
            k for k in mine if k not in local and _comparable(saved.get(k, "<absent>")) != _comparable(mine[k])
        )


def _comparable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; anything else must exist on this machine."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidSetting("device", f"{device!r} is not a device; use cpu, cuda, cuda:N, mps or auto") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidSetting("device", f"{device!r} is not available on this machine (no CUDA); use cpu or auto")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise InvalidSetting(
                "device", f"{device!r} is not available: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidSetting("device", f"{device!r} is not available on this machine; use cpu or auto")
    return resolved
