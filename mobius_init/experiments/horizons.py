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
Orchestration only: the schedule lives in :mod:`mobius_init.schedules`, the statistics in
:mod:`mobius_init.significance`, the tables and plot in :mod:`.horizons_report`.

Every trunk, kept state and branch is written as it finishes, with the settings it was made with: a
rerun with ``resume`` continues an interrupted one, keeps finished ones and refuses changed settings.
The trunk does not depend on the set of horizons (the warmup is fixed in steps), so a study is extended
by adding horizons: finished branches are kept, and a new branch point is reached by continuing the
trunk from its latest kept state before it. The report covers every arm in the output directory made
with the same settings, whichever command trained it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from ..minigpt import MiniGPTConfig
from ..train_config import TrainConfig
from ..training import kept_state_path, train
from ..weights import set_output_bias_
from .arms import InitSpec, build_model, check_plugins, initialise
from .data import changed_settings, load_or_prepare, output_folders, refuse_changed_settings, run_settings, write_atomic
from .horizons_config import HorizonsConfig
from .horizons_report import Results, arm_key, best_against_best, markdown_table, plot, summarize

# What varies between the arms of one study (the rest must match for two runs to share a report).
ARM_SETTINGS = ("init", "lr", "embedding_lr_mult", "seed", "steps")


def arm_name(init: str, lr: float, mult: float, seed: int) -> str:
    return f"{init}_lr{lr:g}_emb{mult:g}_seed{seed}".replace(":", "-")


def run_horizons(
    config: HorizonsConfig, out_dir: str | Path, *, resume: bool = False, client: Any = None
) -> dict[str, Any]:
    """Train every arm's trunk and branches; write ``results.json``, ``results.md`` and ``horizons.png``
    under ``out_dir`` (trunks and branch states in ``checkpoints/``, results in ``runs/``, logs in ``logs/``)
    for every arm the directory holds with the same settings. With a ``dask.distributed.Client``, each arm
    is one task on its workers, which read the data from and write to ``out_dir`` (a path every worker
    shares); a task retried after its worker died continues the arm from its checkpoints."""
    out = Path(out_dir)
    data = load_or_prepare(config, out)
    check_plugins(config, data.stats)
    with output_folders(out, ("logs", "runs", "checkpoints")):
        return _run_horizons(config, out, data, resume, client)


def train_arm(config: HorizonsConfig, out: Path, cell: tuple[str, float, float, int], data: Any = None) -> None:
    """One arm, ``(init, lr, embedding multiplier, seed)``: its trunk and every branch not finished yet
    (the data read from ``out/data`` when not given: on a Dask worker)."""
    data = load_or_prepare(config, out) if data is None else data
    model_config = replace(config.model, vocab_size=data.stats.vocab_size)
    arm = _Arm(config, data, model_config, *cell, out)
    arm.train_trunk()
    for horizon in arm.horizons:
        arm.branch(horizon)


def _run_horizons(config: HorizonsConfig, out: Path, data: Any, resume: bool, client: Any) -> dict[str, Any]:
    model_config = replace(config.model, vocab_size=data.stats.vocab_size)
    cells = [(init, lr, mult, seed) for seed in config.seeds_run() for init, lr, mult in config.grid()]
    if not resume:  # a fresh study: no file of an earlier one's arms is continued or reported
        for cell in cells:
            name = arm_name(*cell)
            for folder in ("checkpoints", "runs", "logs"):
                for stale in [*(out / folder).glob(f"{name}.*"), *(out / folder).glob(f"{name}_T*")]:
                    stale.unlink()
    if client is None:
        for cell in cells:
            train_arm(config, out, cell, data)
    else:
        tasks = [
            client.submit(train_arm, config, out.resolve(), c, key=f"arm-{arm_name(*c)}", retries=2) for c in cells
        ]
        client.gather(tasks)  # the first failure is raised here, the arms before it kept
    trained = [arm_key(init, lr, mult) for init, lr, mult, _ in cells]
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
    ) -> None:
        self.config, self.data, self.model_config, self.init = config, data, model_config, init
        self.spec, self.seed, self.out = InitSpec.parse(init), seed, out
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
        if self.trunk_file.is_file():
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
        return done.is_file() or checkpoint.is_file()

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
        if done.is_file():
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
