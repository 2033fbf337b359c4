"""``res2vec`` command line: argument parsing only."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from mobius_init.cooccurrence import WEIGHTINGS
from mobius_init.corpus import NORMALIZATIONS
from mobius_init.options import run_command

from .model import METHODS


def _dim(value: str) -> int | str:
    return value if value == "auto" else int(value)


def _build(args: argparse.Namespace) -> None:
    from .model import Res2Vec

    model = Res2Vec(
        dim=args.dim,
        max_dim=args.max_dim,
        method=args.method,
        window=args.window,
        weighting=args.weighting,
        min_count=args.min_count,
        vocab_size=args.vocab_size,
        normalize=args.normalize,
        cds=args.cds,
        eig=args.eig,
        seed=args.seed,
        progress=True,
    )
    t0 = time.perf_counter()
    model.fit(args.source)
    built = time.perf_counter() - t0
    r = model.results_
    for stage, seconds in r["seconds"].items():
        print(f"  {stage:<18} {seconds:8.2f} s")
    print(
        f"built in {built:.1f} s: vocabulary {r['vocab_size']:,}, dim {r['dim']} ({r['dimension_search']}), "
        f"R = {r['R_avg']:.4f}, I(R) = {r['I_capacity']:.4f} bits, d* = {r['d_optimal']:.2f}, gap {r['gap']:+.2f}"
    )
    if not args.no_eval:
        _print_evaluation(model.evaluate())
    model.save(args.output)
    print(f"wrote {args.output}")


def _print_evaluation(report: dict) -> None:
    for name, r in report["similarity"].items():
        print(f"  {name:<12} Spearman {r['spearman']:.4f} on {r['pairs']} pairs (OOV {100 * r['oov_rate']:.1f}%)")
    if "analogy" in report:
        a = report["analogy"]
        print(
            f"  analogy      3CosAdd {a['3cosadd']:.4f}, 3CosMul {a['3cosmul']:.4f} on {a['answered']} of "
            f"{a['questions']} questions (OOV {100 * a['oov_rate']:.1f}%)"
        )


def _eval(args: argparse.Namespace) -> None:
    from .evaluate import evaluate
    from .model import Res2Vec

    model = Res2Vec.load(args.directory)
    similarity = args.similarity or None
    analogies = None if args.no_analogies else (args.analogies or "default")
    report = evaluate(model.wv, similarity=similarity, analogies=analogies, restrict_vocab=args.restrict_vocab)
    _print_evaluation(report)
    if args.json:
        print(json.dumps(report, indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="res2vec",
        description="Word embeddings computed, not trained: "
        "co-occurrence -> PPMI -> SVD, with a self-consistent dimension.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "build",
        help="compute embeddings from a corpus and save them",
        description="Compute Res2Vec embeddings of SOURCE (a file or directory, .gz/.bz2/.xz, "
        "'builtin:lee' or 'hf:NAME') and write DIR/{embeddings.npy, vocab.json, counts.npy, metric.npy, "
        "results.json, evaluation.json}.",
    )
    p.add_argument("source")
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument("--dim", type=_dim, default="auto", help="'auto' (self-consistent, default) or an integer")
    p.add_argument("--max-dim", type=int, default=300, help="size of the SVD (default 300)")
    p.add_argument("--method", choices=METHODS, default="ppmi_svd", help="(default ppmi_svd)")
    p.add_argument("--window", type=int, default=5, help="(default 5)")
    p.add_argument(
        "--weighting", choices=WEIGHTINGS, default=None, help="(default: harmonic for ppmi_svd, linear for mstar)"
    )
    p.add_argument("--min-count", type=int, default=10, help="(default 10)")
    p.add_argument("--vocab-size", type=int, default=None, help="keep at most this many most frequent words")
    p.add_argument("--normalize", choices=list(NORMALIZATIONS), default="text8", help="(default text8)")
    p.add_argument("--cds", type=float, default=0.75, help="context-distribution smoothing (default 0.75)")
    p.add_argument("--eig", type=float, default=0.5, help="exponent p of U S^p (default 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-eval", action="store_true", help="skip the benchmarks (no evaluation.json is written)")
    p.set_defaults(func=_build)

    p = sub.add_parser(
        "eval",
        help="evaluate saved embeddings on similarity and analogy benchmarks",
        description="Spearman rho on word-similarity files (default: gensim's SimLex-999 and "
        "WordSim-353) and 3CosAdd/3CosMul analogy accuracy (default: Google set, top 30k words).",
    )
    p.add_argument("directory")
    p.add_argument("--similarity", nargs="*", help="similarity files 'word1 word2 score' (replace the defaults)")
    p.add_argument("--analogies", help="analogy file in the Google format (default: questions-words.txt)")
    p.add_argument("--no-analogies", action="store_true")
    p.add_argument("--restrict-vocab", type=int, default=30_000, help="(default 30000)")
    p.add_argument("--json", action="store_true", help="also print the full report as JSON")
    p.set_defaults(func=_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
