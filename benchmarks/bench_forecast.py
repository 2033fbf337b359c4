"""Does the schedule-aware law forecast a run's final validation loss from the first part of its history?

Validation on runs the fit has not seen: the committed BPE-8k comparison (8 inits x 3 seeds, 2,000
steps of warmup + cosine to 0, validation every 100 steps). For each run and each observed fraction
f (25 %, 50 %), the forecast fits Tissue et al.'s law (``mobius_init.forecast``) to the validation
losses at steps 100 ... f*T and predicts the loss at T, knowing the schedule in advance.

Baselines, each given the same history: the last observed loss; a power law in steps that ignores the
schedule; and the step fraction with the run's early loss: a line through the *other* runs' final loss
against their loss at the same step (leave-one-run-out), which knows how far through the schedule a
run is and what happened to the others.

Pass rule, written before the run: the forecast's mean absolute error (nats) is below every
baseline's at both fractions, and at most 0.02 nats at 50 %. Also reported: the relative error, the
share of runs whose final loss lies in the forecast's interval, and whether the forecast at 25 %
predicts the analytic init's lead over random at the end (ppmi_svd+unigram minus random, paired by seed).

    python benchmarks/bench_forecast.py docs/results/bpe8k-compare/results.json --out benchmarks/results/forecast.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path

import numpy as np

from mobius_init.forecast import forecast_final_loss, power_law_forecast
from mobius_init.schedules import learning_rates
from mobius_init.training import TrainConfig

FRACTIONS = (0.25, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a compare results.json")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    report = json.loads(Path(args.results).read_text())
    train = report["config"]["train"]
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in train.items() if k in known and k != "device"}, device="cpu")
    rates, T = learning_rates(config), config.steps
    runs = [(init, r) for init, rs in report["runs"].items() for r in rs]
    curves = [({h["step"]: h["val_loss"] for h in r["history"]}, r["final_val_loss"]) for _, r in runs]
    out: dict = {"runs": len(runs), "steps": T, "fractions": {}}
    for f in FRACTIONS:
        cut = int(f * T)
        rows = []
        for i, ((init, run), (curve, final)) in enumerate(zip(runs, curves, strict=True)):
            steps = [s for s in sorted(curve) if 0 < s <= cut]
            losses = [curve[s] for s in steps]
            fc = forecast_final_loss(steps, losses, rates)
            others = [(c[cut], fin) for j, (c, fin) in enumerate(curves) if j != i]
            slope, intercept = np.polyfit([o[0] for o in others], [o[1] for o in others], 1)
            rows.append(
                {
                    "init": init,
                    "seed": run["seed"],
                    "final": final,
                    "forecast": fc.final,
                    "interval": fc.interval,
                    "remaining": fc.remaining,
                    "last_observed": losses[-1],
                    "power_law": power_law_forecast(steps, losses, T),
                    "early_loss_line": float(intercept + slope * curve[cut]),
                }
            )
        errors = {
            k: [abs(r[k] - r["final"]) for r in rows]
            for k in ("forecast", "last_observed", "power_law", "early_loss_line")
        }
        summary = {
            k: {
                "mae": float(np.mean(v)),
                "relative": float(np.mean([e / r["final"] for e, r in zip(v, rows, strict=True)])),
            }
            for k, v in errors.items()
        }
        summary["interval_coverage"] = float(
            np.mean([lo <= r["final"] <= hi for r in rows for lo, hi in [r["interval"]]])
        )
        beats = all(
            summary["forecast"]["mae"] < summary[k]["mae"] for k in ("last_observed", "power_law", "early_loss_line")
        )
        out["fractions"][str(f)] = {"summary": summary, "beats_every_baseline": beats, "rows": rows}
        lead = {}
        for init in ("random", "ppmi_svd+unigram"):
            lead[init] = [r for r in rows if r["init"] == init]
        if all(lead.values()):
            predicted = np.mean(
                [a["forecast"] - b["forecast"] for a, b in zip(lead["ppmi_svd+unigram"], lead["random"], strict=True)]
            )
            actual = np.mean(
                [a["final"] - b["final"] for a, b in zip(lead["ppmi_svd+unigram"], lead["random"], strict=True)]
            )
            observed = np.mean(
                [
                    a["last_observed"] - b["last_observed"]
                    for a, b in zip(lead["ppmi_svd+unigram"], lead["random"], strict=True)
                ]
            )
            out["fractions"][str(f)]["lead"] = {
                "at_cut": float(observed),
                "forecast_final": float(predicted),
                "actual_final": float(actual),
            }
        print(
            f"fraction {f}: "
            + ", ".join(
                f"{k} MAE {v['mae']:.4f} ({100 * v['relative']:.2f} %)"
                for k, v in summary.items()
                if isinstance(v, dict)
            )
            + f"; interval coverage {summary['interval_coverage']:.2f}; beats every baseline: {beats}"
        )
        if "lead" in out["fractions"][str(f)]:
            print("  ppmi_svd+unigram minus random:", out["fractions"][str(f)]["lead"])
    out["pass"] = all(out["fractions"][str(f)]["beats_every_baseline"] for f in FRACTIONS) and (
        out["fractions"]["0.5"]["summary"]["forecast"]["mae"] <= 0.02
    )
    print("pass:", out["pass"])
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
