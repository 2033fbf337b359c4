"""Co-occurrence counting throughput on a Wikipedia shard, against a numpy.unique reference.

    python benchmarks/bench_cooccurrence.py [--corpus PATH] [--out results.json]

Settings (issue 2): text8 normalisation, word-level, min_count 10, window 5, harmonic weighting.
Phases run in separate processes, so each reports its own peak resident memory:
  encode     mobius_init.encode_corpus: read + normalise + vocabulary + ids (written to a temp dir)
  count      mobius_init.count_cooccurrence on those ids (all cores)
  reference  the straightforward way: per chunk, key = i*V + j, numpy.unique + bincount, summed as
             scipy.sparse (one thread); checked against `count` for equality.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, parse_args, peak_rss_gib, run_phase, save_results  # noqa: E402

WINDOW, WEIGHTING, MIN_COUNT = 5, "harmonic", 10


def load_docs(work: Path) -> tuple[list[np.ndarray], int]:
    ids = np.load(work / "ids.npy")
    lens = np.load(work / "lens.npy")
    return np.split(ids, np.cumsum(lens)[:-1]), int(np.load(work / "vocab_size.npy"))


def phase_encode(corpus: Path, work: Path) -> dict:
    """The encode stage (read, normalise, vocabulary, ids), timed on its own."""
    from mobius_init import encode_corpus

    t0 = time.perf_counter()
    encoded = encode_corpus(corpus, min_count=MIN_COUNT)
    docs = list(encoded.documents())
    seconds = time.perf_counter() - t0
    np.save(work / "ids.npy", np.concatenate(docs))
    np.save(work / "lens.npy", np.array([len(a) for a in docs]))
    np.save(work / "vocab_size.npy", np.array(len(encoded.vocab)))
    return {
        "seconds": seconds,
        "tokens": encoded.n_tokens_raw,
        "kept_tokens": encoded.n_tokens,
        "docs": encoded.n_docs,
        "vocab_size": len(encoded.vocab),
        "tokens_per_s": encoded.n_tokens_raw / seconds,
        "peak_gib": peak_rss_gib(),
    }


def timed_count(work: Path, count) -> tuple[sp.csr_matrix, dict]:
    """``count(docs, V)`` on the saved ids, with its time, throughput and this process's peak memory."""
    docs, V = load_docs(work)
    n = sum(map(len, docs))
    t0 = time.perf_counter()
    C = count(docs, V)
    seconds = time.perf_counter() - t0
    return C, {"seconds": seconds, "tokens": n, "tokens_per_s": n / seconds, "nnz": C.nnz, "peak_gib": peak_rss_gib()}


def phase_count(work: Path) -> dict:
    from mobius_init import count_cooccurrence

    C, result = timed_count(work, lambda docs, V: count_cooccurrence(docs, V, WINDOW, WEIGHTING))
    sp.save_npz(work / "C.npz", C, compressed=False)
    return {**result, "workers": min(os.cpu_count() or 1, 8)}


def reference_cooccurrence(docs: list[np.ndarray], V: int, chunk: int = 1 << 20) -> sp.csr_matrix:
    """numpy.unique over int64 pair keys, chunk by chunk, accumulated in a scipy.sparse sum."""
    ids = np.concatenate(docs).astype(np.int64)
    seg = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    total = sp.csr_matrix((V, V))
    for s in range(0, len(ids), chunk):
        a, g = ids[s : s + chunk + WINDOW], seg[s : s + chunk + WINDOW]
        keys, vals = [], []
        for d in range(1, WINDOW + 1):
            end = min(chunk, len(a) - d)
            same = g[:end] == g[d : d + end]
            keys.append(a[:end][same] * V + a[d : d + end][same])
            vals.append(np.full(int(same.sum()), 1.0 / d))
        uniq, inverse = np.unique(np.concatenate(keys), return_inverse=True)
        summed = np.bincount(inverse, weights=np.concatenate(vals))
        total = total + sp.csr_matrix((summed, (uniq // V, uniq % V)), shape=(V, V))
    return (total + total.T).tocsr()


def phase_reference(work: Path) -> dict:
    C, result = timed_count(work, reference_cooccurrence)
    ours = sp.load_npz(work / "C.npz")
    diff = abs(ours - C).max() if ours.nnz else 0.0
    return {**result, "max_abs_diff_vs_count": float(diff), "same_nnz": bool(C.nnz == ours.nnz)}


def main() -> None:
    args = parse_args(__doc__, PHASES, lambda p: p.add_argument("--work", type=Path, help=argparse.SUPPRESS))
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    with tempfile.TemporaryDirectory() as work:
        extra = ["--corpus", str(args.corpus), "--work", work]
        results = {p: run_phase(__file__, p, *extra) for p in PHASES}
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}
    results["speedup_vs_reference"] = results["reference"]["seconds"] / results["count"]["seconds"]
    e, c, r = results["encode"], results["count"], results["reference"]
    print(
        f"corpus {args.corpus.name}: {e['tokens']:,} tokens, {e['docs']:,} documents, vocabulary {e['vocab_size']:,} "
        f"(min_count {MIN_COUNT}), {e['kept_tokens']:,} tokens kept; window {WINDOW} {WEIGHTING}; {os.cpu_count()} CPUs\n"
    )
    names = {
        "encode": "encode_corpus: read + text8 + vocabulary + ids",
        "count": "count_cooccurrence",
        "reference": "numpy.unique reference",
    }
    rows = [
        [
            names[p],
            f"{results[p]['seconds']:.1f}",
            f"{results[p]['tokens_per_s'] / 1e6:.2f} M",
            f"{results[p]['peak_gib']:.2f} GiB",
        ]
        for p in PHASES
    ]
    print(markdown_table(["phase", "seconds", "tokens/s", "peak memory"], rows))
    print(
        f"\ncounting speed-up over the reference: {results['speedup_vs_reference']:.2f}x; "
        f"non-zeros {c['nnz']:,}; max |difference| {r['max_abs_diff_vs_count']:.2e}"
    )
    save_results(args, results)


PHASES = {
    "encode": lambda args: phase_encode(args.corpus, args.work),
    "count": lambda args: phase_count(args.work),
    "reference": lambda args: phase_reference(args.work),
}

if __name__ == "__main__":
    main()
