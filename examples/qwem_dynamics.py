"""QWEM learning dynamics: singular values of the embedding over training, measured beside the
closed-form prediction (Karkada et al. 2025), for constant and for true corpus weighting.

    python examples/qwem_dynamics.py [--corpus builtin:lee] [--vocab 1000] [--dim 6] [--steps 6000] [-o qwem.png]

Writes the plot and prints, per mode, when it switched on (reached half its final value sqrt(lam/2))
in the run and in the prediction, and whether the modes switched on in eigenvalue order.
"""

import argparse

import numpy as np

from mobius_init import CorpusStats
from mobius_init.qwem import switch_steps, train_qwem

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--corpus", default="builtin:lee")
parser.add_argument("--vocab", type=int, default=1000)
parser.add_argument("--dim", type=int, default=6)
parser.add_argument("--steps", type=int, default=6000)
parser.add_argument("-o", "--output", default="qwem_dynamics.png")
args = parser.parse_args()

stats = CorpusStats.from_corpus(args.corpus, weighting="linear", vocab_size=args.vocab)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for ax, weighting in zip(axes, ("constant", "corpus"), strict=True):
    run = train_qwem(
        stats.C,
        stats.vocab.counts,
        args.dim,
        steps=args.steps,
        weighting=weighting,
        record_every=max(1, args.steps // 300),
    )
    predicted = run.predicted()
    half = np.sqrt(np.maximum(run.eigenvalues, 0) / 2)
    measured_on, predicted_on = (switch_steps(v, run.steps, half) for v in (run.singular_values, predicted))
    print(f"\n{weighting} weighting (V = {stats.vocab_size}, lr = {run.lr:.3g}, {args.steps} steps)")
    print(" mode  eigenvalue  switch-on measured  predicted  final s measured  predicted")
    for k in range(args.dim):
        print(
            f" {k + 1:4d}  {run.eigenvalues[k]:10.2f}  {measured_on[k]:18.0f}  {predicted_on[k]:9.0f}  "
            f"{run.singular_values[-1, k]:16.3f}  {predicted[-1, k]:9.3f}"
        )
    on = measured_on[np.isfinite(measured_on)]
    print(
        f" switched on in eigenvalue order: {bool(np.all(np.diff(on) >= 0))}; "
        f"median |measured - predicted| switch step: {np.nanmedian(np.abs(measured_on - predicted_on)):.0f}"
    )
    for k in range(args.dim):
        (line,) = ax.plot(run.steps, run.singular_values[:, k], lw=2)
        ax.plot(run.steps, predicted[:, k], ls="--", color=line.get_color())
    ax.set(title=f"{weighting} weighting (solid: measured, dashed: closed form)", xlabel="gradient step")
axes[0].set_ylabel("singular value of W")
fig.tight_layout()
fig.savefig(args.output, dpi=120)
print(f"\nwrote {args.output}")
