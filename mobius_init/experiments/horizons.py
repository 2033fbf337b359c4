"""How many steps an init saves at each training length, for about the cost of the longest run.

Warmup-stable-decay schedules share everything but their end: the run of T steps is the constant
learning rate up to ``T - decay_steps(T)``, then a decay. So one constant-rate **trunk** per (init,
learning rate, embedding multiplier, seed) is trained to the last branch point, keeping its full state
at every branch point, and each horizon's **branch** continues from that state with the decay (Hägele
et al. 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations"). A branch
gives the same losses as the full wsd run of T steps trained straight (tested on CPU).

Steps saved by an init at horizon T: the steps the reference (random init, same learning rates, same
seed) needs to reach this init's final loss at T, read from the reference's final losses across
horizons (interpolated in log T), minus T. Orchestration only: the schedule lives in
:mod:`mobius_init.training`, the statistics in :mod:`mobius_init.significance`.

Every trunk, kept state and branch is written as it finishes, with the settings it was made with: a
rerun with ``resume`` continues an interrupted one, keeps finished ones and refuses changed settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..minigpt import MiniGPTConfig
from ..settings import InvalidSetting, setting
from ..significance import fit_saving, mean_sd, paired_difference, steps_to_reach
from ..training import TrainConfig, kept_state_path, train
from ..weights import set_output_bias_
from .compare import ExperimentConfig, InitSpec, build_model, initialise, load_or_prepare
from .data import output_folders, refuse_changed_settings, run_settings

STUDY_INITS = ("random", "random+unigram", "ppmi_svd+unigram", "ppmi_svd:shuffled+unigram")


@dataclass
class HorizonsConfig(ExperimentConfig):
    """The horizon study: inits x learning rates x embedding multipliers x seeds, each at every horizon."""

    train: TrainConfig = setting(factory=lambda: TrainConfig(schedule="wsd", min_lr_ratio=0.0, steps=1000))
    inits: tuple[str, ...] = setting(
        STUDY_INITS,
        "comma-separated inits, each METHOD[:CONTROL][+unigram|+prior]; random must be one of them (the reference)",
    )
    seeds: int = setting(2, "seeds per arm, paired by seed (same data order and dropout)")
    horizons: tuple[int, ...] = setting((250, 500, 1000, 2000, 4000), "increasing training lengths in steps")
    lrs: tuple[float, ...] | None = setting(None, "learning rates to sweep (default: the one lr)")
    embedding_lr_mults: tuple[float, ...] | None = setting(
        None, "embedding learning-rate multipliers to sweep (default: the one embedding_lr_mult)"
    )
    first_seed: int = setting(
        0, "the seeds run are first_seed ... first_seed + seeds - 1 (two processes can share one output directory)"
    )
    reference_horizons: tuple[int, ...] = setting(
        (),
        "extra horizons for the random arms alone: their curve then reaches past the longest horizon, so the "
        "steps saved there are read, not bounded (the random trunks are extended)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.first_seed < 0:
            raise InvalidSetting("first_seed", f"must be >= 0, got {self.first_seed}")
        if self.train.schedule != "wsd":
            raise InvalidSetting("schedule", f"must be wsd for a horizon study, got {self.train.schedule!r}")
        if not self.horizons or any(b <= a for a, b in zip(self.horizons, self.horizons[1:], strict=False)):
            raise InvalidSetting("horizons", f"must be strictly increasing, got {','.join(map(str, self.horizons))}")
        for horizon in (*self.horizons, *self.reference_horizons):
            try:
                self.branch_config(horizon)
            except InvalidSetting as exc:
                raise InvalidSetting("horizons", f"has {horizon}: {exc.problem}") from None
        for name, values in (("lrs", self.lrs), ("embedding_lr_mults", self.embedding_lr_mults)):
            if values is not None and (
                not values or any(not v >= 0 for v in values) or (name == "lrs" and 0 in values)
            ):
                raise InvalidSetting(name, f"must be numbers > 0 (multipliers >= 0), got {values}")

    @property
    def warmup(self) -> int:
        """Warmup steps shared by every horizon: ``warmup_steps``, else 2 % of the longest horizon."""
        if self.train.warmup_steps is not None:
            return self.train.warmup_steps
        return max(1, round(0.02 * self.horizons[-1]))

    def branch_config(self, horizon: int) -> TrainConfig:
        """The wsd schedule of ``horizon`` steps (raises InvalidSetting when it does not fit)."""
        return replace(self.train, steps=horizon, warmup_steps=self.warmup)

    def branch_point(self, horizon: int) -> int:
        """The step where the branch of ``horizon`` leaves the trunk (its decay starts)."""
        return horizon - self.branch_config(horizon).decay_steps

    def arm_horizons(self, init: str) -> list[int]:
        """The horizons an arm is trained to: the reference (random) arms also get ``reference_horizons``."""
        extra = self.reference_horizons if InitSpec.parse(init) == InitSpec("random") else ()
        return sorted({*self.horizons, *extra})

    def grid(self) -> list[tuple[str, float, float]]:
        """``(init, lr, embedding multiplier)`` of every arm."""
        lrs = self.lrs or (self.train.lr,)
        mults = self.embedding_lr_mults or (self.train.embedding_lr_mult,)
        return [(init, lr, mult) for init in self.inits for lr in lrs for mult in mults]


def arm_name(init: str, lr: float, mult: float, seed: int) -> str:
    return f"{init}_lr{lr:g}_emb{mult:g}_seed{seed}".replace(":", "-")


def run_horizons(config: HorizonsConfig, out_dir: str | Path, *, resume: bool = False) -> dict[str, Any]:
    """Train every arm's trunk and branches; write ``results.json``, ``results.md`` and ``horizons.png``
    under ``out_dir`` (trunks and branch states in ``checkpoints/``, results in ``runs/``, logs in ``logs/``)."""
    out = Path(out_dir)
    data = load_or_prepare(config, out)
    with output_folders(out, ("logs", "runs", "checkpoints")):
        return _run_horizons(config, out, data, resume)


def _trunk_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A trunk's settings without its length: a constant-rate trunk can be extended (its earlier steps do
    not depend on where it stops), so a longer one continues a shorter one."""
    return {**settings, "train": {k: v for k, v in settings["train"].items() if k != "steps"}}


