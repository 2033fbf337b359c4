"""``verify res2vec``: the Res2Vec release's claims (:data:`claims.RES2VEC_CLAIMS`) beside controls.

* Calibration: ``d* = log2(V) / I(R)`` reproduces the release's 187.56 at its V and R (the formula),
  and a random Gaussian embedding's fixed point at that V (what isotropy alone would pick).
* The self-consistent dimension of our embeddings under each metric against random Gaussian
  embeddings of the same V x max_dim (several seeds); the same as a function of V (vocabularies of the
  top 5k ... words, each a fit of its own).
* Benchmark scores at each fixed point against the best d of a grid (one SVD, truncations).
* Resonance (cosine under the second-moment metric) against plain cosine on the similarity sets.
* Speed: wall time of gensim skip-gram (300 d, window 5, negative 5, 5 epochs, 2 workers) over
  Res2Vec's at its defaults, both from the raw files, on one shard and on all three.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..settings import check_positive, setting
from ..training import resolve_device
from .claims import RELEASE_R, RELEASE_V, RES2VEC_CLAIMS, RES2VEC_METRICS, judged, require
from .report import markdown

GRID = (10, 25, 50, 100, 150, 200, 250, 300)


@dataclass
class Res2VecVerifyConfig:
    """verify res2vec: the release's claims."""

    corpus: str | None = setting(None, "corpus of the dimension and resonance measurements (one shard); required")
    large_corpus: str | None = setting(None, "corpus of the second speed ratio (e.g. the three shards); required")
    max_dim: int = setting(300, "size of the SVD")
    min_count: int = setting(5, "drop words seen fewer times (as Res2Vec and word2vec do)")
    vocab_sizes: tuple[int, ...] = setting(
        (5000, 10_000, 20_000, 40_000), "smaller vocabularies for the fixed point against V"
    )
    control_seeds: int = setting(3, "random embeddings per fixed point")
    sgns_epochs: int = setting(5, "skip-gram epochs")
    device: str = setting("auto", "device of Res2Vec's SVDs: cpu, cuda, cuda:N, mps, or auto (CUDA when available)")
    progress: bool = setting(True, "progress bars", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "max_dim", "control_seeds", "sgns_epochs")


QUICK = {
    "corpus": "builtin:lee",
    "large_corpus": "builtin:lee",
    "max_dim": 30,
    "vocab_sizes": (600,),
    "control_seeds": 2,
    "sgns_epochs": 1,
}


