"""``K0CosineMonitor`` as a Hugging Face ``transformers`` ``TrainerCallback``.

    from mobius_init.integrations.hf import k0_cosine_callback
    trainer = Trainer(model=model, ..., callbacks=[k0_cosine_callback(monitor)])

The monitor's reports go into ``trainer.state.log_history`` (and so to every logger the Trainer
uses); ``monitor.history`` keeps them too.
"""

from __future__ import annotations

from typing import Any

from ..monitors import K0CosineMonitor


def k0_cosine_callback(monitor: K0CosineMonitor) -> Any:
    """A ``transformers.TrainerCallback`` that runs ``monitor`` every ``monitor.every`` steps."""
    from transformers import TrainerCallback

    class K0CosineCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            monitor.reset()
            state.log_history.append(monitor.check(model, state.global_step))

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step % monitor.every == 0:
                state.log_history.append(monitor.check(model, state.global_step))

        def on_train_end(self, args, state, control, model=None, **kwargs):
            if not monitor.history or monitor.history[-1]["step"] != state.global_step:
                state.log_history.append(monitor.check(model, state.global_step))

    return K0CosineCallback()
