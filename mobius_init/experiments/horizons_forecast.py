"""A horizon study read past its longest horizon: each arm's trunk and branches fitted by a loss law
(:mod:`mobius_init.forecast`), the law read at horizons not trained, and the steps an init would save
there against random at the same setting and seed.

A fit uses every step's training loss (window means, :func:`mobius_init.forecast.smoothed`) of the
constant-rate trunk up to the fitted horizon and of the decay of each fitted branch, each under its own
schedule; one offset (the validation losses minus the law, averaged) turns the law into validation loss.
The interval of a forecast spans the fit on every branch and the fits on the trunk with one branch each.
The law failed its validation on held-out branches (``benchmarks/bench_forecast_horizons.py``,
docs/results/forecast.md): these numbers are rough, and the command says so.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from ..forecast import (
    Curve,
    annealing_law_at,
    fit_annealing_law_to,
    fit_multi_power_law,
    multi_power_law,
    smoothed,
)
from ..schedules import learning_rates
from ..significance import steps_to_reach
from ..train_config import TrainConfig

LAWS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "multi_power": (fit_multi_power_law, multi_power_law),
    "tissue": (fit_annealing_law_to, annealing_law_at),
}
ArmKey = tuple[str, float, float, int]  # init, lr, embedding multiplier, seed


def load_study_logs(source: Path) -> dict[str, Any]:
    """``{"trunks": {name: record}, "branches": {name: record}}`` from a study directory's ``runs/``, or
    from a gzipped JSON of that dict. ValueError when there is none."""
    source = Path(source)
    if source.is_file():
        with gzip.open(source, "rt") as f:
            return json.load(f)
    logs: dict[str, Any] = {"trunks": {}, "branches": {}}
    for path in sorted((source / "runs").glob("*.json")):
        kind = "trunks" if path.name.endswith(".trunk.json") else "branches"
        logs[kind][path.name[: -len(".json")]] = json.loads(path.read_text())
    if not logs["trunks"]:
        raise ValueError(f"{source} holds no horizon study: no trunk in {source / 'runs'} (run 'mobius-init horizons')")
    return logs


def arm_runs(logs: dict[str, Any]) -> dict[ArmKey, dict[str, Any]]:
    """Per (init, lr, multiplier, seed): the trunk record and the branch records by horizon."""

    def key(record: dict[str, Any]) -> ArmKey:
        s = record["settings"]
        return s["init"], s["train"]["lr"], s["train"]["embedding_lr_mult"], s["train"]["seed"]

    arms = {key(r): {"trunk": r, "branches": {}} for r in logs["trunks"].values()}
    for record in logs["branches"].values():
        if key(record) in arms:
            arms[key(record)]["branches"][record["settings"]["train"]["steps"]] = record
    return arms


def rates_of(train: dict[str, Any], steps: int) -> np.ndarray:
    """The learning rate of every update of the stored training settings' schedule, run for ``steps``."""
    known = {f.name for f in fields(TrainConfig)}
    settings = {k: v for k, v in train.items() if k in known and k not in ("device", "keep_states_at")}
    return learning_rates(TrainConfig(**{**settings, "steps": steps}, device="cpu"))


