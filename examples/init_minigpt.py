"""Initialize a MiniGPT's tied embedding from corpus statistics, then train it briefly.

python examples/init_minigpt.py [--corpus builtin:lee] [--method ppmi_svd] [--steps 200]
"""

import argparse

import numpy as np

from mobius_init import (
    CorpusStats,
    MiniGPT,
    MiniGPTConfig,
    TrainConfig,
    analytic_embeddings,
    apply_embeddings_,
    read_corpus,
    train,
)

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--corpus", default="builtin:lee")
parser.add_argument("--method", default="ppmi_svd", choices=["random", "mobius", "ppmi_svd", "mstar"])
parser.add_argument("--steps", type=int, default=200)
args = parser.parse_args()

docs = list(read_corpus(args.corpus))
train_docs, val_docs = docs[:-30], docs[-30:]
stats = CorpusStats.from_corpus(train_docs, vocab_size=1000)  # statistics of training text only
train_ids = np.concatenate(list(stats.encode(train_docs)))
val_ids = np.concatenate(list(stats.encode(val_docs)))

model = MiniGPT(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=32, block_size=32))
apply_embeddings_(model, analytic_embeddings(stats, dim=32, method=args.method))  # tok_emb and the tied lm_head
result = train(model, train_ids, val_ids, TrainConfig(steps=args.steps, eval_every=50))
print(f"{args.method} init: validation loss {result.history[0]['val_loss']:.3f} -> {result.final_val_loss:.3f}")