def _run_horizons(config: HorizonsConfig, out: Path, data: Any, resume: bool) -> dict[str, Any]:
    model_config = replace(config.model, vocab_size=data.stats.vocab_size)
    results: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for seed in range(config.first_seed, config.first_seed + config.seeds):
        for init, lr, mult in config.grid():
            name = arm_name(init, lr, mult, seed)
            spec = InitSpec.parse(init)
            horizons = config.arm_horizons(init)
            points = sorted({config.branch_point(h) for h in horizons})
            trunk = replace(
                config.train,
                schedule="constant",
                steps=points[-1],
                warmup_steps=config.warmup,
                keep_states_at=tuple(points),
                lr=lr,
                embedding_lr_mult=mult,
                seed=seed,
                checkpoint_path=str(out / "checkpoints" / f"{name}.trunk.pt"),
                log_path=str(out / "logs" / f"{name}.trunk.jsonl"),
                resume=resume,
                progress=config.progress,
                desc=f"{name} trunk",
            )
            trunk_done = out / "runs" / f"{name}.trunk.json"
            settings = run_settings(config, model_config, init, trunk)
            if not resume:  # a fresh study: no trunk or branch state of an earlier one is continued
                for stale in [*(out / "checkpoints").glob(f"{name}.*"), *(out / "checkpoints").glob(f"{name}_T*")]:
                    stale.unlink()
            done = json.loads(trunk_done.read_text()) if resume and trunk_done.is_file() else None
            if done is not None:
                refuse_changed_settings(trunk_done, _trunk_settings(done["settings"]), _trunk_settings(settings))
            if done is None or done["settings"]["train"]["steps"] < trunk.steps:  # new, or to be extended
                model = build_model(config.architecture, model_config, seed)
                initialise(model, data.stats, spec, seed)
                result = train(model, data.train_ids, data.val_ids, trunk)
                record = {"settings": settings, "seconds": result.seconds, "history": result.history}
                trunk_done.write_text(json.dumps(record))
            arm = results.setdefault(f"{init}|{lr:g}|{mult:g}", {})
            for horizon in horizons:
                arm.setdefault(horizon, []).append(
                    _branch(config, data, model_config, spec, init, trunk, name, seed, horizon, out, resume)
                )
    summary = summarize(results)
    report = {
        "config": asdict(config),
        "warmup_steps": config.warmup,
        "vocab_size": data.stats.vocab_size,
        "train_tokens": int(len(data.train_ids)),
        "val_tokens": int(len(data.val_ids)),
        "parameters": _parameter_counts(config.architecture, model_config),
        "summary": summary,
        "runs": {arm: {str(h): rs for h, rs in by.items()} for arm, by in results.items()},
    }
    (out / "results.json").write_text(json.dumps(report, indent=2))
    (out / "results.md").write_text(markdown_table(report))
    if len(config.horizons) > 1:
        plot(report, out / "horizons.png")
    return report


