"""Analytic vs random initialization of a model's tied embedding, over seeds paired by seed, with
controls that say where a gain comes from and the k0-cosine monitor. Orchestration only: the math
lives in the library (embeddings, training, significance).

The arms (inits, the model, the settings every experiment shares) are built in :mod:`.arms`.

Every run writes its result (``runs/``) when it ends and its full state (``checkpoints/``) at each
validation, so an interrupted comparison continues where it stopped with ``resume``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..kernel import KERNEL_QUANTITIES
from ..minigpt import MiniGPTConfig
from ..monitors import EmbeddingSnapshots, K0CosineMonitor
from ..settings import InvalidSetting, check_positive, setting
from ..significance import first_crossing, mean_sd, paired_difference, plateaued
from ..train_config import TrainConfig
from ..training import TrainResult, train
from .arms import ExperimentConfig, InitSpec, build_model, initialise
from .data import ExperimentData, load_or_prepare, output_folders, refuse_changed_settings, run_settings


@dataclass
class CompareConfig(ExperimentConfig):
    """The comparison: which inits, how many seeds, the monitor and what is kept."""

    train: TrainConfig = setting(factory=lambda: TrainConfig(eval_every=50))
    monitor_every: int = setting(250, "steps between k0-cosine monitor checks")
    monitor_top_n: int | None = setting(1024, "monitor the N most frequent ids ('none': all; dense N x N arrays)")
    snapshots: int = setting(0, "save the tied embedding at this many evenly spaced steps per run (snapshots/)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "monitor_every")
        check_positive(self, "monitor_top_n", allow_none=True)
        if self.snapshots < 0:
            raise InvalidSetting("snapshots", f"must be >= 0, got {self.snapshots}")


DEMO = CompareConfig(
    model=MiniGPTConfig(n_embd=32, block_size=32),
    train=TrainConfig(steps=300, eval_every=25),
    inits=("random", "random+unigram", "ppmi_svd+unigram", "ppmi_svd:shuffled+unigram"),
    seeds=2,
    monitor_every=100,
)
DEMO_NOTE = (
    "This demo is a smoke test: 60k words and 300 steps of a 32-wide model show that every stage runs and how "
    "the recommended init (ppmi_svd+unigram) and its controls (random, random+unigram: frequency alone; "
    "ppmi_svd:shuffled+unigram: the right rows on the wrong tokens) are compared. It cannot rank inits: "
    "see docs/results/ for the measured comparisons."
)


def run_compare(
    config: CompareConfig, out_dir: str | Path, *, resume: bool = False, client: Any = None
) -> dict[str, Any]:
    """Train every init x seed; write ``results.json``, ``results.md``, ``loss.png``, ``k0_cosine.png``,
    per-run JSONL logs (``logs/``), results (``runs/``) and checkpoints (``checkpoints/``) under
    ``out_dir``. With ``resume``, finished runs are read back and an interrupted one continues from
    its checkpoint; without it every run starts afresh. With a ``dask.distributed.Client``, each run is one
    task on its workers, which read the data from and write to ``out_dir`` (a path every worker shares); a
    task retried after its worker died continues the run from its checkpoint."""
    out = Path(out_dir)
    data = load_or_prepare(config, out)
    with output_folders(out, ("logs", "runs", "checkpoints") + (("snapshots",) if config.snapshots else ())):
        return _run_compare(config, out, data, resume, client)


def run_names(config: CompareConfig) -> list[str]:
    """The file stem of every run of the comparison (``INIT_seedN``)."""
    return [f"{InitSpec.parse(t)}_seed{s}".replace(":", "-") for t in config.inits for s in range(config.seeds)]


def remove_other_runs(out: Path, names: list[str]) -> list[str]:
    """Remove the files of runs not in ``names`` from the run folders of ``out`` (an earlier comparison with
    other inits or seeds, which this one's report would not show); returns what was removed."""
    removed = []
    for folder in ("runs", "logs", "checkpoints", "snapshots"):
        for path in sorted((out / folder).glob("*")):
            if path.is_file() and not any(path.name.startswith(f"{name}.") for name in names):
                path.unlink()
                removed.append(f"{folder}/{path.name}")
    return removed


def _run_compare(config: CompareConfig, out: Path, data: ExperimentData, resume: bool, client: Any) -> dict[str, Any]:
    names = run_names(config)
    removed = [] if resume else remove_other_runs(out, names)
    if not resume:  # a fresh comparison: every run starts afresh, then each continues from its own files
        for name in names:
            for path in (out / "runs" / f"{name}.json", out / "checkpoints" / f"{name}.pt"):
                path.unlink(missing_ok=True)
    stats = data.stats
    monitor = _monitor(config, stats)
    steps = config.train.steps
    specs = [InitSpec.parse(text) for text in config.inits]
    cells = [(str(spec), seed) for spec in specs for seed in range(config.seeds)]
    if client is None:
        snap_steps = _snapshot_steps(config)
        done = [
            _compare_run(config, out, data, monitor, snap_steps, spec, s) for spec in specs for s in range(config.seeds)
        ]
    else:
        tasks = [
            client.submit(compare_run, config, out.resolve(), *c, key=f"run-{n}", retries=2)
            for c, n in zip(cells, names, strict=True)
        ]
        done = client.gather(tasks)  # the first failure is raised here, the runs before it kept
    runs: dict[str, list[dict[str, Any]]] = {}
    for (init, _), run in zip(cells, done, strict=True):
        runs.setdefault(init, []).append(run)
    results = {
        "config": asdict(config),
        "data": {
            "vocab_size": stats.vocab_size,
            "train_tokens": int(len(data.train_ids)),
            "val_tokens": int(len(data.val_ids)),
            "stats": stats.summary(),
        },
        "warmup_steps": config.train.warmup,
        "removed_earlier_files": removed,
        "monitor_setup_seconds": monitor.setup_seconds,
        "summary": summarize(runs, steps),
        "runs": {
            init: [{k: v for k, v in r.items() if k not in ("train_losses", "settings")} for r in rs]
            for init, rs in runs.items()
        },
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown_table(results))
    plot(results, out)
    return results


def compare_run(config: CompareConfig, out: Path, init: str, seed: int) -> dict[str, Any]:
    """One (init, seed) run as a Dask task: the data read from ``out/data``, a monitor of its own."""
    data = load_or_prepare(config, out)
    return _compare_run(
        config, out, data, _monitor(config, data.stats), _snapshot_steps(config), InitSpec.parse(init), seed
    )


def _monitor(config: CompareConfig, stats: Any) -> K0CosineMonitor:
    return K0CosineMonitor(stats, every=config.monitor_every, top_n=config.monitor_top_n)


def _snapshot_steps(config: CompareConfig) -> set[int]:
    """The steps at which the embedding is kept (``config.snapshots`` of them, evenly spaced)."""
    if not config.snapshots:
        return set()
    return {int(s) for s in np.linspace(0, config.train.steps, config.snapshots + 1)[1:].round()}


def _compare_run(
    config: CompareConfig,
    out: Path,
    data: ExperimentData,
    monitor: K0CosineMonitor,
    snap_steps: set[int],
    spec: InitSpec,
    seed: int,
) -> dict[str, Any]:
    """One init and seed: read back when finished, continued from its checkpoint, or trained."""
    model_config = replace(config.model, vocab_size=data.stats.vocab_size)
    name = f"{spec}_seed{seed}".replace(":", "-")
    result_file = out / "runs" / f"{name}.json"
    checkpoint = out / "checkpoints" / f"{name}.pt"
    train_config = replace(
        config.train,
        seed=seed,
        log_path=str(out / "logs" / f"{name}.jsonl"),
        checkpoint_path=str(checkpoint),
        resume=True,
        progress=config.progress,
        desc=f"{spec} seed {seed}",
    )
    settings = {
        **run_settings(config, model_config, str(spec), train_config),
        "monitor": [config.monitor_every, config.monitor_top_n],
        "snapshots": config.snapshots,
    }
    settings_file = out / "checkpoints" / f"{name}.settings.json"
    if result_file.is_file():
        finished = json.loads(result_file.read_text())
        refuse_changed_settings(result_file, finished.get("settings", {}), settings)
        return finished
    if checkpoint.is_file():
        saved = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
        refuse_changed_settings(checkpoint, saved, settings)
    settings_file.write_text(json.dumps(settings))
    model = build_model(config.architecture, model_config, seed)
    initialise(model, data.stats, spec, seed)
    snaps = EmbeddingSnapshots(snap_steps)
    checks_before = monitor.seconds
    result = _train_keeping_settings(model, data, train_config, [monitor] + ([snaps] if snap_steps else []))
    run = {
        "settings": settings,
        "seed": seed,
        "history": [h for h in result.history if "val_loss" in h],
        "monitor": list(monitor.history),
        "train_losses": result.train_losses,
        "final_val_loss": result.final_val_loss,
        "seconds": result.seconds,
        "monitor_seconds": monitor.seconds - checks_before,
    }
    if snap_steps:
        np.savez(out / "snapshots" / f"{name}.npz", **{f"step_{s}": E for s, E in sorted(snaps.E.items())})
    result_file.write_text(json.dumps(run))
    return run


def _train_keeping_settings(
    model: torch.nn.Module, data: ExperimentData, train_config: TrainConfig, callbacks: list[Any]
) -> TrainResult:
    """:func:`train`; a run stopped before its first checkpoint leaves no settings file behind."""
    checkpoint = Path(train_config.checkpoint_path)
    try:
        return train(model, data.train_ids, data.val_ids, train_config, callbacks=callbacks)
    except BaseException:
        if not checkpoint.is_file():  # nothing was trained: no settings to keep
            checkpoint.with_name(f"{checkpoint.stem}.settings.json").unlink(missing_ok=True)
        raise


def _curve(run: dict[str, Any]) -> tuple[list[float], list[float]]:
    return [h["step"] for h in run["history"]], [h["val_loss"] for h in run["history"]]


def _loss_at(run: dict[str, Any], step: float) -> float:
    """Validation loss at the evaluation nearest to ``step``."""
    return min(run["history"], key=lambda h: abs(h["step"] - step))["val_loss"]


def summarize(runs: dict[str, list[dict[str, Any]]], steps: int) -> dict[str, Any]:
    """Per init, paired by seed with ``random``: final loss and its difference from random's (paired
    t-test), steps to reach random's final loss (each seed's own, linearly interpolated between
    evaluations; a run that never reaches it counts as ``steps``, a lower bound) and the steps saved
    (paired t-test), plateau, loss at 10 % / 50 %, the monitor's last values with their controls."""
    reference = runs["random"]
    targets = [r["final_val_loss"] for r in reference]
    random_steps = [first_crossing(*_curve(r), t) for r, t in zip(reference, targets, strict=True)]
    summary: dict[str, Any] = {"random_final_val_loss": mean_sd(targets)}
    for init, rs in runs.items():
        reached = [first_crossing(*_curve(r), t) for r, t in zip(rs, targets, strict=True)]
        censored = [steps if s is None else s for s in reached]
        finals = [r["final_val_loss"] for r in rs]
        entry: dict[str, Any] = {
            "final_val_loss": mean_sd(finals),
            "delta_vs_random": paired_difference(finals, targets),
            "steps_to_random_final": mean_sd(censored),
            "runs_reaching_random_final": f"{sum(s is not None for s in reached)}/{len(rs)}",
            "steps_saved_vs_random": paired_difference(random_steps, censored),
            "plateaued": f"{sum(plateaued(*_curve(r)) for r in rs)}/{len(rs)}",
            "val_loss_at_10pct": mean_sd([_loss_at(r, 0.1 * steps) for r in rs]),
            "val_loss_at_50pct": mean_sd([_loss_at(r, 0.5 * steps) for r in rs]),
            "monitor_overhead": float(max(r["monitor_seconds"] / r["seconds"] for r in rs)),  # the worst run
        }
        for q in KERNEL_QUANTITIES:
            entry[q] = mean_sd([r["monitor"][-1][q] for r in rs])
            entry[f"{q}_at_start"] = mean_sd([r["monitor"][0][q] for r in rs])
            entry[f"control_random_{q}"] = mean_sd([r["monitor"][-1][f"control_random_{q}"] for r in rs])
        summary[init] = entry
    return summary


def _fmt(pair: tuple[float, float] | None, digits: int = 3) -> str:
    return "—" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def _p(value: float) -> str:
    return "—" if value != value else f"{value:.2g}"  # NaN: no spread or a single pair


def markdown_table(results: dict[str, Any]) -> str:
    c, s, d = results["config"], results["summary"], results["data"]
    m, t = c["model"], c["train"]
    inits = list(results["runs"])
    schedule = f"warmup {results['warmup_steps']} steps, then {t['schedule']}"
    lines = [
        f"Corpus `{c['corpus']}` ({c['data']['tokenizer']}, vocabulary {d['vocab_size']:,}; {d['train_tokens']:,} "
        f"train / {d['val_tokens']:,} validation tokens), {c['architecture']} {m['n_layer']} layers × {m['n_head']} "
        f"heads, n_embd {m['n_embd']}, block {m['block_size']}, {t['steps']} steps of {t['batch_size']} blocks, "
        f"AdamW lr {t['lr']} ({schedule}), wd {t['weight_decay']}; {c['seeds']} seeds paired by seed (mean ± sd).",
        "",
        "Δ = this init minus random with the same seed; p = two-sided paired t-test. Steps to random's final loss "
        "are interpolated between evaluations; a run that never gets there counts as the full run (a lower "
        "bound). Plateau: validation loss improved by less than 1 % over the last 20 % of steps.",
        "",
        "| init | final val loss | Δ vs random | p | steps to random's final loss | steps saved | p | plateau | "
        "val loss at 10 % | at 50 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i in inits:
        e = s[i]
        delta, saved = e["delta_vs_random"], e["steps_saved_vs_random"]
        lines.append(
            f"| {i} | {_fmt(e['final_val_loss'])} | {delta['mean']:+.3f} ± {delta['sd']:.3f} | {_p(delta['p'])} | "
            f"{_fmt(e['steps_to_random_final'], 0)} ({e['runs_reaching_random_final']} reach it) | "
            f"{saved['mean']:+.0f} ± {saved['sd']:.0f} | {_p(saved['p'])} | {e['plateaued']} | "
            f"{_fmt(e['val_loss_at_10pct'])} | {_fmt(e['val_loss_at_50pct'])} |"
        )
    lines += [
        "",
        "K0CosineMonitor at the end of training, with its controls: the same quantity for this run's "
        "initial embedding (`at start`) and for a random embedding of the same shape and RMS (`random`).",
        "",
        "| init | k0 cos (eigh) | at start | random | k0 cos (fft) | at start | random | circulant score | at start | "
        "random | cos(W, I) | at start | random |",
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
        f"(every {c['monitor_every']} steps, top {c['monitor_top_n'] or d['vocab_size']} ids; k0 derivation once: "
        f"{results['monitor_setup_seconds']:.1f} s).",
    ]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], out: Path) -> None:
    """``loss.png``: Δ(validation loss) vs random over steps (mean, band = min–max over paired seeds)
    beside the raw validation loss with the target used for "steps to"; ``k0_cosine.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs, summary = results["runs"], results["summary"]
    reference = np.array([[h["val_loss"] for h in r["history"]] for r in runs["random"]])
    steps = [h["step"] for h in runs["random"][0]["history"]]
    target = summary["random_final_val_loss"][0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for init, rs in runs.items():
        losses = np.array([[h["val_loss"] for h in r["history"]] for r in rs])
        delta = losses - reference
        (line,) = left.plot(steps, delta.mean(0), label=f"{init} (n={len(rs)})")
        left.fill_between(steps, delta.min(0), delta.max(0), color=line.get_color(), alpha=0.2)
        right.plot(steps, losses.mean(0), color=line.get_color(), label=init)
        reach = summary[init]["steps_to_random_final"][0]
        if reach < steps[-1] or init == "random":
            right.plot([reach], [target], marker="o", color=line.get_color())
    left.axhline(0, color="black", lw=0.8)
    left.set(
        xlabel="step", ylabel="Δ validation loss vs random (nats)", title="Δ vs random, paired by seed (band: min–max)"
    )
    left.legend(fontsize=7)
    right.axhline(target, color="black", ls="--", lw=0.8, label="target: random's final loss")
    low, high = reference.min(), np.percentile(reference, 60)
    right.set(
        xlabel="step",
        ylabel="validation loss",
        title="Validation loss (dots: steps to target)",
        ylim=(low - 0.1 * (high - low), high),
    )
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for init, rs in runs.items():
        monitor_steps = [m["step"] for m in rs[0]["monitor"]]
        cos = np.array([[m["k0_cos_eigh"] for m in r["monitor"]] for r in rs])
        (line,) = ax.plot(monitor_steps, cos.mean(0), marker="o", label=f"{init}: trained")
        initial = np.mean([r["monitor"][0]["control_initial_k0_cos_eigh"] for r in rs])
        ax.axhline(initial, color=line.get_color(), linestyle=":", label=f"{init}: own init (control)")
    rand = np.mean([r["monitor"][0]["control_random_k0_cos_eigh"] for rs in runs.values() for r in rs])
    ax.axhline(rand, color="black", linestyle="--", label="random embedding (control)")
    ax.set(xlabel="step", ylabel="cos(k0 empirical, k0 derived [eigh])", title="k0 cosine with its controls")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "k0_cosine.png", dpi=120)
    plt.close(fig)
