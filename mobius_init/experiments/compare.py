"""Analytic vs random initialization of a model's tied embedding, over seeds paired by seed, with
controls that say where a gain comes from and the k0-cosine monitor. Orchestration only: the math
lives in the library (embeddings, training, significance).

An init is ``METHOD[:CONTROL][+unigram|+prior]``: ``ppmi_svd``, ``ppmi_svd:shuffled`` (its rows given to the
wrong tokens), ``ppmi_svd:random_rownorm`` (its row norms, random directions), ``random+unigram`` (a
random init whose output head starts at the log-unigram distribution), ``ppmi_svd+unigram``.

Every run writes its result (``runs/``) when it ends and its full state (``checkpoints/``) at each
validation, so an interrupted comparison continues where it stopped with ``resume``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..embeddings import CONTROLS, METHODS, analytic_embeddings, apply_control, unigram_log_probs
from ..kernel import KERNEL_QUANTITIES
from ..minigpt import MiniGPT, MiniGPTConfig
from ..monitors import EmbeddingSnapshots, K0CosineMonitor
from ..settings import CorpusConfig, InvalidSetting, check_positive, setting
from ..significance import first_crossing, mean_sd, paired_difference, plateaued
from ..stats import CorpusStats
from ..training import TrainConfig, train
from ..weights import apply_embeddings_, input_embedding_parameter, set_output_bias_, set_output_prior_
from .data import ExperimentData, output_folders, prepare_data, refuse_changed_settings, run_settings

ARCHITECTURES = ("minigpt", "gpt2")


PRIORS = ("unigram", "prior")


@dataclass(frozen=True)
class InitSpec:
    """One arm of the comparison: an embedding method, an optional control of it, an optional
    log-unigram start of the logits: ``unigram`` as an output bias (:func:`set_output_bias_`), ``prior``
    through the final LayerNorm and a reserved embedding direction (:func:`set_output_prior_`, which
    survives any save format). ``method`` is a built-in (:data:`METHODS`) or a plug-in
    ``module:function``: a user's ``function(stats, model)`` that writes its init into the model in place."""

    method: str
    control: str | None = None
    prior: str | None = None

    @property
    def plugin(self) -> bool:
        return self.method not in METHODS

    @classmethod
    def parse(cls, text: str) -> InitSpec:
        """``METHOD[:CONTROL][+unigram|+prior]``, or ``module:function[:CONTROL][+...]`` for a plug-in
        (imported and its signature checked here)."""
        body, plus, prior = text.partition("+")
        head, _, rest = body.partition(":")
        if head in METHODS:
            method, control = head, rest
        else:  # a plug-in: module:function[:CONTROL]
            function, _, control = rest.partition(":")
            method = f"{head}:{function}" if head and function else ""
        if not method or (control and control not in CONTROLS) or (plus and prior not in PRIORS):
            raise ValueError(
                f"cannot read init {text!r}: expected METHOD[:CONTROL][+unigram|+prior] with METHOD in "
                f"{', '.join(METHODS)} or a plug-in module:function, and CONTROL in {', '.join(CONTROLS)}"
            )
        spec = cls(method, control or None, prior or None)
        if spec.plugin:
            load_plugin(method)
        return spec

    def __str__(self) -> str:
        return self.method + (f":{self.control}" if self.control else "") + (f"+{self.prior}" if self.prior else "")


