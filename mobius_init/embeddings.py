"""Embedding builders: a V x d matrix for a vocabulary, from corpus statistics or at random.

Every analytic init and every Res2Vec embedding comes from the builders here:

* ``random``: N(0, 0.02²), GPT's init, from a seeded torch generator;
* ``ppmi_svd``: ``U S^eig`` of a randomized truncated SVD of PPMI (cds-smoothed);
* ``mstar``: top eigenvectors of word2vec's ``M*`` x sqrt(eigenvalue) (negative ones dropped);
* ``mobius``: the MobiusKernel pipeline (circulant W from the derived k0, Fourier-basis E).

:func:`random_control` is the "fresh random embedding" control of every diagnostic, defined once.
Two controls separate what an analytic init carries (:data:`CONTROLS`): ``random_rownorm`` keeps its
per-row norms with random directions; ``shuffled`` keeps its rows (spectrum and norms) but gives them
to the wrong token ids. :func:`unigram_log_probs` is the output-bias control for frequency.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .kernel import _check_dim, circulant_embeddings, derive_k0, reconstruct_w_row
from .matrices import MSTAR_SHIFT
from .spectral import randomized_svd, sparse_plus_constant_eigenpairs
from .stats import CorpusStats
from .timing import StageTimer

METHODS = ("random", "mobius", "ppmi_svd", "mstar")
DEFAULT_METHOD = "ppmi_svd"  # the analytic init the measurements recommend (README)
CONTROLS = ("random_rownorm", "shuffled")
RANDOM_STD = 0.02  # the usual GPT initialization
# Torch generator streams no model init uses, so a control never equals the run's own init.
_CONTROL_STREAM = 0x5EEDC0DE


def rms(E: np.ndarray) -> float:
    """Root-mean-square entry of ``E``."""
    return float(np.sqrt(np.mean(np.square(E))))


def random_embeddings(vocab_size: int, dim: int, seed: int = 0, std: float = RANDOM_STD) -> np.ndarray:
    """``N(0, std²)`` entries (float64, V x dim) from a seeded torch generator, as a GPT init draws them."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(vocab_size, dim, generator=generator, dtype=torch.float64).mul_(std).numpy()


def random_control(shape: tuple[int, int], std: float, seed: int = 0) -> np.ndarray:
    """The random-embedding control: ``N(0, std²)`` of ``shape`` (float64) from a generator stream that
    no model init draws from, so it is independent of a run's own initial embedding for every seed."""
    generator = torch.Generator().manual_seed(_CONTROL_STREAM + seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64).mul_(std).numpy()


def ppmi_svd_embeddings(
    stats: CorpusStats,
    dim: int,
    *,
    seed: int = 0,
    cds: float = 0.75,
    eig: float = 0.5,
    n_iter: int = 5,
    timings: dict[str, float] | None = None,
) -> np.ndarray:
    """``U S^eig`` of the rank-``dim`` truncated SVD of PPMI (cds-smoothed); columns by singular value.
    ``timings`` receives the seconds of the ``ppmi`` and ``svd`` stages."""
    stages = StageTimer(timings)
    P = stats.ppmi(cds)
    stages.done("ppmi")
    U, S, _ = randomized_svd(P, dim, n_iter=n_iter, seed=seed)
    stages.done("svd")
    return U * S**eig


def mstar_embeddings(
    stats: CorpusStats, dim: int, *, seed: int = 0, timings: dict[str, float] | None = None
) -> np.ndarray:
    """Top-``dim`` eigenvectors of word2vec's ``M*`` scaled by ``sqrt(eigenvalue)``; columns of
    negative eigenvalues are left at zero. ``timings`` receives the seconds of ``mstar_eigenpairs``."""
    stages = StageTimer(timings)
    vals, vecs = sparse_plus_constant_eigenpairs(stats.mstar_parts(), MSTAR_SHIFT, dim, seed=seed)
    stages.done("mstar_eigenpairs")
    return vecs * np.sqrt(np.maximum(vals, 0.0))


