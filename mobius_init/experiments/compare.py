"""Analytic vs random initialization of a MiniGPT's tied embedding, over seeds, with the
k0-cosine monitor and its controls. Orchestration only: the math lives in the library."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..corpus import read_corpus
from ..diagnostics import QUANTITIES, K0CosineMonitor
from ..init import analytic_embeddings, apply_embeddings_
from ..minigpt import MiniGPT, MiniGPTConfig
from ..stats import CorpusStats
from ..training import TrainConfig, train


@dataclass
class CompareConfig:
    """corpus: any read_corpus source. tokenizer: ``word`` (the ``vocab_size`` most frequent words;
    other words are removed from the stream) or ``bpe`` (trained with ``vocab_size`` ids).
    The last ``val_fraction`` of the documents is held out for validation before the statistics
    are counted, so no init sees validation text. ``max_docs`` caps the documents read."""

    corpus: str = "builtin:lee"
    tokenizer: str = "word"
    vocab_size: int = 1000
    normalize: str = "text8"
    max_docs: int | None = None
    val_fraction: float = 0.1
    inits: Sequence[str] = ("random", "mobius", "ppmi_svd", "mstar")
    seeds: int = 3
    steps: int = 1000
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 64
    block_size: int = 64
    dropout: float = 0.1
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.01
    eval_every: int = 50
    monitor_every: int = 250
    monitor_top_n: int | None = None
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def prepare_data(config: CompareConfig) -> tuple[CorpusStats, np.ndarray, np.ndarray]:
    """Statistics of the training documents and the two id streams (int64)."""
    docs = list(read_corpus(config.corpus))
    if config.max_docs is not None:
        docs = docs[: config.max_docs]
    n_val = max(1, int(round(len(docs) * config.val_fraction)))
    if len(docs) < 2 or n_val >= len(docs):
        raise ValueError(
            f"the corpus has {len(docs)} documents: too few to hold out {config.val_fraction:.0%} for validation"
        )
    train_docs, val_docs = docs[:-n_val], docs[-n_val:]
    if config.tokenizer == "word":
        stats = CorpusStats.from_corpus(
            train_docs,
            tokenizer="word",
            max_size=config.vocab_size,
            normalize=config.normalize,
            progress=config.progress,
        )
    else:
        stats = CorpusStats.from_corpus(
            train_docs,
            tokenizer=config.tokenizer,
            vocab_size=config.vocab_size,
            normalize=config.normalize,
            progress=config.progress,
        )
    train_ids = np.concatenate(list(stats.encode(train_docs))).astype(np.int64)
    val_ids = np.concatenate(list(stats.encode(val_docs))).astype(np.int64)
    return stats, train_ids, val_ids


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def _loss_at(history: list[dict[str, Any]], step: float) -> float:
    """Validation loss at the evaluation nearest to ``step``."""
    return min(history, key=lambda h: abs(h["step"] - step))["val_loss"]


def run_compare(config: CompareConfig, out_dir: str | Path) -> dict[str, Any]:
    """Train every init x seed, write ``results.json``, ``results.md``, ``loss.png``,
    ``k0_cosine.png`` and per-run JSONL logs under ``out_dir``; returns the results."""
    out = Path(out_dir)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    stats, train_ids, val_ids = prepare_data(config)
    model_config = MiniGPTConfig(
        vocab_size=stats.vocab_size,
        n_layer=config.n_layer,
        n_head=config.n_head,
        n_embd=config.n_embd,
        block_size=config.block_size,
        dropout=config.dropout,
    )
    monitor = K0CosineMonitor(stats, every=config.monitor_every, top_n=config.monitor_top_n)
    runs: dict[str, list[dict[str, Any]]] = {}
    for init in config.inits:
        runs[init] = []
        for seed in range(config.seeds):
            torch.manual_seed(seed)
            model = MiniGPT(model_config)
            apply_embeddings_(model, analytic_embeddings(stats, config.n_embd, init, seed=seed))
            train_config = TrainConfig(
                steps=config.steps,
                batch_size=config.batch_size,
                lr=config.lr,
                weight_decay=config.weight_decay,
                eval_every=config.eval_every,
                seed=seed,
                log_path=str(out / "logs" / f"{init}_seed{seed}.jsonl"),
                progress=config.progress,
            )
            checks_before = monitor.seconds
            result = train(model, train_ids, val_ids, train_config, callbacks=[monitor])
            runs[init].append(
                {
                    "seed": seed,
                    "history": result.history,
                    "monitor": list(monitor.history),
                    "final_val_loss": result.final_val_loss,
                    "seconds": result.seconds,
                    "monitor_seconds": monitor.seconds - checks_before,
                }
            )
    results = {
        "config": asdict(config),
        "data": {
            "vocab_size": stats.vocab_size,
            "train_tokens": int(len(train_ids)),
            "val_tokens": int(len(val_ids)),
            "stats": stats.summary(),
        },
        "monitor_setup_seconds": monitor.setup_seconds,
        "summary": summarize(runs, config.steps),
        "runs": runs,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown_table(results))
    plot(results, out)
    return results


def summarize(runs: dict[str, list[dict[str, Any]]], steps: int) -> dict[str, Any]:
    """Per init: final loss, steps to reach random's final loss, loss at 10 % / 50 %, monitor."""
    target = _mean_sd([r["final_val_loss"] for r in runs["random"]])[0] if "random" in runs else math.nan
    summary: dict[str, Any] = {"random_final_val_loss": target}
    for init, rs in runs.items():
        reach = [next((h["step"] for h in r["history"] if h["val_loss"] <= target), None) for r in rs]
        reached = [s for s in reach if s is not None]
        entry: dict[str, Any] = {
            "final_val_loss": _mean_sd([r["final_val_loss"] for r in rs]),
            "val_loss_at_10pct": _mean_sd([_loss_at(r["history"], 0.1 * steps) for r in rs]),
            "val_loss_at_50pct": _mean_sd([_loss_at(r["history"], 0.5 * steps) for r in rs]),
            "steps_to_random_final": _mean_sd(reached) if reached else None,
            "runs_reaching_random_final": f"{len(reached)}/{len(rs)}",
            "monitor_overhead": float(np.mean([r["monitor_seconds"] / r["seconds"] for r in rs])),
        }
        for q in QUANTITIES:
            entry[q] = _mean_sd([r["monitor"][-1][q] for r in rs])
            entry[f"{q}_at_start"] = _mean_sd([r["monitor"][0][q] for r in rs])
            entry[f"control_random_{q}"] = _mean_sd([r["monitor"][-1][f"control_random_{q}"] for r in rs])
        summary[init] = entry
    return summary


