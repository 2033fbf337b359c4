"""``verify mobius``: rerun the MobiusKernel report's tables with the toolkit's own MiniGPT, beside
controls, and give each claim (:data:`claims.MOBIUS_CLAIMS`) a verdict. Orchestration only: the
formulas are in :mod:`mobius_init.kernel`.

Ground truth, as in the report: the empirical kernel row ``k0_emp = real(IFFT2(FFT2(E Eᵀ) / FFT2(D)))[0]``
of a trained model. Every measured quantity is also computed for three controls: ``untrained`` (the
same architecture at initialization, same seed), ``W = I`` and ``random E`` (:func:`random_control`
with the shape and RMS of the run's initial embedding).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..embeddings import random_control, rms
from ..kernel import (
    candidate_k0s,
    circulant_score,
    convolve,
    cosine,
    deconvolve,
    derive_k0_variants,
    eigen_exponent,
    embedding_kernel,
    guarded_fft2,
    kernel_quantities,
    reconstruct_w,
)
from ..minigpt import MiniGPT, MiniGPTConfig
from ..monitors import EmbeddingSnapshots
from ..settings import CorpusConfig, InvalidSetting, check_positive, setting
from ..spectral import EIGENVALUE_FLOOR, clipped_power, spectral_row
from ..train_config import TrainConfig
from ..training import train
from .claims import (
    ALPHAS,
    CHECKPOINTS,
    EPSILON_GRID,
    EXCLUSION_THRESHOLD,
    MOBIUS_CLAIMS,
    MOBIUS_MONOTONE_CLAIM,
    Claim,
    judged,
)
from .data import prepare_data
from .report import fmt
from .report import markdown as report_markdown


@dataclass
class VerifyConfig:
    """verify mobius: the report's training setup, seeds and epsilon."""

    corpus: str = setting("builtin:lee", "corpus source (as for compare)")
    data: CorpusConfig = setting(factory=lambda: CorpusConfig(vocab_size=100))
    model: MiniGPTConfig = setting(factory=lambda: MiniGPTConfig(block_size=32))
    train: TrainConfig = setting(factory=lambda: TrainConfig(batch_size=64, schedule="constant"))  # the report's
    epochs: int = setting(200, "passes over the training tokens")
    seeds: int = setting(5, "trained models (seeds)")
    epsilon: float = setting(0.003, "the report's epsilon")
    val_fraction: float = setting(0.1, "share of the documents held out for validation")
    max_docs: int | None = setting(None, "read at most this many documents")
    progress: bool = setting(True, "progress bars", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "epochs", "seeds")
        if not 0 < self.epsilon < 1:
            raise InvalidSetting("epsilon", f"must lie strictly between 0 and 1, got {self.epsilon}")


QUICK = {"data.vocab_size": 40, "model.n_embd": 16, "model.block_size": 16, "epochs": 2, "seeds": 2}


