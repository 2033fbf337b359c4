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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..settings import check_positive, setting
from ..timing import StageTimer
from ..train_config import resolve_device
from .claims import RELEASE_R, RELEASE_V, RES2VEC_CLAIMS, RES2VEC_METRICS, Claim, Measurement, judged, require
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


def run_verify_res2vec(config: Res2VecVerifyConfig, out_dir: str | Path) -> dict[str, Any]:
    require(config, "corpus", "large_corpus")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = str(resolve_device(config.device))
    speed, main = _speed(config, device)
    V = main.results_["vocab_size"]
    fixed = _fixed_points(main, config)
    by_vocab = _fixed_points_by_vocab(main, config, device)
    scores = _scores_by_dim(main, fixed, config)
    measured = _Measured(config, V, speed, fixed, scores, _resonance(main, config))
    tables: dict[str, list[dict[str, Any]]] = {}
    for claim in RES2VEC_CLAIMS:
        tables.setdefault(claim.table, []).append(judged(claim, *QUANTITIES[claim.quantity](measured, claim)))
    report = {
        "config": asdict(config),
        "vocab_size": V,
        "device": device,
        "speed": speed,
        "fixed_points": fixed,
        "fixed_points_by_vocab": by_vocab,
        "scores": scores,
        "resonance": measured.resonance,
        "tables": tables,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "report.md").write_text(_markdown(report, tables))
    plot(by_vocab, out)
    return report


def _speed(config: Res2VecVerifyConfig, device: str) -> tuple[dict[str, dict[str, Any]], Any]:
    """Res2Vec against skip-gram from the raw files, on the small and the large corpus; the small fit."""
    from res2vec import Res2Vec
    from res2vec.baselines import train_word2vec, word2vec_sentences

    speed, timer = {}, StageTimer()
    for size, corpus in (("small", config.corpus), ("large", config.large_corpus)):
        model = timer.time(
            f"res2vec_{size}",
            lambda c=corpus: Res2Vec(max_dim=config.max_dim, min_count=config.min_count, device=device).fit(c),
        )
        if size == "small":
            main = model
        sentences = timer.time(f"sgns_{size}", lambda c=corpus: word2vec_sentences(c))
        timer.time(
            f"sgns_{size}", lambda s=sentences: train_word2vec(s, epochs=config.sgns_epochs, min_count=config.min_count)
        )
        res2vec_seconds, sgns_seconds = timer.seconds[f"res2vec_{size}"], timer.seconds[f"sgns_{size}"]
        speed[size] = {
            "res2vec_seconds": res2vec_seconds,
            "skipgram_seconds": sgns_seconds,
            "tokens": model.results_["n_tokens_raw"],
            "ratio": sgns_seconds / res2vec_seconds,
        }
    return speed, main


def _fixed_points(main: Any, config: Res2VecVerifyConfig) -> dict[str, dict[str, Any]]:
    """Each metric's self-consistent dimension: ours, random embeddings' (several seeds), random at the release's V."""
    from res2vec.resonance import random_resonance_curve, resonance_curve, sample_pairs, self_consistent_dimension

    V = main.results_["vocab_size"]
    W = main.word_factors_.astype(np.float64)
    pairs = sample_pairs(V, main.n_pairs, main.pair_vocab, main.seed)
    fixed: dict[str, dict[str, Any]] = {}
    for metric in RES2VEC_METRICS:
        ours = self_consistent_dimension(V, resonance_curve(W, pairs, metric))
        randoms = [
            self_consistent_dimension(V, random_resonance_curve(V, config.max_dim, pairs, metric, s))
            for s in range(config.control_seeds)
        ]
        release = self_consistent_dimension(RELEASE_V, random_resonance_curve(RELEASE_V, config.max_dim, pairs, metric))
        fixed[metric] = {
            "ours": ours.dim,
            "crossing": ours.crossing,
            "random": [r.dim for r in randoms],
            "random_at_release_V": release.dim,
        }
    return fixed


def _fixed_points_by_vocab(main: Any, config: Res2VecVerifyConfig, device: str) -> dict[int, dict[str, Any]]:
    """The fixed point (ours / random's) of each smaller vocabulary, each a fit of its own, and of the main one."""
    from res2vec import Res2Vec
    from res2vec.resonance import random_resonance_curve, resonance_curve, sample_pairs, self_consistent_dimension

    V, by_vocab = main.results_["vocab_size"], {}
    for size in (*config.vocab_sizes, V):
        fit = main
        if size != V:
            settings = {"max_dim": config.max_dim, "min_count": config.min_count, "vocab_size": size, "dim": 10}
            fit = Res2Vec(**settings, device=device).fit(config.corpus)
        Wv, Vv = fit.word_factors_.astype(np.float64), fit.results_["vocab_size"]
        p = sample_pairs(Vv, main.n_pairs, main.pair_vocab, main.seed)
        by_vocab[Vv] = {
            metric: {
                "ours": self_consistent_dimension(Vv, resonance_curve(Wv, p, metric)).dim,
                "random": self_consistent_dimension(Vv, random_resonance_curve(Vv, config.max_dim, p, metric, 0)).dim,
            }
            for metric in RES2VEC_METRICS
        }
    return by_vocab


