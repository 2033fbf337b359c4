"""A seeded training loop for language models over a token stream: any device, a learning-rate
schedule, callbacks, and checkpoints a run resumes from bit-identically (on CPU).

Works with MiniGPT (``model(idx, targets) -> (logits, loss)``) and with Hugging Face causal LMs
(``model(input_ids=...).logits``; the loss is computed here the same way for both).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .schedules import lr_multiplier
from .train_config import TrainConfig, resolve_device

# Below this many floating-point operations per step (6 x parameters x tokens), one CPU thread: the
# work is too small to split, and threads that wait on each other collapse when another job shares the cores.
SMALL_STEP_FLOPS = 2e9


class Callback:
    """Hooks :func:`train` calls; subclass and override any of them. ``metrics`` is the dict of the
    current step (``step``, ``train_loss``, and ``val_loss`` at evaluations); keys a callback adds
    to it are kept in the run's history and JSONL log. A callback with state to keep across a
    resumed run implements ``state_dict``/``load_state_dict``."""

    def on_train_start(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """Before the first step (``step`` is 0)."""

    def on_step_end(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """After each optimizer step."""

    def on_eval(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """After each validation (``metrics["val_loss"]`` is set)."""

    def on_train_end(self, model: torch.nn.Module, step: int, metrics: dict[str, Any]) -> None:
        """After the last step."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or Inf; the last good checkpoint (if any) is left untouched."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`train`: says at which step, and which state a resumed run starts from."""


@dataclass
class TrainResult:
    history: list[dict[str, Any]] = field(default_factory=list)  # validations and callback reports
    train_losses: list[float] = field(default_factory=list)  # every step's training loss
    seconds: float = 0.0
    final_val_loss: float = math.nan


def model_dims(model: torch.nn.Module) -> tuple[int, int]:
    """``(context length, vocabulary size)`` of MiniGPT or a Hugging Face causal LM."""
    config = getattr(model, "config", None)
    block = next(
        (
            getattr(config, n)
            for n in ("block_size", "n_positions", "max_position_embeddings")
            if getattr(config, n, None)
        ),
        None,
    )
    vocab = getattr(config, "vocab_size", None)
    if block is None or vocab is None:
        raise TypeError(f"{type(model).__name__} has no config with a context length and vocab_size")
    return int(block), int(vocab)


def _loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy; Hugging Face models (their config has a ``model_type``) give logits."""
    if not hasattr(getattr(model, "config", None), "model_type"):
        return model(x, y)[1]
    logits = model(input_ids=x).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))


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