def run_verify(config: VerifyConfig, out_dir: str | Path) -> dict[str, Any]:
    """Train ``config.seeds`` MiniGPTs, measure every claim, write report.md/.json and plots."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = prepare_data(
        config.corpus, config.data, val_fraction=config.val_fraction, max_docs=config.max_docs, progress=config.progress
    )
    stats, train_ids = data.stats, data.train_ids
    dim = config.model.n_embd
    batch, block = config.train.batch_size, config.model.block_size
    steps_per_epoch = max(1, len(train_ids) // (batch * block))
    total = steps_per_epoch * config.epochs
    checkpoints = [0] + [max(1, int(round(f * total))) for f in CHECKPOINTS[1:]]  # one step per fraction
    model_config = replace(config.model, vocab_size=stats.vocab_size)
    runs = []
    for seed in range(config.seeds):
        torch.manual_seed(seed)
        model = MiniGPT(model_config)
        snaps = EmbeddingSnapshots(set(checkpoints), dtype=np.float64)
        train_config = replace(
            config.train, steps=total, eval_every=max(1, total // 10), seed=seed, progress=config.progress
        )
        result = train(model, train_ids, data.val_ids, train_config, callbacks=[snaps])
        runs.append({"seed": seed, "E": snaps.E, "final_val_loss": result.final_val_loss})
    D = stats.dense("D")
    report = measure(runs, D, stats.dense("ppmi"), dim, config.epsilon, checkpoints)
    report["config"] = asdict(config)
    report["data"] = {
        "vocab_size": stats.vocab_size,
        "train_tokens": int(len(train_ids)),
        "steps": total,
        "steps_per_epoch": steps_per_epoch,
        "stats": stats.summary(),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(markdown(report))
    plot(report, out)
    return report


@dataclass
class _Kernels:
    """What every claim of the report reads: ``D``'s spectrum, the candidate k0 rows, and the kernel rows
    of the runs kept (``use``) beside the controls (untrained, ``W = I``, random E)."""

    runs: list[dict]
    use: list[int]
    D: np.ndarray
    lam: np.ndarray
    Q: np.ndarray
    F: np.ndarray
    k0: dict[str, np.ndarray]
    vectors: dict[str, np.ndarray]
    checkpoints: list[int]
    dim: int
    K_final: list[np.ndarray]
    k_final: list[np.ndarray]
    k_init: list[np.ndarray]
    k_rand: list[np.ndarray]
    k_I: np.ndarray
    quantities: dict[str, list[dict[str, float]]]
    identity_quantities: dict[str, float]

    def against(self, vec: np.ndarray, trained: list[np.ndarray]) -> tuple[list[float], dict[str, float]]:
        """cos(vec, each trained row) and the same cosine for each control."""
        controls = {
            "untrained": _mean([cosine(vec, k) for k in self.k_init]),
            "W = I": cosine(vec, self.k_I),
            "random E": _mean([cosine(vec, k) for k in self.k_rand]),
        }
        return [cosine(vec, k) for k in trained], controls

    def quantity(self, name: str) -> tuple[list[float], dict[str, float]]:
        """One of :func:`kernel_quantities` for the trained runs, and its controls."""
        controls = {
            "untrained": _mean([q[name] for q in self.quantities["untrained"]]),
            "W = I": self.identity_quantities[name],
            "random E": _mean([q[name] for q in self.quantities["random E"]]),
        }
        return [q[name] for q in self.quantities["trained"]], controls


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def _pairwise(ks: list[np.ndarray]) -> list[float]:
    return [cosine(a, b) for i, a in enumerate(ks) for b in ks[i + 1 :]]


def _kernels(
    runs: list[dict],
    use: list[int],
    K_final: list[np.ndarray],
    D: np.ndarray,
    ppmi: np.ndarray,
    dim: int,
    epsilon: float,
    checkpoints: list[int],
) -> tuple[_Kernels, dict[str, str]]:
    """The report's shared measurements, and each candidate k0's definition."""
    lam, Q = np.linalg.eigh(D)
    F = guarded_fft2(D)
    k0 = derive_k0_variants(D, epsilon)
    cands = candidate_k0s(D, ppmi, dim, epsilon)
    logm = np.log(np.maximum(lam, EIGENVALUE_FLOOR))
    vectors = {name: vec for name, (vec, _) in cands.items()}
    vectors |= {f"alpha={a}": spectral_row(Q, clipped_power(lam, a - 1)) for a in ALPHAS}
    vectors |= {
        "I + 0.003 logm(D)": spectral_row(Q, 1 + epsilon * logm),
        "D^-1": spectral_row(Q, clipped_power(lam, -1.0)),
        "logm(D)": spectral_row(Q, logm),
    }
    initial = [r["E"][0] for r in runs]
    random_E = [random_control(E.shape, rms(E), r["seed"]) for E, r in zip(initial, runs, strict=True)]
    quantities = {
        "trained": [kernel_quantities(runs[i]["E"][checkpoints[-1]], F, k0) for i in use],
        "untrained": [kernel_quantities(initial[i], F, k0) for i in use],
        "random E": [kernel_quantities(random_E[i], F, k0) for i in use],
    }
    kernels = _Kernels(
        runs,
        use,
        D,
        lam,
        Q,
        F,
        k0,
        vectors,
        checkpoints,
        dim,
        K_final,
        k_final=[K_final[i][0] for i in use],
        k_init=[embedding_kernel(initial[i], F)[0] for i in use],
        k_rand=[embedding_kernel(random_E[i], F)[0] for i in use],
        k_I=deconvolve(np.eye(len(D)), F)[0],
        quantities=quantities,
        identity_quantities=kernel_quantities(np.eye(len(D)), F, k0),  # E = I gives W = I
    )
    return kernels, {name: text for name, (_, text) in cands.items()}


Measured = tuple[Claim, list[float], dict[str, float], str]  # the row as shown, values, controls, note


def _cos(m: _Kernels, claim: Claim) -> Measured:
    key = claim.argument.replace("r=dim", f"r={m.dim}")
    return (replace(claim, row=claim.row.replace("r=dim", f"r={m.dim}")), *m.against(m.vectors[key], m.k_final), "")


def _kernel_quantity(m: _Kernels, claim: Claim) -> Measured:
    return (claim, *m.quantity(claim.quantity), "")


def _final_val_loss(m: _Kernels, claim: Claim) -> Measured:
    return claim, [m.runs[i]["final_val_loss"] for i in m.use], {}, ""


def _epsilon_agreement(m: _Kernels, claim: Claim) -> Measured:
    ks = [spectral_row(m.Q, clipped_power(m.lam, e - 1)) for e in EPSILON_GRID]
    return claim, [min(_pairwise(ks))], {}, ""


def _convergence(m: _Kernels, claim: Claim) -> Measured:
    step = m.checkpoints[CHECKPOINTS.index(claim.argument)]
    at_step = [embedding_kernel(m.runs[i]["E"][step], m.F) for i in m.use]
    values, controls = m.against(m.k0["eigh"], [K[0] for K in at_step])
    controls = {key: controls[key] for key in ("untrained", "random E", "W = I")}
    note = f"circulant score {_mean([circulant_score(K) for K in at_step]):.3f}"
    return replace(claim, row=f"{claim.row} (step {step})"), values, controls, note


def _reconstruction(m: _Kernels, claim: Claim) -> Measured:
    values = []
    for i in m.use:
        E = m.runs[i]["E"][m.checkpoints[-1]]
        values.append(float(np.corrcoef(convolve(m.D, m.K_final[i]).ravel(), (E @ E.T).ravel())[0, 1]))
    return claim, values, {"untrained": 1.0, "W = I": 1.0, "random E": 1.0}, ""


def _cross_seed(m: _Kernels, claim: Claim) -> Measured:
    controls = {"untrained": _mean(_pairwise(m.k_init)), "random E": _mean(_pairwise(m.k_rand))}
    return claim, _pairwise(m.k_final) or [float("nan")], controls, ""


def _eigen_exponent(m: _Kernels, claim: Claim) -> Measured:
    controls = {
        "untrained": _mean([eigen_exponent(k, m.lam, m.Q) for k in m.k_init]),
        "W = I": eigen_exponent(m.k_I, m.lam, m.Q),
        "random E": _mean([eigen_exponent(k, m.lam, m.Q) for k in m.k_rand]),
    }
    return claim, [eigen_exponent(k, m.lam, m.Q) for k in m.k_final], controls, ""


QUANTITIES = {
    "cos": _cos,
    "k0_cos_eigh": _kernel_quantity,
    "circulant_score": _kernel_quantity,
    "cos_W_I": _kernel_quantity,
    "final_val_loss": _final_val_loss,
    "epsilon_agreement": _epsilon_agreement,
    "convergence": _convergence,
    "reconstruction": _reconstruction,
    "cross_seed": _cross_seed,
    "eigen_exponent": _eigen_exponent,
}


def measure(
    runs: list[dict], D: np.ndarray, ppmi: np.ndarray, dim: int, epsilon: float, checkpoints: list[int]
) -> dict[str, Any]:
    """Every claim of :data:`MOBIUS_CLAIMS`, in order, with its controls and verdict."""
    F = guarded_fft2(D)
    K_final = [embedding_kernel(r["E"][checkpoints[-1]], F) for r in runs]
    kept = [i for i, K in enumerate(K_final) if circulant_score(K) >= EXCLUSION_THRESHOLD]
    use = kept or list(range(len(runs)))
    exclusion = (
        f"The report's rule (exclude runs with circulant score < {EXCLUSION_THRESHOLD}) excludes "
        f"{len(runs) - len(kept)} of {len(runs)} runs" + ("" if kept else "; with none left, the tables use all runs")
    )
    m, definitions = _kernels(runs, use, K_final, D, ppmi, dim, epsilon, checkpoints)
    tables: dict[str, list[dict[str, Any]]] = {}
    for claim in MOBIUS_CLAIMS:
        if claim.quantity not in QUANTITIES:
            raise ValueError(f"unknown quantity {claim.quantity!r} in a claim")
        row, values, controls, note = QUANTITIES[claim.quantity](m, claim)
        tables.setdefault(claim.table, []).append(judged(row, values, controls, note))
    alpha_rows = tables["Table 2: cos as alpha -> 0"]
    monotone = all(
        b["measured"]["mean"] >= a["measured"]["mean"] - 1e-12 for a, b in zip(alpha_rows, alpha_rows[1:], strict=False)
    )
    neg = m.lam <= EIGENVALUE_FLOOR
    projection = m.Q[:, neg] @ m.Q[0, neg]
    identities = {
        "1 - cos(k0 eigh, projection of e0 on non-positive eigenspace)": 1 - cosine(m.k0["eigh"], projection)
        if neg.any()
        else None,
        "circulant score of reconstruct_w(D, k0)": circulant_score(reconstruct_w(D, m.k0["eigh"])),
    }
    return {
        "exclusion": exclusion,
        "excluded": len(runs) - len(kept),
        "runs": len(runs),
        "definitions": definitions,
        "tables": tables,
        "table2_monotone": monotone,
        "identities": identities,
    }


def markdown(report: dict[str, Any]) -> str:
    c, d = report["config"], report["data"]
    m, t = c["model"], c["train"]
    intro = (
        f"Corpus `{c['corpus']}` ({c['data']['tokenizer']}, V = {d['vocab_size']}), MiniGPT {m['n_layer']} layers × "
        f"{m['n_head']} heads, d = {m['n_embd']}, block {m['block_size']}, batch {t['batch_size']}, AdamW lr {t['lr']}, "
        f"wd {t['weight_decay']}, dropout {m['dropout']}; {c['epochs']} epochs = {d['steps']} steps; "
        f"{c['seeds']} seeds. Measured = mean ± sd over the runs kept. Controls: the same quantity for the "
        "untrained model, for W = I and for a random E of the same shape and RMS.\n\n" + report["exclusion"] + "."
    )
    extra = [
        f"Claim: {MOBIUS_MONOTONE_CLAIM}. Measured: {'monotone' if report['table2_monotone'] else 'not monotone'}.",
        "",
        "## Candidate definitions",
        "",
    ]
    extra += [f"- **{k}**: {v}" for k, v in report["definitions"].items()]
    extra += ["", "## Checked identities (kernel issue)", ""]
    extra += [
        f"- {k}: {fmt(v)}" if v is not None else f"- {k}: D has no non-positive eigenvalue"
        for k, v in report["identities"].items()
    ]
    return report_markdown("MobiusKernel report: verification", intro, report["tables"], extra)


def plot(report: dict[str, Any], out: Path) -> None:
    """``convergence.png`` (cos with the derived k0 over training, with controls) and ``alpha.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conv = report["tables"]["Convergence table"]
    x = [100 * f for f in CHECKPOINTS]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    mean = np.array([r["measured"]["mean"] for r in conv])
    sd = np.array([r["measured"]["sd"] for r in conv])
    ax.plot(x, mean, marker="o", label="trained (mean ± sd)")
    ax.fill_between(x, mean - sd, mean + sd, alpha=0.2)
    ax.axhline(conv[0]["controls"]["random E"], color="black", ls="--", label="random E (control)")
    ax.axhline(conv[0]["controls"]["W = I"], color="grey", ls=":", label="W = I (control)")
    claims = [(xx, r["claimed"]) for xx, r in zip(x, conv, strict=True) if isinstance(r["claimed"], (int, float))]
    if claims:
        ax.scatter(*zip(*claims, strict=True), marker="x", color="red", label="claimed")
    ax.set(xlabel="% of training", ylabel="cos(k0_emp, derived k0)", title="Convergence table")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "convergence.png", dpi=120)
    plt.close(fig)

    t2 = report["tables"]["Table 2: cos as alpha -> 0"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.errorbar(
        ALPHAS,
        [r["measured"]["mean"] for r in t2],
        yerr=[r["measured"]["sd"] for r in t2],
        marker="o",
        label="measured",
    )
    ax.plot(ALPHAS, [r["controls"]["untrained"] for r in t2], ls="--", label="untrained (control)")
    ax.plot(ALPHAS, [r["controls"]["random E"] for r in t2], ls=":", label="random E (control)")
    ax.set(xscale="log", xlabel="alpha", ylabel="cos with k0_emp", title="Table 2: D^(alpha-1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "alpha.png", dpi=120)
    plt.close(fig)


run = run_verify  # what ``mobius-init verify`` calls
