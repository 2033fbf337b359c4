"""MobiusKernel at GPT-2 vocabulary size: matrix-free k0 + circulant W + E, against dense eigh.

    python benchmarks/bench_kernel.py [--corpus PATH] [--vocab-size 50257] [--dim 768] [--out results.json]

1. statistics: byte-level BPE with --vocab-size ids trained on the shard, uniform window-5 counts
   (min_count 0, so every BPE id is kept; never-seen ids are all-zero rows of D). Cached next to
   the results as a .npz.
2. `large` (own process, so its peak memory is its own): D = log(1 + C), derive_k0(method="auto")
   with its accuracy estimate, the circulant W's first row, E (V x dim) from the Fourier basis.
   Targets (issue 3): <= 10 min and <= 8 GiB on the 2-core machine.
3. `dense` (own process): numpy.linalg.eigh k0 at V = 1,000 / 2,000 / 4,000 (the top ids of the same
   D), with the matrix-free k0's time and cosine against it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, parse_args, peak_rss_gib, require, run_phase, save_results  # noqa: E402


def phase_large(stats_path: Path, dim: int) -> dict:
    from mobius_init import CorpusStats
    from mobius_init.kernel import circulant_embeddings, derive_k0, reconstruct_w_row

    stats = CorpusStats.load(stats_path)
    t0 = time.perf_counter()
    D = stats.D()
    k0, info = derive_k0(D, 0.003, method="auto", return_info=True)
    t_k0 = time.perf_counter() - t0
    w = reconstruct_w_row(D, k0)
    t_w = time.perf_counter() - t0 - t_k0
    E = circulant_embeddings(w, dim)
    total = time.perf_counter() - t0
    return {
        "V": stats.vocab_size,
        "nnz_D": int(D.nnz),
        "dim": dim,
        "seconds_total": total,
        "seconds_k0": t_k0,
        "seconds_w": t_w,
        "seconds_E": total - t_k0 - t_w,
        "lanczos_iterations": info.iterations,
        "accuracy_estimate_1_minus_cos": info.change,
        "converged": info.converged,
        "E_finite": bool(np.isfinite(E).all()),
        "peak_gib": peak_rss_gib(),
    }


def phase_dense(stats_path: Path) -> dict:
    from mobius_init import CorpusStats
    from mobius_init.kernel import derive_k0

    stats = CorpusStats.load(stats_path)
    rows = []
    for V in (1000, 2000, 4000):
        D = stats.restrict(V).D()
        t0 = time.perf_counter()
        k_eigh = derive_k0(D.toarray(), 0.003, method="eigh")
        t_eigh = time.perf_counter() - t0
        t0 = time.perf_counter()
        k_auto, info = derive_k0(D, 0.003, method="auto", return_info=True)
        t_auto = time.perf_counter() - t0
        cos = float(k_eigh @ k_auto / (np.linalg.norm(k_eigh) * np.linalg.norm(k_auto)))
        rows.append(
            {
                "V": V,
                "eigh_seconds": t_eigh,
                "auto_seconds": t_auto,
                "auto_iterations": info.iterations,
                "auto_estimate": info.change,
                "cos_auto_vs_eigh": cos,
            }
        )
    return {"rows": rows, "peak_gib": peak_rss_gib()}


def main() -> None:
    def options(parser):
        parser.add_argument("--vocab-size", type=int, default=50257)
        parser.add_argument("--dim", type=int, default=768)
        parser.add_argument("--cache", type=Path, default=Path("bench-kernel-stats.npz"), help="statistics cache")

    args = parse_args(__doc__, ("large", "dense"), options)
    if args.phase:
        result = phase_large(args.cache, args.dim) if args.phase == "large" else phase_dense(args.cache)
        print(json.dumps(result))
        return
    from mobius_init import CorpusStats

    results: dict = {}
    if not args.cache.exists():
        require(args.corpus)
        t0 = time.perf_counter()
        stats = CorpusStats.from_corpus(
            args.corpus,
            tokenizer="bpe",
            vocab_size=args.vocab_size,
            min_count=0,
            window=5,
            weighting="uniform",
            progress=True,
        )
        results["stats_seconds"] = time.perf_counter() - t0
        stats.save(args.cache)
        print(stats.summary())
    extra = ["--cache", str(args.cache), "--dim", str(args.dim)]
    results["large"] = large = run_phase(__file__, "large", *extra)
    results["dense"] = dense = run_phase(__file__, "dense", *extra)
    print(
        f"\nV = {large['V']:,} (nnz(D) = {large['nnz_D']:,}), d = {large['dim']}: auto k0 + circulant W + E in "
        f"{large['seconds_total']:.1f} s (k0 {large['seconds_k0']:.1f} s, {large['lanczos_iterations']} Lanczos "
        f"iterations, estimate 1 - cos = {large['accuracy_estimate_1_minus_cos']:.1e}; W {large['seconds_w']:.2f} s; "
        f"E {large['seconds_E']:.1f} s), peak memory {large['peak_gib']:.2f} GiB\n"
    )
    rows = [
        [
            f"{r['V']:,}",
            f"{r['eigh_seconds']:.2f}",
            f"{r['auto_seconds']:.2f}",
            r["auto_iterations"],
            f"{r['cos_auto_vs_eigh']:.6f}",
        ]
        for r in dense["rows"]
    ]
    header = ["V", "dense eigh k0 (s)", "matrix-free k0 (s)", "Lanczos iterations", "cos(auto, eigh)"]
    print(markdown_table(header, rows, align="rrrrr"))
    save_results(args, results)


if __name__ == "__main__":
    main()
