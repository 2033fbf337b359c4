"""Forecast a run's final loss from its loss history and its learning-rate schedule (pure functions).

The law is Tissue et al. (2024), "Scaling Law with Learning Rate Annealing" (arXiv 2408.11029):

    L(s) = L0 + A · S1(s)^(-alpha) - C · S2(s)

with ``S1(s) = sum_{i<=s} eta_i`` the forward area (the learning rates of the first s updates, here as
multiples of the peak rate) and ``S2(s) = sum_{i<=s} m_i`` the annealing area, ``m_i = lambda ·
m_{i-1} + (eta_{i-1} - eta_i)``, a momentum of the rate's decrease with decay ``lambda = 0.999``. The
parameters are fitted by L-BFGS-B on the Huber loss (delta 1e-3) of ``log L_pred - log L_obs`` from a
grid of starting points. The paper's full text was not available when this was written: the form
follows its abstract, and lambda, the Huber fit and the grid follow a public reproduction of it, so
they may differ from the paper's own choices. Two conventions are ours: during warmup the rate rises,
and only decreases count as annealing (``m`` uses ``max(eta_{i-1} - eta_i, 0)`` while the rate is
still below its peak, so a warmup adds no negative area); ``S1`` counts every update, warmup included.

A forecast knows the whole schedule in advance (``TrainConfig`` gives it) and extrapolates the law to
the last step; its interval is the range of the refits on truncated histories (the last 10 %, 20 %
and 30 % of the observations left out).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

DECAY = 0.999
HUBER_DELTA = 1e-3


def annealing_areas(rates: Sequence[float], decay: float = DECAY) -> tuple[np.ndarray, np.ndarray]:
    """``(S1, S2)`` after each update (length T) for the learning rates of updates 1..T (any unit;
    they are divided by their maximum)."""
    eta = np.asarray(rates, dtype=np.float64)
    if eta.ndim != 1 or not len(eta) or not np.all(np.isfinite(eta)) or eta.max() <= 0:
        raise ValueError("rates must be a non-empty sequence of finite learning rates with a positive peak")
    eta = eta / eta.max()
    drops = np.diff(eta, prepend=eta[0]) * -1.0
    before_peak = np.arange(len(eta)) <= int(np.argmax(eta))
    drops[before_peak] = np.maximum(drops[before_peak], 0.0)
    m = np.zeros_like(eta)
    momentum = 0.0
    for i, drop in enumerate(drops):  # a recurrence over the schedule (T steps), not over tokens
        momentum = decay * momentum + drop
        m[i] = momentum
    return np.cumsum(eta), np.cumsum(m)


def annealing_law(params: Sequence[float], S1: np.ndarray, S2: np.ndarray) -> np.ndarray:
    """``L0 + A · S1^(-alpha) - C · S2`` for ``params = (L0, A, alpha, C)``."""
    L0, A, alpha, C = params
    return L0 + A * np.power(S1, -alpha) - C * S2


def _huber(x: np.ndarray, delta: float = HUBER_DELTA) -> np.ndarray:
    a = np.abs(x)
    return np.where(a <= delta, 0.5 * x**2, delta * a - 0.5 * delta**2)


def fit_annealing_law(steps: Sequence[int], losses: Sequence[float], rates: Sequence[float]) -> np.ndarray:
    """``(L0, A, alpha, C)`` fitted to the losses observed after updates ``steps`` (1-based counts of
    updates, each <= len(rates)) of a run whose learning rates are ``rates``."""
    steps = np.asarray(steps, dtype=np.int64)
    y = np.asarray(losses, dtype=np.float64)
    if len(steps) != len(y) or len(y) < 4:
        raise ValueError(f"need at least 4 observed losses (after step 0) to fit 4 parameters, got {len(y)}")
    if steps.min() < 1 or steps.max() > len(rates):
        raise ValueError("steps must count updates from 1 to the schedule's length")
    S1, S2 = annealing_areas(rates)
    s1, s2 = S1[steps - 1], S2[steps - 1]

    def objective(params: np.ndarray) -> float:
        pred = annealing_law(params, s1, s2)
        if np.any(pred <= 0):
            return 1e10
        return float(_huber(np.log(pred) - np.log(y)).sum())

    low = float(y.min())
    best, best_value = None, math.inf
    bounds = [(0.0, 2 * float(y.max())), (0.0, 100.0), (0.0, 5.0), (0.0, 100.0)]
    for start in itertools.product((0.5 * low, 0.9 * low), (0.5, 2.0, 8.0), (0.2, 0.5, 1.0), (0.0, 1e-3, 1e-2)):
        result = optimize.minimize(objective, np.array(start), method="L-BFGS-B", bounds=bounds)
        if result.fun < best_value:
            best, best_value = result.x, result.fun
    return np.asarray(best)


@dataclass(frozen=True)
class Forecast:
    """A forecast of the loss after the last update: ``final`` (nats), ``remaining`` (the law's final
    minus its value at the last observation: what is left to gain), ``interval`` (low, high) and the
    fitted ``params``."""

    final: float
    remaining: float
    interval: tuple[float, float]
    params: tuple[float, ...]


def forecast_final_loss(steps: Sequence[int], losses: Sequence[float], rates: Sequence[float]) -> Forecast:
    """Fit the law to the history so far and extrapolate it to the end of the schedule ``rates``."""
    steps, losses = np.asarray(steps), np.asarray(losses, dtype=np.float64)
    S1, S2 = annealing_areas(rates)
    params = fit_annealing_law(steps, losses, rates)
    final = float(annealing_law(params, S1[-1:], S2[-1:])[0])
    now = float(annealing_law(params, S1[steps[-1] - 1 : steps[-1]], S2[steps[-1] - 1 : steps[-1]])[0])
    refits = [final]
    for drop in (0.1, 0.2, 0.3):
        keep = max(4, int(round(len(steps) * (1 - drop))))
        if keep < len(steps):
            p = fit_annealing_law(steps[:keep], losses[:keep], rates)
            refits.append(float(annealing_law(p, S1[-1:], S2[-1:])[0]))
    return Forecast(final, final - now, (min(refits), max(refits)), tuple(float(p) for p in params))


def power_law_forecast(steps: Sequence[int], losses: Sequence[float], total_steps: int) -> float:
    """The schedule-blind baseline: ``L_inf + A · s^(-alpha)`` fitted to the history, at ``total_steps``."""
    s = np.asarray(steps, dtype=np.float64)
    y = np.asarray(losses, dtype=np.float64)

    def objective(params: np.ndarray) -> float:
        pred = params[0] + params[1] * np.power(s, -params[2])
        if np.any(pred <= 0):
            return 1e10
        return float(_huber(np.log(pred) - np.log(y)).sum())

    best, best_value = None, math.inf
    bounds = [(0.0, 2 * float(y.max())), (0.0, 1000.0), (0.0, 5.0)]
    for start in itertools.product((0.5 * y.min(), 0.9 * y.min()), (1.0, 10.0), (0.2, 0.5, 1.0)):
        result = optimize.minimize(objective, np.array(start), method="L-BFGS-B", bounds=bounds)
        if result.fun < best_value:
            best, best_value = result.x, result.fun
    return float(best[0] + best[1] * total_steps ** (-best[2]))
