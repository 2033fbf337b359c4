"""Res2Vec geometry: metric tensor, average resonance R, information capacity and the
self-consistent dimension.

Definitions (also in the README):

* **Metric tensor** of an embedding ``E`` (V x d): its second-moment matrix normalised to trace d,
  ``G = d * E^T E / tr(E^T E)`` (``G = I`` for an isotropic embedding). For SVD or eigenvector
  embeddings the columns are orthogonal, so ``G`` is diagonal up to round-off, and the ``G`` of
  the leading ``k`` columns is the leading ``k x k`` block, renormalised.
* **Resonance** of words a, b: their cosine under ``G``,
  ``<e_a, e_b>_G / (|e_a|_G |e_b|_G)`` with ``<x, y>_G = x^T G y``.
* **R(d)**: the mean absolute resonance, using the leading ``d`` columns, over a fixed sample of
  word pairs. The sample is ``n_pairs`` pairs (default 10,000) of distinct ids drawn uniformly, with
  a seeded ``numpy`` generator, from the ``pair_vocab`` most frequent words (default 10,000).
* ``I(R) = -log2(1 - R)`` bits per dimension; ``d*(V, R) = log2(V) / I(R)``.
* **Self-consistent dimension**: the ``d`` at which ``d*(V, R(d))`` crosses ``d``. It is the first
  crossing from ``d* > d`` to ``d* < d`` (a stable fixed point of ``d <- d*(V, R(d))``), located by
  linear interpolation between neighbouring integers and rounded up.

The metric is a choice (:data:`METRICS`): ``second_moment`` (the one above, the original
specification), ``cosine`` (``G = I``, plain cosine) and ``whitened`` (``G = (EᵀE)⁻¹``: the cosine of
the rows of ``U`` for ``E = U S^p``). For nearly isotropic vectors every R(d) falls like c/sqrt(d), so
the fixed point can depend on V more than on the corpus; :func:`random_resonance_curve` gives the same
curve for a Gaussian embedding of the same shape, the control every fixed point is reported beside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def information_capacity(R: float | np.ndarray) -> float | np.ndarray:
    """``I(R) = -log2(1 - R)``, bits per dimension, for ``0 <= R < 1`` (``inf`` at R = 1)."""
    R = np.asarray(R, dtype=np.float64)
    if np.any((R < 0) | (R > 1) | ~np.isfinite(R)):
        raise ValueError(f"R must lie in [0, 1], got {R}")
    with np.errstate(divide="ignore"):
        out = -np.log2(1.0 - R)
    return float(out) if out.ndim == 0 else out


def optimal_dimension(V: int, R: float | np.ndarray) -> float | np.ndarray:
    """``d*(V, R) = log2(V) / I(R)`` (0 at R = 1)."""
    if V < 2:
        raise ValueError(f"V must be at least 2, got {V}")
    capacity = information_capacity(R)
    with np.errstate(divide="ignore"):
        out = np.log2(V) / np.asarray(capacity)
    return float(out) if np.ndim(out) == 0 else out


def metric_tensor(E: np.ndarray) -> np.ndarray:
    """``G = d * E^T E / tr(E^T E)`` (d x d, float64)."""
    E = np.asarray(E, dtype=np.float64)
    second = E.T @ E
    trace = np.trace(second)
    if trace <= 0:
        raise ValueError("the embedding is all zeros: its metric tensor is undefined")
    return E.shape[1] * second / trace


def sample_pairs(V: int, n_pairs: int = 10_000, pair_vocab: int = 10_000, seed: int = 0) -> np.ndarray:
    """``n_pairs`` x 2 ids of distinct words among the ``min(V, pair_vocab)`` most frequent."""
    n = min(V, pair_vocab)
    if n < 2:
        raise ValueError(f"need at least 2 words to sample pairs, got {n}")
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, n_pairs)
    b = (a + rng.integers(1, n, n_pairs)) % n  # uniform over the other n - 1 words
    return np.stack([a, b], axis=1)


METRICS = ("second_moment", "cosine", "whitened")


def resonance_curve(E: np.ndarray, pairs: np.ndarray, metric: str = "second_moment") -> np.ndarray:
    """``R(d)`` for ``d = 1 .. E.shape[1]`` (array of that length) from the leading columns of ``E``.

    Uses the diagonal of ``G`` (exact for orthogonal columns; see the module docstring). The
    normalisation of ``G`` cancels in a cosine, so only the column weights matter: the column second
    moments (``second_moment``), ones (``cosine``) or their inverses (``whitened``).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    E = np.asarray(E, dtype=np.float64)
    moments = np.einsum("ij,ij->j", E, E)
    g = moments if metric == "second_moment" else np.ones_like(moments) if metric == "cosine" else 1 / moments
    xa, xb = E[pairs[:, 0]], E[pairs[:, 1]]
    dot = np.cumsum(xa * xb * g, axis=1)
    na = np.cumsum(xa * xa * g, axis=1)
    nb = np.cumsum(xb * xb * g, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = dot / np.sqrt(na * nb)
    cos = np.nan_to_num(cos)  # a word whose leading coordinates are all zero resonates with nothing
    return np.clip(np.abs(cos).mean(axis=0), 0.0, 1.0)


@dataclass(frozen=True)
class FixedPoint:
    """The chosen dimension and how it was found."""

    dim: int
    d_optimal: float
    R: float
    gap: float
    is_fixed_point: bool
    crossing: float | None
    message: str


def self_consistent_dimension(V: int, curve: np.ndarray) -> FixedPoint:
    """The fixed point of ``d <- d*(V, R(d))`` on a curve ``R(1..max_dim)`` (module docstring).

    With no crossing the result falls back to ``max_dim`` and says so in ``message``.
    """
    d = np.arange(1, len(curve) + 1)
    d_star = np.asarray(optimal_dimension(V, curve), dtype=np.float64)
    f = d_star - d
    down = np.flatnonzero((f[:-1] > 0) & (f[1:] <= 0))
    if len(down):
        i = down[0]
        crossing = d[i] + f[i] / (f[i] - f[i + 1])  # linear interpolation of the zero of f
        dim = min(int(np.ceil(crossing - 1e-9)), len(curve))
        message = f"d*(V, R(d)) crosses d at d = {crossing:.2f}"
    else:
        crossing = None
        dim = len(curve)
        side = "above" if f[-1] > 0 else "below"
        message = (
            f"no crossing: d*(V, R(d)) stays {side} d up to max_dim = {len(curve)}; "
            f"falling back to max_dim (raise max_dim to search further)"
        )
    R = float(curve[dim - 1])
    d_opt = float(d_star[dim - 1])
    gap = d_opt - dim
    return FixedPoint(dim, d_opt, R, gap, bool(crossing is not None and abs(gap) < 1.0), crossing, message)


def random_resonance_curve(
    V: int, max_dim: int, pairs: np.ndarray, metric: str = "second_moment", seed: int = 0
) -> np.ndarray:
    """:func:`resonance_curve` of a Gaussian V x max_dim embedding (seeded): the control. Only the rows
    the pairs use are drawn (their columns' weights are alike for a Gaussian matrix in any case)."""
    rows = min(V, int(pairs.max()) + 1)
    E = np.random.default_rng([seed, 7]).standard_normal((rows, max_dim))
    return resonance_curve(E, pairs, metric)
