"""Monitors: diagnostics computed during training, every report beside its controls.

* :class:`K0CosineMonitor`: what the MobiusKernel report uses as a convergence signal (measured here
  not to be one; kept, labelled, with its controls);
* :class:`ConvergenceMonitor`: candidate diagnostics from the training loss and the embedding
  (:mod:`mobius_init.convergence`), validated against remaining loss by ``benchmarks/bench_convergence.py``.

Both are :func:`mobius_init.train` callbacks, work from any loop with ``check(model_or_E, step)``, and
plug into a ``transformers.Trainer`` or Lightning through ``mobius_init.integrations``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from . import convergence
from .embeddings import random_control, rms
from .kernel import derive_k0_variants, guarded_fft2, kernel_quantities
from .spectral import DENSE_WARN_BYTES
from .stats import CorpusStats
from .training import Callback
from .weights import input_embedding_parameter


def is_rank_zero() -> bool:
    """True outside ``torch.distributed`` and on its global rank 0: the one rank that computes and reports
    a monitor, so other ranks neither spend the time nor send a second report."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def whole_matrix(E: torch.Tensor) -> torch.Tensor:
    """The whole V x d embedding from ``E``: ``E`` itself, or, for a ``DTensor`` sharded by FSDP2
    (``fully_shard``) or tensor parallelism, its ``full_tensor()`` (an all-gather: every rank must call
    this at the same step). ValueError, saying what to do, for a flat shard (FSDP's flat parameter, ZeRO-3),
    which holds no V x d layout to gather."""
    placements = getattr(E, "placements", None)
    if placements is not None:
        return E.full_tensor() if not all(p.is_replicate() for p in placements) else E.to_local()
    if E.dim() == 2:
        return E
    raise ValueError(
        f"the monitor needs the whole embedding, and this one is of shape {tuple(E.shape)}, not V x d (a flat "
        "shard?): pass the gathered matrix to monitor.check(E, step) (e.g. inside FSDP.summon_full_params), "
        "shard with fully_shard (FSDP2), whose embedding the monitor gathers, or monitor a DDP model"
    )


