"""PyTorch Lightning: a monitor as a ``lightning.pytorch.Callback`` that logs through the module's
logger (``pl_module.log_dict``), so reports reach whatever logger the Trainer has (TensorBoard, CSV,
W&B). ``lightning`` is imported only here.

    from mobius_init.integrations.lightning import MonitorCallback
    trainer = lightning.Trainer(..., callbacks=[MonitorCallback(ConvergenceMonitor(...))])

The LightningModule must expose the model's tied embedding: ``get_input_embeddings()`` itself, or a
``model`` attribute that has it; or pass ``embedding=lambda module: ...``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import Callback

from ..weights import input_embedding_parameter
from . import loggable


def _embedding(module: Any) -> torch.Tensor:
    try:
        return input_embedding_parameter(module)
    except TypeError:
        return input_embedding_parameter(module.model)


class MonitorCallback(Callback):
    """Runs ``monitor`` every ``monitor.every`` training steps and logs its report under ``prefix/``.
    The first report (step 0, with the controls of the initial embedding) is logged at the first batch,
    since Lightning does not log from ``on_train_start``. A monitor that reads the training loss
    (``observe_loss``) gets each step's ``outputs["loss"]``."""

    def __init__(
        self, monitor: Any, prefix: str = "monitor", embedding: Callable[[Any], torch.Tensor] | None = None
    ) -> None:
        self.monitor, self.prefix, self.embedding = monitor, prefix, embedding or _embedding

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if getattr(self, "_restored", False):  # resumed from a checkpoint: the monitor's state came with it
            self._pending = None
            return
        self.monitor.reset()
        self._pending = self.monitor.check(self.embedding(pl_module), trainer.global_step)  # {} off rank 0

    def state_dict(self) -> dict[str, Any]:
        """The monitor's state (controls, history, observed losses), saved in Lightning checkpoints."""
        return self.monitor.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.monitor.load_state_dict(state_dict)
        self._restored = True

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        step = trainer.global_step
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        observe = getattr(self.monitor, "observe_loss", None)
        if observe is not None and loss is not None:
            observe(step, float(loss))
        reports = [self._pending] if getattr(self, "_pending", None) else []
        self._pending = None
        if self.monitor.due(step):
            reports.append(self.monitor.check(self.embedding(pl_module), step))
        for report in filter(None, reports):  # reports are empty on ranks other than 0
            pl_module.log_dict(loggable(report, self.prefix), on_step=True, on_epoch=False, rank_zero_only=True)
