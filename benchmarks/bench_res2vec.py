"""Res2Vec against gensim word2vec on one Wikipedia shard, in one run, and what each default bought.

    python benchmarks/bench_res2vec.py [--corpus PATH] [--out results.json] [--only NAME ...]

Every contestant runs in its own process (its wall time and peak memory are its own) from the raw
.xz file, reading and normalising (text8) included, and gets the same vocabulary rule (min_count 5,
gensim's default):
  res2vec         Res2Vec at its defaults (window 5 harmonic, PPMI cds 0.75, U S^0.5 + context vectors,
                  dim="auto")
  skipgram        gensim Word2Vec sg=1, vector_size 300, window 5, negative 5, 5 epochs, workers 2
  cbow            gensim Word2Vec sg=0, the same settings
and, for what each default buys (quality; each changes one setting of the defaults):
  fixed_dim       d = 300 instead of the PIP rule's choice
  no_context      word vectors only (U S^0.5), not w + c
  window2         window 2 with word2vec's dynamic (linear) weights, the defaults before
                  benchmarks/res2vec_configs.py chose window 5 harmonic
  power_svd       the defaults with the previous SVD (the power method, 300 extra columns, 8
                  iterations): what the block Krylov default saves
Scores: SimLex-999 and WordSim-353 (gensim's files; the WS-353 similarity and relatedness splits too
when ../shared/data/benchmarks is present), Google analogies (3CosAdd, 3CosMul, top 30k words).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, parse_args, require, run_phase, save_results, scored, train_word2vec  # noqa: E402

RES2VEC = {
    "res2vec": {},
    "fixed_dim": {"dim": 300},
    "no_context": {"context_vectors": False},
    "window2": {"window": 2, "weighting": "linear"},
    "power_svd": {"svd": "power", "n_oversamples": 300, "n_iter": 8},
}
CONTESTANTS = ("res2vec", "skipgram", "cbow", *tuple(RES2VEC)[1:])


def phase(name: str, corpus: Path) -> dict:
    t0 = time.perf_counter()
    if name in RES2VEC:
        from res2vec import Res2Vec

        model = Res2Vec(**RES2VEC[name]).fit(corpus)
        kv = model.wv
        r = model.results_
        extra = {
            "dim": r["dim"],
            "stages": r["seconds"],
            "dimension": {k: v for k, v in r["dimension"].items() if k != "pip_loss"},
            "zero_rows": r["zero_rows"]["count"],
            "params": r["params"],
        }
    else:
        kv, t_read, _ = train_word2vec(corpus, sg=name == "skipgram")
        extra = {"dim": 300, "read_seconds": t_read}
    return scored(kv, time.perf_counter() - t0, **extra)


def main() -> None:
    args = parse_args(
        __doc__, CONTESTANTS, lambda p: p.add_argument("--only", nargs="*", choices=CONTESTANTS, default=CONTESTANTS)
    )
    if args.phase:
        print(json.dumps(phase(args.phase, args.corpus)))
        return
    require(args.corpus)
    results = {}
    for name in args.only:
        results[name] = run_phase(__file__, name, "--corpus", str(args.corpus))
        print(f"{name}: {results[name]['seconds']:.1f} s", flush=True)
    sims = list(next(iter(results.values()))["evaluation"]["similarity"])
    print(f"\ncorpus {args.corpus.name}, {os.cpu_count()} CPUs\n")
    rows = []
    for name, r in results.items():
        ev = r["evaluation"]
        rows.append(
            [
                name,
                r["dim"],
                f"{r['seconds']:.1f}",
                f"{r['peak_gib']:.2f}",
                *(f"{ev['similarity'][s]['spearman']:.3f}" for s in sims),
                f"{ev['analogy']['3cosadd']:.3f}",
                f"{ev['analogy']['3cosmul']:.3f}",
            ]
        )
    print(markdown_table(["model", "dim", "wall s", "peak GiB", *sims, "analogy 3CosAdd", "3CosMul"], rows))
    if "res2vec" in results:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in results["res2vec"]["stages"].items())
        print(f"\nres2vec stages: {stages}")
        for other, target in (("skipgram", 20), ("cbow", 5)):  # issue 29's targets
            if other in results:
                ratio = results[other]["seconds"] / results["res2vec"]["seconds"]
                print(f"res2vec is {ratio:.1f}x faster than {other} (target: {target}x)")
    save_results(args, results)


if __name__ == "__main__":
    main()
