"""``verify word2vec``: the closed-form word2vec report (Karkada, Simon, Bahri & DeWeese) in its own
protocol, beside controls, one verdict per claim (:data:`claims.WORD2VEC_CLAIMS`). Orchestration only.

The protocol of the authors' public code (dkarkada/qwem): lowercased ``[a-z]+`` tokens (text8),
articles of at least 500 tokens, the 10,000 most frequent words (others removed before windowing),
a window of 16 on each side with linear weights (17 - j), no subsampling, no context smoothing,
d = 200. M* from those counts; PPMI (cds 1) -> SVD; skip-gram with gensim on the same vocabulary and
window (its shrinking window is the same linear weighting in expectation), sample 0, 5 epochs.
Analogies in their protocol: every ordered pair of two distinct word pairs of each Google section
within the vocabulary, 3CosAdd over the vocabulary; and in the standard one (the file's questions).
The features claim: subspace overlap of trained embeddings (skip-gram; QWEM from a small init under
corpus weighting, on the top ``qwem_vocab`` words) with M*'s top eigenvectors, against a random
subspace; and QWEM's modes switching on in eigenvalue order, against the same training from a large init.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from ..embeddings import mstar_embeddings, ppmi_svd_embeddings, random_control
from ..encoding import encode_corpus
from ..qwem import QWEMRun, train_qwem
from ..settings import check_positive, setting
from ..spectral import subspace_overlap
from ..stats import CorpusStats
from ..timing import StageTimer
from ..train_config import resolve_device
from .cache import StageCache
from .claims import WORD2VEC_CLAIMS, Claim, Measurement, judged, require
from .report import markdown


@dataclass
class Word2VecVerifyConfig:
    """verify word2vec: the paper's protocol."""

    corpus: str | None = setting(
        None, "corpus: a file, a directory or a glob (one Wikipedia shard, or all three with a glob); required"
    )
    vocab_size: int = setting(10_000, "the most frequent words kept")
    min_doc_tokens: int = setting(500, "documents (articles) with fewer tokens are left out")
    window: int = setting(16, "window on each side (linear weights)")
    dim: int = setting(200, "embedding dimension")
    sgns_epochs: int = setting(5, "skip-gram epochs")
    qwem_vocab: int = setting(2000, "QWEM trains on the most frequent words only (dense V x V)")
    qwem_dim: int = setting(20, "QWEM's embedding dimension")
    qwem_steps: int = setting(6000, "QWEM's full-batch gradient steps")
    men: str | None = setting(None, "a MEN similarity file (word1 word2 score), when you have one")
    seed: int = setting(0, "seed of the SVD sketch, skip-gram and QWEM's init")
    device: str = setting(
        "auto", "device of QWEM's float64 gradient descent: cpu, cuda, cuda:N, or auto (CUDA when available)"
    )
    progress: bool = setting(True, "progress bars", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "vocab_size", "window", "dim", "sgns_epochs", "qwem_vocab", "qwem_dim", "qwem_steps")


QUICK = {
    "corpus": "builtin:lee",
    "vocab_size": 400,
    "min_doc_tokens": 1,
    "dim": 12,
    "sgns_epochs": 1,
    "qwem_vocab": 120,
    "qwem_dim": 4,
    "qwem_steps": 1500,
}


def skipgram(stats: CorpusStats, config: Word2VecVerifyConfig) -> np.ndarray:
    """gensim skip-gram on the protocol's documents with exactly its vocabulary; rows in vocabulary order."""
    from res2vec.baselines import train_word2vec, word2vec_sentences

    kv = train_word2vec(
        word2vec_sentences(config.corpus, config.min_doc_tokens),
        vector_size=config.dim,
        window=config.window,
        sample=0,
        epochs=config.sgns_epochs,
        seed=config.seed,
        vocabulary=(stats.vocab.tokens, stats.vocab.counts),
    )
    return np.stack([kv[t] for t in stats.vocab.tokens]).astype(np.float64)


def mode_order(run: QWEMRun) -> float:
    """Spearman rho between a mode's eigenvalue rank and the step at which it first reaches half its final
    norm (1: M*'s modes are learned one at a time in eigenvalue order)."""
    final = run.mode_norms[-1]
    switch = [
        run.steps[np.flatnonzero(run.mode_norms[:, k] >= final[k] / 2)[0]] for k in range(run.mode_norms.shape[1])
    ]
    if np.ptp(switch) == 0:
        return float("nan")
    return float(spearmanr(np.arange(len(switch)), switch).statistic)


