"""``mobius-init`` command line: argument parsing only; the work is done by the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

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


def _compare_config(args: argparse.Namespace):
    from .experiments.compare import CompareConfig

    inits = tuple(i.strip() for i in args.inits.split(",") if i.strip())
    unknown = [i for i in inits if i not in METHODS]
    if unknown:
        raise ValueError(f"unknown init(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    return CompareConfig(
        corpus=args.corpus,
        tokenizer=args.tokenizer,
        vocab_size=args.vocab_size,
        normalize=args.normalize,
        max_docs=args.max_docs,
        inits=inits,
        seeds=args.seeds,
        steps=args.steps,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
        block_size=args.block_size,
        dropout=args.dropout,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        eval_every=args.eval_every,
        monitor_every=args.monitor_every,
        monitor_top_n=args.monitor_top_n,
    )


def _compare(args: argparse.Namespace) -> None:
    from .experiments.compare import run_compare

    run_compare(_compare_config(args), args.output)
    print(Path(args.output, "results.md").read_text())
    for name in ("results.json", "results.md", "loss.png", "k0_cosine.png", "logs/"):
        print(f"wrote {Path(args.output, name)}")


def _verify(args: argparse.Namespace) -> None:
    from .experiments.verify import VerifyConfig, run_verify

    quick = {"vocab": 40, "dim": 16, "epochs": 2, "seeds": 2, "block_size": 16} if args.quick else {}
    settings = {
        "vocab": args.vocab,
        "dim": args.dim,
        "epochs": args.epochs,
        "seeds": args.seeds,
        "block_size": args.block_size,
        **quick,
    }
    config = VerifyConfig(
        corpus=args.corpus,
        tokenizer=args.tokenizer,
        n_layer=args.n_layer,
        n_head=args.n_head,
        batch_size=args.batch_size,
        epsilon=args.epsilon,
        **settings,
    )
    report = run_verify(config, args.output)
    print(Path(args.output, "report.md").read_text())
    print(report["exclusion"])
    for name in ("report.md", "report.json", "convergence.png", "alpha.png"):
        print(f"wrote {Path(args.output, name)}")


def _add_compare_options(p: argparse.ArgumentParser, **defaults) -> None:
    d = {
        "corpus": "builtin:lee",
        "tokenizer": "word",
        "vocab_size": 1000,
        "seeds": 3,
        "steps": 1000,
        "n_embd": 64,
        "block_size": 64,
        "eval_every": 50,
        "monitor_every": 250,
        "output": "compare-out",
        **defaults,
    }
    p.add_argument("--corpus", default=d["corpus"], help=f"corpus source (default: {d['corpus']})")
    p.add_argument("--tokenizer", choices=["word", "bpe"], default=d["tokenizer"], help="(default: %(default)s)")
    p.add_argument(
        "--vocab-size",
        type=int,
        default=d["vocab_size"],
        help="word: keep the N most frequent words; bpe: train N ids (default: %(default)s)",
    )
    p.add_argument("--normalize", choices=list(NORMALIZATIONS), default="text8", help="(default: text8)")
    p.add_argument("--max-docs", type=int, default=None, help="read at most this many documents")
    p.add_argument("--inits", default=",".join(METHODS), help="comma-separated (default: %(default)s)")
    p.add_argument("--seeds", type=int, default=d["seeds"], help="(default: %(default)s)")
    p.add_argument("--steps", type=int, default=d["steps"], help="(default: %(default)s)")
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-head", type=int, default=2)
    p.add_argument("--n-embd", type=int, default=d["n_embd"], help="(default: %(default)s)")
    p.add_argument("--block-size", type=int, default=d["block_size"], help="(default: %(default)s)")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--eval-every", type=int, default=d["eval_every"], help="(default: %(default)s)")
    p.add_argument("--monitor-every", type=int, default=d["monitor_every"], help="(default: %(default)s)")
    p.add_argument("--monitor-top-n", type=int, default=None, help="monitor the top-N ids only (bounds its cost)")
    p.add_argument("-o", "--output", default=d["output"], help="output directory (default: %(default)s)")


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

    p = sub.add_parser(
        "compare",
        help="train MiniGPT with each init over several seeds and compare (loss, k0 monitor + controls)",
        description="Same model, data, seeds and optimizer for every init. Writes results.json, results.md (table), "
        "loss.png and k0_cosine.png (with the monitor's controls) and per-run JSONL logs.",
    )
    _add_compare_options(p)
    p.set_defaults(func=_compare)

    p = sub.add_parser(
        "demo",
        help="the comparison, small, on the built-in corpus (a few minutes on 2 CPU cores)",
        description="mobius-init compare on builtin:lee with small settings; prints the table and where the files are. "
        "Every option of 'compare' can be changed.",
    )
    _add_compare_options(
        p,
        seeds=2,
        steps=300,
        n_embd=32,
        block_size=32,
        eval_every=25,
        monitor_every=100,
        vocab_size=1000,
        output="mobius-demo",
    )
    p.set_defaults(func=_compare)

    p = sub.add_parser(
        "verify",
        help="rerun every table of the MobiusKernel report with controls and verdicts",
        description="Train MiniGPTs with the report's settings and write DIR/report.md, report.json and plots: each "
        "table row with the claimed value, the measured mean ± sd, three controls (untrained model, W = I, random E) "
        "and a verdict from a stated rule. --quick: a tiny run for smoke tests (well under a minute).",
    )
    p.add_argument("--corpus", default="builtin:lee", help="(default: builtin:lee)")
    p.add_argument(
        "--tokenizer",
        choices=["word", "bpe"],
        default="word",
        help="word: the --vocab most frequent words; bpe: byte-level BPE, needs --vocab >= 257",
    )
    p.add_argument("--vocab", type=int, default=100, help="(default: 100)")
    p.add_argument("--dim", type=int, default=64, help="(default: 64)")
    p.add_argument("--epochs", type=int, default=200, help="passes over the training tokens (default: 200)")
    p.add_argument("--seeds", type=int, default=5, help="(default: 5)")
    p.add_argument("--block-size", type=int, default=32, help="(default: 32)")
    p.add_argument("--batch-size", type=int, default=64, help="(default: 64)")
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-head", type=int, default=2)
    p.add_argument("--epsilon", type=float, default=0.003)
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    p.add_argument("-o", "--output", default="verify-out", help="(default: verify-out)")
    p.set_defaults(func=_verify)
    return parser


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, run the chosen sub-command, and turn a bad-input error into one line and exit code 2."""
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, TypeError, KeyError, OSError) as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