def _scores_by_dim(main: Any, fixed: dict[str, Any], config: Res2VecVerifyConfig) -> dict[int, dict[str, float]]:
    """Benchmark scores at each d of the grid and at each fixed point (truncations of one SVD)."""
    from res2vec import evaluate

    scores = {}
    for d in sorted({d for d in GRID if d <= config.max_dim} | {f["ours"] for f in fixed.values()}):
        ev = evaluate(main.keyed_vectors(d))
        scores[d] = {
            "simlex999": ev["similarity"]["simlex999"]["spearman"],
            "wordsim353": ev["similarity"]["wordsim353"]["spearman"],
            "3cosadd": ev["analogy"]["3cosadd"],
        }
    return scores


def _resonance(main: Any, config: Res2VecVerifyConfig) -> dict[str, dict[str, float]]:
    """Spearman of resonance (the second-moment metric) and of cosine on each similarity set, at max_dim."""
    from res2vec.evaluate import default_similarity_files, evaluate_similarity
    from res2vec.resonance import metric_tensor

    kv = main.keyed_vectors(config.max_dim)
    G = metric_tensor(kv.vectors)
    return {
        name: {"resonance": evaluate_similarity(kv, path, G).spearman, "cosine": evaluate_similarity(kv, path).spearman}
        for name, path in default_similarity_files().items()
    }


@dataclass
class _Measured:
    """What the claims read."""

    config: Res2VecVerifyConfig
    V: int
    speed: dict[str, dict[str, Any]]
    fixed: dict[str, dict[str, Any]]
    scores: dict[int, dict[str, float]]
    resonance: dict[str, dict[str, float]]


def _calibration(m: _Measured, claim: Claim) -> Measurement:
    from res2vec.resonance import optimal_dimension

    return [float(optimal_dimension(RELEASE_V, RELEASE_R))], {}, ""


def _random_fixed_point_release(m: _Measured, claim: Claim) -> Measurement:
    at = {metric: m.fixed[metric]["random_at_release_V"] for metric in m.fixed}
    note = f"second-moment metric; cosine {at['cosine']}, whitened {at['whitened']} (the release reports 188)"
    return [float(at["second_moment"])], {}, note


def _fixed_point(m: _Measured, claim: Claim) -> Measurement:
    f = m.fixed[claim.argument]
    controls = {f"random E (seed {s})": float(d) for s, d in enumerate(f["random"])}
    return [float(f["ours"])], controls, f"V = {m.V:,}, max_dim {m.config.max_dim}"


def _score_gap(m: _Measured, claim: Claim) -> Measurement:
    metric, benchmark = claim.argument
    d = m.fixed[metric]["ours"]
    best = max(by[benchmark] for by in m.scores.values())
    return [m.scores[d][benchmark] - best], {}, f"d = {d}: {m.scores[d][benchmark]:.3f} vs best {best:.3f}"


def _resonance_gain(m: _Measured, claim: Claim) -> Measurement:
    r = m.resonance[claim.argument]
    note = f"resonance {r['resonance']:.4f}, cosine {r['cosine']:.4f} at d = {m.config.max_dim}"
    return [r["resonance"] - r["cosine"]], {"no difference": 0.0}, note


def _speed_ratio(m: _Measured, claim: Claim) -> Measurement:
    s = m.speed[claim.argument]
    note = f"{s['tokens']:,} tokens: skip-gram {s['skipgram_seconds']:.0f} s, Res2Vec {s['res2vec_seconds']:.1f} s"
    return [s["ratio"]], {}, note


QUANTITIES = {
    "calibration": _calibration,
    "random_fixed_point_release": _random_fixed_point_release,
    "fixed_point": _fixed_point,
    "score_gap": _score_gap,
    "resonance_gain": _resonance_gain,
    "speed": _speed_ratio,
}


def _markdown(report: dict[str, Any], tables: dict[str, Any]) -> str:
    config, by_vocab, scores = report["config"], report["fixed_points_by_vocab"], report["scores"]
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
        f"Corpus `{config['corpus']}` (V = {report['vocab_size']:,}, min_count {config['min_count']}), Res2Vec at its "
        f"defaults with the SVD at {config['max_dim']}; random controls: Gaussian embeddings of the same V x "
        f"{config['max_dim']}, {config['control_seeds']} seeds. Speed: wall time from the raw files for both systems "
        f"(Res2Vec's SVD on {report['device']}, skip-gram on the CPU)."
    )
    return markdown("Res2Vec release: verification", intro, tables, extra)


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
