"""The monitors in a Hugging Face Trainer, on a tiny GPT-2 built locally (no download). Its reports go
through Trainer.log, so they reach TensorBoard, W&B or the console, whichever the Trainer reports to.

pip install -e ".[hf]"
python examples/hf_trainer_callback.py [--steps 20] [--tensorboard DIR]
"""

import argparse
import tempfile

import numpy as np
import torch
from transformers import Trainer, TrainingArguments

from mobius_init import (
    ConvergenceMonitor,
    CorpusStats,
    K0CosineMonitor,
    MiniGPTConfig,
    analytic_embeddings,
    apply_embeddings_,
    read_corpus,
)
from mobius_init.integrations.hf import add_monitor, gpt2_model

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--tensorboard", help="report to TensorBoard, writing its event files under this folder")
args = parser.parse_args()

docs = list(read_corpus("builtin:lee"))
stats = CorpusStats.from_corpus(docs, vocab_size=500)
ids = torch.as_tensor(np.concatenate(list(stats.encode(docs))), dtype=torch.long)
blocks = ids[: len(ids) // 32 * 32].view(-1, 32)

model = gpt2_model(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=32, block_size=32))  # GPT2LMHeadModel
apply_embeddings_(model, analytic_embeddings(stats, 32, "ppmi_svd"))  # GPT-2 ties wte and lm_head
monitor = K0CosineMonitor(stats, every=10, top_n=200)
convergence = ConvergenceMonitor(every=10, total_steps=args.steps)  # reads the Trainer's logged loss
with tempfile.TemporaryDirectory() as out:
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=args.tensorboard or out,  # the TensorBoard reporter writes under output_dir
            max_steps=args.steps,
            per_device_train_batch_size=8,
            report_to=["tensorboard"] if args.tensorboard else [],
            use_cpu=True,
            save_strategy="no",
            logging_steps=10,
        ),
        train_dataset=[{"input_ids": b, "labels": b} for b in blocks],
    )
    add_monitor(trainer, monitor, prefix="k0")
    add_monitor(trainer, convergence, prefix="convergence")
    trainer.train()
for r in monitor.history:
    print(
        f"step {r['step']:3d}  k0 cos {r['k0_cos_eigh']:+.3f}  own init {r['control_initial_k0_cos_eigh']:+.3f}  "
        f"random {r['control_random_k0_cos_eigh']:+.3f}"
    )
print("convergence, last report:", {k: round(v, 4) for k, v in convergence.history[-1].items() if k != "step"})
