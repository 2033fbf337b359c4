"""The k0-cosine monitor as a Hugging Face Trainer callback, on a tiny GPT-2 built locally (no download).

pip install transformers accelerate
python examples/hf_trainer_callback.py [--steps 20]
"""

import argparse
import tempfile

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

from mobius_init import CorpusStats, K0CosineMonitor, analytic_embeddings, apply_embeddings_, read_corpus
from mobius_init.integrations.hf import k0_cosine_callback

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--steps", type=int, default=20)
args = parser.parse_args()

docs = list(read_corpus("builtin:lee"))
stats = CorpusStats.from_corpus(docs, vocab_size=500)
ids = torch.as_tensor(np.concatenate(list(stats.encode(docs))), dtype=torch.long)
blocks = ids[: len(ids) // 32 * 32].view(-1, 32)
dataset = [{"input_ids": b, "labels": b} for b in blocks]

model = GPT2LMHeadModel(
    GPT2Config(
        vocab_size=stats.vocab_size,
        n_positions=32,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=None,
        eos_token_id=None,
    )
)
apply_embeddings_(model, analytic_embeddings(stats, 32, "ppmi_svd"))  # GPT-2 ties wte and lm_head
monitor = K0CosineMonitor(stats, every=10, top_n=200)
with tempfile.TemporaryDirectory() as out:
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=out,
            max_steps=args.steps,
            per_device_train_batch_size=8,
            report_to=[],
            use_cpu=True,
            save_strategy="no",
            logging_steps=10,
        ),
        train_dataset=dataset,
        callbacks=[k0_cosine_callback(monitor)],
    )
    trainer.train()
for r in monitor.history:
    print(
        f"step {r['step']:3d}  k0 cos {r['k0_cos_eigh']:+.3f}  own init {r['control_initial_k0_cos_eigh']:+.3f}  "
        f"random {r['control_random_k0_cos_eigh']:+.3f}"
    )