def _fmt(pair: tuple[float, float] | None, digits: int = 3) -> str:
    return "—" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def markdown_table(results: dict[str, Any]) -> str:
    c, s, d = results["config"], results["summary"], results["data"]
    inits = [i for i in c["inits"]]
    lines = [
        f"Corpus `{c['corpus']}` ({c['tokenizer']}, vocabulary {d['vocab_size']:,}; {d['train_tokens']:,} train / "
        f"{d['val_tokens']:,} validation tokens), MiniGPT {c['n_layer']} layers × {c['n_head']} heads, "
        f"n_embd {c['n_embd']}, block {c['block_size']}, {c['steps']} steps of {c['batch_size']} blocks, AdamW lr "
        f"{c['lr']}, wd {c['weight_decay']}; {c['seeds']} seeds (mean ± sd).",
        "",
        "| init | final val loss | steps to random's final loss | val loss at 10 % | at 50 % |",
        "|---|---:|---:|---:|---:|",
    ]
    for i in inits:
        e = s[i]
        steps = _fmt(e["steps_to_random_final"], 0) + f" ({e['runs_reaching_random_final']} runs)"
        lines.append(
            f"| {i} | {_fmt(e['final_val_loss'])} | {steps} | {_fmt(e['val_loss_at_10pct'])} | "
            f"{_fmt(e['val_loss_at_50pct'])} |"
        )
    lines += [
        "",
        "K0CosineMonitor at the end of training, with its controls: the same quantity for this run's "
        "initial embedding (`at start`) and for a random embedding of the same shape and RMS (`random`).",
        "",
        "| init | k0 cos (eigh) | at start | random | k0 cos (fft) | at start | random | circulant score | at start | random | cos(W, I) | at start | random |",
        "|---|" + "---:|" * 12,
    ]
    for i in inits:
        e = s[i]
        cells = []
        for q in ("k0_cos_eigh", "k0_cos_fft", "circulant_score", "cos_W_I"):
            cells += [_fmt(e[q]), _fmt(e[f"{q}_at_start"]), _fmt(e[f"control_random_{q}"])]
        lines.append(f"| {i} | " + " | ".join(cells) + " |")
    overhead = max(s[i]["monitor_overhead"] for i in inits)
    lines += [
        "",
        f"Monitor overhead: at most {100 * overhead:.1f} % of training time per run "
        f"(every {c['monitor_every']} steps; k0 derivation once: {results['monitor_setup_seconds']:.1f} s).",
    ]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], out: Path) -> None:
    """``loss.png`` (validation loss, mean and min–max band over seeds) and ``k0_cosine.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for init, rs in runs.items():
        steps = [h["step"] for h in rs[0]["history"]]
        losses = np.array([[h["val_loss"] for h in r["history"]] for r in rs])
        (line,) = ax.plot(steps, losses.mean(0), label=f"{init} (n={len(rs)})")
        ax.fill_between(steps, losses.min(0), losses.max(0), color=line.get_color(), alpha=0.2)
    ax.set(xlabel="step", ylabel="validation loss", title="Validation loss (mean, band = min–max over seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for init, rs in runs.items():
        steps = [m["step"] for m in rs[0]["monitor"]]
        cos = np.array([[m["k0_cos_eigh"] for m in r["monitor"]] for r in rs])
        (line,) = ax.plot(steps, cos.mean(0), marker="o", label=f"{init}: trained")
        initial = np.mean([r["monitor"][0]["control_initial_k0_cos_eigh"] for r in rs])
        ax.axhline(initial, color=line.get_color(), linestyle=":", label=f"{init}: own init (control)")
    rand = np.mean([r["monitor"][0]["control_random_k0_cos_eigh"] for rs in runs.values() for r in rs])
    ax.axhline(rand, color="black", linestyle="--", label="random embedding (control)")
    ax.set(xlabel="step", ylabel="cos(k0 empirical, k0 derived [eigh])", title="k0 cosine with its controls")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "k0_cosine.png", dpi=120)
    plt.close(fig)
