"""K0CosineMonitor: the MobiusKernel convergence diagnostic, always reported beside its controls."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from .embeddings import random_control, rms
from .kernel import derive_k0_variants, guarded_fft2, kernel_quantities
from .stats import CorpusStats
from .training import Callback
from .weights import input_embedding_parameter


class K0CosineMonitor(Callback):
    """Measure, from a model's tied embedding ``E``, what the MobiusKernel report uses as a
    convergence signal, and the same for two controls.

    At each check: ``W = E Eᵀ`` over the ``top_n`` most frequent ids (all when None), the empirical
    kernel ``K = real(IFFT2(FFT2(W) / FFT2(D)))``, and ``k0_cos_eigh`` / ``k0_cos_fft`` = cos(K[0],
    derived k0) for both derivations, ``circulant_score(K)``, ``cos_W_I`` = cos(W, I) (Frobenius),
    ``offdiag_energy`` = share of ||W||² off the diagonal. The derived k0 and ``FFT2(D)`` are computed
    once. Every report also holds ``control_initial_*`` (the model's own embedding when training
    started) and ``control_random_*`` (:func:`random_control` of the same shape and RMS, seeded):
    a value that an untrained or random embedding also reaches says nothing about convergence.

    Use it as a ``mobius_init.train`` callback (``every`` steps), from any loop with
    :meth:`check`, or with ``transformers`` through ``mobius_init.integrations.hf``.
    """

    def __init__(
        self, stats: CorpusStats, every: int = 1000, top_n: int | None = None, epsilon: float = 0.003, seed: int = 0
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        n = stats.vocab_size if top_n is None else top_n
        if not 2 <= n <= stats.vocab_size:
            raise ValueError(f"top_n must lie in [2, {stats.vocab_size}] (the vocabulary), got {top_n}")
        self.every, self.epsilon, self.seed = every, epsilon, seed
        self.vocab_size = stats.vocab_size
        self.ids = torch.as_tensor(stats.vocab.top_ids(n))
        t0 = time.perf_counter()
        D = stats.restrict(n).D().toarray()
        self.k0 = derive_k0_variants(D, epsilon)  # both variants from one eigendecomposition
        self.F = guarded_fft2(D)
        self.setup_seconds = time.perf_counter() - t0
        self.seconds = 0.0  # time spent in checks, for overhead reports
        self.controls: dict[str, dict[str, float]] = {}
        self.history: list[dict[str, Any]] = []

    def measure(self, E: torch.Tensor | np.ndarray) -> dict[str, float]:
        """The five quantities for an embedding matrix ``E`` (vocab_size x d)."""
        E = torch.as_tensor(E).detach()
        if E.ndim != 2 or E.shape[0] != self.vocab_size:
            raise ValueError(
                f"vocabulary size mismatch: the embedding has shape {tuple(E.shape)}, the statistics have "
                f"{self.vocab_size} ids"
            )
        return kernel_quantities(E[self.ids].double().cpu().numpy(), self.F, self.k0)

    def reset(self) -> None:
        """Forget the controls and the history (a new training run starts)."""
        self.controls = {}
        self.history = []

    def start(self, E0: torch.Tensor | np.ndarray) -> None:
        """Fix the controls from the initial embedding ``E0``."""
        t0 = time.perf_counter()
        E0 = torch.as_tensor(E0).detach().double().cpu()
        self.controls["initial"] = self.measure(E0)
        self.controls["random"] = self.measure(random_control(tuple(E0.shape), rms(E0.numpy()), self.seed))
        self.seconds += time.perf_counter() - t0

    def check(self, model_or_E: Any, step: int) -> dict[str, float]:
        """Measure now; returns (and records) the report with its controls."""
        t0 = time.perf_counter()
        E = model_or_E if isinstance(model_or_E, (torch.Tensor, np.ndarray)) else input_embedding_parameter(model_or_E)
        if not self.controls:
            self.start(E)
        report: dict[str, Any] = {"step": step, **self.measure(E)}
        for name, values in self.controls.items():
            report.update({f"control_{name}_{q}": v for q, v in values.items()})
        self.history.append(report)
        self.seconds += time.perf_counter() - t0
        return report

    # --- mobius_init.train callback protocol
    def on_train_start(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        self.reset()
        metrics.update(self.check(model, step))

    def on_step_end(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        if step % self.every == 0:
            metrics.update(self.check(model, step))

    def on_train_end(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        if not self.history or self.history[-1]["step"] != step:
            metrics.update(self.check(model, step))
