"""How many steps an init saves at each training length, for about the cost of the longest run.

Warmup-stable-decay schedules share everything but their end: the run of T steps is the constant
learning rate up to ``T - decay_steps(T)``, then a decay. So one constant-rate **trunk** per (init,
learning rate, embedding multiplier, seed) is trained to the last branch point, keeping its full state
at every branch point, and each horizon's **branch** continues from that state with the decay (Hägele
et al. 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations"). A branch
gives the same losses as the full wsd run of T steps trained straight (tested on CPU).

Steps saved by an init at horizon T: the steps the reference (random init, same learning rates, same
seed) needs to reach this init's final loss at T, read from the reference's final losses across
horizons (interpolated in log T), minus T. **Best against best**: with a grid of settings per init
(learning rates x embedding multipliers), at each horizon each init's best cell, chosen on the mean over
seeds, against random's best cell, paired by seed; and the same with each seed held out of the choice.
Orchestration only: the schedule lives in :mod:`mobius_init.training`, the statistics in
:mod:`mobius_init.significance`.

Every trunk, kept state and branch is written as it finishes, with the settings it was made with: a
rerun with ``resume`` continues an interrupted one, keeps finished ones and refuses changed settings.
The trunk does not depend on the set of horizons (the warmup is fixed in steps), so a study is extended
by adding horizons: finished branches are kept, and a new branch point is reached by continuing the
trunk from its latest kept state before it. The report covers every arm in the output directory made
with the same settings, whichever command trained it.
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
from ..significance import (
    best_cell,
    fit_saving,
    held_out_seed_difference,
    mean_sd,
    paired_difference,
    steps_to_reach,
)
from ..training import TrainConfig, kept_state_path, train
from ..weights import set_output_bias_
from .arms import ExperimentConfig, InitSpec, build_model, check_plugins, initialise
from .data import changed_settings, load_or_prepare, output_folders, refuse_changed_settings, run_settings, write_atomic

STUDY_INITS = ("random", "random+unigram", "ppmi_svd+unigram", "ppmi_svd:shuffled+unigram")
# A horizon study's warmup is fixed in steps: every horizon shares the trunk, so the warmup must not follow
# the longest horizon (adding one would change every trunk). 100 steps, as nanoGPT's small-model config.
WARMUP_STEPS = 100
# What varies between the arms of one study (the rest must match for two runs to share a report).
ARM_SETTINGS = ("init", "lr", "embedding_lr_mult", "seed", "steps")


@dataclass
class HorizonsConfig(ExperimentConfig):
    """The horizon study: inits x learning rates x embedding multipliers x seeds, each at every horizon."""

    train: TrainConfig = setting(
        factory=lambda: TrainConfig(schedule="wsd", min_lr_ratio=0.0, steps=1000, warmup_steps=WARMUP_STEPS)
    )
    inits: tuple[str, ...] = setting(
        STUDY_INITS,
        "comma-separated inits, each METHOD[:CONTROL][+unigram|+prior] or a plug-in module:function[:CONTROL] "
        "(a function(stats, model) writing its init in place); random must be one of them (the reference)",
    )
    seeds: int = setting(2, "seeds per arm, paired by seed (same data order and dropout)")
    horizons: tuple[int, ...] = setting((250, 500, 1000, 2000, 4000), "increasing training lengths in steps")
    lrs: tuple[float, ...] | None = setting(
        None, "learning rates to sweep, for every init: the grid of best against best (default: the one --lr)"
    )
    embedding_lr_mults: tuple[float, ...] | None = setting(
        None, "embedding learning-rate multipliers to sweep, for every init (default: the one --embedding-lr-mult)"
    )
    first_seed: int = setting(
        0, "the seeds run are first_seed ... first_seed + seeds - 1 (two processes can share one output directory)"
    )
    reference_horizons: tuple[int, ...] = setting(
        (),
        "extra horizons, longer than the longest, for the random arms alone: their curve then reaches past the "
        "longest horizon, so the steps saved there are read, not bounded (default: none)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.first_seed < 0:
            raise InvalidSetting("first_seed", f"must be >= 0, got {self.first_seed}")
        if self.train.schedule != "wsd":
            raise InvalidSetting("schedule", f"must be wsd for a horizon study, got {self.train.schedule!r}")
        if self.train.warmup_steps is None:
            raise InvalidSetting(
                "warmup_steps", "must be a number of steps in a horizon study (every horizon shares it)"
            )
        if not self.horizons or any(b <= a for a, b in zip(self.horizons, self.horizons[1:], strict=False)):
            raise InvalidSetting("horizons", f"must be strictly increasing, got {','.join(map(str, self.horizons))}")
        if any(h <= self.horizons[-1] for h in self.reference_horizons):
            raise InvalidSetting(
                "reference_horizons",
                f"must be longer than the longest horizon ({self.horizons[-1]}), got "
                f"{','.join(map(str, self.reference_horizons))}",
            )
        for horizon in (*self.horizons, *self.reference_horizons):
            decay = max(1, round(self.train.decay_fraction * horizon))
            if self.warmup + decay > horizon:
                raise InvalidSetting(
                    "horizons",
                    f"has {horizon}: shorter than the warmup (warmup_steps={self.warmup}) + its decay ({decay}); "
                    "use longer horizons or fewer warmup steps",
                )
            try:
                self.branch_config(horizon)
            except InvalidSetting as exc:
                raise InvalidSetting("horizons", f"has {horizon}: {exc.problem}") from None
        for name, single, values in (
            ("lrs", "lr", self.lrs),
            ("embedding_lr_mults", "embedding_lr_mult", self.embedding_lr_mults),
        ):
            if values is None:
                continue
            if any(not v > 0 for v in values):
                raise InvalidSetting(name, f"must be numbers > 0, got {','.join(f'{v:g}' for v in values)}")
            given, default = getattr(self.train, single), getattr(TrainConfig(device="cpu"), single)
            if given != default and given not in values:
                raise InvalidSetting(
                    name,
                    f"sweeps {','.join(f'{v:g}' for v in values)} and {single}={given:g} is not one of them: give one",
                )

    @property
    def warmup(self) -> int:
        """Warmup steps shared by every horizon (fixed in steps, so a trunk does not depend on the horizons)."""
        return self.train.warmup_steps

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


def arm_key(init: str, lr: float, mult: float) -> str:
    return f"{init}|{lr:g}|{mult:g}"


def run_horizons(config: HorizonsConfig, out_dir: str | Path, *, resume: bool = False) -> dict[str, Any]:
    """Train every arm's trunk and branches; write ``results.json``, ``results.md`` and ``horizons.png``
    under ``out_dir`` (trunks and branch states in ``checkpoints/``, results in ``runs/``, logs in ``logs/``)
    for every arm the directory holds with the same settings."""
    out = Path(out_dir)
    data = load_or_prepare(config, out)
    check_plugins(config, data.stats)
    with output_folders(out, ("logs", "runs", "checkpoints")):
        return _run_horizons(config, out, data, resume)


def _run_horizons(config: HorizonsConfig, out: Path, data: Any, resume: bool) -> dict[str, Any]:
    model_config = replace(config.model, vocab_size=data.stats.vocab_size)
    trained = []
    for seed in range(config.first_seed, config.first_seed + config.seeds):
        for init, lr, mult in config.grid():
            name = arm_name(init, lr, mult, seed)
            if not resume:  # a fresh study: no trunk or branch state of an earlier one is continued
                for stale in [*(out / "checkpoints").glob(f"{name}.*"), *(out / "checkpoints").glob(f"{name}_T*")]:
                    stale.unlink()
            arm = _Arm(config, data, model_config, init, lr, mult, seed, out, resume)
            arm.train_trunk()
            for horizon in arm.horizons:
                arm.branch(horizon)
            trained.append(arm_key(init, lr, mult))
    results = collect_runs(config, model_config, out)
    report = {
        "config": asdict(config),
        "warmup_steps": config.warmup,
        "vocab_size": data.stats.vocab_size,
        "train_tokens": int(len(data.train_ids)),
        "val_tokens": int(len(data.val_ids)),
        "parameters": _parameter_counts(config.architecture, model_config),
        "arms_from_earlier_commands": sorted(set(results) - set(trained)),
        "summary": summarize(results),
        "best_vs_best": best_against_best(results),
        "runs": {
            arm: {str(h): {str(s): _slim(e) for s, e in by.items()} for h, by in by_h.items()}
            for arm, by_h in results.items()
        },
    }
    write_atomic(out / "results.json", json.dumps(report, indent=2))
    write_atomic(out / "results.md", markdown_table(report))
    if len({h for by_h in results.values() for h in by_h}) > 1:
        plot(report, out / "horizons.png")
    return report


def _slim(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "decay_train_losses"}  # every step's loss stays in runs/


def _trunk_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A trunk's settings without its length: a constant-rate trunk can be extended (its earlier steps do
    not depend on where it stops), so a longer one continues a shorter one."""
    return {**settings, "train": {k: v for k, v in settings["train"].items() if k != "steps"}}


