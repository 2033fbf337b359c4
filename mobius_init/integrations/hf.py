"""Hugging Face ``transformers``: a monitor as a ``TrainerCallback`` that logs through the Trainer, and a
GPT-2 built locally with a MiniGPT's shape. Importing this module imports ``transformers``.

    from mobius_init.integrations.hf import add_monitor
    trainer = Trainer(model=model, args=TrainingArguments(..., report_to=["tensorboard"]), ...)
    add_monitor(trainer, ConvergenceMonitor(...))   # or K0CosineMonitor(stats)
    trainer.train()

Every report goes through ``Trainer.log``, so it reaches every reporter the Trainer is configured
with (TensorBoard, W&B, the console) and ``trainer.state.log_history``; ``monitor.history`` keeps it too.
A report due at a step the Trainer logs is written right after the Trainer's own log of that step, so
the Trainer's logging flags and its loss are never disturbed.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from . import loggable


class MonitorCallback(TrainerCallback):
    """Runs ``monitor`` at the start, whenever ``monitor.due(step)`` and at the end, and logs each report
    through ``trainer.log`` under ``prefix/``. A monitor that reads the training loss
    (``monitor.observe_loss(step, loss)``) is given every loss the Trainer logs, before its report."""

    def __init__(self, monitor: Any, trainer: Any, prefix: str = "monitor") -> None:
        self.monitor, self.trainer, self.prefix = monitor, trainer, prefix
        self.pending = False  # a report due at a step the Trainer is about to log

    def _report(self, model: Any, state: Any) -> None:
        report = self.monitor.check(model, state.global_step)  # every rank checks; {} off rank 0
        if report:
            self.trainer.log(loggable(report, self.prefix))

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.monitor.reset()
        self._report(model, state)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if not self.monitor.due(state.global_step):
            return
        if control.should_log:  # logging now would clear the Trainer's flag: report from on_log instead
            self.pending = True
        else:
            self._report(model, state)

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        if not logs or "loss" not in logs:
            return
        observe = getattr(self.monitor, "observe_loss", None)
        if observe is not None:
            observe(state.global_step, logs["loss"])
        if self.pending:
            self.pending = False
            self._report(model, state)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.monitor.due(state.global_step, final=True):
            self.pending = False
            self._report(model, state)


def add_monitor(trainer: Any, monitor: Any, prefix: str = "monitor") -> MonitorCallback:
    """Attach ``monitor`` to a ``transformers.Trainer`` (see :class:`MonitorCallback`); returns the callback."""
    callback = MonitorCallback(monitor, trainer, prefix)
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
        tie_word_embeddings=config.tie_embeddings,
    )
    return GPT2LMHeadModel(gpt2)
