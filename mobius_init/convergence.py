"""Candidate convergence diagnostics, as pure functions of a training-loss history or an embedding.

None of them is assumed to work: ``benchmarks/bench_convergence.py`` measures each against the
remaining validation-loss improvement of real training runs, beside the training step itself.

* :func:`fit_loss_curve`: ``L(s) = L_inf + A (s + s0)^(-alpha)`` fitted to the training loss
  observed so far, giving the predicted remaining improvement ``L(s) - L_inf`` and the fraction achieved;
* :func:`loss_slope`: the training loss's recent decrease per 1,000 steps;
* :func:`spectrum` based: :func:`effective_rank` (Roy & Vetterli 2007), :func:`esd_alpha` (the
  power-law exponent of the eigenvalue tail, as WeightWatcher's alpha), :func:`spectral_distance`
  between two embeddings' spectra, and :func:`rand_distance` (WeightWatcher's: the spectrum's distance
  from that of the same entries shuffled, i.e. of a random matrix);
* :func:`relative_change`: ``||E - E0|| / ||E0||``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit


def power_law(s: np.ndarray, l_inf: float, a: float, alpha: float, s0: float) -> np.ndarray:
    return l_inf + a * (s + s0) ** (-alpha)


@dataclass(frozen=True)
class LossFit:
    """A fit of ``L(s) = l_inf + a (s + s0)^(-alpha)`` to the training loss observed up to ``step``."""

    l_inf: float
    a: float
    alpha: float
    s0: float
    step: int
    current: float  # mean training loss over the last ``window`` steps
    initial: float  # mean training loss over the first ``window`` steps

    @property
    def predicted_remaining(self) -> float:
        """Improvement still to come in the limit, ``current - l_inf`` (nats)."""
        return self.current - self.l_inf

    @property
    def fraction_achieved(self) -> float:
        """``(initial - current) / (initial - l_inf)``."""
        total = self.initial - self.l_inf
        return (self.initial - self.current) / total if total > 0 else float("nan")


def fit_loss_curve(steps: np.ndarray, losses: np.ndarray, window: int = 50, points: int = 100) -> LossFit | None:
    """Fit the power law to training losses observed at ``steps`` (every step, or every logging
    interval): the observations are averaged in ``points`` log-spaced step bins (so early and late
    training weigh alike) and each bin is weighted by its count. None with too little history or when
    the fit fails."""
    steps, losses = np.asarray(steps, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if len(steps) < 10 or steps[-1] < 2 * window:
        return None
    edges = np.geomspace(max(steps[0], 1.0), steps[-1] + 1, points + 1)
    bins = np.clip(np.searchsorted(edges, steps, side="right") - 1, 0, points - 1)
    count = np.bincount(bins, minlength=points)
    keep = count > 0
    x = (np.bincount(bins, weights=steps, minlength=points)[keep]) / count[keep]
    y = (np.bincount(bins, weights=losses, minlength=points)[keep]) / count[keep]
    lowest = float(y.min())
    p0 = (max(lowest - 0.5, 0.0), max(y[0] - lowest, 1e-3) * max(x[0], 1.0) ** 0.5, 0.5, 1.0)
    bounds = ([0.0, 0.0, 0.01, 0.0], [lowest, np.inf, 3.0, float(steps[-1])])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = curve_fit(power_law, x, y, p0=p0, sigma=1 / np.sqrt(count[keep]), bounds=bounds, maxfev=5000)
    except (RuntimeError, ValueError):
        return None
    current = float(losses[steps > steps[-1] - window].mean())
    initial = float(losses[steps < steps[0] + window].mean())
    return LossFit(*map(float, params), step=int(steps[-1]), current=current, initial=initial)


def loss_slope(steps: np.ndarray, losses: np.ndarray, span: int = 200) -> float:
    """Decrease of the training loss per 1,000 steps over the last ``span`` steps: minus the slope of a
    least-squares line (nats per 1,000 steps; NaN with fewer than 3 observations in the span)."""
    steps, losses = np.asarray(steps, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    recent = steps > steps[-1] - span if len(steps) else np.zeros(0, bool)
    if recent.sum() < 3:
        return float("nan")
    return float(-np.polyfit(steps[recent], losses[recent], 1)[0] * 1000)


def spectrum(E: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``EᵀE / V`` (the empirical spectral density's support), descending."""
    E = np.asarray(E, dtype=np.float64)
    return np.sort(np.linalg.svd(E, compute_uv=False) ** 2 / len(E))[::-1]


def effective_rank(E: np.ndarray) -> float:
    """``exp(entropy)`` of the singular values normalised to sum 1 (Roy & Vetterli 2007)."""
    s = np.sqrt(spectrum(E))
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def esd_alpha(E: np.ndarray, tail: float = 0.5) -> float:
    """Maximum-likelihood power-law exponent of the largest ``tail`` share of the eigenvalues of
    ``EᵀE / V`` (Clauset, Shalizi & Newman 2009, with xmin the smallest eigenvalue of the tail)."""
    lam = spectrum(E)
    top = lam[: max(2, int(round(tail * len(lam))))]
    top = top[top > 0]
    logs = np.log(top / top.min())
    return float(1 + len(top) / logs.sum()) if logs.sum() > 0 else float("nan")


def spectral_distance(E: np.ndarray, F: np.ndarray) -> float:
    """1-Wasserstein distance between the log eigenvalue spectra of two embeddings of the same width
    (0 when one is a rotation of the other)."""
    a, b = np.log(spectrum(E) + 1e-30), np.log(spectrum(F) + 1e-30)
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


def rand_distance(E: np.ndarray, seed: int = 0) -> float:
    """:func:`spectral_distance` between ``E`` and its entries shuffled (a random matrix with the same
    values): WeightWatcher's measure of how far a layer's spectrum is from randomness."""
    E = np.asarray(E, dtype=np.float64)
    shuffled = np.random.default_rng(seed).permutation(E.ravel()).reshape(E.shape)
    return spectral_distance(E, shuffled)


def relative_change(E: np.ndarray, E0: np.ndarray) -> float:
    """``||E - E0||_F / ||E0||_F``; from an all-zero ``E0`` it is 0 if E is zero too, else infinite."""
    E, E0 = np.asarray(E, dtype=np.float64), np.asarray(E0, dtype=np.float64)
    moved, start = np.linalg.norm(E - E0), np.linalg.norm(E0)
    if start == 0:
        return 0.0 if moved == 0 else math.inf
    return float(moved / start)
