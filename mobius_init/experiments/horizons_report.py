"""The horizon study's report (pure functions of its results): per arm and horizon the final loss, Δ and
steps saved against random at the same setting; best against best over the grid; the tables and the plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..significance import (
    best_cell,
    fit_saving,
    held_out_seed_difference,
    mean_sd,
    paired_difference,
    steps_to_reach,
)

Results = dict[str, dict[int, dict[int, dict[str, Any]]]]  # arm key -> horizon -> seed -> branch result


def arm_key(init: str, lr: float, mult: float) -> str:
    return f"{init}|{lr:g}|{mult:g}"


def _reference_curve(reference: dict[int, dict[int, dict[str, Any]]], seed: int) -> tuple[list[int], list[float]]:
    horizons = [h for h in sorted(reference) if seed in reference[h]]
    return horizons, [reference[h][seed]["final_val_loss"] for h in horizons]


def _saved(curves: list[tuple[list[int], list[float]]], losses: list[float], horizon: int) -> dict[str, Any]:
    """Steps saved at ``horizon``: per seed, the steps its reference curve needs to reach its loss, minus T."""
    reached = [steps_to_reach(*curve, loss) for curve, loss in zip(curves, losses, strict=True)]
    saved = [steps - horizon for steps, _ in reached]
    return {
        "steps_saved": mean_sd(saved),
        "steps_saved_per_seed": saved,
        "saved_fraction": mean_sd([s / horizon for s in saved]),
        "censored": [bound for _, bound in reached],
    }


def summarize(results: Results) -> dict[str, Any]:
    """Per arm and horizon: final loss; and, against the random arm with the same learning rates, the
    paired Δ and the steps saved (each seed against its own reference curve across all the reference's
    horizons, which may reach further than the arm's), on the seeds both have."""
    summary: dict[str, Any] = {}
    for arm, by_horizon in results.items():
        init, lr, mult = arm.split("|")
        reference = results.get(arm_key("random", float(lr), float(mult)))
        rows = {}
        for horizon in sorted(by_horizon):
            seeds = sorted(by_horizon[horizon])
            finals = [by_horizon[horizon][s]["final_val_loss"] for s in seeds]
            row: dict[str, Any] = {"seeds": seeds, "final_val_loss": mean_sd(finals)}
            paired = [s for s in seeds if reference and s in reference.get(horizon, {})]
            curves = [_reference_curve(reference, s) for s in paired] if paired else []
            if init != "random" and paired and all(len(c[0]) > 1 for c in curves):
                mine = [by_horizon[horizon][s]["final_val_loss"] for s in paired]
                row["paired_seeds"] = paired
                row["delta_vs_random"] = paired_difference(
                    mine, [reference[horizon][s]["final_val_loss"] for s in paired]
                )
                row.update(_saved(curves, mine, horizon))
            rows[str(horizon)] = row
        entry: dict[str, Any] = {"init": init, "lr": float(lr), "embedding_lr_mult": float(mult), "horizons": rows}
        entry["fit"] = _fit(rows)
        summary[arm] = entry
    return summary


def _fit(rows: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """saved(T) fitted on the seed means at the horizons where every seed's saving is exact (>= 3 of them)."""
    exact = [(int(h), r["steps_saved"][0]) for h, r in rows.items() if set(r.get("censored", ["-"])) == {"exact"}]
    return fit_saving([h for h, _ in exact], [s for _, s in exact]) if len(exact) >= 3 else None


def _grid_edge(cell: tuple[float, float], cells: list[tuple[float, float]]) -> list[str]:
    """Where a chosen cell sits on its grid's edge: ``lr low/high``, ``multiplier low/high``."""
    edges = []
    for i, name in enumerate(("lr", "multiplier")):
        values = sorted({c[i] for c in cells})
        if len(values) > 1 and cell[i] in (values[0], values[-1]):
            edges.append(f"{name} {'low' if cell[i] == values[0] else 'high'}")
    return edges


def best_against_best(results: Results) -> dict[str, Any]:
    """At each horizon, each init's best cell of its grid (lr, embedding multiplier; chosen on the mean
    final loss over the seeds every cell of both sides has there) against random's best, paired by seed:
    final losses, Δ, the same Δ with each seed held out of the choice, and steps saved against random's
    best-at-each-horizon curve. Whether a chosen cell sits on its grid's edge is reported."""
    families: dict[str, Cells] = {}
    for arm, by_horizon in results.items():
        init, lr, mult = arm.split("|")
        families.setdefault(init, {})[(float(lr), float(mult))] = {
            h: {s: e["final_val_loss"] for s, e in by_seed.items()} for h, by_seed in by_horizon.items()
        }
    reference = families.get("random")
    if reference is None:
        return {}
    report: dict[str, Any] = {"grid_sizes": {init: len(cells) for init, cells in families.items()}, "inits": {}}
    for init, cells in families.items():
        if init != "random":
            rows = _against_reference(cells, reference)
            report["inits"][init] = {"horizons": rows, "fit": _fit(rows)}
    return report


Cells = dict[tuple[float, float], dict[int, dict[int, float]]]  # (lr, mult) -> horizon -> seed -> final loss


def _at(cells: Cells, horizon: int) -> dict[tuple[float, float], dict[int, float]]:
    return {cell: by_h[horizon] for cell, by_h in cells.items() if horizon in by_h}


def _common_seeds(*groups: dict[Any, dict[int, float]]) -> list[int]:
    seed_sets = [set(by_seed) for group in groups for by_seed in group.values()]
    return sorted(set.intersection(*seed_sets)) if seed_sets else []


def _against_reference(cells: Cells, reference: Cells) -> dict[str, Any]:
    """One init's best-against-best rows, by horizon (see :func:`best_against_best`)."""
    mine_horizons = sorted({h for by_h in cells.values() for h in by_h})
    envelope: dict[int, tuple[tuple[float, float], list[int]]] = {}  # random's choice at every horizon
    for h in sorted({h for by_h in reference.values() for h in by_h} | set(mine_horizons)):
        ref_h = _at(reference, h)
        seeds = _common_seeds(ref_h, _at(cells, h)) if h in mine_horizons else _common_seeds(ref_h)
        if ref_h and seeds:
            envelope[h] = (best_cell(ref_h, seeds), seeds)
    rows = {}
    for h in (h for h in mine_horizons if h in envelope):
        mine_h, ref_h = _at(cells, h), _at(reference, h)
        ref_cell, seeds = envelope[h]
        cell = best_cell(mine_h, seeds)
        losses, ref_losses = [mine_h[cell][s] for s in seeds], [ref_h[ref_cell][s] for s in seeds]
        row: dict[str, Any] = {
            "seeds": seeds,
            "cells": [len(mine_h), len(ref_h)],
            "best": {"init": list(cell), "random": list(ref_cell)},
            "edge": {"init": _grid_edge(cell, list(cells)), "random": _grid_edge(ref_cell, list(reference))},
            "final_val_loss": {"init": mean_sd(losses), "random": mean_sd(ref_losses)},
            "delta": paired_difference(losses, ref_losses),
        }
        held_out = held_out_seed_difference(mine_h, ref_h, seeds)
        if held_out is not None:
            held_out["chosen"] = {str(s): [list(a), list(b)] for s, (a, b) in held_out["chosen"].items()}
            row["held_out_seed"] = held_out
        curves = []
        for s in seeds:
            hs = [H for H in sorted(envelope) if s in envelope[H][1]]
            curves.append((hs, [reference[envelope[H][0]][H][s] for H in hs]))
        if all(len(c[0]) > 1 for c in curves):
            row.update(_saved(curves, losses, h))
        rows[str(h)] = row
    return rows


_MARK = {"exact": "", "above": ">", "below": "<"}


def _bound(censored: list[str]) -> str:
    """The mark of a seed mean of steps saved: ``>`` a lower bound, ``<`` an upper one, ``~`` both."""
    marks = {_MARK[c] for c in censored} - {""}
    return "~" if len(marks) > 1 else "".join(marks)


def _p(p: float) -> str:
    return "—" if p != p else f"{p:.2g}"


def _cell(cell: list[float]) -> str:
    return f"{cell[0]:g} × {cell[1]:g}"


def markdown_table(report: dict[str, Any]) -> str:
    c, s = report["config"], report["summary"]
    m, t = c["model"], c["train"]
    p = report["parameters"]
    lines = [
        f"Corpus `{c['corpus']}` ({c['data']['tokenizer']}, vocabulary {report['vocab_size']:,}; "
        f"{report['train_tokens']:,} train / {report['val_tokens']:,} validation tokens), {c['architecture']} "
        f"{m['n_layer']} layers × {m['n_head']} heads, n_embd {m['n_embd']}, block {m['block_size']} "
        f"({p['total']:,} parameters, embedding {100 * p['embedding'] / p['total']:.0f} %), batch {t['batch_size']}; "
        f"AdamW, wd {t['weight_decay']}, wsd: warmup {report['warmup_steps']} steps, constant, "
        f"{t['decay_shape']} decay over the last {100 * t['decay_fraction']:.0f} % to {t['min_lr_ratio']} × lr; "
        "seeds paired by seed (mean ± sd). Each horizon's run branches off one constant-rate trunk.",
        "",
    ]
    earlier = report["arms_from_earlier_commands"]
    if earlier:
        lines += [
            f"This report covers every arm in the directory made with these settings: {len(s)} arms, "
            f"{len(earlier)} of them from earlier commands ({', '.join(f'`{a}`' for a in earlier)}).",
            "",
        ]
    bvb = report["best_vs_best"]
    sizes = bvb.get("grid_sizes", {})
    if bvb.get("inits") and max(sizes.values()) > 1:
        lines += _best_vs_best_lines(bvb)
    lines += _same_setting_lines(s)
    lines += _fit_lines(s, bvb)
    return "\n".join(lines) + "\n"


def _same_setting_lines(s: dict[str, Any]) -> list[str]:
    """Each arm against random at the same setting, one row per (arm, horizon)."""
    lines = [
        "## Each arm against random at the same setting",
        "",
        "Δ: this init minus random at the same horizon, learning rate, multiplier and seed (p: paired t-test). Steps "
        "saved: the steps random init needs to reach this init's final loss (its final losses across horizons, "
        "interpolated in log T), minus T; `>` marks a lower bound (below random's loss at the longest horizon), "
        "`<` an upper bound.",
        "",
        "| init | lr | emb × | horizon | seeds | final val loss | Δ vs random | p | steps saved | saved / T |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in s.values():
        for horizon, row in entry["horizons"].items():
            delta = row.get("delta_vs_random")
            cells = ["—"] * 4
            if delta is not None:
                bound = _bound(row["censored"])
                cells = [
                    f"{delta['mean']:+.3f} ± {delta['sd']:.3f}",
                    _p(delta["p"]),
                    f"{bound}{row['steps_saved'][0]:+.0f} ± {row['steps_saved'][1]:.0f}",
                    f"{bound}{100 * row['saved_fraction'][0]:+.0f} %",
                ]
            loss = row["final_val_loss"]
            lines.append(
                f"| {entry['init']} | {entry['lr']:g} | {entry['embedding_lr_mult']:g} | {horizon} | {len(row['seeds'])} | "
                f"{loss[0]:.3f} ± {loss[1]:.3f} | " + " | ".join(cells) + " |"
            )
    return lines


def _fit_lines(s: dict[str, Any], bvb: dict[str, Any]) -> list[str]:
    """The saved(T) fits of every arm and of best against best."""
    fits = [
        (f"{e['init']} (lr {e['lr']:g}, × {e['embedding_lr_mult']:g})", e["fit"]) for e in s.values() if e.get("fit")
    ]
    fits += [(f"{init}, best against best", e["fit"]) for init, e in bvb.get("inits", {}).items() if e.get("fit")]
    lines: list[str] = []
    if fits:
        lines += ["", "Steps saved vs horizon T, least squares on the seed means at the uncensored horizons:", ""]
        lines += ["| arm | a + b·T | rmse (steps) | a·T^c | rmse (steps) | better fit |", "|---|---|---:|---|---:|---|"]
        for label, f in fits:
            lin, pw = f["linear"], f["power"]
            power = "—" if pw is None else f"{pw['a']:.3g}·T^{pw['c']:.3f}"
            power_rmse = "—" if pw is None else f"{pw['rmse']:.0f}"
            lines.append(
                f"| {label} | {lin['a']:+.0f} {lin['b']:+.4f}·T | {lin['rmse']:.0f} | {power} | {power_rmse} | {f['better']} |"
            )
    return lines


def _best_vs_best_lines(bvb: dict[str, Any]) -> list[str]:
    sizes = bvb["grid_sizes"]
    same = len(set(sizes.values())) == 1
    lines = [
        "## Best against best",
        "",
        "At each horizon, each init's best cell of its grid (lr × embedding multiplier), chosen on the mean final "
        "loss over the seeds every cell of both sides has there, against random's best cell, paired by seed. "
        + (
            f"Both sides search grids of the same size ({next(iter(sizes.values()))} cells), so the choice favours "
            "neither; "
            if same
            else "**The grids differ in size** ("
            + ", ".join(f"{i}: {n}" for i, n in sizes.items())
            + " cells): the larger grid has more chances to win by noise; "
        )
        + "the held-out-seed Δ chooses each side's cell on the other seeds and reads the held-out one, free of that "
        "selection's optimism. Steps saved are read from random's best-at-each-horizon curve. `edge`: the chosen "
        "cell lies on its grid's edge, so the true best may lie outside it.",
        "",
        "| init | horizon | seeds | random's best (lr × mult) | loss | init's best | loss | Δ | p | held-out-seed Δ | "
        "steps saved | saved / T |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for init, entry in bvb["inits"].items():
        for horizon, row in entry["horizons"].items():
            edge = {k: f" (edge: {', '.join(v)})" if v else "" for k, v in row["edge"].items()}
            held = row.get("held_out_seed")
            held_text = "—" if held is None else f"{held['mean']:+.3f} ± {held['sd']:.3f}"
            saved = "—"
            fraction = "—"
            if "steps_saved" in row:
                bound = _bound(row["censored"])
                saved = f"{bound}{row['steps_saved'][0]:+.0f} ± {row['steps_saved'][1]:.0f}"
                fraction = f"{bound}{100 * row['saved_fraction'][0]:+.0f} %"
            loss = row["final_val_loss"]
            lines.append(
                f"| {init} | {horizon} | {len(row['seeds'])} | {_cell(row['best']['random'])}{edge['random']} | "
                f"{loss['random'][0]:.3f} | {_cell(row['best']['init'])}{edge['init']} | {loss['init'][0]:.3f} | "
                f"{row['delta']['mean']:+.3f} ± {row['delta']['sd']:.3f} | {_p(row['delta']['p'])} | {held_text} | "
                f"{saved} | {fraction} |"
            )
    return lines + [""]


def _saved_points(rows: list[dict[str, Any]], horizons: list[int]) -> dict[str, tuple[list[int], list[float]]]:
    """The seed means of steps saved split by kind: ``exact`` points, ``lower`` and ``upper`` bounds."""
    points: dict[str, tuple[list[int], list[float]]] = {"exact": ([], []), "lower": ([], []), "upper": ([], [])}
    for h, r in zip(horizons, rows, strict=True):
        if "steps_saved" not in r:
            continue
        kind = {"": "exact", ">": "lower", "<": "upper"}.get(_bound(r["censored"]), "lower")
        points[kind][0].append(h)
        points[kind][1].append(r["steps_saved"][0])
    return points


def plot(report: dict[str, Any], path: Path) -> Any:
    """Steps saved vs horizon (log axis; bounds drawn as open triangles: ▲ a lower bound, ▼ an upper one)
    beside final loss vs horizon and, with grids, the best embedding multiplier vs horizon. Returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bvb = report["best_vs_best"]
    grids = any(e["horizons"] for e in bvb.get("inits", {}).values()) and max(bvb["grid_sizes"].values()) > 1
    span = sorted({int(h) for e in report["summary"].values() for h in e["horizons"]})
    fig, axes = plt.subplots(1, 3 if grids else 2, figsize=(19 if grids else 13, 4.8))
    left, right = axes[0], axes[1]
    series = [
        (e["init"], f"{e['init']} (lr {e['lr']:g}, emb ×{e['embedding_lr_mult']:g})", e["horizons"])
        for e in report["summary"].values()
    ]
    if grids:
        series = [(init, f"{init}: best against best", e["horizons"]) for init, e in bvb["inits"].items()]
    _plot_saved(left, series)
    for entry in report["summary"].values():
        horizons = [int(h) for h in entry["horizons"]]
        losses = [r["final_val_loss"][0] for r in entry["horizons"].values()]
        label = f"{entry['init']} (lr {entry['lr']:g}, emb ×{entry['embedding_lr_mult']:g})"
        right.plot(horizons, losses, marker="o", lw=0.8 if grids else 1.5, label=label)
    left.axhline(0, color="black", lw=0.8)
    left.set(
        xscale="log",
        xlabel="horizon T (steps)",
        ylabel="steps saved vs random",
        title="Steps saved (band: min–max over seeds; ▲/▼ open: lower/upper bounds)",
    )
    right.set(xscale="log", xlabel="horizon T (steps)", ylabel="final validation loss", title="Final loss per horizon")
    if grids:
        _plot_best_settings(axes[2], bvb)
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.set_xlim(span[0] / 1.25, span[-1] * 1.25)  # also when an axis has nothing to draw
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig


def _plot_saved(ax: Any, series: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Steps saved vs horizon per series: exact values joined, bounds as open triangles, a min-max band."""
    for init, label, by_h in series:
        horizons, rows = [int(h) for h in by_h], list(by_h.values())
        points = _saved_points(rows, horizons)
        if init == "random" or not any(points[k][0] for k in points):
            continue
        (line,) = ax.plot(*points["exact"], "o-", label=label)  # the line joins exact values only
        ax.plot(*points["lower"], "^", mfc="none", color=line.get_color(), ms=9)
        ax.plot(*points["upper"], "v", mfc="none", color=line.get_color(), ms=9)
        per_seed = [r["steps_saved_per_seed"] for r in rows if "steps_saved_per_seed" in r]
        if per_seed and len({len(p) for p in per_seed}) == 1:
            band = np.array(per_seed)
            hs = [h for h, r in zip(horizons, rows, strict=True) if "steps_saved_per_seed" in r]
            ax.fill_between(hs, band.min(1), band.max(1), color=line.get_color(), alpha=0.2)


def _plot_best_settings(ax: Any, bvb: dict[str, Any]) -> None:
    """Each side's best embedding multiplier vs horizon."""
    chosen = {"random": next(iter(bvb["inits"].values()))["horizons"]} | {
        i: e["horizons"] for i, e in bvb["inits"].items()
    }
    for init, by_h in chosen.items():
        side = "random" if init == "random" else "init"
        ax.plot([int(h) for h in by_h], [r["best"][side][1] for r in by_h.values()], marker="o", label=init)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="horizon T (steps)",
        ylabel="best embedding multiplier",
        title="Each side's best setting per horizon",
    )