class _Arm:
    """One (init, lr, embedding multiplier, seed): its constant-rate trunk and a wsd branch per horizon."""

    def __init__(
        self,
        config: HorizonsConfig,
        data: Any,
        model_config: MiniGPTConfig,
        init: str,
        lr: float,
        mult: float,
        seed: int,
        out: Path,
        resume: bool,
    ) -> None:
        self.config, self.data, self.model_config, self.init = config, data, model_config, init
        self.spec, self.seed, self.out, self.resume = InitSpec.parse(init), seed, out, resume
        self.name = arm_name(init, lr, mult, seed)
        self.horizons = config.arm_horizons(init)
        self.trunk = replace(
            config.train,
            schedule="constant",
            steps=max(config.branch_point(h) for h in self.horizons),
            warmup_steps=config.warmup,
            lr=lr,
            embedding_lr_mult=mult,
            seed=seed,
            checkpoint_path=str(out / "checkpoints" / f"{self.name}.trunk.pt"),
            log_path=str(out / "logs" / f"{self.name}.trunk.jsonl"),
            progress=config.progress,
            desc=f"{self.name} trunk",
        )
        self.trunk_file = out / "runs" / f"{self.name}.trunk.json"
        if resume and self.trunk_file.is_file():
            saved = json.loads(self.trunk_file.read_text())["settings"]
            wanted = run_settings(config, model_config, init, self.trunk)
            refuse_changed_settings(self.trunk_file, _trunk_settings(saved), _trunk_settings(wanted))

    def train_trunk(self) -> None:
        """The trunk's state at the branch point of every horizon whose branch has not started."""
        self._reach([self.config.branch_point(h) for h in self.horizons if not self._branch_started(h)])

    def _files(self, horizon: int) -> tuple[Path, Path]:
        """The branch's result file and checkpoint."""
        return (
            self.out / "runs" / f"{self.name}_T{horizon}.json",
            self.out / "checkpoints" / f"{self.name}_T{horizon}.pt",
        )

    def _branch_started(self, horizon: int) -> bool:
        done, checkpoint = self._files(horizon)
        return self.resume and (done.is_file() or checkpoint.is_file())

    def model(self) -> torch.nn.Module:
        """A model with the trunk's modules; its weights come from a state, except for a fresh trunk."""
        model = build_model(self.config.architecture, self.model_config, self.seed)
        if self.spec.plugin:  # a plug-in may add modules: run it again (cheap; the state overwrites it)
            initialise(model, self.data.stats, self.spec, self.seed)
        elif self.spec.prior == "unigram":  # the trunk's head bias
            set_output_bias_(model, torch.zeros(self.data.stats.vocab_size))
        return model

    def _kept(self) -> list[int]:
        """Steps at which the trunk's state is kept."""
        checkpoint = Path(self.trunk.checkpoint_path)
        return sorted(int(p.suffixes[-2][5:]) for p in checkpoint.parent.glob(f"{checkpoint.stem}.step*.pt"))

    def _reach(self, points: list[int]) -> None:
        """Make sure the trunk's state is kept at each of ``points``. Those before the trunk's last state
        are recomputed from its latest kept state before them (a constant-rate trunk is deterministic), on
        the side; those past it continue the trunk (or start it)."""
        checkpoint = Path(self.trunk.checkpoint_path)
        kept = self._kept()
        missing = sorted(set(points) - set(kept))
        if not missing:
            return
        end = int(torch.load(checkpoint, weights_only=False)["step"]) if checkpoint.is_file() else 0
        inside, beyond = [p for p in missing if p <= end], [p for p in missing if p > end]
        if inside:
            refill = checkpoint.with_name(f"{self.name}.refill.pt")
            before = [p for p in kept if p < inside[0]]
            trunk = replace(self.trunk, steps=inside[-1], checkpoint_path=str(refill), log_path=None)
            refill.unlink(missing_ok=True)
            if before:  # the same constant-rate trunk, to be stopped earlier
                state = torch.load(kept_state_path(checkpoint, before[-1]), weights_only=False)
                state["train_config"] = asdict(trunk)
                torch.save(state, refill)
            self._train(trunk, inside)
            for p in inside:
                kept_state_path(refill, p).replace(kept_state_path(checkpoint, p))
            refill.unlink()
        if beyond:
            trunk = replace(self.trunk, steps=beyond[-1])
            result = self._train(trunk, beyond)
            record = {
                "settings": run_settings(self.config, self.model_config, self.init, trunk),
                "seconds": result.seconds,
                "history": result.history,
                "train_losses": result.train_losses,  # every step's training loss (the forecast's data)
            }
            write_atomic(self.trunk_file, json.dumps(record))

    def _train(self, trunk: TrainConfig, keep: list[int]) -> Any:
        """Train ``trunk`` from its checkpoint, or from the init when there is none, keeping ``keep``."""
        if Path(trunk.checkpoint_path).is_file():
            model = self.model()
        else:
            model = build_model(self.config.architecture, self.model_config, self.seed)
            initialise(model, self.data.stats, self.spec, self.seed)
        return train(
            model, self.data.train_ids, self.data.val_ids, replace(trunk, keep_states_at=tuple(keep), resume=True)
        )

    def branch(self, horizon: int) -> dict[str, Any]:
        """The wsd run of ``horizon`` steps, continued from the trunk's state at its branch point."""
        config = self.config
        done, checkpoint = self._files(horizon)
        branch = replace(
            config.branch_config(horizon),
            lr=self.trunk.lr,
            embedding_lr_mult=self.trunk.embedding_lr_mult,
            seed=self.seed,
            checkpoint_path=str(checkpoint),
            log_path=str(self.out / "logs" / f"{self.name}_T{horizon}.jsonl"),
            resume=True,  # the branch always starts from a state: the trunk's, or its own after an interruption
            progress=config.progress,
            desc=f"{self.name} T={horizon}",
        )
        settings = run_settings(config, self.model_config, self.init, branch)
        if self.resume and done.is_file():
            record = json.loads(done.read_text())
            refuse_changed_settings(done, record["settings"], settings)
            return record["result"]
        point = config.branch_point(horizon)
        if not checkpoint.is_file():
            state = torch.load(kept_state_path(self.trunk.checkpoint_path, point), weights_only=False)
            state["train_config"] = asdict(branch)  # the trunk is this schedule's stable phase
            torch.save(state, checkpoint)
        result = train(self.model(), self.data.train_ids, self.data.val_ids, branch)
        entry = {
            "seed": self.seed,
            "final_val_loss": result.final_val_loss,
            "seconds": result.seconds,
            "history": [h for h in result.history if "val_loss" in h],
            "decay_train_losses": result.train_losses[point:],  # the trunk's are in its record
        }
        write_atomic(done, json.dumps({"settings": settings, "result": entry}))
        return entry


