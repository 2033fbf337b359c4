"""A small, seeded training loop for language models over a token stream, with callbacks."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm


@dataclass
class TrainConfig:
    """steps: optimizer steps. batch_size: blocks per step. lr, weight_decay: AdamW's.
    eval_every: steps between validations (and at the first and last step). eval_blocks: size of
    the fixed validation set (non-overlapping blocks evenly spaced over ``val_ids``).
    grad_clip: max gradient norm (None: off). seed: data order, dropout and init of the run.
    log_path: JSONL metrics file. checkpoint_path: model state written at each validation
    with a finite loss. progress: tqdm bar."""

    steps: int = 1000
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.01
    eval_every: int = 100
    eval_blocks: int = 64
    grad_clip: float | None = 1.0
    seed: int = 0
    log_path: str | None = None
    checkpoint_path: str | None = None
    progress: bool = True


class Callback(Protocol):
    """Any subset of these methods; ``metrics`` is a dict the callback may add keys to."""

    def on_train_start(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None: ...
    def on_step_end(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None: ...
    def on_eval(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None: ...
    def on_train_end(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None: ...


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


def _call(callbacks: Sequence[Any], hook: str, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
    for cb in callbacks:
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
    callbacks: Sequence[Any] = (),
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
    if config.steps < 1 or config.eval_every < 1 or config.batch_size < 1:
        raise ValueError("steps, eval_every and batch_size must be positive")
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
