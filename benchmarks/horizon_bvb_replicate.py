"""Best against best on a held-out seed: the cells chosen on the committed study's seeds, read on another.

    python benchmarks/horizon_bvb_replicate.py ~/runs/horizons-bvb --seed 1 \
        [--chosen docs/results/horizons-bvb/summary.json] [--out docs/results/horizons-bvb/replicate-seed1]

At each horizon, each side's cell (learning rate x embedding multiplier) is the one the committed report
chose (``best_vs_best`` in its ``summary.json``, chosen on seeds this one does not include); this seed's
runs of those cells give Δ (init minus random) and the steps saved against random's chosen-cell curve at
this seed (interpolated in log T, ``>`` a lower bound). Free of the selection's optimism, since the seed
played no part in the choice. Beside it, the cell each side would choose on this seed among the cells it
has, so a changed ranking shows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mobius_init.significance import steps_to_reach

MARK = {"exact": "", "above": ">", "below": "<"}


def finals(study: Path, seed: int) -> dict[tuple[str, float, float], dict[int, float]]:
    """(init, lr, multiplier) -> horizon -> final validation loss, for ``seed``'s finished branches."""
    out: dict[tuple[str, float, float], dict[int, float]] = {}
    for path in (study / "runs").glob("*_T*.json"):
        if path.name.endswith(".trunk.json"):
            continue
        record = json.loads(path.read_text())
        train = record["settings"]["train"]
        if train["seed"] == seed:
            key = (record["settings"]["init"], float(train["lr"]), float(train["embedding_lr_mult"]))
            out.setdefault(key, {})[int(train["steps"])] = record["result"]["final_val_loss"]
    return out


def own_best(runs: dict[tuple[str, float, float], dict[int, float]], name: str, horizon: int) -> Any:
    """The cell of ``name`` with the lowest loss at ``horizon`` among those this seed ran there."""
    cells = [(lr, m) for (n, lr, m), by in runs.items() if n == name and horizon in by]
    return min(cells, key=lambda c: runs[(name, *c)][horizon], default=None)


def replicate(chosen: dict[str, Any], runs: dict[tuple[str, float, float], dict[int, float]]) -> list[dict[str, Any]]:
    rows = []
    for init, by_horizon in chosen["best_vs_best"]["inits"].items():
        best = {int(h): entry["best"] for h, entry in by_horizon["horizons"].items()}
        curve_h = [h for h in sorted(best) if int(h) in runs.get(("random", *best[h]["random"]), {})]
        curve = [runs[("random", *best[h]["random"])][h] for h in curve_h]
        for horizon in sorted(best):
            cells = {side: tuple(best[horizon][side]) for side in ("init", "random")}
            mine = runs.get((init, *cells["init"]), {}).get(horizon)
            theirs = runs.get(("random", *cells["random"]), {}).get(horizon)
            own = {"init": own_best(runs, init, horizon), "random": own_best(runs, "random", horizon)}
            row = {
                "init": init,
                "horizon": horizon,
                "cells": cells,
                "own_best": own,
                "init_loss": mine,
                "random_loss": theirs,
            }
            if mine is not None and theirs is not None:
                row["delta"] = mine - theirs
                if len(curve_h) >= 2:
                    steps, bound = steps_to_reach(curve_h, curve, mine)
                    row["steps_saved"], row["bound"] = steps - horizon, bound
            rows.append(row)
    return rows


def cell(c: Any) -> str:
    return "—" if c is None else f"{c[0]:g} × {c[1]:g}"


def markdown(rows: list[dict[str, Any]], seed: int, source: str) -> str:
    lines = [
        f"Seed {seed}, held out: each side's cell as chosen in {source} (on other seeds), read on this seed.",
        "",
        "| init | horizon | random's cell | loss | init's cell | loss | Δ | steps saved | this seed's own best: random / init |",
        "|---|---:|---|---:|---|---:|---:|---:|---|",
    ]
    for r in rows:
        loss = {k: "not run" if r[k] is None else f"{r[k]:.3f}" for k in ("random_loss", "init_loss")}
        delta = f"{r['delta']:+.3f}" if "delta" in r else "—"
        saved = f"{MARK[r['bound']]}{r['steps_saved']:+.0f}" if "steps_saved" in r else "—"
        lines.append(
            f"| {r['init']} | {r['horizon']} | {cell(r['cells']['random'])} | {loss['random_loss']} | "
            f"{cell(r['cells']['init'])} | {loss['init_loss']} | {delta} | {saved} | "
            f"{cell(r['own_best']['random'])} / {cell(r['own_best']['init'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--chosen", type=Path, default=Path("docs/results/horizons-bvb/summary.json"))
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    chosen = json.loads(args.chosen.read_text())
    used = {s for e in chosen["best_vs_best"]["inits"].values() for h in e["horizons"].values() for s in h["seeds"]}
    if args.seed in used:
        raise SystemExit(
            f"seed {args.seed} took part in the choice in {args.chosen} (seeds {sorted(used)}): not held out"
        )
    rows = replicate(chosen, finals(args.study, args.seed))
    text = markdown(rows, args.seed, str(args.chosen))
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=list))


if __name__ == "__main__":
    main()
