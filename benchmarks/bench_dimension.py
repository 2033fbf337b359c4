"""Which dimension? Benchmark scores against d, with each rule's choice and its random control.

    python benchmarks/bench_dimension.py [--corpus PATH] [--out results.json] [--plot dimension.png]

One Res2Vec fit on shard AA at its defaults with dim="pip" (the SVD at max_dim 300; every d is a
truncation of it, rebuilt by ``Res2Vec.vectors(d)``), then SimLex-999, WordSim-353 and Google analogies
(3CosAdd) at d in 10..300, and the d each rule picks: PIP (Yin & Shen 2018), and the resonance fixed
point under each metric beside the fixed point of random Gaussian embeddings of the same shape (3 seeds).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, parse_args, require, save_results, similarity_files  # noqa: E402

GRID = (10, 25, 50, 75, 100, 150, 200, 250, 300)


def main() -> None:
    from res2vec import Res2Vec, evaluate
    from res2vec.dimension import resonance_dimension
    from res2vec.resonance import METRICS, sample_pairs

    args = parse_args(__doc__, (), lambda p: p.add_argument("--plot", type=Path, default=None))
    require(args.corpus)
    t0 = time.perf_counter()
    model = Res2Vec(dim="pip").fit(args.corpus)
    fit_seconds = time.perf_counter() - t0
    r = model.results_
    V = r["vocab_size"]
    scores = {}
    for d in GRID:
        ev = evaluate(model.keyed_vectors(d), similarity=similarity_files())
        scores[d] = {
            "simlex999": ev["similarity"]["simlex999"]["spearman"],
            "wordsim353": ev["similarity"]["wordsim353"]["spearman"],
            "3cosadd": ev["analogy"]["3cosadd"],
        }
        print(f"d = {d}: {scores[d]}", flush=True)
    pairs = sample_pairs(V, model.n_pairs, model.pair_vocab, model.seed)
    rules = {"pip": {"dim": r["dim"], "sigma": r["dimension"]["pip_sigma"], "rank": r["dimension"]["pip_rank"]}}
    for metric in METRICS:
        choice = resonance_dimension(model.word_factors_.astype(np.float64), V, pairs, metric, control_seeds=(0, 1, 2))
        rules[f"resonance ({metric})"] = {
            "dim": choice.dim,
            "crossing": choice.crossing,
            "random_dim": choice.random_dim,
        }
    best = {k: max(GRID, key=lambda d: scores[d][k]) for k in ("simlex999", "wordsim353", "3cosadd")}
    print(f"\nfit {fit_seconds:.1f} s, V = {V:,}\n")
    print(
        markdown_table(
            ["d", "SimLex-999", "WS-353", "Google 3CosAdd"],
            [[d, f"{s['simlex999']:.3f}", f"{s['wordsim353']:.3f}", f"{s['3cosadd']:.3f}"] for d, s in scores.items()],
            align="rrrr",
        )
    )
    print()
    print(
        markdown_table(
            ["rule", "d chosen", "random embedding's d (3 seeds)"],
            [[k, v["dim"], ", ".join(map(str, v.get("random_dim", []))) or "—"] for k, v in rules.items()],
        )
    )
    print(f"\nbest d on the grid: {best}")
    save_results(
        args,
        {
            "V": V,
            "fit_seconds": fit_seconds,
            "scores": scores,
            "rules": rules,
            "best": best,
            "pip_loss": r["dimension"]["pip_loss"],
        },
    )
    if args.plot:
        plot(scores, rules, args.plot)


def plot(scores: dict, rules: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    grid = list(scores)
    for key, label in (("simlex999", "SimLex-999"), ("wordsim353", "WS-353"), ("3cosadd", "Google 3CosAdd")):
        ax.plot(grid, [scores[d][key] for d in grid], marker="o", label=label)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"][3:]
    for (name, rule), colour in zip(rules.items(), colours, strict=False):
        ax.axvline(rule["dim"], color=colour, ls="--", lw=1, label=f"{name}: d = {rule['dim']}")
        for d in rule.get("random_dim", [])[:1]:
            ax.axvline(d, color=colour, ls=":", lw=1, label=f"  random embedding: d = {d}")
    ax.set(xlabel="dimension d", ylabel="score", title="Res2Vec benchmark scores against d, and each rule's choice")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