def _branch(
    config: HorizonsConfig,
    data: Any,
    model_config: MiniGPTConfig,
    spec: InitSpec,
    init: str,
    trunk: TrainConfig,
    name: str,
    seed: int,
    horizon: int,
    out: Path,
    resume: bool,
) -> dict[str, Any]:
    """The wsd run of ``horizon`` steps, continued from the trunk's state at its branch point."""
    branch = replace(
        config.branch_config(horizon),
        lr=trunk.lr,
        embedding_lr_mult=trunk.embedding_lr_mult,
        seed=seed,
        checkpoint_path=str(out / "checkpoints" / f"{name}_T{horizon}.pt"),
        log_path=str(out / "logs" / f"{name}_T{horizon}.jsonl"),
        resume=True,  # the branch always starts from a state: the trunk's, or its own after an interruption
        progress=config.progress,
        desc=f"{name} T={horizon}",
    )
    settings = run_settings(config, model_config, init, branch)
    done = out / "runs" / f"{name}_T{horizon}.json"
    if resume and done.is_file():
        record = json.loads(done.read_text())
        refuse_changed_settings(done, record["settings"], settings)
        return record["result"]
    if not Path(branch.checkpoint_path).is_file():
        state = torch.load(kept_state_path(trunk.checkpoint_path, config.branch_point(horizon)), weights_only=False)
        state["train_config"] = asdict(branch)  # the trunk is this schedule's stable phase
        torch.save(state, branch.checkpoint_path)
    model = build_model(config.architecture, model_config, seed)
    if spec.prior == "unigram":  # the trunk's modules (a head bias); the weights come from its state
        set_output_bias_(model, torch.zeros(data.stats.vocab_size))
    result = train(model, data.train_ids, data.val_ids, branch)
    entry = {
        "seed": seed,
        "final_val_loss": result.final_val_loss,
        "seconds": result.seconds,
        "history": [h for h in result.history if "val_loss" in h],
    }
    done.write_text(json.dumps({"settings": settings, "result": entry}))
    return entry


def _parameter_counts(architecture: str, model_config: MiniGPTConfig) -> dict[str, int]:
    model = build_model(architecture, model_config, 0)
    embedding = model.get_input_embeddings().weight.numel()
    total = sum(p.numel() for p in model.parameters())
    return {"total": total, "embedding": embedding}


