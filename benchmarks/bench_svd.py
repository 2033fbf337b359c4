"""How many power iterations does Res2Vec's randomized SVD need? Measured against a high-accuracy solve.

    python benchmarks/bench_svd.py [--corpus PATH] [--out results.json]

The PPMI matrix of shard AA under Res2Vec's default counting (window 2, linear weights, min_count 5,
cds 0.75). Reference: the randomized SVD in float64 with 600 extra columns and 25 power iterations
(its singular values are checked to have settled). For each n_iter, the embedding Res2Vec would save
at d = 300 (U S^0.5 plus V S^0.5, rows normalised) and the fraction of each word's 10 nearest
neighbours (cosine, over the whole vocabulary) that the reference shares, for 2,000 words spread over
the 30,000 most frequent. The criterion (issue 13): the fewest iterations with overlap >= 0.95.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, parse_args, require, save_results  # noqa: E402

ITERATIONS = (0, 1, 2, 3, 4, 6)
DIM, WORDS, NEIGHBOURS, CRITERION = 300, 2000, 10, 0.95


def vectors(U: np.ndarray, S: np.ndarray, Vt: np.ndarray) -> np.ndarray:
    from res2vec.model import _unit_rows

    return _unit_rows(_unit_rows(U * S**0.5) + _unit_rows(Vt.T * S**0.5))


def neighbours(E: np.ndarray, queries: np.ndarray) -> np.ndarray:
    scores = E[queries] @ E.T
    scores[np.arange(len(queries)), queries] = -np.inf
    return np.argpartition(-scores, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]


def main() -> None:
    from mobius_init import encode_corpus
    from mobius_init.cooccurrence import count_cooccurrence
    from mobius_init.matrices import ppmi
    from mobius_init.spectral import randomized_svd

    args = parse_args(__doc__, ())
    require(args.corpus)
    encoded = encode_corpus(args.corpus, min_count=5)
    P = ppmi(count_cooccurrence(encoded.documents(), len(encoded.vocab), 2, "linear"), 0.75)
    print(
        f"PPMI {P.shape[0]:,} x {P.shape[1]:,}, {P.nnz:,} non-zeros; {os.cpu_count()} CPUs, torch "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )
    t0 = time.perf_counter()
    U, S, Vt = randomized_svd(P, DIM, n_oversamples=600, n_iter=25, dtype=torch.float64)
    reference_seconds = time.perf_counter() - t0
    S_check = randomized_svd(P, DIM, n_oversamples=600, n_iter=20, dtype=torch.float64)[1]
    settled = float(np.max(np.abs(S_check - S) / S))
    queries = np.random.default_rng(0).choice(min(30_000, P.shape[0]), WORDS, replace=False)
    reference = neighbours(vectors(U, S, Vt), queries)
    rows = []
    for n_iter in ITERATIONS:
        t0 = time.perf_counter()
        u, s, vt = randomized_svd(P, DIM, n_iter=n_iter)
        seconds = time.perf_counter() - t0
        found = neighbours(vectors(u, s, vt), queries)
        overlap = float(np.mean([len(set(a) & set(b)) / NEIGHBOURS for a, b in zip(found, reference, strict=True)]))
        tail = float(np.abs(s[-1] - S[-1]) / S[-1])
        rows.append({"n_iter": n_iter, "seconds": seconds, "overlap": overlap, "last_singular_value_error": tail})
        print(f"n_iter {n_iter}: {seconds:.2f} s, top-{NEIGHBOURS} overlap {overlap:.3f}", flush=True)
    chosen = next((r["n_iter"] for r in rows if r["overlap"] >= CRITERION), None)
    print(
        f"\nreference: {reference_seconds:.1f} s; its singular values moved at most {settled:.1e} (relative) "
        f"between 20 and 25 iterations\n"
    )
    print(
        markdown_table(
            ["n_iter", "SVD seconds", f"top-{NEIGHBOURS} neighbour overlap", "error of σ_300"],
            [
                [r["n_iter"], f"{r['seconds']:.2f}", f"{r['overlap']:.3f}", f"{r['last_singular_value_error']:.3f}"]
                for r in rows
            ],
            align="rrrr",
        )
    )
    print(f"\nfewest power iterations with overlap >= {CRITERION}: {chosen}")
    save_results(
        args,
        {
            "matrix": {"V": P.shape[0], "nnz": int(P.nnz)},
            "reference_seconds": reference_seconds,
            "reference_settled": settled,
            "rows": rows,
            "chosen_n_iter": chosen,
            "cpus": os.cpu_count(),
        },
    )


if __name__ == "__main__":
    main()
