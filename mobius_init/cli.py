"""``mobius-init`` command line: argument parsing only; the work is done by the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .cooccurrence import WEIGHTINGS
from .corpus import NORMALIZATIONS
from .init import METHODS


def _add_corpus_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tokenizer", default="word", help="'word' (whitespace), 'bpe', or a tokenizer.json file (default: word)"
    )
    p.add_argument("--vocab-size", type=int, default=None, help="BPE vocabulary size to train")
    p.add_argument("--min-count", type=int, default=1, help="drop tokens seen fewer times (default: 1)")
    p.add_argument("--max-size", type=int, default=None, help="keep at most this many most frequent tokens")
    p.add_argument("--window", type=int, default=5, help="largest distance counted (default: 5)")
    p.add_argument("--weighting", choices=WEIGHTINGS, default="uniform", help="weight of distance d (default: uniform)")
    p.add_argument("--normalize", choices=list(NORMALIZATIONS), default="none", help="text preset (default: none)")
    p.add_argument("--text-column", default="text", help="column of a datasets source (default: text)")


def corpus_stats_from_args(source: str, args: argparse.Namespace, progress: bool = True):
    """Build ``CorpusStats`` from the options of :func:`_add_corpus_options`."""
    from tokenizers import Tokenizer

    from .stats import CorpusStats

    tokenizer = args.tokenizer
    if tokenizer not in ("word", "bpe"):
        tokenizer = Tokenizer.from_file(tokenizer)
    return CorpusStats.from_corpus(
        source,
        tokenizer=tokenizer,
        vocab_size=args.vocab_size,
        min_count=args.min_count,
        max_size=args.max_size,
        window=args.window,
        weighting=args.weighting,
        normalize=args.normalize,
        text_column=args.text_column,
        progress=progress,
    )


def _stats(args: argparse.Namespace) -> None:
    stats = corpus_stats_from_args(args.source, args)
    path = stats.save(args.output)
    print(stats.summary())
    print(f"wrote {path}")


def _init(args: argparse.Namespace) -> None:
    import torch

    from .init import analytic_embeddings
    from .stats import CorpusStats

    stats = CorpusStats.load(args.stats)
    scale = "match" if args.scale == "match" else float(args.scale)
    E = analytic_embeddings(stats, args.dim, args.method, scale=scale, seed=args.seed, epsilon=args.epsilon)
    torch.save(
        {
            "embeddings": E,
            "tokens": list(stats.vocab.tokens),
            "method": args.method,
            "seed": args.seed,
            "scale": args.scale,
            "epsilon": args.epsilon,
            "stats": str(args.stats),
        },
        args.output,
    )
    print(f"{args.method} embeddings {tuple(E.shape)}, RMS {float(E.pow(2).mean().sqrt()):.4g} -> {args.output}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mobius-init",
        description="Corpus statistics -> embeddings and analytic initializations of tied embeddings, with controls.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "stats",
        help="count co-occurrences of a corpus and save them",
        description="Tokenize SOURCE, build the vocabulary and count windowed co-occurrences into a .npz file. "
        "SOURCE is a file or directory (.gz/.bz2/.xz read directly; WikiExtractor <doc> markup detected), "
        "'builtin:lee' (gensim's Lee corpus) or 'hf:NAME[/CONFIG][:SPLIT]' (needs network).",
    )
    p.add_argument("source", help="corpus: path, builtin:lee or hf:NAME")
    p.add_argument("-o", "--output", required=True, help="output .npz path")
    _add_corpus_options(p)
    p.set_defaults(func=_stats)

    p = sub.add_parser(
        "init",
        help="compute an analytic embedding matrix from saved statistics",
        description="Compute a V x DIM embedding from STATS (a file written by 'mobius-init stats') and save it "
        "with torch.save as {'embeddings': tensor, 'tokens': [...], ...}. Methods: random (N(0, 0.02)), "
        "mobius (the MobiusKernel pipeline), ppmi_svd (U S^1/2 of PPMI), mstar (word2vec's M* eigenvectors).",
    )
    p.add_argument("stats", help="statistics .npz")
    p.add_argument("--dim", type=int, required=True, help="embedding dimension")
    p.add_argument("--method", choices=METHODS, default="mobius", help="(default: mobius)")
    p.add_argument("--scale", default="match", help="'match' (RMS of the random init, default) or an RMS value")
    p.add_argument("--seed", type=int, default=0, help="(default: 0)")
    p.add_argument("--epsilon", type=float, default=0.003, help="MobiusKernel epsilon (default: 0.003)")
    p.add_argument("-o", "--output", required=True, help="output .pt path")
    p.set_defaults(func=_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, TypeError, KeyError, OSError) as exc:
        print(f"mobius-init {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