class Monitor(Callback):
    """Every ``every`` steps, :meth:`measure` the model's tied embedding and report it with the same
    quantities for two controls: ``control_initial_*`` (the embedding when training started) and
    ``control_random_*`` (:func:`random_control` of its shape and RMS, from a generator no init uses)."""

    def __init__(self, every: int = 1000, seed: int = 0) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.seed = every, seed
        self.seconds = 0.0  # time spent in checks, for overhead reports
        self.reset()

    def measure(self, E: np.ndarray) -> dict[str, float]:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the controls and the history (a new training run starts)."""
        self.controls: dict[str, dict[str, float]] = {}
        self.history: list[dict[str, Any]] = []
        self.last_step: int | None = None  # the step of the last check, on every rank

    def start(self, E0: np.ndarray) -> None:
        """Fix the controls from the initial embedding ``E0``."""
        self.E0 = E0
        self.controls["initial"] = self.measure(E0)
        self.controls["random"] = self.measure(random_control(E0.shape, rms(E0), self.seed))

    def check(self, model_or_E: Any, step: int) -> dict[str, Any]:
        """Measure now; returns (and records) the report with its controls. Under ``torch.distributed``
        every rank calls it at the same steps (:meth:`due`): a sharded embedding is gathered there (the one
        collective), and only rank 0 measures; the other ranks get ``{}`` and record nothing."""
        t0 = time.perf_counter()
        E = model_or_E if isinstance(model_or_E, (torch.Tensor, np.ndarray)) else input_embedding_parameter(model_or_E)
        E = whole_matrix(torch.as_tensor(E).detach())
        self.last_step = step
        if not is_rank_zero():
            return {}
        E = E.double().cpu().numpy()
        if not self.controls:
            self.start(E)
        report: dict[str, Any] = {"step": step, **self.measure(E)}
        for name, values in self.controls.items():
            report.update({f"control_{name}_{q}": v for q, v in values.items()})
        self.history.append(report)
        self.seconds += time.perf_counter() - t0
        return report

    def due(self, step: int, final: bool = False) -> bool:
        """Whether a check is due at ``step``: every ``every`` steps, and at the ``final`` step unless
        that step was just checked. The same on every ``torch.distributed`` rank (where :meth:`check` measures
        on rank 0 only, so an unsharded embedding enters no collective and the other ranks do not wait).
        The one rule of :func:`mobius_init.train` and both integrations."""
        if final:
            return self.last_step != step
        return step % self.every == 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "controls": self.controls,
            "history": self.history,
            "seconds": self.seconds,
            "E0": getattr(self, "E0", None),
            "last_step": self.last_step,  # kept on every rank, so all resume to the same due() steps
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.controls, self.history, self.seconds = state["controls"], state["history"], state["seconds"]
        self.E0 = state["E0"]
        self.last_step = state.get("last_step", self.history[-1]["step"] if self.history else None)

    # --- mobius_init.train callback hooks
    def on_train_start(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        self.reset()
        metrics.update(self.check(model, step))

    def on_step_end(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        if self.due(step):
            metrics.update(self.check(model, step))

    def on_train_end(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        if self.due(step, final=True):
            metrics.update(self.check(model, step))


class K0CosineMonitor(Monitor):
    """The MobiusKernel report's convergence signal, with its controls (measured not to signal
    convergence: see the README).

    At each check: ``W = E Eᵀ`` over the ``top_n`` most frequent ids, the empirical kernel
    ``K = real(IFFT2(FFT2(W) / FFT2(D)))``, and ``k0_cos_eigh`` / ``k0_cos_fft`` = cos(K[0], derived
    k0) for both derivations, ``circulant_score(K)``, ``cos_W_I`` = cos(W, I) (Frobenius) and
    ``offdiag_energy`` = share of ||W||² off the diagonal (:func:`kernel.kernel_quantities`). The derived
    k0 and ``FFT2(D)`` are computed once. ``top_n=None`` uses every id, with dense V x V arrays (a
    warning gives their size above ``spectral.DENSE_WARN_BYTES``).
    """

    def __init__(
        self, stats: CorpusStats, every: int = 1000, top_n: int | None = 1024, epsilon: float = 0.003, seed: int = 0
    ) -> None:
        n = stats.vocab_size if top_n is None else min(top_n, stats.vocab_size)
        if n < 2:
            raise ValueError(f"top_n must be at least 2 (ids monitored), got {top_n}")
        dense = 4 * n * n * 16  # D, its eigenvectors, FFT2(D) (complex) and W at once, roughly
        if dense > DENSE_WARN_BYTES:
            import warnings

            warnings.warn(
                f"K0CosineMonitor over {n:,} ids holds dense {n:,} x {n:,} arrays: about "
                f"{dense / 2**30:.0f} GiB; pass top_n (e.g. 1024) to bound it",
                ResourceWarning,
                stacklevel=2,
            )
        super().__init__(every, seed)
        self.epsilon, self.vocab_size = epsilon, stats.vocab_size
        self.ids = stats.vocab.top_ids(n)
        t0 = time.perf_counter()
        D = stats.restrict(n).D().toarray()
        self.k0 = derive_k0_variants(D, epsilon)  # both variants from one eigendecomposition
        self.F = guarded_fft2(D)
        self.setup_seconds = time.perf_counter() - t0

    def measure(self, E: np.ndarray) -> dict[str, float]:
        """The five quantities of :func:`kernel.kernel_quantities` for ``E`` (vocab_size x d)."""
        E = np.asarray(E)
        if E.ndim != 2 or E.shape[0] != self.vocab_size:
            raise ValueError(
                f"vocabulary size mismatch: the embedding has shape {tuple(E.shape)}, the statistics have "
                f"{self.vocab_size} ids"
            )
        return kernel_quantities(np.asarray(E[self.ids], dtype=np.float64), self.F, self.k0)


LOSS_DIAGNOSTICS = ("loss_fit_remaining", "loss_fit_fraction", "loss_slope")
EMBEDDING_DIAGNOSTICS = ("relative_change", "spectral_distance_init", "rand_distance", "effective_rank", "esd_alpha")
CANDIDATES = LOSS_DIAGNOSTICS + EMBEDDING_DIAGNOSTICS
# The candidates that track remaining validation loss within and across runs (|Spearman rho| >= 0.8,
# benchmarks/bench_convergence.py on the BPE compare runs); neither beats the step fraction or the
# run's early loss at telling runs apart (README).
DEFAULT_DIAGNOSTICS = ("loss_slope", "relative_change")


class ConvergenceMonitor(Monitor):
    """Convergence diagnostics: by default :data:`DEFAULT_DIAGNOSTICS`, the ones validated against
    remaining loss; any of :data:`CANDIDATES` by name (definitions in :mod:`convergence`).

    Loss diagnostics read the training losses given to :meth:`observe_loss` (done automatically as a
    :func:`mobius_init.train` callback, from a ``transformers.Trainer``'s logged loss, or from
    Lightning's step outputs); embedding diagnostics read the tied embedding and its initial value.
    Every report carries the embedding diagnostics of the two controls (``control_initial_*``,
    ``control_random_*``) and, when ``total_steps`` is given, ``control_step_fraction``: a diagnostic
    that says no more than how far through the schedule a run is, is no better than that number.
    """

    def __init__(
        self,
        every: int = 1000,
        diagnostics: tuple[str, ...] = DEFAULT_DIAGNOSTICS,
        *,
        total_steps: int | None = None,
        schedule: Any = None,
        window: int = 50,
        seed: int = 0,
    ) -> None:
        unknown = set(diagnostics) - set(CANDIDATES)
        if unknown:
            raise ValueError(f"unknown diagnostic(s) {sorted(unknown)}; choose from {', '.join(CANDIDATES)}")
        self.diagnostics, self.total_steps, self.window = tuple(diagnostics), total_steps, window
        self.schedule = None if schedule is None else np.asarray(schedule, dtype=np.float64)
        self.setup_seconds = 0.0
        super().__init__(every, seed)

    def reset(self) -> None:
        super().reset()
        self.loss_steps: list[int] = []
        self.losses: list[float] = []

    def observe_loss(self, step: int, loss: float) -> None:
        """Record a training loss (every step, or the mean over a logging interval)."""
        self.loss_steps.append(int(step))
        self.losses.append(float(loss))

    def measure(
        self, E: np.ndarray, E0: np.ndarray | None = None, steps: Any = None, losses: Any = None
    ) -> dict[str, float]:
        """The configured diagnostics for ``E`` given the initial embedding ``E0`` and the training losses
        so far (``steps``, ``losses``; default: what the monitor observed)."""
        E0 = getattr(self, "E0", E) if E0 is None else E0
        steps = self.loss_steps if steps is None else steps
        losses = self.losses if losses is None else losses
        out: dict[str, float] = {}
        if set(self.diagnostics) & set(LOSS_DIAGNOSTICS):
            fit = convergence.fit_loss_curve(steps, losses, self.window) if len(steps) else None
            nan = float("nan")
            out["loss_fit_remaining"] = fit.predicted_remaining if fit else nan
            out["loss_fit_fraction"] = fit.fraction_achieved if fit else nan
            out["loss_slope"] = convergence.loss_slope(steps, losses) if len(steps) else nan
        E = np.asarray(E, dtype=np.float64)
        values = {
            "relative_change": lambda: convergence.relative_change(E, E0),
            "spectral_distance_init": lambda: convergence.spectral_distance(E, E0),
            "rand_distance": lambda: convergence.rand_distance(E, self.seed),
            "effective_rank": lambda: convergence.effective_rank(E),
            "esd_alpha": lambda: convergence.esd_alpha(E),
        }
        out.update({name: values[name]() for name in self.diagnostics if name in values})
        return {name: out[name] for name in self.diagnostics}

    def start(self, E0: np.ndarray) -> None:
        self.E0 = E0
        embedding = [d for d in self.diagnostics if d in EMBEDDING_DIAGNOSTICS]
        for name, E in (("initial", E0), ("random", random_control(E0.shape, rms(E0), self.seed))):
            measured = self.measure(E, E0, [], [])
            self.controls[name] = {d: measured[d] for d in embedding}

    def check(self, model_or_E: Any, step: int) -> dict[str, Any]:
        report = super().check(model_or_E, step)
        if not report:  # a rank other than 0
            return report
        if self.total_steps:
            report["control_step_fraction"] = step / self.total_steps
        if self.schedule is not None:
            report.update(self.forecast())
        return report

    def forecast(self) -> dict[str, Any]:
        """With ``schedule`` (every update's learning rate, e.g. :func:`mobius_init.schedules.learning_rates`):
        the multi-power law (:func:`mobius_init.forecast.fit_multi_power_law`) fitted to the training losses
        so far, as window means (:func:`mobius_init.forecast.window_means`), read at the schedule's end; the
        interval spans the refits without the last 10, 20 and 30 % of the windows. Until the observed losses include
        a decay of the rate and enough windows, the numbers are NaN and ``forecast_note`` says why. Measured
        to fail as a forecast (docs/results/forecast.md): reported, not a default."""
        from .forecast import Curve, fit_multi_power_law, multi_power_law, window_means

        nan = float("nan")
        updates = np.asarray(self.loss_steps, dtype=np.int64) - 1  # the loss at step s is measured after s - 1 updates
        losses = np.asarray(self.losses, dtype=np.float64)
        keep = (updates >= 1) & (updates <= len(self.schedule))
        centres, means = window_means(updates[keep], losses[keep])
        n = len(means)

        def final_of(windows: int) -> tuple[float, float]:
            params = fit_multi_power_law([Curve(self.schedule, centres[:windows], means[:windows])])
            law = multi_power_law(params, self.schedule, [len(self.schedule), centres[windows - 1]])
            return float(law[0]), float(law[1])

        try:
            final, now = final_of(n)
        except ValueError as exc:
            none = {"forecast_final": nan, "forecast_remaining": nan, "forecast_low": nan, "forecast_high": nan}
            return none | {"forecast_note": f"not enough history: {exc}"}
        refits = [final]
        for drop in (0.1, 0.2, 0.3):
            try:
                refits.append(final_of(int(round(n * (1 - drop))))[0])
            except ValueError:  # the truncated history has no decay or too few windows left
                pass
        return {
            "forecast_final": final,
            "forecast_remaining": final - now,
            "forecast_low": min(refits),
            "forecast_high": max(refits),
        }

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "loss_steps": self.loss_steps, "losses": self.losses}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.loss_steps, self.losses = state["loss_steps"], state["losses"]

    def on_step_end(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        if "train_loss" in metrics:
            self.observe_loss(step, metrics["train_loss"])
        super().on_step_end(model, step, metrics)


class EmbeddingSnapshots(Callback):
    """Keeps copies of the tied input embedding (``dtype``, on the CPU) at step 0 and at ``steps``;
    its state survives a resumed run."""

    def __init__(self, steps: set[int], dtype: type = np.float32) -> None:
        self.steps, self.dtype, self.E = set(steps), dtype, {}

    def _copy(self, model: Any) -> np.ndarray:
        return input_embedding_parameter(model).detach().cpu().numpy().astype(self.dtype, copy=True)

    def on_train_start(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        self.E = {0: self._copy(model)}

    def on_step_end(self, model: Any, step: int, metrics: dict[str, Any]) -> None:
        if step in self.steps:
            self.E[step] = self._copy(model)

    def state_dict(self) -> dict[str, Any]:
        return {"E": self.E}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.E = state["E"]
