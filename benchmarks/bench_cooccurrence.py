"""Co-occurrence counting throughput on a Wikipedia shard, against a numpy.unique reference.

    python benchmarks/bench_cooccurrence.py [--corpus PATH] [--out results.json]

Settings (issue 2): text8 normalisation, word-level, min_count 10, window 5, harmonic weighting.
Phases run in separate processes, so each reports its own peak resident memory:
  encode     read + normalise + train word tokenizer + encode + vocabulary (writes ids to a temp dir)
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
from _common import SHARD_AA, peak_rss_gib, require, run_phase  # noqa: E402

WINDOW, WEIGHTING, MIN_COUNT = 5, "harmonic", 10


def load_docs(work: Path) -> tuple[list[np.ndarray], int]:
    ids = np.load(work / "ids.npy")
    lens = np.load(work / "lens.npy")
    return np.split(ids, np.cumsum(lens)[:-1]), int(np.load(work / "vocab_size.npy"))


def phase_encode(corpus: Path, work: Path) -> dict:
    """The steps ``CorpusStats.from_corpus`` runs before counting, timed on their own."""
    from mobius_init import read_corpus
    from mobius_init.stats import _in_vocabulary
    from mobius_init.tokenize import UNK, encode, tokenizer_tokens, train_tokenizer
    from mobius_init.vocab import Vocabulary

    t0 = time.perf_counter()
    docs = list(read_corpus(corpus, normalize="text8"))
    t_read = time.perf_counter() - t0
    tok = train_tokenizer(docs, "word")
    raw = list(encode(tok, docs))
    tokens = tokenizer_tokens(tok)
    counts = np.bincount(np.concatenate(raw), minlength=len(tokens))
    vocab = Vocabulary.from_counts(tokens, counts, min_count=MIN_COUNT, exclude=[tok.token_to_id(UNK)])
    table = vocab.remap(len(tokens))
    kept = [_in_vocabulary(table, a) for a in raw]
    seconds = time.perf_counter() - t0
    np.save(work / "ids.npy", np.concatenate(kept))
    np.save(work / "lens.npy", np.array([len(a) for a in kept]))
    np.save(work / "vocab_size.npy", np.array(len(vocab)))
    n_raw = int(sum(map(len, raw)))
    return {
        "seconds": seconds,
        "read_normalise_seconds": t_read,
        "tokens": n_raw,
        "kept_tokens": int(sum(map(len, kept))),
        "docs": len(docs),
        "vocab_size": len(vocab),
        "tokens_per_s": n_raw / seconds,
        "peak_gib": peak_rss_gib(),
    }


def phase_count(work: Path) -> dict:
    from mobius_init import count_cooccurrence

    docs, V = load_docs(work)
    n = sum(map(len, docs))
    t0 = time.perf_counter()
    C = count_cooccurrence(docs, V, WINDOW, WEIGHTING)
    seconds = time.perf_counter() - t0
    sp.save_npz(work / "C.npz", C, compressed=False)
    return {
        "seconds": seconds,
        "tokens": n,
        "tokens_per_s": n / seconds,
        "nnz": C.nnz,
        "peak_gib": peak_rss_gib(),
        "workers": min(os.cpu_count() or 1, 8),
    }


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
    docs, V = load_docs(work)
    n = sum(map(len, docs))
    t0 = time.perf_counter()
    C = reference_cooccurrence(docs, V)
    seconds = time.perf_counter() - t0
    ours = sp.load_npz(work / "C.npz")
    diff = abs(ours - C).max() if ours.nnz else 0.0
    return {
        "seconds": seconds,
        "tokens": n,
        "tokens_per_s": n / seconds,
        "nnz": C.nnz,
        "peak_gib": peak_rss_gib(),
        "max_abs_diff_vs_count": float(diff),
        "same_nnz": bool(C.nnz == ours.nnz),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARD_AA)
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--phase", choices=["encode", "count", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        fn = {
            "encode": lambda: phase_encode(args.corpus, args.work),
            "count": lambda: phase_count(args.work),
            "reference": lambda: phase_reference(args.work),
        }[args.phase]
        print(json.dumps(fn()))
        return
    require(args.corpus)
    with tempfile.TemporaryDirectory() as work:
        extra = ["--corpus", str(args.corpus), "--work", work]
        results = {p: run_phase(__file__, p, *extra) for p in ("encode", "count", "reference")}
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}
    results["speedup_vs_reference"] = results["reference"]["seconds"] / results["count"]["seconds"]
    e, c, r = results["encode"], results["count"], results["reference"]
    print(
        f"corpus {args.corpus.name}: {e['tokens']:,} tokens, {e['docs']:,} documents, vocabulary {e['vocab_size']:,} "
        f"(min_count {MIN_COUNT}), {e['kept_tokens']:,} tokens kept; window {WINDOW} {WEIGHTING}; {os.cpu_count()} CPUs\n"
    )
    print("| phase | seconds | tokens/s | peak memory |")
    print("|---|---:|---:|---:|")
    print(
        f"| read + text8 + vocabulary + encode (tokenizers) | {e['seconds']:.1f} | {e['tokens_per_s'] / 1e6:.2f} M | {e['peak_gib']:.2f} GiB |"
    )
    print(f"| count_cooccurrence | {c['seconds']:.1f} | {c['tokens_per_s'] / 1e6:.2f} M | {c['peak_gib']:.2f} GiB |")
    print(
        f"| numpy.unique reference | {r['seconds']:.1f} | {r['tokens_per_s'] / 1e6:.2f} M | {r['peak_gib']:.2f} GiB |"
    )
    print(
        f"\ncounting speed-up over the reference: {results['speedup_vs_reference']:.2f}x; "
        f"non-zeros {c['nnz']:,}; max |difference| {r['max_abs_diff_vs_count']:.2e}"
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
