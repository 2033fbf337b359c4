"""The monitors in a plain PyTorch training loop, each report printed beside its controls:
ConvergenceMonitor (the diagnostics validated against remaining loss) and K0CosineMonitor.

python examples/monitor_plain_loop.py [--steps 200]
"""

import argparse

import numpy as np
import torch

from mobius_init import ConvergenceMonitor, CorpusStats, K0CosineMonitor, MiniGPT, MiniGPTConfig, read_corpus

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--steps", type=int, default=200)
args = parser.parse_args()

docs = list(read_corpus("builtin:lee"))
stats = CorpusStats.from_corpus(docs, vocab_size=500)
ids = torch.as_tensor(np.concatenate(list(stats.encode(docs))), dtype=torch.long)

torch.manual_seed(0)
model = MiniGPT(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=32, block_size=32))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
monitor = K0CosineMonitor(stats, every=50, top_n=200)  # derives k0 once
convergence = ConvergenceMonitor(every=50, total_steps=args.steps)  # its default diagnostics

for step in range(args.steps + 1):
    if step % monitor.every == 0:
        r = monitor.check(model, step)  # reads model.get_input_embeddings()
        print(
            f"step {step:4d}  k0 cos {r['k0_cos_eigh']:+.3f}  (own init {r['control_initial_k0_cos_eigh']:+.3f}, "
            f"random {r['control_random_k0_cos_eigh']:+.3f})  circulant {r['circulant_score']:.3f} "
            f"(random {r['control_random_circulant_score']:.3f})"
        )
        c = convergence.check(model, step)  # its controls: control_initial_*, control_random_*, step fraction
        print("           " + "  ".join(f"{k} {v:.3g}" for k, v in c.items() if isinstance(v, float)))
    start = torch.randint(0, len(ids) - 33, (16,))
    x = ids[start[:, None] + torch.arange(32)]
    y = ids[start[:, None] + torch.arange(1, 33)]
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    convergence.observe_loss(step, loss.item())
print(f"final training loss {loss.item():.3f}; monitor time {monitor.seconds:.2f} s")