def _parameter_counts(architecture: str, model_config: MiniGPTConfig) -> dict[str, int]:
    model = build_model(architecture, model_config, 0)
    embedding = model.get_input_embeddings().weight.numel()
    total = sum(p.numel() for p in model.parameters())
    return {"total": total, "embedding": embedding}


Results = dict[str, dict[int, dict[int, dict[str, Any]]]]  # arm key -> horizon -> seed -> branch result


def _fixed(settings: dict[str, Any]) -> dict[str, Any]:
    """Run settings without what varies between the arms of one study (:data:`ARM_SETTINGS`)."""
    return {
        k: ({f: x for f, x in v.items() if f not in ARM_SETTINGS} if isinstance(v, dict) else v)
        for k, v in settings.items()
        if k not in ARM_SETTINGS
    }


def collect_runs(config: HorizonsConfig, model_config: MiniGPTConfig, out: Path) -> Results:
    """Every finished branch in ``out/runs`` made with this study's fixed settings (corpus, data, model,
    schedule, ...), whichever command trained it: so a report never drops arms an earlier command added."""
    wanted = _fixed(run_settings(config, model_config, "", config.branch_config(config.horizons[0])))
    order = {init: i for i, init in enumerate(config.inits)}
    found: list[tuple[tuple[int, str, float, float], int, int, dict[str, Any]]] = []
    for path in (out / "runs").glob("*_T*.json"):
        if path.name.endswith(".trunk.json"):  # an init's name may hold "_T" too
            continue
        record = json.loads(path.read_text())
        settings, train_settings = record["settings"], record["settings"]["train"]
        if changed_settings(_fixed(settings), wanted):
            continue
        init, lr, mult = settings["init"], float(train_settings["lr"]), float(train_settings["embedding_lr_mult"])
        found.append(
            (
                (order.get(init, len(order)), init, lr, mult),
                train_settings["steps"],
                train_settings["seed"],
                record["result"],
            )
        )
    results: Results = {}
    for (_, init, lr, mult), horizon, seed, entry in sorted(found, key=lambda f: (f[0], f[1], f[2])):
        results.setdefault(arm_key(init, lr, mult), {}).setdefault(horizon, {})[seed] = entry
    return results


