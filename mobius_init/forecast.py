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
from collections.abc import Callable, Iterable, Sequence
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


def _fit_log_huber(
    model: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    starts: Iterable[Sequence[float]],
    bounds: Sequence[tuple[float, float]],
    **options: float,
) -> np.ndarray:
    """The parameters, best over ``starts``, minimising ``sum huber(log model(p) - log y)`` by L-BFGS-B.
    ``model(p)`` returns the predictions (n,) and their Jacobian (n, len(p)); a prediction that is not
    finite and positive scores 1e10."""
    log_y = np.log(y)

    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        pred, jac = model(params)
        if not np.all(np.isfinite(pred)) or np.any(pred <= 0):
            return 1e10, np.zeros_like(params)
        r = np.log(pred) - log_y
        return float(_huber(r).sum()), (np.clip(r, -HUBER_DELTA, HUBER_DELTA) / pred) @ jac  # huber' = clip

    best, best_value = None, math.inf
    for start in starts:
        result = optimize.minimize(
            objective, np.asarray(start, dtype=np.float64), jac=True, method="L-BFGS-B", bounds=bounds, options=options
        )
        if result.fun < best_value:
            best, best_value = result.x, result.fun
    return np.asarray(best)


def _annealing_model(S1: np.ndarray, S2: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """:func:`annealing_law` at fixed areas, with its Jacobian in ``(L0, A, alpha, C)``."""
    log_S1 = np.log(S1)

    def model(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        L0, A, alpha, C = params
        power = np.power(S1, -alpha)
        jac = np.stack([np.ones_like(S1), power, -A * power * log_S1, -S2], axis=1)
        return L0 + A * power - C * S2, jac

    return model


def _annealing_starts(y: np.ndarray) -> list[tuple[float, ...]]:
    return list(itertools.product((0.5 * y.min(), 0.9 * y.min()), (0.5, 2.0, 8.0), (0.2, 0.5, 1.0), (0.0, 1e-3, 1e-2)))


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
    bounds = [(0.0, 2 * float(y.max())), (0.0, 100.0), (0.0, 5.0), (0.0, 100.0)]
    return _fit_log_huber(_annealing_model(S1[steps - 1], S2[steps - 1]), y, _annealing_starts(y), bounds)


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
    log_s = np.log(s)

    def model(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        power = np.power(s, -params[2])
        return params[0] + params[1] * power, np.stack([np.ones_like(s), power, -params[1] * power * log_s], axis=1)

    bounds = [(0.0, 2 * float(y.max())), (0.0, 1000.0), (0.0, 5.0)]
    best = _fit_log_huber(
        model, y, itertools.product((0.5 * y.min(), 0.9 * y.min()), (1.0, 10.0), (0.2, 0.5, 1.0)), bounds
    )
    return float(best[0] + best[1] * total_steps ** (-best[2]))


# ---- The multi-power law (Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across
# Learning Rate Schedules", arXiv 2503.12811), fitted on several runs with their own schedules.

MPL_PARAMS = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
ETA_FLOOR = 1e-3  # our convention: eta_k^-gamma uses max(eta_k, 1e-3 x peak), so a decay to 0 stays finite
SMOOTHING = 9  # training losses enter the fit as means over windows of this many steps


@dataclass(frozen=True)
class Curve:
    """Losses of one run after ``steps`` updates (1-based counts) of its schedule ``rates`` (one rate per
    update, any unit)."""

    rates: np.ndarray
    steps: np.ndarray
    losses: np.ndarray


def multi_power_law(params: Sequence[float], rates: Sequence[float], steps: Sequence[int]) -> np.ndarray:
    """``L(t) = L0 + A (S1(t) + S_W)^-alpha - LD(t)`` after ``t`` updates (each ``t`` past the warmup),

    ``LD(t) = B sum_{k=W+1..t} (eta_{k-1} - eta_k) G(eta_k^-gamma S_k(t))``, ``S_k(t) = sum_{tau=k..t} eta_tau``,
    ``G(x) = 1 - (C x + 1)^-beta``, with ``S_W`` the warmup's area and ``W`` the step the rate peaks at, as in
    the paper's equations; the rates are taken as multiples of their peak (a change of units of A and C)."""
    return _multi_power_law(params, rates, steps)[0]


def _multi_power_law(
    params: Sequence[float], rates: Sequence[float], steps: Sequence[int], jacobian: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`multi_power_law` (n,) and, with ``jacobian``, its derivatives in the seven parameters (n, 7)."""
    L0, A, alpha, B, C, beta, gamma = params
    eta = np.asarray(rates, dtype=np.float64)
    eta = eta / eta.max()
    t = np.asarray(steps, dtype=np.int64)
    P = np.concatenate([[0.0], np.cumsum(eta)])  # P[t] = area of the first t updates
    W = int(np.argmax(eta)) + 1  # updates 1..W are the warmup, ending at the peak
    k = np.arange(W + 1, len(eta) + 1)  # updates after the peak (1-based)
    drop = eta[k - 2] - eta[k - 1]
    k, drop = k[drop != 0], drop[drop != 0]
    power = np.power(P[t], -alpha)
    base = L0 + A * power
    if not jacobian:
        jac = None
    else:
        jac = np.zeros((len(t), 7))
        jac[:, 0], jac[:, 1], jac[:, 2] = 1.0, power, -A * power * np.log(P[t])
    if not len(k):
        return base, jac
    S = P[t][:, None] - P[k - 1][None, :]
    floor = np.maximum(eta[k - 1], ETA_FLOOR)
    x = np.power(floor, -gamma)[None, :] * np.maximum(S, 0.0)
    inside = np.where(k[None, :] <= t[:, None], drop[None, :], 0.0)  # drop_k for the updates k <= t
    u = C * x + 1.0
    G = 1.0 - np.power(u, -beta)
    if jacobian:
        dG_du = beta * np.power(u, -beta - 1.0)  # dG/du; u = C x + 1, x = floor^-gamma S
        jac[:, 3] = -(inside * G).sum(axis=1)
        jac[:, 4] = -B * (inside * dG_du * x).sum(axis=1)
        jac[:, 5] = -B * (inside * np.power(u, -beta) * np.log(u)).sum(axis=1)
        jac[:, 6] = -B * (inside * dG_du * C * x * -np.log(floor)[None, :]).sum(axis=1)
    return base - B * (inside * G).sum(axis=1), jac


def window_means(
    updates: Sequence[int], losses: Sequence[float], width: int = SMOOTHING
) -> tuple[np.ndarray, np.ndarray]:
    """Losses observed after ``updates`` as means over consecutive windows of ``width`` observations (an
    incomplete last window is left out): ``(the update count at each window's middle observation, means)``."""
    t = np.asarray(updates, dtype=np.int64)
    y = np.asarray(losses, dtype=np.float64)
    n = len(y) // width
    return t[width // 2 : n * width : width], y[: n * width].reshape(n, width).mean(axis=1)


def smoothed(losses: Sequence[float], first_step: int = 0, width: int = SMOOTHING) -> tuple[np.ndarray, np.ndarray]:
    """Per-step training losses as window means: ``(updates before the window's centre, means)``.
    ``losses[i]`` is the loss measured before update ``first_step + i + 1``, i.e. after ``first_step + i``."""
    return window_means(first_step + np.arange(len(losses)), losses, width)


def fit_multi_power_law(curves: Sequence[Curve]) -> np.ndarray:
    """The seven parameters of :func:`multi_power_law` fitted to every curve at once (each with its own
    schedule), by L-BFGS-B on the Huber loss (delta 1e-3) of log residuals, as the paper's code fits it;
    starts: for a grid of (alpha, C, beta, gamma), (L0, A, B) by linear least squares. Observations inside
    a warmup are left out. ValueError when too few remain or a loss is not finite."""
    kept = []
    for c in curves:
        steps, losses = np.asarray(c.steps, dtype=np.int64), np.asarray(c.losses, dtype=np.float64)
        if not np.all(np.isfinite(losses)) or np.any(losses <= 0):
            raise ValueError("the losses must be finite and positive")
        after = steps > int(np.argmax(c.rates)) + 1
        if np.any(steps > len(c.rates)):
            raise ValueError("a curve has losses past the end of its schedule")
        kept.append(Curve(np.asarray(c.rates, dtype=np.float64), steps[after], losses[after]))
    y = np.concatenate([c.losses for c in kept])
    if len(y) < 2 * len(MPL_PARAMS):
        raise ValueError(f"need at least {2 * len(MPL_PARAMS)} losses after the warmup to fit the law, got {len(y)}")
    if not any(len(c.steps) and np.ptp(c.rates[int(np.argmax(c.rates)) : c.steps.max()]) > 0 for c in kept):
        raise ValueError(
            "no curve has losses inside a decay of its learning rate: the law's annealing term cannot be fitted"
        )

    def predict(params: np.ndarray) -> np.ndarray:
        return np.concatenate([multi_power_law(params, c.rates, c.steps) for c in kept])

    def objective(params: np.ndarray) -> float:
        pred = predict(params)
        if not np.all(np.isfinite(pred)) or np.any(pred <= 0):
            return 1e10
        return float(_huber(np.log(pred) - np.log(y)).sum())

    bounds = [(0.0, float(y.max())), (0.0, 1e3), (1e-3, 3.0), (0.0, 1e3), (1e-6, 1e3), (1e-3, 5.0), (0.0, 1.0)]
    starts = []
    for alpha, C, beta, gamma in itertools.product((0.3, 0.6), (0.01, 0.1, 1.0), (0.5, 1.0), (0.3, 0.6)):
        columns = [predict(np.array(p)) for p in ((1, 0, alpha, 0, C, beta, gamma), (0, 1, alpha, 0, C, beta, gamma))]
        decay = -predict(np.array((0, 0, alpha, 1, C, beta, gamma)))
        L0, A, B = np.linalg.lstsq(np.stack([*columns, -decay], axis=1), y, rcond=None)[0]
        start = np.clip([L0, A, alpha, B, C, beta, gamma], [b[0] for b in bounds], [b[1] for b in bounds])
        starts.append((objective(start), start))
    best_starts = [start for _, start in sorted(starts, key=lambda s: s[0])[:4]]

    def model(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [_multi_power_law(params, c.rates, c.steps, jacobian=True) for c in kept]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return _fit_log_huber(model, y, best_starts, bounds, ftol=1e-15, gtol=1e-12, maxiter=3000)


def annealing_law_at(params: Sequence[float], rates: Sequence[float], steps: Sequence[int]) -> np.ndarray:
    """Tissue et al.'s law after ``steps`` updates of the schedule ``rates`` (:func:`annealing_law`)."""
    S1, S2 = annealing_areas(rates)
    t = np.asarray(steps, dtype=np.int64) - 1
    return annealing_law(params, S1[t], S2[t])


def fit_annealing_law_to(curves: Sequence[Curve]) -> np.ndarray:
    """Tissue et al.'s ``(L0, A, alpha, C)`` fitted to several curves at once, each with its own schedule
    (as :func:`fit_annealing_law` fits one), observations inside a warmup left out."""
    areas, ys = [], []
    for c in curves:
        steps = np.asarray(c.steps, dtype=np.int64)
        after = steps > int(np.argmax(c.rates)) + 1
        S1, S2 = annealing_areas(c.rates)  # once per curve: the fit evaluates the law many times
        areas.append((S1[steps[after] - 1], S2[steps[after] - 1]))
        ys.append(np.asarray(c.losses, dtype=np.float64)[after])
    y = np.concatenate(ys)
    if len(y) < 8 or not np.all(np.isfinite(y)):
        raise ValueError("need at least 8 finite losses after the warmup to fit the law")

    model = _annealing_model(np.concatenate([a[0] for a in areas]), np.concatenate([a[1] for a in areas]))
    bounds = [(0.0, float(y.max())), (0.0, 100.0), (0.0, 5.0), (0.0, 100.0)]
    return _fit_log_huber(model, y, _annealing_starts(y), bounds, ftol=1e-15, gtol=1e-12)