def val_points(history: list[dict[str, Any]], low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """The validation losses logged after steps in ``(low, high]``: ``(steps, losses)``."""
    points = sorted({h["step"]: h["val_loss"] for h in history if "val_loss" in h and low < h["step"] <= high}.items())
    return np.array([s for s, _ in points], dtype=np.int64), np.array([v for _, v in points])


def fit_arm(arm: dict[str, Any], horizons: list[int], law: str = "multi_power") -> tuple[np.ndarray, float]:
    """``(params, offset)`` of ``law`` fitted to the trunk up to ``max(horizons)`` and the branches at
    ``horizons``; ValueError when the law cannot be fitted (too few losses, no decay)."""
    fit, evaluate = LAWS[law]
    trunk, longest = arm["trunk"], max(horizons)
    trunk_rates = rates_of(trunk["settings"]["train"], longest)
    parts = [(Curve(trunk_rates, *smoothed(trunk["train_losses"][:longest])), val_points(trunk["history"], 0, longest))]
    for horizon in horizons:
        branch = arm["branches"][horizon]
        train = branch["settings"]["train"]
        point = horizon - int(round(train["decay_fraction"] * horizon))
        curve = Curve(rates_of(train, horizon), *smoothed(branch["result"]["decay_train_losses"], point))
        parts.append((curve, val_points(branch["result"]["history"], point, horizon)))
    params = fit([curve for curve, _ in parts])
    residuals = [
        v - evaluate(params, curve.rates, [s])[0]
        for curve, (steps, values) in parts
        for s, v in zip(steps, values, strict=True)
        if int(np.argmax(curve.rates)) + 1 < s <= len(curve.rates)
    ]
    return params, float(np.mean(residuals)) if residuals else 0.0


def final_loss(arm: dict[str, Any], fitted: tuple[np.ndarray, float], horizon: int, law: str = "multi_power") -> float:
    """The fitted law's validation loss at the end of the wsd run of ``horizon`` steps."""
    params, offset = fitted
    train = next(iter(arm["branches"].values()))["settings"]["train"]
    return float(LAWS[law][1](params, rates_of(train, horizon), [horizon])[0]) + offset


def forecast_study(
    source: Path, *, horizons: tuple[int, ...] | None = None, law: str = "multi_power"
) -> dict[str, Any]:
    """Per arm: the forecast final loss (and interval) at each of ``horizons`` (default: twice and four
    times the study's longest trained horizon); per init arm with a random arm at its setting and seed,
    the steps saved there (random's curve: its measured finals, then its forecasts). Arms whose law
    cannot be fitted are listed with the reason."""
    arms = arm_runs(load_study_logs(source))
    if horizons is None:
        longest = max((h for arm in arms.values() for h in arm["branches"]), default=None)
        if longest is None:
            raise ValueError(f"{source} has no finished branch yet: nothing to read a loss law from")
        horizons = (2 * longest, 4 * longest)
    horizons = sorted(set(horizons))
    rows: dict[ArmKey, dict[str, Any]] = {}
    for key, arm in sorted(arms.items()):
        trained = sorted(arm["branches"])
        if not trained:
            rows[key] = {"error": "no finished branch"}
            continue
        try:
            fits = [fit_arm(arm, trained, law)]
        except ValueError as exc:
            rows[key] = {"error": str(exc)}
            continue
        for horizon in trained if len(trained) > 1 else []:
            try:
                fits.append(fit_arm(arm, [horizon], law))
            except ValueError:  # a short trunk with one branch may hold too few losses: no refit there
                pass
        finals = {}
        for horizon in horizons:
            each = [final_loss(arm, f, horizon, law) for f in fits]
            finals[horizon] = {"final": each[0], "low": min(each), "high": max(each)}
        measured = {h: arm["branches"][h]["result"]["final_val_loss"] for h in trained}
        rows[key] = {"trained": measured, "forecast": finals}
    for (init, lr, mult, seed), row in rows.items():
        reference = rows.get(("random", lr, mult, seed), {})
        if init == "random" or "forecast" not in row or "forecast" not in reference:
            continue
        known = sorted(reference["trained"])
        steps = known + [h for h in horizons if h > known[-1]]
        curve = [reference["trained"][h] for h in known] + [
            reference["forecast"][h]["final"] for h in steps[len(known) :]
        ]
        row["steps_saved"] = {}
        for horizon in horizons:
            reached, bound = steps_to_reach(steps, curve, row["forecast"][horizon]["final"])
            row["steps_saved"][horizon] = {"steps": reached - horizon, "bound": bound}
    return {"law": law, "horizons": horizons, "arms": [{"arm": list(k), **v} for k, v in rows.items()]}


_MARK = {"exact": "", "above": ">", "below": "<"}


def markdown(report: dict[str, Any]) -> str:
    """The forecast as a table, one row per arm and horizon."""
    lines = [
        f"Forecast by the {report['law']} law fitted to each arm's trunk and branches. This law failed its "
        "validation on held-out branches (docs/results/forecast.md): read these numbers as rough.",
        "",
        "| init | lr | emb × | seed | horizon | forecast val loss | interval | steps saved vs random |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in report["arms"]:
        init, lr, mult, seed = row["arm"]
        if "error" in row:
            lines.append(f"| {init} | {lr:g} | {mult:g} | {seed} | — | no forecast: {row['error']} | | |")
            continue
        for horizon in report["horizons"]:
            f = row["forecast"][horizon]
            saved = row.get("steps_saved", {}).get(horizon)
            text = f"{_MARK[saved['bound']]}{saved['steps']:+.0f}" if saved else "—"
            lines.append(
                f"| {init} | {lr:g} | {mult:g} | {seed} | {horizon} | {f['final']:.3f} | "
                f"{f['low']:.3f}–{f['high']:.3f} | {text} |"
            )
    return "\n".join(lines) + "\n"