def timed(function: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = function()
    return value, time.perf_counter() - t0


def run_verify_res2vec(config: Res2VecVerifyConfig, out_dir: str | Path) -> dict[str, Any]:
    require(config, "corpus", "large_corpus")
    from res2vec import Res2Vec, evaluate
    from res2vec.baselines import train_word2vec, word2vec_sentences
    from res2vec.evaluate import default_similarity_files, evaluate_similarity
    from res2vec.resonance import (
        metric_tensor,
        optimal_dimension,
        random_resonance_curve,
        resonance_curve,
        sample_pairs,
        self_consistent_dimension,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    small_corpus, large_corpus, min_count = config.corpus, config.large_corpus, config.min_count
    device = str(resolve_device(config.device))
    speed = {}
    for size, corpus in (("small", small_corpus), ("large", large_corpus)):
        model, res2vec_seconds = timed(
            lambda c=corpus: Res2Vec(max_dim=config.max_dim, min_count=min_count, device=device).fit(c)
        )
        if size == "small":
            main = model
        sentences, read = timed(lambda c=corpus: word2vec_sentences(c))
        _, sgns = timed(lambda s=sentences: train_word2vec(s, epochs=config.sgns_epochs, min_count=min_count))
        speed[size] = {
            "res2vec_seconds": res2vec_seconds,
            "skipgram_seconds": read + sgns,
            "tokens": model.results_["n_tokens_raw"],
            "ratio": (read + sgns) / res2vec_seconds,
        }
    V = main.results_["vocab_size"]
    W = main.word_factors_.astype(np.float64)
    pairs = sample_pairs(V, main.n_pairs, main.pair_vocab, main.seed)
    seeds = range(config.control_seeds)
    fixed: dict[str, dict[str, Any]] = {}
    for metric in RES2VEC_METRICS:
        ours = self_consistent_dimension(V, resonance_curve(W, pairs, metric))
        randoms = [
            self_consistent_dimension(V, random_resonance_curve(V, config.max_dim, pairs, metric, s)) for s in seeds
        ]
        release = self_consistent_dimension(RELEASE_V, random_resonance_curve(RELEASE_V, config.max_dim, pairs, metric))
        fixed[metric] = {
            "ours": ours.dim,
            "crossing": ours.crossing,
            "random": [r.dim for r in randoms],
            "random_at_release_V": release.dim,
        }
    by_vocab: dict[int, dict[str, Any]] = {}
    for size in (*config.vocab_sizes, V):
        fit = (
            main
            if size == V
            else Res2Vec(max_dim=config.max_dim, min_count=min_count, vocab_size=size, dim=10, device=device).fit(
                small_corpus
            )
        )
        Wv, Vv = fit.word_factors_.astype(np.float64), fit.results_["vocab_size"]
        p = sample_pairs(Vv, main.n_pairs, main.pair_vocab, main.seed)
        by_vocab[Vv] = {
            metric: {
                "ours": self_consistent_dimension(Vv, resonance_curve(Wv, p, metric)).dim,
                "random": self_consistent_dimension(Vv, random_resonance_curve(Vv, config.max_dim, p, metric, 0)).dim,
            }
            for metric in RES2VEC_METRICS
        }
    grid = sorted({d for d in GRID if d <= config.max_dim} | {f["ours"] for f in fixed.values()})
    scores = {}
    for d in grid:
        ev = evaluate(main.keyed_vectors(d))
        scores[d] = {
            "simlex999": ev["similarity"]["simlex999"]["spearman"],
            "wordsim353": ev["similarity"]["wordsim353"]["spearman"],
            "3cosadd": ev["analogy"]["3cosadd"],
        }
    best = {k: max(scores[d][k] for d in grid) for k in ("simlex999", "wordsim353", "3cosadd")}
    kv = main.keyed_vectors(config.max_dim)
    G = metric_tensor(kv.vectors)
    resonance = {
        name: {"resonance": evaluate_similarity(kv, path, G).spearman, "cosine": evaluate_similarity(kv, path).spearman}
        for name, path in default_similarity_files().items()
    }
    tables: dict[str, list[dict[str, Any]]] = {}
    for claim in RES2VEC_CLAIMS:
        note, controls = "", {}
        if claim.quantity == "calibration":
            values = [float(optimal_dimension(RELEASE_V, RELEASE_R))]
        elif claim.quantity == "random_fixed_point_release":
            values = [float(fixed["second_moment"]["random_at_release_V"])]
            note = (
                f"second-moment metric; cosine {fixed['cosine']['random_at_release_V']}, whitened "
                f"{fixed['whitened']['random_at_release_V']} (the release reports 188)"
            )
        elif claim.quantity == "fixed_point":
            f = fixed[claim.argument]
            values = [float(f["ours"])]
            controls = {f"random E (seed {s})": float(d) for s, d in enumerate(f["random"])}
            note = f"V = {V:,}, max_dim {config.max_dim}"
        elif claim.quantity == "score_gap":
            metric, benchmark = claim.argument
            values = [scores[fixed[metric]["ours"]][benchmark] - best[benchmark]]
            note = f"d = {fixed[metric]['ours']}: {scores[fixed[metric]['ours']][benchmark]:.3f} vs best {best[benchmark]:.3f}"
        elif claim.quantity == "resonance_gain":
            r = resonance[claim.argument]
            values, controls = [r["resonance"] - r["cosine"]], {"no difference": 0.0}
            note = f"resonance {r['resonance']:.4f}, cosine {r['cosine']:.4f} at d = {config.max_dim}"
        else:  # speed
            s = speed[claim.argument]
            values = [s["ratio"]]
            note = (
                f"{s['tokens']:,} tokens: skip-gram {s['skipgram_seconds']:.0f} s, Res2Vec {s['res2vec_seconds']:.1f} s"
            )
        tables.setdefault(claim.table, []).append(judged(claim, values, controls, note))
    report = {
        "config": asdict(config),
        "vocab_size": V,
        "device": device,
        "speed": speed,
        "fixed_points": fixed,
        "fixed_points_by_vocab": by_vocab,
        "scores": scores,
        "resonance": resonance,
        "tables": tables,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    rows = [
        f"| {v:,} | " + " | ".join(f"{f[m]['ours']} / {f[m]['random']}" for m in RES2VEC_METRICS) + " |"
        for v, f in sorted(by_vocab.items())
    ]
    extra = [
        "## The fixed point against V (ours / a random embedding's)",
        "",
        "| V | " + " | ".join(RES2VEC_METRICS) + " |",
        "|---:|" + "---:|" * len(RES2VEC_METRICS),
        *rows,
        "",
        "## Scores against d",
        "",
        "| d | SimLex-999 | WS-353 | Google 3CosAdd |",
        "|---:|---:|---:|---:|",
        *(f"| {d} | {s['simlex999']:.3f} | {s['wordsim353']:.3f} | {s['3cosadd']:.3f} |" for d, s in scores.items()),
    ]
    intro = (
        f"Corpus `{config.corpus}` (V = {V:,}, min_count {min_count}), Res2Vec at its defaults with the SVD at "
        f"{config.max_dim}; random controls: Gaussian embeddings of the same V x {config.max_dim}, "
        f"{config.control_seeds} seeds. Speed: wall time from the raw files for both systems (Res2Vec's SVD "
        f"on {device}, skip-gram on the CPU)."
    )
    (out / "report.md").write_text(markdown("Res2Vec release: verification", intro, tables, extra))
    plot(by_vocab, out)
    return report


def plot(by_vocab: dict[int, dict[str, Any]], out: Path) -> None:
    """``fixed_point_vs_V.png``: our fixed point and a random embedding's against V, per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = sorted(by_vocab)
    for metric in RES2VEC_METRICS:
        (line,) = ax.plot(sizes, [by_vocab[v][metric]["ours"] for v in sizes], marker="o", label=f"{metric}: ours")
        ax.plot(
            sizes,
            [by_vocab[v][metric]["random"] for v in sizes],
            ls="--",
            color=line.get_color(),
            label=f"{metric}: random embedding",
        )
    ax.set(
        xscale="log",
        xlabel="vocabulary size V",
        ylabel="self-consistent dimension",
        title="Fixed point of d = log2(V) / I(R(d)) against V",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "fixed_point_vs_V.png", dpi=120)
    plt.close(fig)


run = run_verify_res2vec  # what ``mobius-init verify`` calls
