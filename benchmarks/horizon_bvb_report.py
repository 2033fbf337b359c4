"""The best-against-best study's report, rebuilt from what its directory holds (no training): every
finished branch made with the study's settings, as `mobius-init horizons` reports them, written to
docs/results/horizons-bvb/ (results.md, summary.json, horizons.png) with every run record the directory
holds, per-step logs included (logs.json.gz: what the forecast validation,
benchmarks/bench_forecast_horizons.py, reads).

    python benchmarks/horizon_bvb_report.py ~/runs/horizons-bvb [--out docs/results/horizons-bvb] \
        [--logs docs/results/horizons-bvb/logs.json.gz] [--earlier docs/results/horizons-bvb/summary.json]

``--logs``: a committed archive of run records (trunks and branches by file name, as written to
``OUT/logs.json.gz``): those the directory lacks are written back into its ``runs/`` first, so branches
trained on an earlier machine count as if they were here (and are not retrained by ``--resume``). The
archive written to OUT holds every record of the directory, restored ones included, so it grows with
the study from machine to machine.

``--embedding-lr-mults 1,3,10,30``: the report on those cells of both arms' grids only, so that the best
cell is chosen on every seed those cells have (the choice uses the seeds every cell shares); it writes no
archive (the unfiltered report's holds every record).

``--earlier``: final losses this directory no longer holds (branches trained on an earlier machine), read
from an earlier report's summary.json: a cell's only seed there, or the one seed missing here when all its
others are present (its value is n * mean - the others' sum). They are listed at the top of results.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from mobius_init.experiments.data import load_or_prepare, write_atomic
from mobius_init.experiments.horizons import HorizonsConfig, _parameter_counts, collect_runs
from mobius_init.experiments.horizons_forecast import load_study_logs
from mobius_init.experiments.horizons_report import best_against_best, markdown_table, plot, summarize
from mobius_init.options import list_of


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


def restore(archive: dict[str, Any], study: Path) -> list[str]:
    """Write the archive's records that ``study/runs`` lacks into it; their names."""
    names = []
    for records in archive.values():
        for name, record in records.items():
            path = study / "runs" / f"{name}.json"
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(record))
                names.append(name)
    return sorted(names)


def recovered(earlier: dict[str, Any], results: dict[str, Any]) -> dict[str, dict[int, dict[int, dict[str, Any]]]]:
    """Per arm, horizon and seed, the final losses ``earlier`` (a summary.json) holds and ``results`` lacks:
    exactly, where at most one of a row's seeds is missing here."""
    out: dict[str, dict[int, dict[int, dict[str, Any]]]] = {}
    for arm, entry in earlier["summary"].items():
        for horizon, row in entry["horizons"].items():
            have = results.get(arm, {}).get(int(horizon), {})
            missing = [s for s in row["seeds"] if s not in have]
            if len(missing) != 1:
                continue
            rest = sum(have[s]["final_val_loss"] for s in row["seeds"] if s in have)
            value = len(row["seeds"]) * row["final_val_loss"][0] - rest
            out.setdefault(arm, {}).setdefault(int(horizon), {})[missing[0]] = {"final_val_loss": value}
    return out


def merged(results: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {arm: {h: dict(by_seed) for h, by_seed in by_h.items()} for arm, by_h in results.items()}
    for arm, by_h in extra.items():
        for h, by_seed in by_h.items():
            out.setdefault(arm, {}).setdefault(h, {}).update(by_seed)
    return {arm: {h: dict(sorted(out[arm][h].items())) for h in sorted(out[arm])} for arm in out}


def only_multipliers(results: dict[str, Any], mults: set[float]) -> dict[str, Any]:
    """The arms (``init|lr|mult``) whose embedding multiplier is one of ``mults``, every init alike."""
    return {arm: by_h for arm, by_h in results.items() if float(arm.split("|")[2]) in mults}


def provenance(extra: dict[str, Any], source: Path) -> str:
    if not extra:
        return ""
    cells = []
    for arm, by_h in extra.items():
        seeds = sorted({s for by_seed in by_h.values() for s in by_seed})
        cells.append(f"`{arm}` seed {', '.join(map(str, seeds))} ({len(by_h)} horizons)")
    return f"Final losses read from an earlier report ({source}), their branches not kept: {'; '.join(cells)}.\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/results/horizons-bvb"))
    parser.add_argument("--earlier", type=Path, help="an earlier report's summary.json (see above)")
    parser.add_argument("--logs", type=Path, help="an archive of run records to restore (see above)")
    parser.add_argument(
        "--embedding-lr-mults",
        type=list_of(float),
        help="report only these multipliers' cells, for both arms (a grid that more seeds cover; default: all)",
    )
    args = parser.parse_args()
    if args.logs:
        restored = restore(load_study_logs(args.logs), args.study)
        print(f"restored {len(restored)} records from {args.logs}")
    earlier = json.loads(args.earlier.read_text()) if args.earlier else None
    saved = json.loads((args.study / "results.json").read_text())["config"]
    config = rebuilt(HorizonsConfig, {**saved, "train": {**saved["train"], "device": "cpu"}, "progress": False})
    data = load_or_prepare(config, args.study)
    model_config = replace(config.model, vocab_size=data.stats.vocab_size)
    results = collect_runs(config, model_config, args.study)
    extra = recovered(earlier, results) if earlier else {}
    if args.embedding_lr_mults:  # the earlier report's finals too, so its provenance lists only these cells
        results, extra = (only_multipliers(r, set(args.embedding_lr_mults)) for r in (results, extra))
    results = merged(results, extra)
    report = {
        "config": saved,
        "warmup_steps": config.warmup,
        "vocab_size": data.stats.vocab_size,
        "train_tokens": int(len(data.train_ids)),
        "val_tokens": int(len(data.val_ids)),
        "parameters": _parameter_counts(config.architecture, model_config),
        "arms_from_earlier_commands": [],
        "from_earlier_report": {
            arm: {h: sorted(by_seed) for h, by_seed in by_h.items()} for arm, by_h in extra.items()
        },
        "summary": summarize(results),
        "best_vs_best": best_against_best(results),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({k: v for k, v in report.items() if k != "config"}, indent=1))
    (args.out / "results.md").write_text(provenance(extra, args.earlier) + markdown_table(report))
    plot(report, args.out / "horizons.png")
    if not args.embedding_lr_mults:  # the archive is the whole study's, written by the unfiltered report
        with gzip.GzipFile(args.out / "logs.json.gz", "wb", mtime=0) as f:  # mtime 0: the same records, same bytes
            f.write(json.dumps(load_study_logs(args.study), sort_keys=True).encode())
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
