"""``mobius-init`` command line: argument parsing only; options come from the settings dataclasses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .embeddings import METHODS
from .experiments.compare import DEMO, CompareConfig
from .experiments.verify_mobius import QUICK, VerifyConfig
from .options import HelpFormatter, add_config_options, config_from_args, run_command, with_values
from .settings import CorpusConfig

SOURCE_HELP = (
    "corpus: a file or directory (.gz/.bz2/.xz read directly; WikiExtractor <doc> markup detected), "
    "builtin:lee (gensim's Lee corpus), or hf:NAME[/CONFIG][:SPLIT] (needs network)"
)
# compare and verify set these per run themselves
RUN_FIELDS = ("train.seed", "model.vocab_size")
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("--quiet", action="store_true", help="no progress bars")


def _stats(args: argparse.Namespace) -> None:
    from .stats import CorpusStats

    corpus = config_from_args(CorpusConfig(), args)
    stats = CorpusStats.from_corpus(
        args.source, window=corpus.window, weighting=corpus.weighting, progress=True, **corpus.encode_options()
    )
    path = stats.save(args.output)
    print(stats.summary())
    print(f"wrote {path}")


def _init(args: argparse.Namespace) -> None:
    import torch

    from .embeddings import analytic_embeddings
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


def _compare(args: argparse.Namespace) -> None:
    from .experiments.compare import run_compare

    config = replace(config_from_args(args.defaults, args, exclude=RUN_FIELDS), progress=not args.quiet)
    run_compare(config, args.output, resume=args.resume)
    print(Path(args.output, "results.md").read_text())
    for name in ("results.json", "results.md", "loss.png", "k0_cosine.png", "logs/"):
        print(f"wrote {Path(args.output, name)}")


def _verify(args: argparse.Namespace) -> None:
    from .experiments.verify_mobius import run_verify

    config = config_from_args(VerifyConfig(), args, exclude=RUN_FIELDS + ("train.steps", "train.eval_every"))
    config = replace(config, progress=not args.quiet)
    if args.quick:
        config = with_values(config, QUICK)
    report = run_verify(config, args.output)
    print(Path(args.output, "report.md").read_text())
    print(report["exclusion"])
    for name in ("report.md", "report.json", "convergence.png", "alpha.png"):
        print(f"wrote {Path(args.output, name)}")


def _add_compare(sub: argparse._SubParsersAction, name: str, defaults: CompareConfig, output: str, **kw: str) -> None:
    p = sub.add_parser(name, formatter_class=HelpFormatter, parents=[COMMON], **kw)
    add_config_options(p, defaults, exclude=RUN_FIELDS)
    p.add_argument("-o", "--output", default=output, help=f"output directory (default: {output})")
    p.add_argument("--resume", action="store_true", help="keep the finished runs in the output directory and "
                   "continue an interrupted one from its checkpoint")
    p.set_defaults(func=_compare, defaults=defaults)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mobius-init",
        description="Corpus statistics -> embeddings and analytic initializations of tied embeddings, with controls.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "stats",
        parents=[COMMON],
        help="count co-occurrences of a corpus and save them",
        description="Tokenize SOURCE, build the vocabulary and count windowed co-occurrences into a .npz file.",
    )
    p.add_argument("source", help=SOURCE_HELP)
    p.add_argument("-o", "--output", required=True, help="output .npz path")
    add_config_options(p, CorpusConfig())
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

    _add_compare(
        sub,
        "compare",
        CompareConfig(),
        "compare-out",
        help="train MiniGPT with each init over several seeds and compare (loss, k0 monitor + controls)",
        description="Same model, data, seeds and optimizer for every init. Writes results.json, results.md (table), "
        "loss.png and k0_cosine.png (with the monitor's controls) and per-run JSONL logs.",
    )
    _add_compare(
        sub,
        "demo",
        DEMO,
        "mobius-demo",
        help="the comparison, small, on the built-in corpus (about 30 s on 2 CPU cores)",
        description="mobius-init compare on builtin:lee with small settings; prints the table and where the files "
        "are. Every option of 'compare' can be changed.",
    )

    p = sub.add_parser(
        "verify",
        formatter_class=HelpFormatter,
        parents=[COMMON],
        help="rerun every table of the MobiusKernel report with controls and verdicts",
        description="Train MiniGPTs with the report's settings and write DIR/report.md, report.json and plots: each "
        "table row with the claimed value, the measured mean ± sd, three controls (untrained model, W = I, random E) "
        "and a verdict from a stated rule. --quick: a tiny run for smoke tests (well under a minute). "
        "Byte-level BPE needs --vocab-size >= 257.",
    )
    add_config_options(p, VerifyConfig(), exclude=RUN_FIELDS + ("train.steps", "train.eval_every"))
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    p.add_argument("-o", "--output", default="verify-out", help="(default: verify-out)")
    p.set_defaults(func=_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
