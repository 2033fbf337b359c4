"""Statistics for comparing training runs paired by seed: when a loss curve reaches a target, and a
paired test of the differences (the same seed gives two inits the same data order and dropout)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as scipy_stats


def first_crossing(steps: Sequence[float], losses: Sequence[float], target: float) -> float | None:
    """The first step at which a loss curve reaches ``target`` (loss <= target), linearly interpolated
    between the two evaluations around the crossing; None if it never does."""
    steps, losses = np.asarray(steps, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    hits = np.flatnonzero(losses <= target)
    if not len(hits):
        return None
    i = int(hits[0])
    if i == 0 or losses[i] == losses[i - 1]:
        return float(steps[i])
    fraction = (losses[i - 1] - target) / (losses[i - 1] - losses[i])
    return float(steps[i - 1] + fraction * (steps[i] - steps[i - 1]))


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for one value)."""
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """``a - b`` paired by index: mean, sd, n, and the two-sided p of a paired t-test (Student's t on
    the differences with n - 1 degrees of freedom; NaN with fewer than 2 pairs or no spread)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"paired values need two equal-length lists, got {a.shape} and {b.shape}")
    diff = a - b
    mean, sd = mean_sd(diff)
    p = math.nan
    if len(diff) > 1 and sd > 0:
        p = float(scipy_stats.ttest_rel(a, b).pvalue)
    return {"mean": mean, "sd": sd, "n": len(diff), "p": p}


def plateaued(steps: Sequence[float], losses: Sequence[float], tail: float = 0.2, tolerance: float = 0.01) -> bool:
    """True when the loss improved by less than ``tolerance`` (relative) over the last ``tail`` of steps."""
    steps, losses = np.asarray(steps, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    start = steps[0] + (1 - tail) * (steps[-1] - steps[0])
    before = np.interp(start, steps, losses)
    return bool((before - losses[-1]) / abs(before) < tolerance)


def steps_to_reach(horizons: Sequence[float], final_losses: Sequence[float], target: float) -> tuple[float, str]:
    """The training length at which a reference reaches ``target``, from its final losses at increasing
    ``horizons`` (linear in log T between the two horizons around the first crossing), and whether it is
    ``exact``, a lower bound (``above``: the reference never gets there; the longest horizon is returned)
    or an upper bound (``below``: already reached at the shortest horizon, which is returned)."""
    log_t = np.log(np.asarray(horizons, dtype=np.float64))
    losses = np.asarray(final_losses, dtype=np.float64)
    crossing = first_crossing(log_t, losses, target)
    if crossing is None:
        return float(horizons[-1]), "above"
    if losses[0] <= target:
        return float(horizons[0]), "below"
    return float(np.exp(crossing)), "exact"


def fit_saving(horizons: Sequence[float], saved: Sequence[float]) -> dict[str, Any]:
    """Least-squares fits of steps saved against the horizon: ``a + b T`` and ``a T^c`` (the latter in
    log space, positive savings only; None when fewer than two are positive), each with its RMSE in
    steps, and which fits better by that RMSE."""
    T, y = np.asarray(horizons, dtype=np.float64), np.asarray(saved, dtype=np.float64)
    b, a = np.polyfit(T, y, 1)
    linear = {"a": float(a), "b": float(b), "rmse": float(np.sqrt(np.mean((a + b * T - y) ** 2)))}
    power = None
    positive = y > 0
    if positive.sum() >= 2:
        c, log_a = np.polyfit(np.log(T[positive]), np.log(y[positive]), 1)
        prediction = np.exp(log_a) * T**c
        power = {"a": float(np.exp(log_a)), "c": float(c), "rmse": float(np.sqrt(np.mean((prediction - y) ** 2)))}
    better = "linear" if power is None or linear["rmse"] <= power["rmse"] else "power"
    return {"linear": linear, "power": power, "better": better}


def best_cell(losses: dict[Any, dict[int, float]], seeds: Sequence[int]) -> Any:
    """The cell (a setting, e.g. ``(lr, multiplier)``) with the lowest mean loss over ``seeds``; a tie
    goes to the first cell in sorted order. ``losses[cell][seed]`` is one run's final loss."""
    return min(sorted(losses), key=lambda cell: float(np.mean([losses[cell][s] for s in seeds])))


def held_out_seed_difference(
    arm: dict[Any, dict[int, float]], reference: dict[Any, dict[int, float]], seeds: Sequence[int]
) -> dict[str, Any] | None:
    """Best against best without selection bias: for each seed ``s``, each side's best cell is chosen on
    the other seeds' mean, and ``arm - reference`` is read at ``s`` (leave one seed out). Returns the
    paired statistics of those differences and the cells chosen per held-out seed; None with < 2 seeds."""
    if len(seeds) < 2:
        return None
    mine, theirs, chosen = [], [], {}
    for s in seeds:
        others = [t for t in seeds if t != s]
        a, b = best_cell(arm, others), best_cell(reference, others)
        mine.append(arm[a][s])
        theirs.append(reference[b][s])
        chosen[s] = (a, b)
    return {**paired_difference(mine, theirs), "chosen": chosen}