def run_verify_word2vec(config: Word2VecVerifyConfig, out_dir: str | Path) -> dict[str, Any]:
    require(config, "corpus")
    device = resolve_device(config.device)  # an unavailable device fails here, before any counting
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timer = StageTimer()
    cache = StageCache(out / "cache", {k: v for k, v in asdict(config).items() if k not in ("progress", "device")})
    stats = timer.time(
        "statistics",
        lambda: cache.get("stats.npz", lambda: _statistics(config), lambda s, p: s.save(p), CorpusStats.load),
    )
    models: dict[str, np.ndarray] = {}
    for name, build in (
        ("mstar", lambda: mstar_embeddings(stats, config.dim, seed=config.seed)),
        ("ppmi", lambda: ppmi_svd_embeddings(stats, config.dim, seed=config.seed, cds=1.0)),
        ("sgns", lambda: skipgram(stats, config)),
    ):
        models[name] = timer.time(name, lambda n=name, b=build: cache.get(n, b))
    models["random"] = random_control((stats.vocab_size, config.dim), 1.0, config.seed)
    scores, questions = timer.time("benchmarks", lambda: _benchmark_scores(models, stats, config))
    top = stats.restrict(min(config.qwem_vocab, stats.vocab_size))
    qwem, large = timer.time("qwem", lambda: _qwem_runs(top, config, cache, device))
    measured = _Measured(config, scores, len(questions), _overlaps(models, qwem, large, config), qwem, large, top)
    tables: dict[str, list[dict[str, Any]]] = {}
    for claim in WORD2VEC_CLAIMS:
        tables.setdefault(claim.table, []).append(judged(claim, *QUANTITIES[claim.quantity](measured, claim)))
    report = {
        "config": asdict(config),
        "device": str(device),
        "data": {"vocab_size": stats.vocab_size, "questions_pairs_protocol": len(questions), "stats": stats.summary()},
        "seconds": timer.seconds,
        "reused_from_cache": cache.reused,
        "scores": scores,
        "tables": tables,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(_markdown(report, stats, tables, cache.reused))
    plot(qwem, large, out)
    return report


def _statistics(config: Word2VecVerifyConfig) -> CorpusStats:
    encoded = encode_corpus(
        config.corpus,
        vocab_size=config.vocab_size,
        min_count=1,
        min_doc_tokens=config.min_doc_tokens,
        progress=config.progress,
    )
    return CorpusStats.from_encoded(encoded, config.window, "linear", progress=config.progress)


def _benchmark_scores(
    models: dict[str, np.ndarray], stats: CorpusStats, config: Word2VecVerifyConfig
) -> tuple[dict[str, dict[str, float]], Any]:
    """Each model's analogy (both protocols) and similarity scores, and the pairs protocol's questions."""
    from res2vec.evaluate import (
        analogy_accuracy,
        default_analogy_file,
        default_similarity_files,
        evaluate_analogies,
        evaluate_similarity,
        pair_analogies,
    )
    from res2vec.io import keyed_vectors

    tokens = stats.vocab.tokens
    questions, _ = pair_analogies(default_analogy_file(), {t: i for i, t in enumerate(tokens)})
    similarity_files = {"wordsim353": default_similarity_files()["wordsim353"]}
    if config.men:
        similarity_files["men"] = Path(config.men)
    scores: dict[str, dict[str, float]] = {}
    for name, E in models.items():
        kv = keyed_vectors(tokens, E.astype(np.float32))
        scores[name] = {
            "analogy_pairs": analogy_accuracy(E, questions),
            "analogy_google": evaluate_analogies(kv, default_analogy_file(), restrict_vocab=stats.vocab_size)[
                "3cosadd"
            ],
            **{f"similarity_{k}": evaluate_similarity(kv, path).spearman for k, path in similarity_files.items()},
        }
    return scores, questions


def _qwem_runs(
    top: CorpusStats, config: Word2VecVerifyConfig, cache: StageCache, device: Any
) -> tuple[QWEMRun, QWEMRun]:
    """QWEM from the paper's small init and, as the control, from an init already at scale."""

    def kept(name: str, init_scale: float) -> QWEMRun:
        def fit() -> QWEMRun:
            return train_qwem(
                top.C,
                top.vocab.counts,
                config.qwem_dim,
                steps=config.qwem_steps,
                weighting="corpus",
                record_every=max(1, config.qwem_steps // 300),
                seed=config.seed,
                init_scale=init_scale,
                device=device,
            )

        return cache.get(name, fit, lambda r, p: r.save(p), QWEMRun.load)

    small = kept("qwem_small.npz", 1e-6)
    return small, kept("qwem_large.npz", 1 / (np.sqrt(top.vocab_size) + np.sqrt(config.qwem_dim)))


def _overlaps(
    models: dict[str, np.ndarray], qwem: QWEMRun, large: QWEMRun, config: Word2VecVerifyConfig
) -> dict[str, tuple[float, dict[str, float], str]]:
    """Subspace overlap with M*'s top eigenvectors: (measured, its control, what a reference model reaches)."""
    random_small = random_control((qwem.W.shape[0], config.qwem_dim), 1.0, config.seed)
    return {
        "sgns": (
            subspace_overlap(models["sgns"], models["mstar"]),
            {"random subspace": subspace_overlap(models["random"], models["mstar"])},
            f"PPMI-SVD reaches {subspace_overlap(models['ppmi'], models['mstar']):.3f}",
        ),
        "qwem": (
            subspace_overlap(qwem.W, qwem.eigenvectors),
            {"random subspace": subspace_overlap(random_small, qwem.eigenvectors)},
            f"QWEM from a large init reaches {subspace_overlap(large.W, large.eigenvectors):.3f}",
        ),
    }


@dataclass
class _Measured:
    """What the claims read."""

    config: Word2VecVerifyConfig
    scores: dict[str, dict[str, float]]
    n_questions: int
    overlaps: dict[str, tuple[float, dict[str, float], str]]
    qwem: QWEMRun
    large: QWEMRun
    top: CorpusStats


def _analogy(m: _Measured, claim: Claim) -> Measurement:
    note = f"{m.n_questions:,} questions" if claim.quantity == "analogy_pairs" else ""
    return [m.scores[claim.argument][claim.quantity]], {"random E": m.scores["random"][claim.quantity]}, note


def _similarity(m: _Measured, claim: Claim) -> Measurement:
    dataset, model = claim.argument
    key = f"similarity_{dataset}"
    if key not in m.scores[model]:
        return [float("nan")], {}, f"no {dataset.upper()} file: pass --men PATH"
    return [m.scores[model][key]], {"random E": m.scores["random"][key]}, ""


def _overlap(m: _Measured, claim: Claim) -> Measurement:
    measured, controls, reference = m.overlaps[claim.argument]
    dim = m.config.dim if claim.argument == "sgns" else m.config.qwem_dim
    return [measured], controls, f"d = {dim}; {reference}"


def _staircase(m: _Measured, claim: Claim) -> Measurement:
    note = f"V = {m.top.vocab_size}, d = {m.config.qwem_dim}, {m.config.qwem_steps} steps"
    return [mode_order(m.qwem)], {"QWEM from a large init": mode_order(m.large)}, note


QUANTITIES = {
    "analogy_pairs": _analogy,
    "analogy_google": _analogy,
    "similarity": _similarity,
    "overlap": _overlap,
    "staircase": _staircase,
}


def _markdown(report: dict[str, Any], stats: CorpusStats, tables: dict[str, Any], reused: list[str]) -> str:
    config = report["config"]
    intro = (
        f"Corpus `{config['corpus']}`: {stats.summary()}. Articles of at least {config['min_doc_tokens']} tokens, "
        f"the {stats.vocab_size:,} most frequent words, window {config['window']} (linear weights), d = "
        f"{config['dim']}. Each model is one run (sd 0), so the margin is the rule's minimum. Controls: a random "
        "Gaussian embedding of the same shape; for the features, a random subspace (and the other models named)."
    )
    timing = f"Time per stage (s): {json.dumps({k: round(v, 1) for k, v in report['seconds'].items()})}" + (
        f"; reused from an earlier run's cache: {', '.join(reused)}" if reused else ""
    )
    return markdown("Closed-form word2vec report: verification", intro, tables, [timing])


def plot(qwem: QWEMRun, large: QWEMRun, out: Path) -> None:
    """``qwem_modes.png``: each M* mode's norm over training, small init (the staircase) and large init."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, run, title in ((axes[0], qwem, "small init"), (axes[1], large, "large init (control)")):
        ax.plot(run.steps, run.mode_norms)
        ax.set(xlabel="gradient step", title=f"QWEM, corpus weighting, {title}")
    axes[0].set_ylabel("||q_kᵀ W|| for M*'s top eigenvectors")
    fig.tight_layout()
    fig.savefig(out / "qwem_modes.png", dpi=120)
    plt.close(fig)


run = run_verify_word2vec  # what ``mobius-init verify`` calls
