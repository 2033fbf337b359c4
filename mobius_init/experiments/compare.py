"""Analytic vs random initialization of a MiniGPT's tied embedding, over seeds, with the
k0-cosine monitor and its controls. Orchestration only: the math lives in the library."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..embeddings import METHODS, analytic_embeddings
from ..kernel import KERNEL_QUANTITIES
from ..minigpt import MiniGPT, MiniGPTConfig
from ..monitors import K0CosineMonitor
from ..settings import CorpusConfig, InvalidSetting, check_positive, setting
from ..training import TrainConfig, train
from ..weights import apply_embeddings_
from .data import prepare_data


@dataclass
class CompareConfig:
    """The comparison: which inits, how many seeds, and the monitor's interval."""

    corpus: str = setting(
        "builtin:lee",
        "corpus source: a file or directory (.gz/.bz2/.xz read directly), builtin:lee, or hf:NAME[/CONFIG][:SPLIT]",
    )
    data: CorpusConfig = setting(factory=lambda: CorpusConfig(vocab_size=1000))
    model: MiniGPTConfig = setting(factory=MiniGPTConfig)
    train: TrainConfig = setting(factory=lambda: TrainConfig(eval_every=50))
    inits: tuple[str, ...] = setting(METHODS, "comma-separated inits to compare", choices=None)
    seeds: int = setting(3, "seeds per init (seed s gives every init the same data order and dropout)")
    val_fraction: float = setting(0.1, "share of the documents (the last ones) held out for validation")
    max_docs: int | None = setting(None, "read at most this many documents")
    monitor_every: int = setting(250, "steps between k0-cosine monitor checks")
    monitor_top_n: int | None = setting(None, "monitor the N most frequent ids only (bounds its cost)")
    progress: bool = setting(True, "progress bars", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "seeds", "monitor_every")
        check_positive(self, "max_docs", "monitor_top_n", allow_none=True)
        unknown = [i for i in self.inits if i not in METHODS]
        if unknown or not self.inits:
            raise InvalidSetting(
                "inits", f"has unknown init(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)}"
            )
        if not 0 < self.val_fraction < 1:
            raise InvalidSetting("val_fraction", f"must lie in (0, 1), got {self.val_fraction}")


DEMO = CompareConfig(
    model=MiniGPTConfig(n_embd=32, block_size=32),
    train=TrainConfig(steps=300, eval_every=25),
    seeds=2,
    monitor_every=100,
)


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
    data = prepare_data(
        config.corpus,
        config.data,
        val_fraction=config.val_fraction,
        max_docs=config.max_docs,
        progress=config.progress,
    )
    stats = data.stats
    model_config = replace(config.model, vocab_size=stats.vocab_size)
    monitor = K0CosineMonitor(stats, every=config.monitor_every, top_n=config.monitor_top_n)
    runs: dict[str, list[dict[str, Any]]] = {}
    for init in config.inits:
        runs[init] = []
        for seed in range(config.seeds):
            torch.manual_seed(seed)
            model = MiniGPT(model_config)
            apply_embeddings_(model, analytic_embeddings(stats, model_config.n_embd, init, seed=seed))
            train_config = replace(
                config.train,
                seed=seed,
                log_path=str(out / "logs" / f"{init}_seed{seed}.jsonl"),
                progress=config.progress,
            )
            checks_before = monitor.seconds
            result = train(model, data.train_ids, data.val_ids, train_config, callbacks=[monitor])
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
            "train_tokens": int(len(data.train_ids)),
            "val_tokens": int(len(data.val_ids)),
            "stats": stats.summary(),
        },
        "monitor_setup_seconds": monitor.setup_seconds,
        "summary": summarize(runs, config.train.steps),
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
        for q in KERNEL_QUANTITIES:
            entry[q] = _mean_sd([r["monitor"][-1][q] for r in rs])
            entry[f"{q}_at_start"] = _mean_sd([r["monitor"][0][q] for r in rs])
            entry[f"control_random_{q}"] = _mean_sd([r["monitor"][-1][f"control_random_{q}"] for r in rs])
        summary[init] = entry
    return summary


def _fmt(pair: tuple[float, float] | None, digits: int = 3) -> str:
    return "—" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def markdown_table(results: dict[str, Any]) -> str:
    c, s, d = results["config"], results["summary"], results["data"]
    m, t = c["model"], c["train"]
    inits = list(c["inits"])
    lines = [
        f"Corpus `{c['corpus']}` ({c['data']['tokenizer']}, vocabulary {d['vocab_size']:,}; {d['train_tokens']:,} "
        f"train / {d['val_tokens']:,} validation tokens), MiniGPT {m['n_layer']} layers × {m['n_head']} heads, "
        f"n_embd {m['n_embd']}, block {m['block_size']}, {t['steps']} steps of {t['batch_size']} blocks, AdamW lr "
        f"{t['lr']}, wd {t['weight_decay']}; {c['seeds']} seeds (mean ± sd).",
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
