"""Analytic initialization of tied embeddings from corpus statistics, and writing it into a model."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .kernel import _check_dim, circulant_embeddings, derive_k0, reconstruct_w_row
from .spectral import mstar_eigenpairs, randomized_svd
from .stats import CorpusStats

METHODS = ("random", "mobius", "ppmi_svd", "mstar")
RANDOM_STD = 0.02  # the usual GPT initialization


def random_embeddings(vocab_size: int, dim: int, seed: int = 0, std: float = RANDOM_STD) -> np.ndarray:
    """``N(0, std^2)`` entries (float64, V x dim) from a seeded torch generator, as a GPT init draws them."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(vocab_size, dim, generator=generator, dtype=torch.float64).mul_(std).numpy()


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


def ppmi_svd_embeddings(stats: CorpusStats, dim: int, seed: int = 0, cds: float = 0.75) -> np.ndarray:
    """``U S^(1/2)`` of the rank-``dim`` truncated SVD of PPMI (cds-smoothed)."""
    U, S, _ = randomized_svd(stats.ppmi(cds), dim, seed=seed)
    return U * np.sqrt(S)


def mstar_embeddings(stats: CorpusStats, dim: int, seed: int = 0) -> np.ndarray:
    """Top-``dim`` eigenvectors of word2vec's ``M*`` scaled by ``sqrt(eigenvalue)``; columns of
    negative eigenvalues are dropped, i.e. left at zero (see :mod:`mobius_init.spectral`)."""
    vals, vecs = mstar_eigenpairs(stats.C, stats.vocab.counts, dim, seed=seed)
    return vecs * np.sqrt(np.maximum(vals, 0.0))


def analytic_embeddings(
    stats: CorpusStats,
    dim: int,
    method: str = "mobius",
    scale: str | float = "match",
    seed: int = 0,
    *,
    epsilon: float = 0.003,
    k0_method: str = "auto",
) -> torch.Tensor:
    """An embedding matrix (``torch.float32``, V x dim) for the statistics' vocabulary.

    Methods: ``random`` (N(0, 0.02^2)), ``mobius``, ``ppmi_svd``, ``mstar`` (functions above).
    ``scale="match"`` multiplies the whole matrix by one factor so that its root-mean-square
    entry, i.e. the quadratic mean of its per-row RMS, equals that of the ``random`` init drawn
    with the same seed (~0.02); a float sets that RMS directly; ``None`` leaves E as computed.
    Deterministic for a seed.
    """
    if method not in METHODS:
        raise ValueError(f"unknown init method {method!r}; choose one of {', '.join(METHODS)}")
    V = stats.vocab_size
    _check_dim(dim, V)
    if method == "random":
        E = random_embeddings(V, dim, seed)
    elif method == "mobius":
        E = mobius_embeddings(stats, dim, epsilon, k0_method)
    elif method == "ppmi_svd":
        E = ppmi_svd_embeddings(stats, dim, seed)
    else:
        E = mstar_embeddings(stats, dim, seed)
    if scale is not None:
        target = rms(random_embeddings(V, dim, seed)) if scale == "match" else float(scale)
        if not (np.isfinite(target) and target > 0):
            raise ValueError(f"scale must be 'match', None or a positive number, got {scale!r}")
        current = rms(E)
        if current == 0:
            raise ValueError(f"the {method} embedding is all zeros, so it cannot be rescaled")
        E = E * (target / current)
    if not np.all(np.isfinite(E)):
        raise ValueError(f"the {method} embedding contains NaN or Inf")
    return torch.from_numpy(np.ascontiguousarray(E, dtype=np.float32))


def rms(E: np.ndarray) -> float:
    """Root-mean-square entry of ``E``."""
    return float(np.sqrt(np.mean(np.square(E))))


def input_embedding_parameter(target: torch.nn.Module | torch.nn.Parameter) -> torch.nn.Parameter:
    """The input-embedding weight of a model with ``get_input_embeddings()`` (MiniGPT, Hugging Face),
    or ``target`` itself when it is a parameter."""
    if isinstance(target, torch.nn.Parameter):
        return target
    getter = getattr(target, "get_input_embeddings", None)
    if getter is None:
        raise TypeError(f"{type(target).__name__} has no get_input_embeddings(); pass the embedding Parameter itself")
    return getter().weight


def apply_embeddings_(
    target: torch.nn.Module | torch.nn.Parameter, E: torch.Tensor, *, untied: str = "error"
) -> torch.nn.Parameter:
    """Copy ``E`` (V x d) into the input embedding of ``target``, in place; returns that parameter.

    The output head (``get_output_embeddings()``) must be tied to it, i.e. be the same Parameter;
    with ``untied="copy"`` an untied head gets a copy of E too. Shape mismatches are errors that
    name the vocabulary or the dimension.
    """
    if untied not in ("error", "copy"):
        raise ValueError(f"untied must be 'error' or 'copy', got {untied!r}")
    weight = input_embedding_parameter(target)
    E = torch.as_tensor(E)
    if E.ndim != 2:
        raise ValueError(f"E must be a V x d matrix, got shape {tuple(E.shape)}")
    if E.shape[0] != weight.shape[0]:
        raise ValueError(
            f"vocabulary size mismatch: the model embeds {weight.shape[0]} ids but E has {E.shape[0]} rows "
            "(build the statistics with the model's tokenizer, or size the model to the statistics)"
        )
    if E.shape[1] != weight.shape[1]:
        raise ValueError(f"dimension mismatch: the model's embedding has d = {weight.shape[1]}, E has {E.shape[1]}")
    if not torch.isfinite(E).all():
        raise ValueError("E contains NaN or Inf")
    heads = []
    get_output = getattr(target, "get_output_embeddings", None)
    head = get_output() if get_output is not None else None
    if head is not None and head.weight is not weight:
        if untied == "error":
            raise ValueError(
                "the output head is not tied to the input embedding (not the same Parameter); "
                "tie them, or pass untied='copy' to write E into both"
            )
        if head.weight.shape != weight.shape:
            raise ValueError(f"the output head has shape {tuple(head.weight.shape)}, E has {tuple(E.shape)}")
        heads.append(head.weight)
    with torch.no_grad():
        for param in (weight, *heads):
            param.copy_(E.to(dtype=param.dtype, device=param.device))
    return weight
