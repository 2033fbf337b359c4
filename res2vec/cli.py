"""``res2vec`` command line: argument parsing only; the build options come from ``Res2Vec``'s signature."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from mobius_init import __version__
from mobius_init.cooccurrence import WEIGHTINGS
from mobius_init.corpus import NORMALIZATIONS, source_files
from mobius_init.options import HelpFormatter, Parser, add_signature_options, list_of, output_directory, run_command

from .evaluate import evaluate
from .model import DIM_RULES, METHODS, SVDS, Res2Vec
from .resonance import METRICS

HELP = {
    "dim": "an integer, or a rule: auto (= pip), pip (Yin & Shen's PIP loss), resonance (the fixed point "
    "under --metric)",
    "max_dim": "size of the one SVD; every smaller dimension is a truncation of it",
    "method": "ppmi_svd (PPMI -> SVD) or mstar (word2vec's M* eigenvectors)",
    "window": "largest distance counted as co-occurrence",
    "weighting": "weight of a pair at distance d",
    "min_count": "drop words seen fewer times",
    "vocab_size": "keep at most this many most frequent words",
    "normalize": "text preset",
    "cds": "context-distribution smoothing of PPMI (1: plain PPMI)",
    "eig": "exponent p of the singular values in U S^p",
    "context_vectors": "add the context vectors V S^p to the word vectors (w+c)",
    "svd": "the randomized SVD: block_krylov (Musco & Musco 2015) or power (Halko et al. 2011)",
    "n_iter": "iterations of the randomized SVD (block Krylov or power)",
    "block_size": "block Krylov's columns per block (default: max_dim // 2 + 10)",
    "n_oversamples": "the power method's extra columns beyond max_dim",
    "metric": "the resonance geometry's metric",
    "n_pairs": "word pairs sampled for R(d)",
    "pair_vocab": "the pairs come from this many most frequent words",
    "seed": "seed of the SVD sketch, the pair sample and the PIP draws",
    "device": "where the SVD runs: cpu, cuda, cuda:N, mps (not tested here), or auto (CUDA when available)",
}


EVAL_HELP = {
    "similarity": "comma-separated similarity files 'word1 word2 score' (default: gensim's SimLex-999 and WordSim-353)",
    "analogies": "analogy file in the Google format (default: gensim's questions-words.txt; none skips the "
    "analogy benchmark, the slowest part)",
    "restrict_vocab": "analogy answers are searched among the N most frequent words, as gensim does",
}


def dimension(value: str) -> int | str:
    """``--dim``: a positive integer or a rule name."""
    if value in DIM_RULES:
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or one of {', '.join(DIM_RULES)}, got {value!r}"
        ) from None


def _build(args: argparse.Namespace) -> None:
    output = output_directory(args.output)
    source_files(args.source)  # a missing path fails now, not after the work
    model = Res2Vec(**{name: getattr(args, name) for name in args.params}, progress=not args.quiet)
    model.validate()
    t0 = time.perf_counter()
    model.fit(args.source)
    built = time.perf_counter() - t0
    r = model.results_
    for stage, seconds in r["seconds"].items():
        print(f"  {stage:<18} {seconds:8.2f} s")
    zero = r["zero_rows"]
    print(
        f"built in {built:.1f} s: vocabulary {r['vocab_size']:,}, dim {r['dim']} ({r['dimension']['rule']}), "
        f"window {model.window} {model.weighting}"
        + (
            f"; {zero['count']} words without a vector left out: {', '.join(zero['words'][:8])}"
            if zero["count"]
            else ""
        )
    )
    if not args.no_eval:
        _print_evaluation(model.evaluate())
    model.save(output)
    print(f"wrote {output}")


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
    from .io import load_vectors

    kv = load_vectors(args.vectors)
    report = evaluate(kv, **{name: getattr(args, name) for name in args.params})
    _print_evaluation(report)
    if args.json:
        print(json.dumps(report, indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="res2vec",
        description="Word embeddings computed, not trained: co-occurrence -> PPMI -> SVD, with a dimension rule.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "build",
        formatter_class=HelpFormatter,
        help="compute embeddings from a corpus and save them",
        description="Compute Res2Vec embeddings of SOURCE (a file, directory or glob; .gz/.bz2/.xz; 'builtin:lee' "
        "or 'hf:NAME') and write DIR/{embeddings.npy, vocab.json, counts.npy, metric.npy, results.json, "
        "evaluation.json}. Save the vectors in word2vec's formats from Python: model.wv.save_word2vec_format.",
    )
    p.add_argument("source")
    p.add_argument("-o", "--output", required=True, help="output directory (required)")
    params = add_signature_options(
        p,
        Res2Vec.__init__,
        HELP,
        exclude=("progress",),
        parse={"dim": dimension},
        choices={
            "method": METHODS,
            "svd": tuple(SVDS),
            "weighting": WEIGHTINGS,
            "normalize": NORMALIZATIONS,
            "metric": METRICS,
        },
    )
    p.add_argument("--no-eval", action="store_true", help="skip the benchmarks (no evaluation.json is written)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_build, params=params)

    p = sub.add_parser(
        "eval",
        help="evaluate word vectors on similarity and analogy benchmarks",
        description="Spearman rho on word-similarity files (default: gensim's SimLex-999 and WordSim-353; header "
        "lines are recognised) and 3CosAdd/3CosMul analogy accuracy (default: Google set, top 30k words). "
        "VECTORS is a res2vec directory, a word2vec text (.txt, .vec) or binary (.bin) file, or a gensim "
        "KeyedVectors file (.kv).",
    )
    p.add_argument("vectors")
    params = add_signature_options(p, evaluate, EVAL_HELP, parse={"similarity": list_of(str)})
    p.add_argument("--json", action="store_true", help="also print the full report as JSON")
    p.set_defaults(func=_eval, params=params)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
