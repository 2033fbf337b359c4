"""Monitors in a PyTorch Lightning run: the reports go through the module's logger (CSV here; TensorBoard
or W&B the same way), with their controls beside them.

pip install -e ".[lightning]"
python examples/lightning_callback.py [--steps 40] [--logs lightning-logs]
"""

import argparse
import csv

import lightning
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger

from mobius_init import (
    ConvergenceMonitor,
    CorpusStats,
    MiniGPT,
    MiniGPTConfig,
    analytic_embeddings,
    apply_embeddings_,
    read_corpus,
)
from mobius_init.integrations.lightning import MonitorCallback

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--logs", default="lightning-logs")
args = parser.parse_args()

docs = list(read_corpus("builtin:lee"))
stats = CorpusStats.from_corpus(docs, vocab_size=500)
ids = torch.as_tensor(np.concatenate(list(stats.encode(docs))), dtype=torch.long)
blocks = ids[: len(ids) // 33 * 33].view(-1, 33)


class LanguageModel(lightning.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.model = MiniGPT(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=32, block_size=32))
        apply_embeddings_(self.model, analytic_embeddings(stats, 32))  # ppmi_svd, tied head

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        _, loss = self.model(batch[:, :-1], batch[:, 1:])
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=1e-3, weight_decay=0.01)


monitor = ConvergenceMonitor(every=10, total_steps=args.steps)
logger = CSVLogger(args.logs, name="monitor")
trainer = lightning.Trainer(
    max_steps=args.steps,
    accelerator="auto",
    logger=logger,
    callbacks=[MonitorCallback(monitor, prefix="convergence")],
    log_every_n_steps=1,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(LanguageModel(), torch.utils.data.DataLoader(blocks, batch_size=8, shuffle=True))
with open(f"{logger.log_dir}/metrics.csv") as f:
    columns = next(csv.reader(f))
print(f"logged to {logger.log_dir}/metrics.csv: " + ", ".join(c for c in columns if c.startswith("convergence/")))
for r in monitor.history:
    print(
        f"step {r['step']:3d}  "
        + "  ".join(f"{name} {r[name]:.3f}" for name in monitor.diagnostics if np.isfinite(r[name]))
        + f"  (step fraction {r['control_step_fraction']:.2f})"
    )