def mobius_embeddings(stats: CorpusStats, dim: int, epsilon: float = 0.003, k0_method: str = "auto") -> np.ndarray:
    """The MobiusKernel pipeline: ``D = log(1 + C)``, ``k0 = derive_k0(D, epsilon)``,
    ``W = reconstruct_w(D, k0)`` (circulant, from its first row) and ``E`` from its top-``dim``
    eigenpairs in the real Fourier basis. Every row of such an E has the same norm."""
    if stats.weighting != "uniform" or stats.window != 5:
        warnings.warn(
            f"the MobiusKernel report defines D from uniform window-5 counts; these statistics use "
            f"window {stats.window} {stats.weighting}",
            UserWarning,
            stacklevel=3,
        )
    D = stats.D()
    k0 = derive_k0(D, epsilon, method=k0_method)
    return circulant_embeddings(reconstruct_w_row(D, k0), dim)


def rownorm_control(E: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian directions with the per-row norms of ``E`` (rows of norm 0 stay 0); seeded."""
    G = np.random.default_rng([seed, 1]).standard_normal(E.shape)
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    return G / np.linalg.norm(G, axis=1, keepdims=True) * norms


def shuffled_control(E: np.ndarray, seed: int = 0) -> np.ndarray:
    """The rows of ``E`` permuted among token ids (seeded): same spectrum and row norms, wrong tokens."""
    return E[np.random.default_rng([seed, 2]).permutation(len(E))]


def apply_control(E: np.ndarray, control: str, seed: int = 0) -> np.ndarray:
    """The control ``control`` (:data:`CONTROLS`) of an embedding ``E`` (V x d), seeded."""
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; choose one of {', '.join(CONTROLS)}")
    return (rownorm_control if control == "random_rownorm" else shuffled_control)(E, seed)


def unigram_log_probs(counts: np.ndarray) -> np.ndarray:
    """``log p(token)`` with add-one smoothing (float32): an output bias that makes an untrained model
    predict the unigram distribution."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.log((counts + 1.0) / (counts.sum() + len(counts))).astype(np.float32)


def analytic_embeddings(
    stats: CorpusStats,
    dim: int,
    method: str = DEFAULT_METHOD,
    scale: str | float | None = "match",
    seed: int = 0,
    *,
    control: str | None = None,
    epsilon: float = 0.003,
    k0_method: str = "auto",
) -> torch.Tensor:
    """An embedding matrix (``torch.float32``, V x dim) for the statistics' vocabulary.

    Methods: :data:`METHODS`; ``control`` (:data:`CONTROLS`) replaces the result by a control built
    from it with the same seed (module docstring). ``scale="match"`` multiplies the whole matrix by one
    factor so that its root-mean-square entry, i.e. the quadratic mean of its per-row RMS, equals that
    of the ``random`` init drawn with the same seed (~0.02); a float sets that RMS directly; ``None``
    leaves E as computed. Rows left all zero (ids the corpus never shows, which an existing tokenizer's
    statistics keep) get the ``random`` init's rows instead. Deterministic for a seed.
    """
    if method not in METHODS:
        raise ValueError(f"unknown init method {method!r}; choose one of {', '.join(METHODS)}")
    if control not in (None, *CONTROLS):
        raise ValueError(f"unknown control {control!r}; choose one of {', '.join(CONTROLS)}")
    V = stats.vocab_size
    _check_dim(dim, V)
    if method == "random":
        E = random_embeddings(V, dim, seed)
    elif method == "mobius":
        E = mobius_embeddings(stats, dim, epsilon, k0_method)
    elif method == "ppmi_svd":
        E = ppmi_svd_embeddings(stats, dim, seed=seed)
    else:
        E = mstar_embeddings(stats, dim, seed=seed)
    if control is not None:
        E = apply_control(E, control, seed)
    if scale is not None:
        target = rms(random_embeddings(V, dim, seed)) if scale == "match" else float(scale)
        if not (np.isfinite(target) and target > 0):
            raise ValueError(f"scale must be 'match', None or a positive number, got {scale!r}")
        current = rms(E)
        if current == 0:
            raise ValueError(f"the {method} embedding is all zeros, so it cannot be rescaled")
        E = E * (target / current)
    unseen = ~np.any(E != 0, axis=1)
    if unseen.any() and method != "random":
        E = np.where(unseen[:, None], random_embeddings(V, dim, seed), E)
    if not np.all(np.isfinite(E)):
        raise ValueError(f"the {method} embedding contains NaN or Inf")
    return torch.from_numpy(np.ascontiguousarray(E, dtype=np.float32))
