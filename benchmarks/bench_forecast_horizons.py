"""Does a loss law fitted on a short trunk and one decay branch predict the final loss of longer runs?

Validation on runs the fit never saw: the branches of a horizon study (``mobius-init horizons``; the
committed logs are ``docs/results/horizons-bvb/logs.json.gz``). For each arm (init, lr, embedding
multiplier) and seed with branches at T_fit and at 2x, 4x and 8x T_fit (T_fit = 400: 800, 1,600, 3,200):

* **fit data**: the trunk's training loss of every step up to T_fit (constant rate after the warmup)
  and the T_fit branch's training loss of every step of its decay, as means over windows of 9 steps
  (:func:`mobius_init.forecast.smoothed`), each with its own schedule; plus their validation losses up
  to T_fit, which set one offset (validation minus the law, averaged) added to every prediction;
* **laws**: the multi-power law (Luo et al. 2025) and Tissue et al.'s (2024), both fitted to the same
  data (:func:`fit_multi_power_law`, :func:`fit_annealing_law_to`); the prediction for horizon T is the
  law at the end of the wsd schedule of T steps, plus the offset;
* **baselines**, from the same data: (a) the fitted branch's final validation loss; (b) a power law in
  steps fitted to the trunk's validation losses up to T_fit, read at T and shifted by the fitted
  branch's observed drop (trunk's validation loss at T_fit minus the branch's final one); (c) the
  trunk's validation loss at T_fit;
* **metrics**: mean absolute error (nats) and mean relative error at each multiple, over arms x seeds;
  and, for every init arm with a random arm at the same setting and seed, the steps saved at each
  multiple read from the predicted curves (random's: its measured finals up to T_fit, then the
  prediction) against the measured steps saved.

**Pass rule, written before the validation was run**: the multi-power law passes when its MAE at 4x
T_fit is at most 0.02 nats and below every baseline's MAE at 4x. Tissue et al.'s law is judged by the
same rule.

    python benchmarks/bench_forecast_horizons.py ~/runs/horizons-bvb --out benchmarks/results/forecast_horizons.json
    python benchmarks/bench_forecast_horizons.py docs/results/horizons-bvb/logs.json.gz --out ...  # committed logs
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from mobius_init.experiments.horizons_forecast import LAWS, arm_runs, final_loss, fit_arm, load_study_logs, val_points
from mobius_init.forecast import power_law_forecast
from mobius_init.significance import steps_to_reach

T_FIT = 400
MULTIPLES = (2, 4, 8)
BASELINES = ("branch_final", "shifted_power_law", "trunk_last")


def predict(arm: dict[str, Any], t_fit: int) -> dict[str, dict[int, float]]:
    """Every law's and baseline's predicted final validation loss at each multiple of ``t_fit``."""
    trunk, branch = arm["trunk"], arm["branches"][t_fit]
    trunk_val = val_points(trunk["history"], 0, t_fit)
    horizons = {m: m * t_fit for m in MULTIPLES}
    out: dict[str, dict[int, float]] = {}
    for law in LAWS:
        fitted = fit_arm(arm, [t_fit], law)
        out[law] = {m: final_loss(arm, fitted, T, law) for m, T in horizons.items()}
    branch_final = branch["result"]["final_val_loss"]
    trunk_last = float(trunk_val[1][trunk_val[0] == t_fit][0])
    drop = trunk_last - branch_final
    out["branch_final"] = {m: branch_final for m in MULTIPLES}
    out["trunk_last"] = {m: trunk_last for m in MULTIPLES}
    out["shifted_power_law"] = {
        m: power_law_forecast(trunk_val[0], trunk_val[1], T) - drop for m, T in horizons.items()
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a horizon study directory, or the logs this script saved")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--save-logs", type=Path, help="also write the logs the validation uses (gzipped JSON)")
    args = parser.parse_args()
    logs = load_study_logs(args.source)
    if args.save_logs:
        with gzip.open(args.save_logs, "wt") as f:
            json.dump(logs, f)
    arms = arm_runs(logs)
    needed = [T_FIT, *(m * T_FIT for m in MULTIPLES)]
    usable = {k: a for k, a in arms.items() if all(h in a["branches"] for h in needed)}
    rows = []
    for (init, lr, mult, seed), arm in sorted(usable.items()):
        predicted = predict(arm, T_FIT)
        measured = {m: arm["branches"][m * T_FIT]["result"]["final_val_loss"] for m in MULTIPLES}
        rows.append({"init": init, "lr": lr, "mult": mult, "seed": seed, "measured": measured, "predicted": predicted})
    summary: dict[str, Any] = {}
    for method in (*LAWS, *BASELINES):
        summary[method] = {
            f"{m}x": {
                "mae": float(np.mean([abs(r["predicted"][method][m] - r["measured"][m]) for r in rows])),
                "relative": float(
                    np.mean([abs(r["predicted"][method][m] - r["measured"][m]) / r["measured"][m] for r in rows])
                ),
            }
            for m in MULTIPLES
        }
    verdicts = {
        law: bool(
            summary[law]["4x"]["mae"] <= 0.02
            and all(summary[law]["4x"]["mae"] < summary[b]["4x"]["mae"] for b in BASELINES)
        )
        for law in LAWS
    }
    saved = steps_saved(rows, usable)
    report = {
        "t_fit": T_FIT,
        "arms": len(rows),
        "summary": summary,
        "passes": verdicts,
        "steps_saved": saved,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"{len(rows)} arm x seed curves, T_fit = {T_FIT}")
    print("| method | " + " | ".join(f"MAE {m}x (rel.)" for m in MULTIPLES) + " |")
    for method, by in summary.items():
        print(
            f"| {method} | "
            + " | ".join(f"{by[f'{m}x']['mae']:.3f} ({100 * by[f'{m}x']['relative']:.1f} %)" for m in MULTIPLES)
            + " |"
        )
    print("passes:", verdicts)
    for row in saved:
        print(row)


def steps_saved(rows: list[dict[str, Any]], arms: dict) -> list[dict[str, Any]]:
    """Predicted (each law) against measured steps saved by each init arm over random at its setting and
    seed: random's curve is its measured finals up to T_fit, then the measured or predicted ones."""
    by_key = {(r["init"], r["lr"], r["mult"], r["seed"]): r for r in rows}
    out = []
    for (init, lr, mult, seed), row in by_key.items():
        reference = by_key.get(("random", lr, mult, seed))
        if init == "random" or reference is None:
            continue
        branches = arms[("random", lr, mult, seed)]["branches"]
        known = sorted(h for h in branches if h <= T_FIT)
        horizons = known + [m * T_FIT for m in MULTIPLES]
        entry: dict[str, Any] = {"init": init, "lr": lr, "mult": mult, "seed": seed}
        for method in ("measured", *LAWS):
            theirs = reference["measured"] if method == "measured" else reference["predicted"][method]
            mine = row["measured"] if method == "measured" else row["predicted"][method]
            curve = [branches[h]["result"]["final_val_loss"] for h in known] + [theirs[m] for m in MULTIPLES]
            entry[method] = {}
            for m in MULTIPLES:
                steps, bound = steps_to_reach(horizons, curve, mine[m])
                entry[method][f"{m}x"] = [round(steps - m * T_FIT), bound]
        out.append(entry)
    return out


if __name__ == "__main__":
    main()
