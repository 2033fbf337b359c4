"""Which convergence diagnostics carry information? Validated against remaining loss on real runs.

    python benchmarks/bench_convergence.py COMPARE_DIR [--out results.json] [--plot convergence.png]

COMPARE_DIR is the output of ``mobius-init compare ... --snapshots N`` (N >= 10): per run, the tied
embedding at N + 1 evenly spaced steps (``snapshots/``), every step's training loss and the validation
curve (``runs/``), and the statistics (``data/stats.npz``).

At every snapshot step t of every run, each candidate diagnostic (``ConvergenceMonitor``'s candidates
and the k0-cosine monitor's quantities, each computed by the monitors' own ``measure``, with the
training losses up to t only) is set against the run's remaining validation-loss improvement
``L_val(t) - L_val(end)``, by Spearman's rho:

* within a run (mean and min |rho| over runs, with the sign kept);
* pooled over every run and step of every init;
* across runs at the same step (mean over steps): does the diagnostic tell which run has more left
  to gain than another at the same point of the schedule?

Controls, scored the same way: the step fraction t / T (what a user already knows); quantities that
are constant within a run and so only say which run (init) it is: the mean training loss of its
first 50 steps, and each diagnostic's value on the run's initial embedding; and each embedding
diagnostic's value on a random embedding.

Verdict, fixed before the full measurement: a diagnostic TRACKS remaining loss when its mean within-run
|rho| >= 0.8 with the same sign in every run and its pooled |rho| >= 0.8. It is INFORMATIVE beyond the
step and the init when, in addition, its mean across-runs rho has that sign, magnitude >= 0.3, and
exceeds in magnitude every run-constant control's (the step fraction scores 0 there by construction;
a run-constant control can still score, by telling the inits apart).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, save_results  # noqa: E402

TRACK, CROSS = 0.8, 0.3
EARLY = 50  # steps whose mean training loss is the run-constant control
DEFAULT_EVERY = 1000  # ConvergenceMonitor's default interval, for the overhead


def load_runs(folder: Path) -> list[dict]:
    """Every run of a compare output with snapshots: init, seed, losses, validation curve, embeddings."""
    runs = []
    for result_file in sorted((folder / "runs").glob("*.json")):
        snap_file = folder / "snapshots" / f"{result_file.stem}.npz"
        if not snap_file.is_file():
            continue
        run = json.loads(result_file.read_text())
        with np.load(snap_file) as z:
            run["E"] = {int(k.split("_")[1]): z[k] for k in z.files}
        run["name"] = result_file.stem
        run["init"] = result_file.stem.rsplit("_seed", 1)[0]
        runs.append(run)
    if not runs:
        sys.exit(f"{folder} has no runs with snapshots: run `mobius-init compare ... --snapshots 20 -o {folder}`")
    return runs


def diagnose(runs: list[dict], stats_path: Path, top_n: int) -> tuple[list[dict], dict[str, float]]:
    """One row per (run, snapshot step > 0): every diagnostic, its controls, and the remaining improvement."""
    from mobius_init import CorpusStats
    from mobius_init.monitors import CANDIDATES, ConvergenceMonitor, K0CosineMonitor

    stats = CorpusStats.load(stats_path)
    k0 = K0CosineMonitor(stats, top_n=top_n)
    rows = []
    timings: dict[str, list[float]] = {"convergence": [], "k0": []}
    for run in runs:
        steps = sorted(run["E"])
        total = steps[-1]
        val_steps = [h["step"] for h in run["history"]]
        val = [h["val_loss"] for h in run["history"]]
        end = val[-1]
        losses = np.asarray(run["train_losses"])
        early_loss = float(losses[:EARLY].mean())  # run-constant: says which run (init) this is
        monitor = ConvergenceMonitor(diagnostics=CANDIDATES, seed=run["seed"])
        monitor.start(run["E"][0].astype(np.float64))
        k0.reset()
        k0.start(run["E"][0].astype(np.float64))
        for t in steps[1:]:
            E = run["E"][t].astype(np.float64)
            row = {
                "run": run["name"],
                "init": run["init"],
                "step": t,
                "remaining": float(np.interp(t, val_steps, val)) - end,
                "control_step_fraction": t / total,
                "control_initial_train_loss": early_loss,
            }
            t0 = time.perf_counter()
            row.update(monitor.measure(E, steps=np.arange(1, t + 1), losses=losses[:t]))
            timings["convergence"].append(time.perf_counter() - t0)
            row.update({f"control_{c}_{k}": v for c, values in monitor.controls.items() for k, v in values.items()})
            t0 = time.perf_counter()
            quantities = k0.measure(E)
            timings["k0"].append(time.perf_counter() - t0)
            row.update({q: quantities[q] for q in ("k0_cos_eigh", "k0_cos_fft", "circulant_score")})
            for q in ("k0_cos_eigh", "k0_cos_fft", "circulant_score"):
                row[f"{q}_change"] = quantities[q] - k0.controls["initial"][q]
                row[f"control_initial_{q}"] = k0.controls["initial"][q]
                row[f"control_random_{q}"] = k0.controls["random"][q]
            rows.append(row)
    step_seconds = float(np.mean([r["seconds"] / len(r["train_losses"]) for r in runs]))
    return rows, {name: float(np.mean(t)) for name, t in timings.items()} | {"step_seconds": step_seconds}


def rho(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(spearmanr(x[ok], y[ok]).statistic)


def score(rows: list[dict], name: str, run_constants: dict[str, float] | None = None) -> dict:
    """Within-run, pooled and across-run Spearman rho of one diagnostic with the remaining improvement;
    ``run_constants``: the across-run rho of each control it must beat (already scored)."""
    runs = sorted({r["run"] for r in rows})
    steps = sorted({r["step"] for r in rows})

    def column(subset, key):
        return np.array([r.get(key, np.nan) for r in subset], dtype=np.float64)

    within = [
        rho(column(sub, name), column(sub, "remaining"))
        for run in runs
        if (sub := [r for r in rows if r["run"] == run])
    ]
    across = [
        rho(column(sub, name), column(sub, "remaining"))
        for step in steps
        if (sub := [r for r in rows if r["step"] == step])
    ]
    within_a = np.array(within)
    finite = within_a[np.isfinite(within_a)]
    mean_within = float(finite.mean()) if len(finite) else float("nan")
    pooled = rho(column(rows, name), column(rows, "remaining"))
    across_a = np.array(across)
    mean_across = float(np.nanmean(across_a)) if np.isfinite(across_a).any() else float("nan")
    sign = np.sign(mean_within) if np.isfinite(mean_within) else 0
    tracks = bool(
        len(finite) == len(within)
        and abs(mean_within) >= TRACK
        and np.all(np.sign(finite) == sign)
        and np.isfinite(pooled)
        and abs(pooled) >= TRACK
        and np.sign(pooled) == sign
    )
    constants = run_constants or {}
    beats_constants = all(np.isfinite(mean_across) and abs(mean_across) > abs(v) for v in constants.values())
    informative = bool(
        tracks
        and np.isfinite(mean_across)
        and np.sign(mean_across) == sign
        and abs(mean_across) >= CROSS
        and beats_constants
    )
    return {
        "within_mean": mean_within,
        "within_min_abs": float(np.abs(finite).min()) if len(finite) else float("nan"),
        "within_sd": float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
        "pooled": pooled,
        "across_mean": mean_across,
        "run_constant_controls_across": constants,
        "tracks": tracks,
        "informative": informative,
    }


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("compare_dir", type=Path)
    parser.add_argument("--top-n", type=int, default=1024, help="ids the k0 quantities use (default: 1024)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    from mobius_init.monitors import CANDIDATES

    runs = load_runs(args.compare_dir)
    rows, cost = diagnose(runs, args.compare_dir / "data" / "stats.npz", args.top_n)
    names = ["control_step_fraction", *CANDIDATES]
    names += [
        "k0_cos_eigh",
        "k0_cos_fft",
        "circulant_score",
        "k0_cos_eigh_change",
        "k0_cos_fft_change",
        "circulant_score_change",
    ]
    controls = [k for k in rows[0] if k.startswith("control_") and k != "control_step_fraction"]

    def run_constants(name: str) -> list[str]:
        base = name.removesuffix("_change")
        return ["control_initial_train_loss"] + [c for c in (f"control_initial_{base}",) if c in rows[0]]

    scores = {name: score(rows, name) for name in controls}  # each control scored once
    scores |= {name: score(rows, name, {c: scores[c]["across_mean"] for c in run_constants(name)}) for name in names}
    inits = sorted({r["init"] for r in rows})
    print(f"{len(runs)} runs ({', '.join(inits)}), {len(rows)} (run, step) points\n")
    table = []
    for name in names + controls:
        s = scores[name]
        verdict = "informative" if s["informative"] else "tracks only" if s["tracks"] else "fails"
        if name == "control_step_fraction" or name in controls:
            verdict = "control"
        table.append(
            [
                name,
                f"{s['within_mean']:+.3f}",
                f"{s['within_min_abs']:.3f}",
                f"{s['pooled']:+.3f}",
                f"{s['across_mean']:+.3f}",
                verdict,
            ]
        )
    print(
        markdown_table(
            [
                "diagnostic",
                "ρ within run (mean)",
                "min |ρ| in a run",
                "ρ pooled",
                "ρ across runs, same step",
                "verdict",
            ],
            table,
        )
    )
    check_ms = {k: 1000 * cost[k] for k in ("convergence", "k0")}
    overhead = {k: cost[k] / (DEFAULT_EVERY * cost["step_seconds"]) for k in ("convergence", "k0")}
    print(
        f"\ncost per check: ConvergenceMonitor (all candidates) {check_ms['convergence']:.1f} ms, k0 quantities "
        f"{check_ms['k0']:.1f} ms; a training step {1000 * cost['step_seconds']:.0f} ms, so at the default interval "
        f"({DEFAULT_EVERY} steps) {100 * overhead['convergence']:.3f} % and {100 * overhead['k0']:.3f} % of training time"
    )
    save_results(
        args,
        {
            "cost": cost | {"overhead_at_default_interval": overhead},
            "scores": scores,
            "rows": rows,
            "runs": [r["name"] for r in runs],
            "criteria": {"track": TRACK, "across": CROSS},
        },
    )
    if args.plot:
        plot(rows, scores, names, args.plot)


def plot(rows: list[dict], scores: dict, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [n for n in names if n != "control_step_fraction"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.2, 1]})
    ax = axes[0]
    y = np.arange(len(shown) + 1)
    labels = ["step fraction (control)", *shown]
    for offset, key, label in (
        (-0.25, "within_mean", "within run"),
        (0, "pooled", "pooled"),
        (0.25, "across_mean", "across runs, same step"),
    ):
        ax.barh(y + offset, [scores[n][key] for n in ["control_step_fraction", *shown]], height=0.25, label=label)
    ax.set_yticks(y, labels, fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    for x in (-TRACK, TRACK):
        ax.axvline(x, color="grey", ls=":", lw=0.8)
    ax.set(xlabel="Spearman ρ with remaining validation-loss improvement", title="Diagnostic validity")
    ax.legend(fontsize=7)
    best = max(shown, key=lambda n: abs(scores[n]["pooled"]) if np.isfinite(scores[n]["pooled"]) else -1)
    ax = axes[1]
    for init in sorted({r["init"] for r in rows}):
        sub = [r for r in rows if r["init"] == init]
        ax.scatter([r[best] for r in sub], [r["remaining"] for r in sub], s=8, label=init)
    ax.set(xlabel=best, ylabel="L_val(t) - L_val(end)", title=f"best pooled: {best}")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