def load_plugin(path: str) -> Callable[[CorpusStats, torch.nn.Module], Any]:
    """The function of a plug-in init ``module:function`` (the module found from the current directory
    too, as ``python -m`` finds it); ValueError naming what is wrong: the import, the name, the signature."""
    module_name, _, name = path.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a user's module may fail to import in any way
        raise ValueError(f"init {path!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"init {path!r}: {module_name!r} has no function {name!r}")
    try:
        inspect.signature(function).bind(None, None)
    except TypeError:
        raise ValueError(
            f"init {path!r}: {name}{inspect.signature(function)} must take (stats, model) and write the init into "
            "the model in place"
        ) from None
    return function


@dataclass
class ExperimentConfig:
    """What every experiment shares: the corpus and its held-out split, the model, training, the inits."""

    corpus: str = setting(
        "builtin:lee",
        "corpus source: a file or directory (.gz/.bz2/.xz read directly), builtin:lee, or hf:NAME[/CONFIG][:SPLIT]",
    )
    data: CorpusConfig = setting(factory=lambda: CorpusConfig(vocab_size=1000))
    architecture: str = setting(
        "minigpt",
        "the model: minigpt, or gpt2 (transformers.GPT2LMHeadModel built "
        "locally with the same shape; needs the [hf] extra)",
        choices=ARCHITECTURES,
        flag="model",
    )
    model: MiniGPTConfig = setting(factory=MiniGPTConfig)
    train: TrainConfig = setting(factory=TrainConfig)
    inits: tuple[str, ...] = setting(
        METHODS,
        "comma-separated inits, each METHOD[:CONTROL][+unigram|+prior]; random must be one of them (the reference)",
    )
    seeds: int = setting(3, "seeds per init (seed s gives every init the same data order and dropout)")
    val_fraction: float = setting(0.1, "share of the documents (the last ones) held out for validation")
    max_docs: int | None = setting(None, "read at most this many documents")
    progress: bool = setting(True, "progress bars", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "seeds")
        check_positive(self, "max_docs", allow_none=True)
        try:
            specs = [InitSpec.parse(text) for text in self.inits]
        except ValueError as exc:
            raise InvalidSetting("inits", str(exc).replace("cannot read init", "has")) from None
        if InitSpec("random") not in specs:
            raise InvalidSetting("inits", "must include random, the reference every init is compared with")
        if not 0 < self.val_fraction < 1:
            raise InvalidSetting("val_fraction", f"must lie in (0, 1), got {self.val_fraction}")
        if self.architecture not in ARCHITECTURES:
            raise InvalidSetting("architecture", f"must be one of {', '.join(ARCHITECTURES)}")
        if self.architecture == "gpt2" and not _installed("transformers"):
            raise InvalidSetting("architecture", "gpt2 needs transformers: pip install 'mobius-init[hf]'")


def _installed(package: str) -> bool:
    """Whether ``package`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except ValueError:  # in sys.modules as None: import it and it fails
        return False


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


def build_model(architecture: str, config: MiniGPTConfig, seed: int) -> torch.nn.Module:
    """A freshly initialised model of the given architecture (torch seeded with ``seed`` first)."""
    torch.manual_seed(seed)
    if architecture == "gpt2":
        from ..integrations.hf import gpt2_model

        return gpt2_model(config)
    return MiniGPT(config)


def initialise(model: torch.nn.Module, stats: CorpusStats, spec: InitSpec, seed: int) -> None:
    """Write the init of ``spec`` into the model's tied embedding (and head bias). A plug-in writes its
    own init; its control, if any, then rearranges the embedding it wrote. ValueError, naming the init,
    when a plug-in changes the embedding's shape or writes non-finite values."""
    dim = input_embedding_parameter(model).shape[1]
    untied = "input" if getattr(getattr(model, "config", None), "tie_embeddings", True) is False else "error"
    if spec.plugin:
        before = input_embedding_parameter(model).detach().clone()
        load_plugin(spec.method)(stats, model)
        weight = input_embedding_parameter(model)
        if weight.shape != before.shape:
            raise ValueError(
                f"init {spec.method!r} changed the embedding's shape from {tuple(before.shape)} to {tuple(weight.shape)}"
            )
        bad = next((n for n, p in model.named_parameters() if not torch.isfinite(p).all()), None)
        if bad is not None:
            raise ValueError(f"init {spec.method!r} wrote non-finite values into {bad}")
        if spec.control:
            if torch.equal(weight.detach(), before):
                raise ValueError(
                    f"init {spec}: the control :{spec.control} rearranges the embedding's rows, which "
                    f"{spec.method} does not write"
                )
            E = apply_control(weight.detach().double().cpu().numpy(), spec.control, seed)
            apply_embeddings_(model, torch.from_numpy(E), untied=untied)
    else:
        E = analytic_embeddings(stats, dim, spec.method, seed=seed, control=spec.control)
        apply_embeddings_(model, E, untied=untied)  # an untied head keeps its random init
    if spec.prior:
        log_probs = torch.from_numpy(unigram_log_probs(stats.vocab.counts))
        (set_output_bias_ if spec.prior == "unigram" else set_output_prior_)(model, log_probs)


def check_plugins(config: ExperimentConfig, stats: CorpusStats) -> None:
    """Apply every plug-in init once to a fresh model, so one that fails does so before any training."""
    model_config = replace(config.model, vocab_size=stats.vocab_size)
    for text in config.inits:
        spec = InitSpec.parse(text)
        if spec.plugin:
            initialise(build_model(config.architecture, model_config, 0), stats, spec, 0)


def load_or_prepare(config: CompareConfig, out: Path) -> ExperimentData:
    """The prepared data, reused from ``out/data`` when it was made with the same corpus settings."""
    key = json.dumps(
        {"corpus": config.corpus, "data": asdict(config.data), "val": config.val_fraction, "max_docs": config.max_docs},
        sort_keys=True,
    )
    folder = out / "data"
    if (folder / "key.json").is_file() and (folder / "key.json").read_text() == key:
        return ExperimentData(
            CorpusStats.load(folder / "stats.npz"), np.load(folder / "train_ids.npy"), np.load(folder / "val_ids.npy")
        )
    data = prepare_data(
        config.corpus, config.data, val_fraction=config.val_fraction, max_docs=config.max_docs, progress=config.progress
    )
    folder.mkdir(parents=True, exist_ok=True)
    data.stats.save(folder / "stats.npz")
    np.save(folder / "train_ids.npy", data.train_ids)
    np.save(folder / "val_ids.npy", data.val_ids)
    (folder / "key.json").write_text(key)
    return data


def run_compare(config: CompareConfig, out_dir: str | Path, *, resume: bool = False) -> dict[str, Any]:
    """Train every init x seed; write ``results.json``, ``results.md``, ``loss.png``, ``k0_cosine.png``,
    per-run JSONL logs (``logs/``), results (``runs/``) and checkpoints (``checkpoints/``) under
    ``out_dir``. With ``resume``, finished runs are read back and an interrupted one continues from
    its checkpoint; without it every run starts afresh."""
    out = Path(out_dir)
    data = load_or_prepare(config, out)
    with output_folders(out, ("logs", "runs", "checkpoints") + (("snapshots",) if config.snapshots else ())):
        return _run_compare(config, out, data, resume)


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


def _run_compare(config: CompareConfig, out: Path, data: ExperimentData, resume: bool) -> dict[str, Any]:
    removed = [] if resume else remove_other_runs(out, run_names(config))
    stats = data.stats
    model_config = replace(config.model, vocab_size=stats.vocab_size)
    monitor = K0CosineMonitor(stats, every=config.monitor_every, top_n=config.monitor_top_n)
    steps = config.train.steps
    snap_steps = (
        {int(s) for s in np.linspace(0, steps, config.snapshots + 1)[1:].round()} if config.snapshots else set()
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    for text in config.inits:
        spec = InitSpec.parse(text)
        runs[str(spec)] = []
        for seed in range(config.seeds):
            name = f"{spec}_seed{seed}".replace(":", "-")
            result_file = out / "runs" / f"{name}.json"
            checkpoint = out / "checkpoints" / f"{name}.pt"
            train_config = replace(
                config.train,
                seed=seed,
                log_path=str(out / "logs" / f"{name}.jsonl"),
                checkpoint_path=str(checkpoint),
                resume=resume,
                progress=config.progress,
                desc=f"{spec} seed {seed}",
            )
            settings = {
                **run_settings(config, model_config, str(spec), train_config),
                "monitor": [config.monitor_every, config.monitor_top_n],
                "snapshots": config.snapshots,
            }
            settings_file = out / "checkpoints" / f"{name}.settings.json"
            if resume and result_file.is_file():
                finished = json.loads(result_file.read_text())
                refuse_changed_settings(result_file, finished.get("settings", {}), settings)
                runs[str(spec)].append(finished)
                continue
            if resume and checkpoint.is_file():
                saved = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
                refuse_changed_settings(checkpoint, saved, settings)
            if not resume:
                checkpoint.unlink(missing_ok=True)
            settings_file.write_text(json.dumps(settings))
            model = build_model(config.architecture, model_config, seed)
            initialise(model, stats, spec, seed)
            snaps = EmbeddingSnapshots(snap_steps)
            checks_before = monitor.seconds
            try:
                result = train(
                    model,
                    data.train_ids,
                    data.val_ids,
                    train_config,
                    callbacks=[monitor] + ([snaps] if snap_steps else []),
                )
            except BaseException:
                if not checkpoint.is_file():  # nothing was trained: no settings to keep
                    settings_file.unlink(missing_ok=True)
                raise
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
            runs[str(spec)].append(run)
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
