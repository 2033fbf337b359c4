"""Where the best-against-best gain comes from: the controls at the analytic init's cell.

    python benchmarks/horizon_bvb_controls.py ~/runs/horizons-bvb --seed 1 --mult 10 \
        [--summary docs/results/horizons-bvb/summary.json] [--out docs/results/horizons-bvb/controls-seed1]

At one cell (lr 1e-3 x the embedding multiplier the init preferred up to 400 steps), the final
validation loss of random, random + the log-unigram bias (frequency alone), ppmi_svd's rows given to
other tokens + the bias (the row norms and the spectrum, no token's own direction) and ppmi_svd + the
bias, at every horizon of one seed: each step of the ladder is what one more ingredient adds. One
seed and one cell: differences are read against the seed-to-seed spread the study reports.
A cell whose branch files are gone is read from a committed ``--summary`` where that cell holds
this seed alone (its mean is then that seed's loss).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from horizon_bvb_replicate import finals

LADDER = ("random", "random+unigram", "ppmi_svd:shuffled+unigram", "ppmi_svd+unigram")


def from_summary(path: Path, seed: int) -> dict[tuple[str, float, float], dict[int, float]]:
    """(init, lr, multiplier) -> horizon -> loss, for the summary's cells run with ``seed`` alone."""
    out: dict[tuple[str, float, float], dict[int, float]] = {}
    for cell in json.loads(path.read_text())["summary"].values():
        key = (cell["init"], float(cell["lr"]), float(cell["embedding_lr_mult"]))
        for h, entry in cell["horizons"].items():
            if entry["seeds"] == [seed]:
                out.setdefault(key, {})[int(h)] = entry["final_val_loss"][0]
    return out


def ladder(study: Path, seed: int, lr: float, mult: float, summary: Path | None = None) -> dict[str, dict[int, float]]:
    runs = finals(study, seed)
    if summary is not None:
        for key, by in from_summary(summary, seed).items():
            runs.setdefault(key, by)
    return {init: runs[(init, lr, mult)] for init in LADDER if (init, lr, mult) in runs}


def markdown(losses: dict[str, dict[int, float]], seed: int, lr: float, mult: float) -> str:
    inits = list(losses)
    horizons = sorted(set.intersection(*(set(by) for by in losses.values())))
    head = " | ".join(inits)
    steps = " | ".join(f"{b} − {a}" for a, b in zip(inits, inits[1:], strict=False))
    lines = [
        f"Seed {seed}, lr {lr:g} × {mult:g}: final validation loss, and what each step of the ladder adds.",
        "",
        f"| horizon | {head} | {steps} |",
        "|---:|" + "---:|" * (2 * len(inits) - 1),
    ]
    for h in horizons:
        values = [losses[i][h] for i in inits]
        deltas = [b - a for a, b in zip(values, values[1:], strict=False)]
        lines.append(
            f"| {h} | "
            + " | ".join(f"{v:.3f}" for v in values)
            + " | "
            + " | ".join(f"{d:+.3f}" for d in deltas)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--mult", type=float, required=True)
    parser.add_argument("--summary", type=Path, help="a committed summary.json for cells whose branch files are gone")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json (default: print only)")
    args = parser.parse_args()
    losses = ladder(args.study, args.seed, args.lr, args.mult, args.summary)
    if "random" not in losses:
        parser.error(f"{args.study} has no random arm at lr {args.lr:g} x {args.mult:g}, seed {args.seed}")
    table = markdown(losses, args.seed, args.lr, args.mult)
    print(table)
    if args.out:
        args.out.with_suffix(".md").write_text(table)
        payload = {"seed": args.seed, "lr": args.lr, "mult": args.mult, "final_val_loss": losses}
        args.out.with_suffix(".json").write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