def _reference_curve(reference: dict[int, dict[int, dict[str, Any]]], seed: int) -> tuple[list[int], list[float]]:
    horizons = [h for h in sorted(reference) if seed in reference[h]]
    return horizons, [reference[h][seed]["final_val_loss"] for h in horizons]


def _saved(curves: list[tuple[list[int], list[float]]], losses: list[float], horizon: int) -> dict[str, Any]:
    """Steps saved at ``horizon``: per seed, the steps its reference curve needs to reach its loss, minus T."""
    reached = [steps_to_reach(*curve, loss) for curve, loss in zip(curves, losses, strict=True)]
    saved = [steps - horizon for steps, _ in reached]
    return {
        "steps_saved": mean_sd(saved),
        "steps_saved_per_seed": saved,
        "saved_fraction": mean_sd([s / horizon for s in saved]),
        "censored": [bound for _, bound in reached],
    }


def summarize(results: Results) -> dict[str, Any]:
    """Per arm and horizon: final loss; and, against the random arm with the same learning rates, the
    paired Δ and the steps saved (each seed against its own reference curve across all the reference's
    horizons, which may reach further than the arm's), on the seeds both have."""
    summary: dict[str, Any] = {}
    for arm, by_horizon in results.items():
        init, lr, mult = arm.split("|")
        reference = results.get(arm_key("random", float(lr), float(mult)))
        rows = {}
        for horizon in sorted(by_horizon):
            seeds = sorted(by_horizon[horizon])
            finals = [by_horizon[horizon][s]["final_val_loss"] for s in seeds]
            row: dict[str, Any] = {"seeds": seeds, "final_val_loss": mean_sd(finals)}
            paired = [s for s in seeds if reference and s in reference.get(horizon, {})]
            curves = [_reference_curve(reference, s) for s in paired] if paired else []
            if init != "random" and paired and all(len(c[0]) > 1 for c in curves):
                mine = [by_horizon[horizon][s]["final_val_loss"] for s in paired]
                row["paired_seeds"] = paired
                row["delta_vs_random"] = paired_difference(
                    mine, [reference[horizon][s]["final_val_loss"] for s in paired]
                )
                row.update(_saved(curves, mine, horizon))
            rows[str(horizon)] = row
        entry: dict[str, Any] = {"init": init, "lr": float(lr), "embedding_lr_mult": float(mult), "horizons": rows}
        entry["fit"] = _fit(rows)
        summary[arm] = entry
    return summary


