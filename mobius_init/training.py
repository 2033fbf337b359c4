"""A small, seeded training loop for language models over a token stream, with callbacks."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .settings import check_positive, setting


@dataclass
class TrainConfig:
    """Training: optimizer, schedule, evaluation and checkpoints."""

    steps: int = setting(1000, "optimizer steps")
    batch_size: int = setting(16, "blocks per step")
    lr: float = setting(3e-4, "AdamW learning rate")
    weight_decay: float = setting(0.01, "AdamW weight decay (matrices only)")
    eval_every: int = setting(100, "steps between validations (also at the first and last step)")
    eval_blocks: int = setting(64, "validation blocks, evenly spaced over the validation ids")
    grad_clip: float | None = setting(1.0, "largest gradient norm ('none': no clipping)")
    seed: int = setting(0, "seed of the run's data order and dropout")
    log_path: str | None = setting(None, "JSONL file of every validation's metrics", cli=False)
    checkpoint_path: str | None = setting(None, "model state written at each validation with a finite loss", cli=False)
    progress: bool = setting(True, "show a progress bar", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "steps", "batch_size", "eval_every", "eval_blocks")


class Callback:
    """Hooks :func:`train` calls; subclass and override any of them. ``metrics`` is the dict of the
    current step (``step``, ``train_loss``, and ``val_loss`` at evaluations); keys a callback adds
    to it are kept in the run's history and JSONL log."""

    def on_train_start(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """Before the first step (``step`` is 0)."""

    def on_step_end(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """After each optimizer step."""

    def on_eval(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """After each validation (``metrics["val_loss"]`` is set)."""

    def on_train_end(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """After the last step."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or Inf; the last good checkpoint (if any) is left untouched."""


@dataclass
class TrainResult:
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per validation
    seconds: float = 0.0
    final_val_loss: float = math.nan


def _as_stream(
    ids: Sequence[int] | np.ndarray | torch.Tensor, name: str, block_size: int, vocab_size: int
) -> torch.Tensor:
    stream = torch.as_tensor(np.asarray(ids), dtype=torch.long).flatten()
    if len(stream) < block_size + 1:
        raise ValueError(
            f"{name} has {len(stream)} tokens, fewer than block_size + 1 = {block_size + 1}: "
            "use more text or a smaller block_size"
        )
    if stream.min() < 0 or stream.max() >= vocab_size:
        raise ValueError(f"{name} contains ids outside [0, {vocab_size}) (vocabulary mismatch between data and model)")
    return stream


def _call(callbacks: Sequence[Callback], hook: str, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
    for cb in callbacks:  # subclasses of Callback, or any object with some of its methods
        method = getattr(cb, hook, None)
        if method is not None:
            method(model, step, metrics)


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            _, loss = model(x[i : i + batch_size], y[i : i + batch_size])
            total += float(loss) * len(x[i : i + batch_size])
    model.train()
    return total / len(x)


def train(
    model: torch.nn.Module,
    train_ids: Sequence[int] | np.ndarray | torch.Tensor,
    val_ids: Sequence[int] | np.ndarray | torch.Tensor,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train ``model`` (``model(idx, targets) -> (logits, loss)`` with ``model.config.block_size``
    and ``vocab_size``) on random contiguous blocks of ``train_ids`` with AdamW.

    Deterministic on CPU for a seed: batches come from a ``torch.Generator`` seeded with
    ``config.seed`` and dropout from ``torch.manual_seed(config.seed)``. Raises
    :class:`TrainingDiverged` on a non-finite loss.
    """
    T, V = model.config.block_size, model.config.vocab_size
    train_stream = _as_stream(train_ids, "train_ids", T, V)
    val_stream = _as_stream(val_ids, "val_ids", T, V)
    starts = np.linspace(0, len(val_stream) - T - 1, num=min(config.eval_blocks, len(val_stream) - T)).astype(int)
    starts = np.unique(starts)
    offsets = torch.arange(T)
    val_x = val_stream[torch.as_tensor(starts)[:, None] + offsets]
    val_y = val_stream[torch.as_tensor(starts)[:, None] + offsets + 1]

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )
    log = open(config.log_path, "w") if config.log_path else None  # noqa: SIM115 (closed below)
    result = TrainResult()
    t0 = time.perf_counter()
    model.train()
    try:
        metrics: dict[str, Any] = {"step": 0, "val_loss": _evaluate(model, val_x, val_y, config.batch_size)}
        _call(callbacks, "on_train_start", model, 0, metrics)
        _call(callbacks, "on_eval", model, 0, metrics)
        _record(result, metrics, log, t0)
        bar = tqdm(range(1, config.steps + 1), desc="train", disable=not config.progress)
        for step in bar:
            start = torch.randint(0, len(train_stream) - T, (config.batch_size,), generator=generator)
            x = train_stream[start[:, None] + offsets]
            y = train_stream[start[:, None] + offsets + 1]
            _, loss = model(x, y)
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"the training loss became {loss.item()} at step {step}; the last good checkpoint "
                    f"({config.checkpoint_path or 'none requested'}) was kept. Try a lower lr."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            metrics = {"step": step, "train_loss": loss.item()}
            _call(callbacks, "on_step_end", model, step, metrics)
            if step % config.eval_every == 0 or step == config.steps:
                metrics["val_loss"] = _evaluate(model, val_x, val_y, config.batch_size)
                if not math.isfinite(metrics["val_loss"]):
                    raise TrainingDiverged(f"the validation loss became {metrics['val_loss']} at step {step}")
                _call(callbacks, "on_eval", model, step, metrics)
                _record(result, metrics, log, t0)
                bar.set_postfix(val_loss=f"{metrics['val_loss']:.3f}")
                if config.checkpoint_path:
                    torch.save(
                        {"model": model.state_dict(), "step": step, "train_config": asdict(config)},
                        config.checkpoint_path,
                    )
        result.seconds = time.perf_counter() - t0
        result.final_val_loss = result.history[-1]["val_loss"]
        _call(callbacks, "on_train_end", model, config.steps, result.history[-1])
    finally:
        if log:
            log.close()
    return result


def _record(result: TrainResult, metrics: dict[str, Any], log: Any, t0: float) -> None:
    entry = {**metrics, "seconds": time.perf_counter() - t0}
    result.history.append(entry)
    if log:
        log.write(json.dumps(entry) + "\n")
        log.flush()
