"""Collect the horizon study's stages (benchmarks/horizon_study.sh) into docs/results/horizons/: the
learning-rate sweep, the study's table and plot, the width scan and the ablations, each as generated
markdown beside a small JSON. Stages not run yet are left out.

    python benchmarks/horizon_report.py [--runs runs] [--out docs/results/horizons]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def single_horizon_rows(report: dict) -> list[dict]:
    """One row per arm of a one-horizon run: init, lr, multiplier, final loss per seed."""
    rows = []
    for entry in report["summary"].values():
        ((horizon, row),) = entry["horizons"].items()
        rows.append(
            {
                "init": entry["init"],
                "lr": entry["lr"],
                "embedding_lr_mult": entry["embedding_lr_mult"],
                "horizon": int(horizon),
                "final_val_loss": row["final_val_loss"][0],
            }
        )
    return rows


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(title for title, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt.format(**row) for _, fmt in columns) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--out", default="docs/results/horizons")
    args = parser.parse_args()
    runs, out = Path(args.runs), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    collected: dict = {}

    sweep = [
        r
        for name in ("horizons-sweep", "horizons-refine")
        if (rep := load(runs / name / "results.json"))
        for r in single_horizon_rows(rep)
    ]
    if sweep:
        sweep = list(
            {(r["init"], r["lr"], r["embedding_lr_mult"]): r for r in sweep}.values()
        )  # the refinement reuses one arm
        sweep.sort(key=lambda r: (r["init"] != "random", r["final_val_loss"]))
        collected["sweep"] = sweep
        columns = [
            ("init", "{init}"),
            ("lr", "{lr:g}"),
            ("embedding lr ×", "{embedding_lr_mult:g}"),
            ("horizon", "{horizon}"),
            ("final val loss", "{final_val_loss:.4f}"),
        ]
        (out / "sweep.md").write_text(table(sweep, columns))

    for part in ("main", "shuffled"):  # the study's two reports (benchmarks/horizon_study.sh report)
        study = load(runs / "horizons" / f"{part}-results.json")
        if study:
            shutil.copy(runs / "horizons" / f"{part}-results.md", out / f"study-{part}.md")
            if (runs / "horizons" / f"{part}-horizons.png").is_file():
                shutil.copy(runs / "horizons" / f"{part}-horizons.png", out / f"horizons-{part}.png")
            collected[f"study_{part}"] = {
                k: study[k] for k in ("config", "warmup_steps", "vocab_size", "parameters", "summary")
            }

    width = []
    for name in ("horizons-width64", "horizons-width256"):  # width 128: the study itself
        rep = load(runs / name / "results.json")
        if not rep:
            continue
        best = min((r for r in single_horizon_rows(rep) if r["init"] == "random"), key=lambda r: r["final_val_loss"])
        rows = [
            r
            for r in single_horizon_rows(rep)
            if (r["lr"], r["embedding_lr_mult"]) == (best["lr"], best["embedding_lr_mult"])
        ]
        by = {r["init"]: r["final_val_loss"] for r in rows}
        if {"random", "ppmi_svd+unigram"} <= set(by):
            m, p = rep["config"]["model"], rep["parameters"]
            width.append(
                {
                    "n_embd": m["n_embd"],
                    "n_layer": m["n_layer"],
                    "parameters": p["total"],
                    "share": 100 * p["embedding"] / p["total"],
                    "random": by["random"],
                    "analytic": by["ppmi_svd+unigram"],
                    "delta": by["ppmi_svd+unigram"] - by["random"],
                    "lr": best["lr"],
                    "mult": best["embedding_lr_mult"],
                }
            )
    if width:
        collected["width"] = width
        columns = [
            ("width", "{n_embd}"),
            ("layers", "{n_layer}"),
            ("parameters", "{parameters:,}"),
            ("embedding share", "{share:.0f} %"),
            ("lr, emb ×", "{lr:g}, {mult:g}"),
            ("random", "{random:.4f}"),
            ("ppmi_svd+unigram", "{analytic:.4f}"),
            ("Δ", "{delta:+.4f}"),
        ]
        (out / "width.md").write_text(table(width, columns))

    ablations = []
    for name, what in (
        ("horizons-frozen", "embedding frozen (lr × 0)"),
        ("horizons-untied", "untied head"),
        ("horizons-prior", "tied, prior in a reserved direction"),
    ):
        rep = load(runs / name / "results.json")
        if rep:
            ablations += [{**r, "setting": what} for r in single_horizon_rows(rep)]
    if ablations:
        collected["ablations"] = ablations
        columns = [
            ("setting", "{setting}"),
            ("init", "{init}"),
            ("lr", "{lr:g}"),
            ("embedding lr ×", "{embedding_lr_mult:g}"),
            ("horizon", "{horizon}"),
            ("final val loss", "{final_val_loss:.4f}"),
        ]
        (out / "ablations.md").write_text(table(ablations, columns))

    (out / "summary.json").write_text(json.dumps(collected, indent=2))
    print("wrote", ", ".join(sorted(p.name for p in out.iterdir())))


if __name__ == "__main__":
    main()
