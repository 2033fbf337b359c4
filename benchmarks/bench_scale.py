"""Res2Vec at scale on one machine: the three Wikipedia shards, then a billion-token stream.

    python benchmarks/bench_scale.py [--only shards|billion] [--repeat 20] [--out results.json]

  shards   the three shards (49 M tokens) with a large vocabulary: min_count 2
  billion  the three shards read --repeat times in a row (20: about 1 B tokens), min_count 2 x repeat
Res2Vec's defaults otherwise (SVD at 300, dim="auto"). Each runs in its own process; wall time and peak
resident memory are reported per stage (memory sampled every 50 ms), and each phase's result is written
to --out as soon as it ends. In the repeated corpus every count is ``repeat`` times the shards' count, so
min_count 2 x repeat keeps the shards' vocabulary: the billion-token run measures the cost of streaming
and counting 20 times the text at a fixed vocabulary, not the larger vocabulary a real billion-token
corpus would bring (at min_count 2 the repeated text admits every word seen once). Targets for
``billion`` on the 2-core machine (issue 13): <= 60 min and <= 16 GiB. The ids of a corpus beyond
128 M tokens are spilled to a temporary file (``$TMPDIR``), so memory follows the vocabulary and the
matrix, not the text.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, MemorySampler, markdown_table, parse_args, require, run_phase, save_results  # noqa: E402

SHARDS = [SHARED_DATA / "corpus" / f"enwiki-2015-wikiextractor-{s}.txt.xz" for s in ("AA", "AB", "AC")]
PHASES = ("shards", "billion")


def phase(name: str, repeat: int) -> dict:
    from mobius_init.corpus import Files
    from res2vec import Res2Vec

    source = Files(SHARDS * (repeat if name == "billion" else 1))
    with MemorySampler() as memory:
        start = time.perf_counter()
        model = Res2Vec(min_count=2 * (repeat if name == "billion" else 1)).fit(source)
        seconds = time.perf_counter() - start
    r = model.results_
    return {
        "seconds": seconds,
        "peak_gib": memory.peak(start, start + seconds),
        "stages": r["seconds"],
        "stage_peak_gib": memory.stage_peaks(start, r["seconds"]),
        "vocab_size": r["vocab_size"],
        "n_tokens_raw": r["n_tokens_raw"],
        "n_tokens": r["n_tokens"],
        "nnz": r["nnz"],
        "dim": r["dim"],
        "files": len(source),
        "min_count": model.min_count,
    }


def main() -> None:
    def options(parser):
        parser.add_argument("--only", nargs="*", choices=PHASES, default=PHASES)
        parser.add_argument("--repeat", type=int, default=20)

    args = parse_args(__doc__, PHASES, options)
    if args.phase:
        print(json.dumps(phase(args.phase, args.repeat)))
        return
    for shard in SHARDS:
        require(shard)
    results = {}
    for name in args.only:
        results[name] = r = run_phase(__file__, name, "--repeat", str(args.repeat))
        print(
            f"\n{name}: {r['n_tokens_raw']:,} tokens ({r['files']} files), vocabulary {r['vocab_size']:,}, "
            f"{r['nnz']:,} non-zeros, d = {r['dim']}: {r['seconds'] / 60:.1f} min, peak {r['peak_gib']:.2f} GiB"
        )
        print(
            markdown_table(
                ["stage", "seconds", "peak GiB"],
                [[s, f"{t:.1f}", f"{r['stage_peak_gib'][s]:.2f}"] for s, t in r["stages"].items()],
            )
        )
        save_results(args, {**results, "cpus": os.cpu_count()})


if __name__ == "__main__":
    main()