def summarize(results: dict[str, dict[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Per arm and horizon: final loss; and, against the random arm with the same learning rates, the
    paired Δ and the steps saved (each seed against its own reference curve across all the reference's
    horizons, which may reach further than the arm's)."""
    summary: dict[str, Any] = {}
    for arm, by_horizon in results.items():
        init, lr, mult = arm.split("|")
        reference = results.get(f"random|{lr}|{mult}")
        reference_horizons = sorted(reference) if reference is not None else []
        compared = reference is not None and len(reference_horizons) > 1
        rows = {}
        for horizon in sorted(by_horizon):
            finals = [r["final_val_loss"] for r in by_horizon[horizon]]
            row: dict[str, Any] = {"final_val_loss": mean_sd(finals)}
            if compared:
                ref = [[reference[h][s]["final_val_loss"] for h in reference_horizons] for s in range(len(finals))]
                at = reference_horizons.index(horizon)
                row["delta_vs_random"] = paired_difference(finals, [curve[at] for curve in ref])
                reached = [
                    steps_to_reach(reference_horizons, curve, loss) for curve, loss in zip(ref, finals, strict=True)
                ]
                saved = [steps - horizon for steps, _ in reached]
                row["steps_saved"] = mean_sd(saved)
                row["steps_saved_per_seed"] = saved
                row["saved_fraction"] = mean_sd([s / horizon for s in saved])
                row["censored"] = [bound for _, bound in reached]
            rows[str(horizon)] = row
        entry: dict[str, Any] = {"init": init, "lr": float(lr), "embedding_lr_mult": float(mult), "horizons": rows}
        if compared and init != "random":
            exact = [(int(h), r["steps_saved"][0]) for h, r in rows.items() if set(r["censored"]) == {"exact"}]
            entry["fit"] = fit_saving([h for h, _ in exact], [s for _, s in exact]) if len(exact) >= 3 else None
        summary[arm] = entry
    return summary


def markdown_table(report: dict[str, Any]) -> str:
    c, s = report["config"], report["summary"]
    m, t = c["model"], c["train"]
    p = report["parameters"]
    lines = [
        f"Corpus `{c['corpus']}` ({c['data']['tokenizer']}, vocabulary {report['vocab_size']:,}; "
        f"{report['train_tokens']:,} train / {report['val_tokens']:,} validation tokens), {c['architecture']} "
        f"{m['n_layer']} layers × {m['n_head']} heads, n_embd {m['n_embd']}, block {m['block_size']} "
        f"({p['total']:,} parameters, embedding {100 * p['embedding'] / p['total']:.0f} %), batch {t['batch_size']}; "
        f"AdamW, wd {t['weight_decay']}, wsd: warmup {report['warmup_steps']} steps, constant, "
        f"{t['decay_shape']} decay over the last {100 * t['decay_fraction']:.0f} % to {t['min_lr_ratio']} × lr; "
        f"{c['seeds']} seed(s) paired by seed (mean ± sd). Each horizon's run branches off one constant-rate trunk.",
        "",
        "Δ: this init minus random at the same horizon and seed (p: paired t-test). Steps saved: the steps random "
        "init needs to reach this init's final loss (its final losses across horizons, interpolated in log T), "
        "minus T; `>` marks a lower bound (below random's loss at the longest horizon), `<` an upper bound.",
        "",
        "| init | lr | emb × | horizon | final val loss | Δ vs random | p | steps saved | saved / T |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in s.values():
        for horizon, row in entry["horizons"].items():
            delta = row.get("delta_vs_random")
            cells = ["—"] * 4
            if delta is not None and entry["init"] != "random":
                mark = {"exact": "", "above": ">", "below": "<"}
                bound = "".join(sorted({mark[b] for b in row["censored"]}))
                cells = [
                    f"{delta['mean']:+.3f} ± {delta['sd']:.3f}",
                    "—" if delta["p"] != delta["p"] else f"{delta['p']:.2g}",
                    f"{bound}{row['steps_saved'][0]:+.0f} ± {row['steps_saved'][1]:.0f}",
                    f"{bound}{100 * row['saved_fraction'][0]:+.0f} %",
                ]
            loss = row["final_val_loss"]
            lines.append(
                f"| {entry['init']} | {entry['lr']:g} | {entry['embedding_lr_mult']:g} | {horizon} | "
                f"{loss[0]:.3f} ± {loss[1]:.3f} | " + " | ".join(cells) + " |"
            )
    fits = [(e["init"], e["fit"]) for e in s.values() if e.get("fit")]
    if fits:
        lines += ["", "Steps saved vs horizon T, least squares on the seed means at the uncensored horizons:", ""]
        lines += [
            "| init | a + b·T | rmse (steps) | a·T^c | rmse (steps) | better fit |",
            "|---|---|---:|---|---:|---|",
        ]
        for init, f in fits:
            lin, pw = f["linear"], f["power"]
            power = "—" if pw is None else f"{pw['a']:.3g}·T^{pw['c']:.3f}"
            power_rmse = "—" if pw is None else f"{pw['rmse']:.0f}"
            lines.append(
                f"| {init} | {lin['a']:+.0f} {lin['b']:+.4f}·T | {lin['rmse']:.0f} | {power} | {power_rmse} | "
                f"{f['better']} |"
            )
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Steps saved vs horizon (log axis; band: min–max over seeds) beside final loss vs horizon."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for entry in report["summary"].values():
        label = f"{entry['init']} (lr {entry['lr']:g}, emb ×{entry['embedding_lr_mult']:g})"
        horizons = [int(h) for h in entry["horizons"]]
        rows = list(entry["horizons"].values())
        losses = [r["final_val_loss"][0] for r in rows]
        (line,) = right.plot(horizons, losses, marker="o", label=label)
        if entry["init"] == "random" or "steps_saved" not in rows[0]:
            continue
        per_seed = np.array([r["steps_saved_per_seed"] for r in rows])
        left.plot(horizons, per_seed.mean(1), marker="o", color=line.get_color(), label=label)
        left.fill_between(horizons, per_seed.min(1), per_seed.max(1), color=line.get_color(), alpha=0.2)
    left.axhline(0, color="black", lw=0.8)
    left.set(
        xscale="log",
        xlabel="horizon T (steps)",
        ylabel="steps saved vs random",
        title="Steps saved (band: min–max over seeds; censored points are bounds)",
    )
    right.set(xscale="log", xlabel="horizon T (steps)", ylabel="final validation loss", title="Final loss per horizon")
    for ax in (left, right):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
