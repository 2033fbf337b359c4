"""The best-against-best study's report, rebuilt from what its directory holds (no training): every
finished branch made with the study's settings, as `mobius-init horizons` reports them, written to
docs/results/horizons-bvb/ (results.md, summary.json, horizons.png) with the per-step logs the
forecast validation reads (logs.json.gz, via benchmarks/bench_forecast_horizons.py --save-logs).

    python benchmarks/horizon_bvb_report.py ~/runs/horizons-bvb [--out docs/results/horizons-bvb]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from mobius_init.experiments.data import load_or_prepare
from mobius_init.experiments.horizons import HorizonsConfig, _parameter_counts, collect_runs
from mobius_init.experiments.horizons_report import best_against_best, markdown_table, plot, summarize


def rebuilt(cls: type, values: dict[str, Any]) -> Any:
    """A settings dataclass from its ``asdict`` (nested dataclasses and tuples restored)."""
    kwargs = {}
    for f in fields(cls):
        if f.name not in values:
            continue
        default = getattr(cls(), f.name) if f.name != "train" or cls is not HorizonsConfig else HorizonsConfig().train
        value = values[f.name]
        if is_dataclass(default):
            value = rebuilt(type(default), value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/results/horizons-bvb"))
    args = parser.parse_args()
    saved = json.loads((args.study / "results.json").read_text())["config"]
    config = rebuilt(HorizonsConfig, {**saved, "train": {**saved["train"], "device": "cpu"}, "progress": False})
    data = load_or_prepare(config, args.study)
    model_config = replace(config.model, vocab_size=data.stats.vocab_size)
    results = collect_runs(config, model_config, args.study)
    report = {
        "config": saved,
        "warmup_steps": config.warmup,
        "vocab_size": data.stats.vocab_size,
        "train_tokens": int(len(data.train_ids)),
        "val_tokens": int(len(data.val_ids)),
        "parameters": _parameter_counts(config.architecture, model_config),
        "arms_from_earlier_commands": [],
        "summary": summarize(results),
        "best_vs_best": best_against_best(results),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({k: v for k, v in report.items() if k != "config"}, indent=1))
    (args.out / "results.md").write_text(markdown_table(report))
    plot(report, args.out / "horizons.png")
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
