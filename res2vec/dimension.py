"""How many dimensions: rules that pick d from the corpus, each reported beside a control.

* ``pip``: Yin & Shen (NeurIPS 2018), minimising the Pairwise Inner Product loss
  ``||E_k E_kᵀ - E* E*ᵀ||_F`` between the rank-k embedding and the oracle one. The noise level
  sigma comes from two halves of the corpus (half of the standard deviation, over all V² entries, of
  the difference of the two halves' matrices); the signal spectrum is the SVD's singular values
  soft-thresholded at ``2 sigma sqrt(V)``; the loss curve is the mean of Monte Carlo draws of
  ``X = U diag(signal) Vᵀ`` plus Gaussian noise, as in their code, but at n = ``simulation_size``
  instead of V with the noise scaled so ``sigma sqrt(n)`` is kept (the spikes' perturbation depends
  on ``signal / (sigma sqrt(n))`` only). The chosen d minimises the mean loss.
* ``resonance``: the self-consistent fixed point of ``d* = log2(V) / I(R(d))`` under a metric
  (:mod:`res2vec.resonance`), with the fixed point of a random Gaussian embedding of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .resonance import random_resonance_curve, resonance_curve, self_consistent_dimension


def pip_noise(A: sp.spmatrix, B: sp.spmatrix) -> float:
    """Yin & Shen's noise estimate from the matrices of two halves of a corpus: half the standard
    deviation of ``A - B`` over all of its entries (zeros included)."""
    diff = (sp.csr_matrix(A) - sp.csr_matrix(B)).tocsr()
    n = float(diff.shape[0]) * diff.shape[1]
    mean = diff.data.sum() / n
    return 0.5 * float(np.sqrt(max(np.square(diff.data).sum() / n - mean * mean, 0.0)))


@dataclass
class PipChoice:
    dim: int
    sigma: float
    threshold: float  # 2 sigma sqrt(V)
    rank: int  # signal components above the threshold
    loss: np.ndarray  # mean PIP loss for k = 1..max_dim
    note: str = ""


def pip_dimension(
    singular_values: np.ndarray,
    sigma: float,
    V: int,
    alpha: float = 0.5,
    *,
    simulation_size: int = 1000,
    draws: int = 3,
    seed: int = 0,
) -> PipChoice:
    """The dimension minimising the Monte Carlo PIP loss (module docstring) for k in 1..len(singular_values)."""
    d = np.asarray(singular_values, dtype=np.float64)
    max_dim = len(d)
    threshold = 2 * sigma * np.sqrt(V)
    signal = np.maximum(d - threshold, 0.0)
    rank = int((signal > 0).sum())
    if rank == 0:
        return PipChoice(1, sigma, threshold, 0, np.zeros(max_dim), "no singular value above the noise threshold")
    n = max(simulation_size, 2 * max_dim)
    scale = sigma * np.sqrt(V / n)  # keeps sigma sqrt(n), the noise edge
    losses = np.zeros(max_dim)
    for draw in range(draws):
        rng = np.random.default_rng([seed, draw])
        U0 = np.linalg.qr(rng.standard_normal((n, rank)))[0]
        V0 = np.linalg.qr(rng.standard_normal((n, rank)))[0]
        X = (U0 * signal[:rank]) @ V0.T
        oracle = U0 * signal[:rank] ** alpha  # the SVD of X is U0 diag(signal) V0ᵀ
        U, S, _ = np.linalg.svd(X + rng.normal(0.0, scale, (n, n)))
        spectrum = S[:max_dim] ** alpha
        overlap = np.square(U[:, :max_dim].T @ oracle).sum(axis=1) * spectrum**2  # ||e_kᵀ E*||²
        squared = np.sum(signal[:rank] ** (4 * alpha)) + np.cumsum(spectrum**4 - 2 * overlap)
        losses += np.sqrt(np.maximum(squared, 0.0)) / draws
    dim = int(np.argmin(losses)) + 1
    note = "the minimum is at max_dim: more dimensions may be better" if dim == max_dim else ""
    return PipChoice(dim, sigma, threshold, rank, losses, note)


@dataclass
class ResonanceChoice:
    dim: int
    crossing: float | None
    curve: np.ndarray  # R(d), d = 1..max_dim
    random_dim: list[int] = field(default_factory=list)  # the fixed point for random embeddings (controls)
    random_crossing: list[float | None] = field(default_factory=list)
    message: str = ""


def resonance_dimension(
    E: np.ndarray, V: int, pairs: np.ndarray, metric: str = "second_moment", control_seeds: tuple[int, ...] = (0,)
) -> ResonanceChoice:
    """The resonance fixed point of ``E`` under ``metric``, with the same for random Gaussian embeddings."""
    curve = resonance_curve(E, pairs, metric)
    fixed = self_consistent_dimension(V, curve)
    controls = [
        self_consistent_dimension(V, random_resonance_curve(V, E.shape[1], pairs, metric, s)) for s in control_seeds
    ]
    return ResonanceChoice(
        fixed.dim, fixed.crossing, curve, [c.dim for c in controls], [c.crossing for c in controls], fixed.message
    )
