"""The source reports' numbered claims as data, beside the one verdict rule applied to all of them.

Each claim is a :class:`Claim`: the table and row it belongs to, the claimed value (a number, a
``(low, high)`` range, a text such as ``"> 0.98"``, or None for a row reported without a claim), and
what to measure (``quantity``, ``argument``). A ``verify`` report is a loop over its claims; :func:`require`
refuses a run not given the corpus its protocol needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..settings import InvalidSetting

VERDICT_RULE = (
    "the measured mean ± max(2 sd, 0.05) must meet the claimed value (or overlap a claimed range), else `does not "
    "reproduce`; if it does, `reproduces` when no control's value meets the claim within the same margin, and "
    "`not distinguishable from a control` when one does. A claim that a quantity is `above its controls` "
    "reproduces when the measured mean minus that margin exceeds every control, one that it `differs from its "
    "controls` when every control lies outside the measured mean ± that margin; `> x` is a bound checked as stated."
)
ABOVE = "above its controls"
DIFFERS = "differs from its controls"


@dataclass(frozen=True)
class Claim:
    table: str
    row: str
    claimed: float | tuple[float, float] | str | None
    quantity: str
    argument: Any = None
    note: str = ""


def summary(values: list[float]) -> dict[str, float]:
    """Mean, sd (n - 1), n, min and max of the measured values."""
    a = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(a.mean()),
        "sd": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "n": len(a),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def verdict(claimed: Any, measured: dict[str, float], controls: dict[str, float | None]) -> str:
    """Apply :data:`VERDICT_RULE` (a claimed range is a tuple ``(low, high)``; ``"> x"`` a bound)."""
    if claimed is None:
        return "no numeric claim"
    if math.isnan(measured["mean"]):
        return "not measurable"
    half = max(2 * measured["sd"], 0.05)
    if claimed in (ABOVE, DIFFERS):
        values = [v for v in controls.values() if v is not None and not math.isnan(v)]
        if not values:
            return "not measurable"
        if claimed == ABOVE:
            return "reproduces" if measured["mean"] - half > max(values) else "does not reproduce"
        apart = all(abs(v - measured["mean"]) > half for v in values)
        return "reproduces" if apart else "does not reproduce"
    if isinstance(claimed, str):  # a one-sided bound, "> x" or "< x", checked without a margin
        op, bound = claimed.split()
        holds = measured["mean"] > float(bound) if op == ">" else measured["mean"] < float(bound)
        return "reproduces" if holds else "does not reproduce"
    lo, hi = claimed if isinstance(claimed, tuple) else (claimed, claimed)

    def meets(value: float) -> bool:
        return value + half >= lo and value - half <= hi

    if not meets(measured["mean"]):
        return "does not reproduce"
    close = [name for name, v in controls.items() if v is not None and not math.isnan(v) and meets(v)]
    return f"not distinguishable from a control ({', '.join(close)})" if close else "reproduces"


Measurement = tuple[list[float], dict[str, float], str]  # what judged takes after the claim: values, controls, note


def judged(claim: Claim, values: list[float], controls: dict[str, float | None], note: str = "") -> dict[str, Any]:
    """One report row: the claim, the measured summary, the controls and the verdict."""
    measured = summary(values)
    return {
        "row": claim.row,
        "claimed": claim.claimed,
        "measured": measured,
        "controls": controls,
        "verdict": verdict(claim.claimed, measured, controls),
        "note": note or claim.note,
    }


# ----------------------------------------------------------------------------- the MobiusKernel report
_T1, _T2, _T3 = "Table 1: candidate formulas for k0", "Table 2: cos as alpha -> 0", "Table 3: matrix functions"
_T4, _T5, _CONV, _APP = "Table 4: over seeds", "Table 5: k0 across eps", "Convergence table", "Appendix"
_CANDIDATE_RANGE = (0.07, 0.25)  # the report's range for the candidates it rejects
ALPHAS = (1.0, 0.5, 0.1, 0.03, 0.01, 0.003)
EPSILON_GRID = (0.001, 0.003, 0.005, 0.01, 0.02)
CHECKPOINTS = (0.0, 0.02, 0.1, 0.25, 0.5, 0.75, 1.0)  # fractions of training in the convergence table
EXCLUSION_THRESHOLD = 0.85  # the report's rule: runs whose circulant score is below it are excluded

MOBIUS_CLAIMS: tuple[Claim, ...] = (
    *(
        Claim(_T1, name, {"H4": 0.967, "H_logD": -0.845}.get(name, _CANDIDATE_RANGE), "cos", name)
        for name in (
            "H1",
            "H2",
            "H3",
            "H4",
            "H5",
            "H6",
            "H7",
            "H8",
            "H9",
            "H10",
            "H12",
            "H_cI",
            "H_logD",
            "H11 r=4",
            "H11 r=16",
            "H11 r=dim",
        )
    ),
    *(Claim(_T2, f"alpha = {a}", {1.0: 0.189, 0.003: 0.967}.get(a), "cos", f"alpha={a}") for a in ALPHAS),
    Claim(_T3, "I + 0.003 logm(D)", 0.967, "cos", "I + 0.003 logm(D)"),
    Claim(_T3, "D^-1", 0.247, "cos", "D^-1"),
    Claim(_T3, "logm(D)", -0.845, "cos", "logm(D)"),
    Claim(_T4, "cos(k0_emp, D^eps k0)", 0.965, "k0_cos_eigh"),
    Claim(_T4, "circulant score of K", (0.922, 0.948), "circulant_score"),
    Claim(_T4, "final validation loss", 1.40, "final_val_loss", note="different corpus and vocabulary: not comparable"),
    Claim(
        _T5,
        f"min cos between k0(eps), eps in {list(EPSILON_GRID)}",
        "> 0.98",
        "epsilon_agreement",
        note="a property of the formula alone: every k0(eps) is the projection of e0 on D's non-positive "
        "eigenspace (identity below), so this holds for any model",
    ),
    *(
        Claim(
            _CONV,
            f"{int(f * 100)} % of training",
            {0.02: -0.55, 0.1: 0.0, 0.5: 0.5, 0.75: 0.9, 1.0: (0.95, 1.0)}.get(f),
            "convergence",
            f,
        )
        for f in CHECKPOINTS
    ),
    Claim(
        _APP,
        "W = D (*) K (correlation)",
        1.0,
        "reconstruction",
        note="holds by construction: K is defined by deconvolving W by D",
    ),
    Claim(_APP, "cross-seed cos of k0_emp", 0.974, "cross_seed"),
    Claim(_APP, "eigen-exponent of k0_emp", -0.997, "eigen_exponent"),
    Claim(_APP, "cos(W, I) (W ~ cI)", 1.0, "cos_W_I"),
)
MOBIUS_MONOTONE_CLAIM = "cos rises monotonically as alpha -> 0"


# ----------------------------------------------------------------------------- closed-form word2vec
_AN, _STD = "Analogies, the paper's protocol", "Analogies, the standard Google protocol"
_SIM, _FEAT = "Word similarity (Spearman)", "Features are M*'s top eigenvectors"
W2V_MODELS = (("M* eigenvectors", "mstar"), ("word2vec skip-gram", "sgns"), ("PPMI", "ppmi"))

WORD2VEC_CLAIMS: tuple[Claim, ...] = (
    *(
        Claim(_AN, name, {"mstar": 0.66, "sgns": 0.68, "ppmi": 0.51}[key], "analogy_pairs", key)
        for name, key in W2V_MODELS
    ),
    *(
        Claim(_STD, name, None, "analogy_google", key, note="the paper reports no figure in this protocol")
        for name, key in W2V_MODELS
    ),
    *(
        Claim(_SIM, f"MEN: {name}", {"mstar": 0.755, "sgns": 0.744, "ppmi": 0.744}[key], "similarity", ("men", key))
        for name, key in W2V_MODELS
    ),
    *(
        Claim(
            _SIM,
            f"WS-353: {name}",
            {"mstar": 0.683, "sgns": 0.698, "ppmi": 0.690}[key],
            "similarity",
            ("wordsim353", key),
        )
        for name, key in W2V_MODELS
    ),
    Claim(_FEAT, "skip-gram's subspace overlap with M*'s top-d eigenvectors", ABOVE, "overlap", "sgns"),
    Claim(
        _FEAT, "QWEM's (small init, corpus weighting) overlap with M*'s top-d eigenvectors", ABOVE, "overlap", "qwem"
    ),
    Claim(
        _FEAT,
        "QWEM learns M*'s modes one at a time in eigenvalue order (Spearman of order vs eigenvalue rank)",
        1.0,
        "staircase",
    ),
)


# ----------------------------------------------------------------------------- the Res2Vec release
_CAL, _FIX, _SCORE = (
    "Calibration",
    "The self-consistent dimension against random embeddings",
    "Scores at the fixed point",
)
_RES, _SPEED = "Resonance against plain cosine", "Speed against word2vec"
RELEASE_V, RELEASE_R, RELEASE_D = 1_008_133, 0.07105052444654311, 187.56359159122252
RES2VEC_METRICS = ("second_moment", "cosine", "whitened")

RES2VEC_CLAIMS: tuple[Claim, ...] = (
    Claim(
        _CAL,
        f"d* = log2(V) / I(R) at the release's V = {RELEASE_V:,}, R = {RELEASE_R:.5f}",
        RELEASE_D,
        "calibration",
        note="the formula only: it checks our implementation, not the data",
    ),
    Claim(
        _CAL,
        f"a random Gaussian embedding's fixed point at the release's V = {RELEASE_V:,}",
        None,
        "random_fixed_point_release",
        note="what any embedding as isotropic as a random one would pick there",
    ),
    *(Claim(_FIX, f"fixed point, {metric} metric", DIFFERS, "fixed_point", metric) for metric in RES2VEC_METRICS),
    *(
        Claim(
            _SCORE,
            f"{benchmark} at the {metric} fixed point minus at the best d",
            None,
            "score_gap",
            (metric, benchmark),
        )
        for metric in RES2VEC_METRICS
        for benchmark in ("simlex999", "3cosadd")
    ),
    *(
        Claim(
            _RES,
            f"{benchmark}: resonance minus cosine",
            DIFFERS,
            "resonance_gain",
            benchmark,
            note="the release's own file: SimLex .2961 vs .2960",
        )
        for benchmark in ("simlex999", "wordsim353")
    ),
    Claim(_SPEED, "skip-gram time / Res2Vec time, one shard (16 M tokens)", 59.0, "speed", "small"),
    Claim(_SPEED, "skip-gram time / Res2Vec time, three shards (49 M tokens)", 59.0, "speed", "large"),
)


CORPUS_NEEDED = (
    "is required: the protocol needs Wikipedia-scale text (e.g. one shard, enwiki-2015-wikiextractor-AA.txt.xz; "
    "an installed package ships none); --quick runs on builtin:lee"
)


def require(config: Any, *names: str) -> None:
    """``InvalidSetting`` naming the first corpus setting left unset, before any work."""
    for name in names:
        if getattr(config, name) is None:
            raise InvalidSetting(name, CORPUS_NEEDED)