class _Run:
    """The moving parts of one run: device, data, optimizer, schedule, generators, log."""

    def __init__(self, model: torch.nn.Module, train_ids: Any, val_ids: Any, config: TrainConfig) -> None:
        self.config, self.model = config, model
        self.device = resolve_device(config.device)
        self.block, vocab = model_dims(model)
        self.train_stream = _as_stream(train_ids, "train_ids", self.block, vocab)
        val_stream = _as_stream(val_ids, "val_ids", self.block, vocab)
        n_val = min(config.eval_blocks, len(val_stream) - self.block)
        starts = np.unique(np.linspace(0, len(val_stream) - self.block - 1, num=n_val).astype(int))
        self.offsets = torch.arange(self.block)
        idx = torch.as_tensor(starts)[:, None] + self.offsets
        self.val_x, self.val_y = val_stream[idx].to(self.device), val_stream[idx + 1].to(self.device)
        use_bf16 = config.precision == "bf16" or (config.precision == "auto" and self.device.type == "cuda")
        self.autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_bf16)
        model.to(self.device)
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.optimizer = torch.optim.AdamW(parameter_groups(model, config), lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda i: lr_multiplier(config, i))

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        start = torch.randint(
            0, len(self.train_stream) - self.block, (self.config.batch_size,), generator=self.generator
        )
        idx = start[:, None] + self.offsets
        return (
            self.train_stream[idx].to(self.device, non_blocking=True),
            self.train_stream[idx + 1].to(self.device, non_blocking=True),
        )

    def evaluate(self) -> float:
        self.model.eval()
        total, n, size = 0.0, len(self.val_x), self.config.batch_size
        with torch.no_grad(), self.autocast:
            for i in range(0, n, size):
                total += float(_loss(self.model, self.val_x[i : i + size], self.val_y[i : i + size])) * len(
                    self.val_x[i : i + size]
                )
        self.model.train()
        return total / n

    def state(self, step: int, result: TrainResult, elapsed: float, callbacks: Sequence[Any]) -> dict[str, Any]:
        cuda = torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None
        return {
            "step": step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng_torch": torch.get_rng_state(),
            "rng_cuda": cuda,
            "rng_batches": self.generator.get_state(),
            "history": result.history,
            "train_losses": result.train_losses,
            "seconds": elapsed,
            "train_config": asdict(self.config),
            "callbacks": [cb.state_dict() if hasattr(cb, "state_dict") else {} for cb in callbacks],
        }

    def restore(self, state: dict[str, Any], result: TrainResult, callbacks: Sequence[Any]) -> int:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for group, base in zip(self.optimizer.param_groups, self.scheduler.base_lrs, strict=True):
            group["lr"] = base * lr_multiplier(self.config, self.scheduler.last_epoch)  # this config's schedule
        torch.set_rng_state(state["rng_torch"])
        if state["rng_cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.generator.set_state(state["rng_batches"])
        result.history[:] = state["history"]
        result.train_losses[:] = state["train_losses"]
        for cb, cb_state in zip(callbacks, state["callbacks"], strict=True):
            if hasattr(cb, "load_state_dict"):
                cb.load_state_dict(cb_state)
        return int(state["step"])


def cpu_threads(model: torch.nn.Module, config: TrainConfig, block_size: int) -> int:
    """Threads for training on the CPU: ``config.threads``, else 1 when a step is smaller than
    :data:`SMALL_STEP_FLOPS`, else torch's current number."""
    if config.threads is not None:
        return config.threads
    flops = 6 * sum(p.numel() for p in model.parameters()) * config.batch_size * block_size
    return 1 if flops < SMALL_STEP_FLOPS else torch.get_num_threads()


def kept_state_path(checkpoint_path: str | Path, step: int) -> Path:
    """Where ``keep_states_at`` keeps the state of ``step``: ``CHECKPOINT.stepN.pt`` beside it."""
    path = Path(checkpoint_path)
    return path.with_name(f"{path.stem}.step{step}{path.suffix}")


def parameter_groups(model: torch.nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: the tied input embedding (decayed, at ``lr x embedding_lr_mult``), the other
    matrices (decayed) and the vectors (biases, norms: not decayed). Empty groups are left out."""
    embedding = getattr(model, "get_input_embeddings", None)
    embedding = embedding().weight if embedding is not None else None
    params = [p for p in model.parameters() if p is not embedding]
    groups = [
        {
            "name": "embedding",
            "params": [embedding] if embedding is not None else [],
            "weight_decay": config.weight_decay,
            "lr": config.lr * config.embedding_lr_mult,
        },
        {"name": "matrices", "params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"name": "vectors", "params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def _save_atomic(obj: Any, path: str) -> None:
    """Write to a temporary file beside ``path``, then rename: an interrupted write never corrupts it."""
    tmp = f"{path}.partial"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(
    model: torch.nn.Module,
    train_ids: Sequence[int] | np.ndarray | torch.Tensor,
    val_ids: Sequence[int] | np.ndarray | torch.Tensor,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train ``model`` on random contiguous blocks of ``train_ids`` with AdamW and the configured schedule.

    The model is moved to ``config.device`` and each batch to the model's device. Deterministic on CPU
    for a seed: batches come from a CPU ``torch.Generator`` seeded with ``config.seed`` and dropout from
    ``torch.manual_seed(config.seed)``. With ``checkpoint_path`` the run's whole state (model,
    optimizer, schedule, generators, history, callbacks) is written atomically at each validation;
    ``resume=True`` continues from it, bit-identically to an uninterrupted run on CPU. The JSONL log
    gets every validation and every callback report. Raises :class:`TrainingDiverged` on a non-finite loss.
    """
    run = _Run(model, train_ids, val_ids, config)
    threads_before = torch.get_num_threads()
    if run.device.type == "cpu":
        torch.set_num_threads(cpu_threads(model, config, run.block))
    try:
        return _train(run, model, config, callbacks)
    finally:
        torch.set_num_threads(threads_before)


def _resume(run: _Run, config: TrainConfig, result: TrainResult, callbacks: Sequence[Callback]) -> tuple[int, float]:
    """Restore ``config.checkpoint_path`` into ``run`` and ``result``: ``(step, seconds so far)``."""
    state = torch.load(config.checkpoint_path, map_location=run.device, weights_only=False)
    differ = config.settings_that_differ(state["train_config"])
    if differ:
        raise ValueError(
            f"cannot resume from {config.checkpoint_path}: it was made with other settings ("
            + ", ".join(f"{k}={state['train_config'].get(k)!r}, now {getattr(config, k)!r}" for k in differ)
            + "); start afresh or use another output directory"
        )
    return run.restore(state, result, callbacks), state["seconds"]


def _train(run: _Run, model: torch.nn.Module, config: TrainConfig, callbacks: Sequence[Callback]) -> TrainResult:
    result = TrainResult()
    resuming = bool(config.resume and config.checkpoint_path and Path(config.checkpoint_path).is_file())
    start_step, t_before = _resume(run, config, result, callbacks) if resuming else (0, 0.0)
    log = open(config.log_path, "w") if config.log_path else None  # noqa: SIM115 (closed below)
    if log:  # a resumed run's log is rewritten from its checkpoint, so no entry appears twice
        log.writelines(json.dumps(entry) + "\n" for entry in result.history)
    t0 = time.perf_counter() - t_before
    model.train()
    try:
        if not resuming:
            metrics: dict[str, Any] = {"step": 0, "val_loss": run.evaluate()}
            _call(callbacks, "on_train_start", model, 0, metrics)
            _call(callbacks, "on_eval", model, 0, metrics)
            _record(result, metrics, log, t0)
        _steps(run, config, callbacks, result, log, t0, start_step, resuming)
        result.seconds = time.perf_counter() - t0
        result.final_val_loss = next(h["val_loss"] for h in reversed(result.history) if "val_loss" in h)
        end_metrics: dict[str, Any] = {"step": config.steps}
        _call(callbacks, "on_train_end", model, config.steps, end_metrics)
        if set(end_metrics) - {"step"}:
            _record(result, end_metrics, log, t0)
    finally:
        if log:
            log.close()
    return result


def _steps(
    run: _Run,
    config: TrainConfig,
    callbacks: Sequence[Callback],
    result: TrainResult,
    log: Any,
    t0: float,
    start_step: int,
    resuming: bool,
) -> None:
    """The optimizer steps after ``start_step``, with validations, callback reports and checkpoints."""
    model, since_eval = run.model, []
    bar = tqdm(
        range(start_step + 1, config.steps + 1),
        desc=config.desc,
        disable=not config.progress,
        initial=start_step,
        total=config.steps,
    )
    saved, step = (start_step if resuming else None), start_step
    try:
        for step in bar:
            result.train_losses.append(_step(run, config, step))
            since_eval.append(result.train_losses[-1])
            metrics = {"step": step, "train_loss": result.train_losses[-1]}
            _call(callbacks, "on_step_end", model, step, metrics)
            keep = step in config.keep_states_at
            evaluate = step % config.eval_every == 0 or step == config.steps or keep
            if evaluate:
                metrics["val_loss"] = run.evaluate()
                metrics["train_loss"] = float(np.mean(since_eval))  # mean since the last validation
                metrics["lr"] = run.optimizer.param_groups[0]["lr"]
                since_eval.clear()
                if not math.isfinite(metrics["val_loss"]):
                    raise TrainingDiverged(f"the validation loss became {metrics['val_loss']} at step {step}")
                _call(callbacks, "on_eval", model, step, metrics)
                bar.set_postfix(val_loss=f"{metrics['val_loss']:.3f}")
            if evaluate or set(metrics) - {"step", "train_loss"}:  # validations and callback reports
                _record(result, metrics, log, t0)
            if evaluate and config.checkpoint_path:
                state = run.state(step, result, time.perf_counter() - t0, callbacks)
                _save_atomic(state, config.checkpoint_path)
                if keep:
                    _save_atomic(state, kept_state_path(config.checkpoint_path, step))
                saved = step
    except KeyboardInterrupt:
        kept = "nothing was saved" if saved is None else f"its state at step {saved} is saved"
        raise TrainingInterrupted(f"interrupted at step {step} of {config.desc} ({kept})") from None


def _step(run: _Run, config: TrainConfig, step: int) -> float:
    """One optimizer step on a fresh batch: its training loss."""
    x, y = run.batch()
    with run.autocast:
        loss = _loss(run.model, x, y)
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"the training loss became {loss.item()} at step {step}; the last good checkpoint "
            f"({config.checkpoint_path or 'none requested'}) was kept. Try a lower lr."
        )
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    return loss.item()


def _record(result: TrainResult, metrics: dict[str, Any], log: Any, t0: float) -> None:
    entry = {**metrics, "seconds": time.perf_counter() - t0}
    result.history.append(entry)
    if log:
        log.write(json.dumps(entry) + "\n")
        log.flush()