def _fit(rows: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """saved(T) fitted on the seed means at the horizons where every seed's saving is exact (>= 3 of them)."""
    exact = [(int(h), r["steps_saved"][0]) for h, r in rows.items() if set(r.get("censored", ["-"])) == {"exact"}]
    return fit_saving([h for h, _ in exact], [s for _, s in exact]) if len(exact) >= 3 else None


def _grid_edge(cell: tuple[float, float], cells: list[tuple[float, float]]) -> list[str]:
    """Where a chosen cell sits on its grid's edge: ``lr low/high``, ``multiplier low/high``."""
    edges = []
    for i, name in enumerate(("lr", "multiplier")):
        values = sorted({c[i] for c in cells})
        if len(values) > 1 and cell[i] in (values[0], values[-1]):
            edges.append(f"{name} {'low' if cell[i] == values[0] else 'high'}")
    return edges


def best_against_best(results: Results) -> dict[str, Any]:
    """At each horizon, each init's best cell of its grid (lr, embedding multiplier; chosen on the mean
    final loss over the seeds every cell of both sides has there) against random's best, paired by seed:
    final losses, Δ, the same Δ with each seed held out of the choice, and steps saved against random's
    best-at-each-horizon curve. Whether a chosen cell sits on its grid's edge is reported."""
    families: dict[str, dict[tuple[float, float], dict[int, dict[int, float]]]] = {}
    for arm, by_horizon in results.items():
        init, lr, mult = arm.split("|")
        families.setdefault(init, {})[(float(lr), float(mult))] = {
            h: {s: e["final_val_loss"] for s, e in by_seed.items()} for h, by_seed in by_horizon.items()
        }
    reference = families.get("random")
    if reference is None:
        return {}

    def at(cells: dict[Any, dict[int, dict[int, float]]], horizon: int) -> dict[Any, dict[int, float]]:
        return {cell: by_h[horizon] for cell, by_h in cells.items() if horizon in by_h}

    def common(*groups: dict[Any, dict[int, float]]) -> list[int]:
        seed_sets = [set(by_seed) for group in groups for by_seed in group.values()]
        return sorted(set.intersection(*seed_sets)) if seed_sets else []

    report: dict[str, Any] = {"grid_sizes": {init: len(cells) for init, cells in families.items()}, "inits": {}}
    for init, cells in families.items():
        if init == "random":
            continue
        mine_horizons = sorted({h for by_h in cells.values() for h in by_h})
        all_horizons = sorted({h for by_h in reference.values() for h in by_h} | set(mine_horizons))
        envelope: dict[int, tuple[tuple[float, float], list[int]]] = {}  # random's choice at every horizon
        for h in all_horizons:
            ref_h = at(reference, h)
            seeds = common(ref_h, at(cells, h)) if h in mine_horizons else common(ref_h)
            if ref_h and seeds:
                envelope[h] = (best_cell(ref_h, seeds), seeds)
        rows = {}
        for h in mine_horizons:
            mine_h, ref_h = at(cells, h), at(reference, h)
            if h not in envelope:
                continue
            ref_cell, seeds = envelope[h]
            cell = best_cell(mine_h, seeds)
            losses = [mine_h[cell][s] for s in seeds]
            row: dict[str, Any] = {
                "seeds": seeds,
                "cells": [len(mine_h), len(ref_h)],
                "best": {"init": list(cell), "random": list(ref_cell)},
                "edge": {"init": _grid_edge(cell, list(cells)), "random": _grid_edge(ref_cell, list(reference))},
                "final_val_loss": {"init": mean_sd(losses), "random": mean_sd([ref_h[ref_cell][s] for s in seeds])},
                "delta": paired_difference(losses, [ref_h[ref_cell][s] for s in seeds]),
            }
            held_out = held_out_seed_difference(mine_h, ref_h, seeds)
            if held_out is not None:
                held_out["chosen"] = {str(s): [list(a), list(b)] for s, (a, b) in held_out["chosen"].items()}
                row["held_out_seed"] = held_out
            curves = []
            for s in seeds:
                hs = [H for H in sorted(envelope) if s in envelope[H][1]]
                curves.append((hs, [reference[envelope[H][0]][H][s] for H in hs]))
            if all(len(c[0]) > 1 for c in curves):
                row.update(_saved(curves, losses, h))
            rows[str(h)] = row
        report["inits"][init] = {"horizons": rows, "fit": _fit(rows)}
    return report


_MARK = {"exact": "", "above": ">", "below": "<"}


def _bound(censored: list[str]) -> str:
    """The mark of a seed mean of steps saved: ``>`` a lower bound, ``<`` an upper one, ``~`` both."""
    marks = {_MARK[c] for c in censored} - {""}
    return "~" if len(marks) > 1 else "".join(marks)


def _p(p: float) -> str:
    return "—" if p != p else f"{p:.2g}"


def _cell(cell: list[float]) -> str:
    return f"{cell[0]:g} × {cell[1]:g}"


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
        "seeds paired by seed (mean ± sd). Each horizon's run branches off one constant-rate trunk.",
        "",
    ]
    earlier = report["arms_from_earlier_commands"]
    if earlier:
        lines += [
            f"This report covers every arm in the directory made with these settings: {len(s)} arms, "
            f"{len(earlier)} of them from earlier commands ({', '.join(f'`{a}`' for a in earlier)}).",
            "",
        ]
    bvb = report["best_vs_best"]
    sizes = bvb.get("grid_sizes", {})
    if bvb.get("inits") and max(sizes.values()) > 1:
        lines += _best_vs_best_lines(bvb)
    lines += [
        "## Each arm against random at the same setting",
        "",
        "Δ: this init minus random at the same horizon, learning rate, multiplier and seed (p: paired t-test). Steps "
        "saved: the steps random init needs to reach this init's final loss (its final losses across horizons, "
        "interpolated in log T), minus T; `>` marks a lower bound (below random's loss at the longest horizon), "
        "`<` an upper bound.",
        "",
        "| init | lr | emb × | horizon | seeds | final val loss | Δ vs random | p | steps saved | saved / T |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in s.values():
        for horizon, row in entry["horizons"].items():
            delta = row.get("delta_vs_random")
            cells = ["—"] * 4
            if delta is not None:
                bound = _bound(row["censored"])
                cells = [
                    f"{delta['mean']:+.3f} ± {delta['sd']:.3f}",
                    _p(delta["p"]),
                    f"{bound}{row['steps_saved'][0]:+.0f} ± {row['steps_saved'][1]:.0f}",
                    f"{bound}{100 * row['saved_fraction'][0]:+.0f} %",
                ]
            loss = row["final_val_loss"]
            lines.append(
                f"| {entry['init']} | {entry['lr']:g} | {entry['embedding_lr_mult']:g} | {horizon} | {len(row['seeds'])} | "
                f"{loss[0]:.3f} ± {loss[1]:.3f} | " + " | ".join(cells) + " |"
            )
    fits = [
        (f"{e['init']} (lr {e['lr']:g}, × {e['embedding_lr_mult']:g})", e["fit"]) for e in s.values() if e.get("fit")
    ]
    fits += [(f"{init}, best against best", e["fit"]) for init, e in bvb.get("inits", {}).items() if e.get("fit")]
    if fits:
        lines += ["", "Steps saved vs horizon T, least squares on the seed means at the uncensored horizons:", ""]
        lines += ["| arm | a + b·T | rmse (steps) | a·T^c | rmse (steps) | better fit |", "|---|---|---:|---|---:|---|"]
        for label, f in fits:
            lin, pw = f["linear"], f["power"]
            power = "—" if pw is None else f"{pw['a']:.3g}·T^{pw['c']:.3f}"
            power_rmse = "—" if pw is None else f"{pw['rmse']:.0f}"
            lines.append(
                f"| {label} | {lin['a']:+.0f} {lin['b']:+.4f}·T | {lin['rmse']:.0f} | {power} | {power_rmse} | {f['better']} |"
            )
    return "\n".join(lines) + "\n"


def _best_vs_best_lines(bvb: dict[str, Any]) -> list[str]:
    sizes = bvb["grid_sizes"]
    same = len(set(sizes.values())) == 1
    lines = [
        "## Best against best",
        "",
        "At each horizon, each init's best cell of its grid (lr × embedding multiplier), chosen on the mean final "
        "loss over the seeds every cell of both sides has there, against random's best cell, paired by seed. "
        + (
            f"Both sides search grids of the same size ({next(iter(sizes.values()))} cells), so the choice favours "
            "neither; "
            if same
            else "**The grids differ in size** ("
            + ", ".join(f"{i}: {n}" for i, n in sizes.items())
            + " cells): the larger grid has more chances to win by noise; "
        )
        + "the held-out-seed Δ chooses each side's cell on the other seeds and reads the held-out one, free of that "
        "selection's optimism. Steps saved are read from random's best-at-each-horizon curve. `edge`: the chosen "
        "cell lies on its grid's edge, so the true best may lie outside it.",
        "",
        "| init | horizon | seeds | random's best (lr × mult) | loss | init's best | loss | Δ | p | held-out-seed Δ | "
        "steps saved | saved / T |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for init, entry in bvb["inits"].items():
        for horizon, row in entry["horizons"].items():
            edge = {k: f" (edge: {', '.join(v)})" if v else "" for k, v in row["edge"].items()}
            held = row.get("held_out_seed")
            held_text = "—" if held is None else f"{held['mean']:+.3f} ± {held['sd']:.3f}"
            saved = "—"
            fraction = "—"
            if "steps_saved" in row:
                bound = _bound(row["censored"])
                saved = f"{bound}{row['steps_saved'][0]:+.0f} ± {row['steps_saved'][1]:.0f}"
                fraction = f"{bound}{100 * row['saved_fraction'][0]:+.0f} %"
            loss = row["final_val_loss"]
            lines.append(
                f"| {init} | {horizon} | {len(row['seeds'])} | {_cell(row['best']['random'])}{edge['random']} | "
                f"{loss['random'][0]:.3f} | {_cell(row['best']['init'])}{edge['init']} | {loss['init'][0]:.3f} | "
                f"{row['delta']['mean']:+.3f} ± {row['delta']['sd']:.3f} | {_p(row['delta']['p'])} | {held_text} | "
                f"{saved} | {fraction} |"
            )
    return lines + [""]


def _saved_points(rows: list[dict[str, Any]], horizons: list[int]) -> dict[str, tuple[list[int], list[float]]]:
    """The seed means of steps saved split by kind: ``exact`` points, ``lower`` and ``upper`` bounds."""
    points: dict[str, tuple[list[int], list[float]]] = {"exact": ([], []), "lower": ([], []), "upper": ([], [])}
    for h, r in zip(horizons, rows, strict=True):
        if "steps_saved" not in r:
            continue
        kind = {"": "exact", ">": "lower", "<": "upper"}.get(_bound(r["censored"]), "lower")
        points[kind][0].append(h)
        points[kind][1].append(r["steps_saved"][0])
    return points


def plot(report: dict[str, Any], path: Path) -> Any:
    """Steps saved vs horizon (log axis; bounds drawn as open triangles: ▲ a lower bound, ▼ an upper one)
    beside final loss vs horizon and, with grids, the best embedding multiplier vs horizon. Returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bvb = report["best_vs_best"]
    grids = bool(bvb.get("inits")) and max(bvb["grid_sizes"].values()) > 1
    fig, axes = plt.subplots(1, 3 if grids else 2, figsize=(19 if grids else 13, 4.8))
    left, right = axes[0], axes[1]
    series = [
        (e["init"], f"{e['init']} (lr {e['lr']:g}, emb ×{e['embedding_lr_mult']:g})", e["horizons"])
        for e in report["summary"].values()
    ]
    if grids:
        series = [(init, f"{init}: best against best", e["horizons"]) for init, e in bvb["inits"].items()]
    for init, label, by_h in series:
        horizons, rows = [int(h) for h in by_h], list(by_h.values())
        points = _saved_points(rows, horizons)
        if init == "random" or not any(points[k][0] for k in points):
            continue
        (line,) = left.plot(*points["exact"], "o-", label=label)  # the line joins exact values only
        left.plot(*points["lower"], "^", mfc="none", color=line.get_color(), ms=9)
        left.plot(*points["upper"], "v", mfc="none", color=line.get_color(), ms=9)
        per_seed = [r["steps_saved_per_seed"] for r in rows if "steps_saved_per_seed" in r]
        if per_seed and len({len(p) for p in per_seed}) == 1:
            band = np.array(per_seed)
            hs = [h for h, r in zip(horizons, rows, strict=True) if "steps_saved_per_seed" in r]
            left.fill_between(hs, band.min(1), band.max(1), color=line.get_color(), alpha=0.2)
    for entry in report["summary"].values():
        horizons = [int(h) for h in entry["horizons"]]
        losses = [r["final_val_loss"][0] for r in entry["horizons"].values()]
        label = f"{entry['init']} (lr {entry['lr']:g}, emb ×{entry['embedding_lr_mult']:g})"
        right.plot(horizons, losses, marker="o", lw=0.8 if grids else 1.5, label=label)
    left.axhline(0, color="black", lw=0.8)
    left.set(
        xscale="log",
        xlabel="horizon T (steps)",
        ylabel="steps saved vs random",
        title="Steps saved (band: min–max over seeds; ▲/▼ open: lower/upper bounds)",
    )
    right.set(xscale="log", xlabel="horizon T (steps)", ylabel="final validation loss", title="Final loss per horizon")
    if grids:
        best = axes[2]
        chosen = {"random": next(iter(bvb["inits"].values()))["horizons"]} | {
            i: e["horizons"] for i, e in bvb["inits"].items()
        }
        for init, by_h in chosen.items():
            side = "random" if init == "random" else "init"
            best.plot([int(h) for h in by_h], [r["best"][side][1] for r in by_h.values()], marker="o", label=init)
        best.set(
            xscale="log",
            yscale="log",
            xlabel="horizon T (steps)",
            ylabel="best embedding multiplier",
            title="Each side's best setting per horizon",
        )
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig
