"""Hugging Face ``transformers``: a monitor as a ``TrainerCallback`` that logs through the Trainer, and a
GPT-2 built locally with a MiniGPT's shape. ``transformers`` is imported only when these are used.

    from mobius_init.integrations.hf import add_monitor
    trainer = Trainer(model=model, args=TrainingArguments(..., report_to=["tensorboard"]), ...)
    add_monitor(trainer, ConvergenceMonitor(...))   # or K0CosineMonitor(stats)
    trainer.train()

Every report goes through ``Trainer.log``, so it reaches every reporter the Trainer is configured
with (TensorBoard, W&B, the console) and ``trainer.state.log_history``; ``monitor.history`` keeps it too.
"""

from __future__ import annotations

import math
from typing import Any


def _loggable(report: dict[str, Any], prefix: str) -> dict[str, float]:
    """The report's finite numbers under ``prefix/`` (reporters take scalars only; the Trainer adds the step)."""
    return {
        f"{prefix}/{k}": float(v)
        for k, v in report.items()
        if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


def monitor_callback(monitor: Any, trainer: Any, prefix: str = "monitor") -> Any:
    """A ``transformers.TrainerCallback`` that runs ``monitor`` every ``monitor.every`` steps (and at
    the start and end) and logs each report through ``trainer.log``. A monitor that reads the training
    loss (``monitor.observe_loss(step, loss)``) is given the Trainer's logged losses."""
    from transformers import TrainerCallback

    class MonitorCallback(TrainerCallback):
        def _report(self, model: Any, state: Any) -> None:
            trainer.log(_loggable(monitor.check(model, state.global_step), prefix))

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            monitor.reset()
            self._report(model, state)

        def on_log(self, args, state, control, logs=None, **kwargs):
            observe = getattr(monitor, "observe_loss", None)
            if observe is not None and logs and "loss" in logs:
                observe(state.global_step, logs["loss"])

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step % monitor.every == 0:
                self._report(model, state)

        def on_train_end(self, args, state, control, model=None, **kwargs):
            if not monitor.history or monitor.history[-1]["step"] != state.global_step:
                self._report(model, state)

    return MonitorCallback()


def add_monitor(trainer: Any, monitor: Any, prefix: str = "monitor") -> Any:
    """Attach ``monitor`` to a ``transformers.Trainer`` (see :func:`monitor_callback`); returns the callback."""
    callback = monitor_callback(monitor, trainer, prefix)
    trainer.add_callback(callback)
    return callback


def gpt2_model(config: Any) -> Any:
    """A ``transformers.GPT2LMHeadModel`` built locally (no download) with the shape of a
    ``MiniGPTConfig`` (vocab_size, n_layer, n_head, n_embd, block_size as n_positions, dropout),
    its head tied to the token embedding, initialised by transformers (seed torch first)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    if config.vocab_size is None:
        raise ValueError("the model config's vocab_size is not set: size the model to the statistics' vocabulary")
    gpt2 = GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.block_size,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        resid_pdrop=config.dropout,
        embd_pdrop=config.dropout,
        attn_pdrop=config.dropout,
        bos_token_id=None,
        eos_token_id=None,
        tie_word_embeddings=True,
    )
    return GPT2LMHeadModel(gpt2)
