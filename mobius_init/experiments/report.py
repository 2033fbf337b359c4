"""Writing a verify report: the claims' rows as markdown tables (claimed, measured, each control, verdict)."""

from __future__ import annotations

from typing import Any

from .claims import VERDICT_RULE


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return f"{value[0]}–{value[1]}"
    if isinstance(value, str):
        return value
    return f"{value:.1e}" if value != 0 and abs(value) < 1e-3 else f"{value:.3f}"


def table(title: str, rows: list[dict[str, Any]]) -> list[str]:
    """One markdown table; the control columns are the union of the rows' controls, in order."""
    controls: list[str] = []
    for r in rows:
        controls += [c for c in r["controls"] if c not in controls]
    lines = [
        "",
        f"## {title}",
        "",
        "| row | claimed | measured | " + "".join(f"{c} | " for c in controls) + "verdict | note |",
        "|---|---:|---:|" + "---:|" * len(controls) + "---|---|",
    ]
    for r in rows:
        m = r["measured"]
        cells = "".join(f"{fmt(r['controls'].get(c))} | " for c in controls)
        lines.append(
            f"| {r['row']} | {fmt(r['claimed'])} | {m['mean']:.3f} ± {m['sd']:.3f} | {cells}"
            f"{r['verdict']} | {r['note']} |"
        )
    return lines


def markdown(title: str, intro: str, tables: dict[str, list[dict[str, Any]]], extra: list[str] = ()) -> str:
    """The whole report: title, setup paragraph, the verdict rule, one table per claims table, extras."""
    lines = [f"# {title}", "", intro, "", f"Verdict rule: {VERDICT_RULE}"]
    for name, rows in tables.items():
        lines += table(name, rows)
    return "\n".join(lines + ["", *extra]) + "\n"
