"""Res2Vec against gensim word2vec on one Wikipedia shard, in one run.

    python benchmarks/bench_res2vec.py [--corpus PATH] [--out results.json] [--only NAME ...]

Contestants, each in its own process (wall time and peak memory are its own), all from the same
file with text8 normalisation, window 5, min_count 10:
  res2vec        Res2Vec defaults (harmonic window, PPMI cds 0.75, SVD at 300, dim="auto")
  res2vec_300    the same with dim=300 (no dimension search)
  skipgram       gensim Word2Vec sg=1, vector_size 300, negative 5, 5 epochs, workers 2
  cbow           gensim Word2Vec sg=0, the same settings
Word2vec gets documents cut into pieces of at most 10,000 words (gensim silently truncates longer
"sentences"); its time includes reading and normalising the file, like Res2Vec's.
Every model is scored on SimLex-999 and WordSim-353 (gensim's files; the WS-353 similarity and
relatedness splits too when ../shared/data/benchmarks is present) and on the Google analogies
(3CosAdd, 3CosMul, top 30k words).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, parse_args, require, run_phase, save_results, scored, train_word2vec  # noqa: E402

CONTESTANTS = ("res2vec", "res2vec_300", "skipgram", "cbow")


def phase(name: str, corpus: Path) -> dict:
    t0 = time.perf_counter()
    if name.startswith("res2vec"):
        from res2vec import Res2Vec

        model = Res2Vec(dim=300 if name == "res2vec_300" else "auto").fit(corpus)
        kv, extra = (
            model.wv,
            {
                "dim": model.results_["dim"],
                "stages": model.results_["seconds"],
                "dimension_search": model.results_["dimension_search"],
            },
        )
    else:
        kv, t_read = train_word2vec(corpus, sg=name == "skipgram")
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
    if "skipgram" in results:
        for name in results:
            if name.startswith("res2vec"):
                ratio = results["skipgram"]["seconds"] / results[name]["seconds"]
                print(f"\n{name} is {ratio:.1f}x faster than skip-gram (target: 30x)")
    save_results(args, results)


if __name__ == "__main__":
    main()
