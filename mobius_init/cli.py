"""``mobius-init`` command line: argument parsing only; options come from the settings dataclasses (or, for
``init``, from the signature of the function it calls), declared once with their defaults and help."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import __version__
from .embeddings import CONTROLS, METHODS, analytic_embeddings
from .experiments import verify_mobius, verify_res2vec, verify_word2vec
from .experiments.compare import DEMO, DEMO_NOTE, CompareConfig
from .experiments.horizons_config import HorizonsConfig
from .experiments.horizons_forecast import LAWS, forecast_study, markdown
from .experiments.verify_mobius import VerifyConfig
from .experiments.verify_res2vec import Res2VecVerifyConfig
from .experiments.verify_word2vec import Word2VecVerifyConfig
from .options import (
    HelpFormatter,
    Parser,
    add_config_options,
    add_signature_options,
    config_from_args,
    list_of,
    output_directory,
    output_file,
    positive_int,
    run_command,
)
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
    from .corpus import source_files
    from .stats import CorpusStats

    output_file(args.output)
    corpus = config_from_args(CorpusConfig(), args)
    source_files(args.source)  # a missing path fails now, not after the work
    stats = CorpusStats.from_corpus(
        args.source,
        window=corpus.window,
        weighting=corpus.weighting,
        progress=not args.quiet,
        **corpus.encode_options(),
    )
    path = stats.save(args.output)
    print(stats.summary())
    print(f"wrote {path}")


def _scale(value: str) -> str | float:
    """``--scale``: ``match`` or a positive RMS."""
    try:
        scale = value if value == "match" else float(value)
    except ValueError:
        scale = -1.0
    if scale != "match" and not scale > 0:
        raise argparse.ArgumentTypeError(f"expected match or a positive number (an RMS), got {value!r}")
    return scale


def _init(args: argparse.Namespace) -> None:
    import torch

    from .embeddings import analytic_embeddings
    from .stats import CorpusStats

    output_file(args.output)
    stats = CorpusStats.load(args.stats)
    settings = {name: getattr(args, name) for name in args.params}
    E = analytic_embeddings(stats, args.dim, **settings)
    saved = {"embeddings": E, "tokens": list(stats.vocab.tokens), "dim": args.dim, **settings, "stats": str(args.stats)}
    torch.save(saved, args.output)
    print(f"{args.method} embeddings {tuple(E.shape)}, RMS {float(E.pow(2).mean().sqrt()):.4g} -> {args.output}")


def _compare(args: argparse.Namespace) -> None:
    from .experiments.compare import run_compare

    output_directory(args.output)
    config = replace(config_from_args(args.defaults, args, exclude=RUN_FIELDS), progress=not args.quiet)
    results = run_compare(config, args.output, resume=args.resume, client=_dask_client(args))
    print(Path(args.output, "results.md").read_text())
    if results["removed_earlier_files"]:
        print(
            f"removed {len(results['removed_earlier_files'])} files of an earlier run with other inits or seeds "
            f"from {args.output} (its report would not have shown them)"
        )
    for name in ("results.json", "results.md", "loss.png", "k0_cosine.png", "logs/"):
        print(f"wrote {Path(args.output, name)}")
    if args.note:
        print(args.note)


DASK_HELP = (
    "a Dask scheduler (tcp://host:8786): each {task} is one task on its workers, which must share the output "
    "directory's path; a task whose worker died is retried from its checkpoints (default: none, all in this process)"
)
HORIZON_EXCLUDE = RUN_FIELDS + ("train.steps", "train.schedule")


def _dask_client(args: argparse.Namespace) -> Any:
    """A client of ``--dask ADDRESS`` (one line and exit 2 when it does not answer), or None."""
    if not args.dask:
        return None
    from .distributed import dask_client

    return dask_client(args.dask)


def _horizons(args: argparse.Namespace) -> None:
    from .experiments.horizons import run_horizons

    output_directory(args.output)
    config = replace(config_from_args(args.defaults, args, exclude=HORIZON_EXCLUDE), progress=not args.quiet)
    report = run_horizons(config, args.output, resume=args.resume, client=_dask_client(args))
    print(Path(args.output, "results.md").read_text())
    if report["arms_from_earlier_commands"]:
        print(
            f"the report covers {len(report['summary'])} arms: {len(report['arms_from_earlier_commands'])} of them "
            f"were already in {args.output} (same settings, from earlier commands)"
        )
    for name in ("results.json", "results.md", "horizons.png", "logs/"):
        if Path(args.output, name).exists():
            print(f"wrote {Path(args.output, name)}")


VERIFY_EXCLUDE = RUN_FIELDS + ("train.steps", "train.eval_every")


def _forecast(args: argparse.Namespace) -> None:
    import json

    report = forecast_study(Path(args.study), **{name: getattr(args, name) for name in args.params})
    print(markdown(report))
    out = Path(args.study, "forecast.json") if Path(args.study).is_dir() else None
    if out is not None:
        out.write_text(json.dumps(report, indent=2))
        print(f"wrote {out}")


def _verify(args: argparse.Namespace) -> None:
    output_directory(args.output)
    config = replace(config_from_args(args.defaults, args, exclude=VERIFY_EXCLUDE), progress=not args.quiet)
    args.module.run(config, args.output)
    print(Path(args.output, "report.md").read_text())
    for name in sorted(p.name for p in Path(args.output).iterdir() if p.suffix in (".md", ".json", ".png")):
        print(f"wrote {Path(args.output, name)}")


def _verify_what(args: argparse.Namespace) -> None:
    raise ValueError(
        "say which report to verify: mobius-init verify mobius | word2vec | res2vec "
        "(mobius: the MobiusKernel report; word2vec: the closed-form word2vec theory; res2vec: the Res2Vec release)"
    )


def _add_compare(
    sub: argparse._SubParsersAction, name: str, defaults: CompareConfig, output: str, note: str = "", **kw: str
) -> None:
    p = sub.add_parser(name, formatter_class=HelpFormatter, parents=[COMMON], **kw)
    add_config_options(p, defaults, exclude=RUN_FIELDS)
    p.add_argument("-o", "--output", default=output, help=f"output directory (default: {output})")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished runs in the output directory and continue an interrupted one from its checkpoint",
    )
    p.add_argument("--dask", metavar="ADDRESS", help=DASK_HELP.format(task="(init, seed) run"))
    p.set_defaults(func=_compare, defaults=defaults, note=note)


def _add_stats(sub: argparse._SubParsersAction) -> None:
    """``stats SOURCE -o OUT.npz``: counts into a file."""
    p = sub.add_parser(
        "stats",
        parents=[COMMON],
        help="count co-occurrences of a corpus and save them",
        description="Tokenize SOURCE, build the vocabulary and count windowed co-occurrences into a .npz file.",
    )
    p.add_argument("source", help=SOURCE_HELP)
    p.add_argument("-o", "--output", required=True, help="output .npz path (required)")
    add_config_options(p, CorpusConfig())
    p.set_defaults(func=_stats)


INIT_HELP = {
    "method": "how the embedding is computed",
    "scale": "match (the random init's RMS), an RMS value, or none (as computed)",
    "seed": "seed of the randomized SVD and the controls",
    "control": "write a control of the init instead: random_rownorm or shuffled",
    "epsilon": "MobiusKernel epsilon",
}


def _add_init(sub: argparse._SubParsersAction) -> None:
    """``init STATS --dim D -o OUT.pt``: an analytic embedding matrix."""
    p = sub.add_parser(
        "init",
        help="compute an analytic embedding matrix from saved statistics",
        description="Compute a V x DIM embedding from STATS (a file written by 'mobius-init stats') and save it "
        "with torch.save as {'embeddings': tensor, 'tokens': [...], ...}. Methods: ppmi_svd (U S^1/2 of PPMI; "
        "the default, the init the measurements recommend), mstar (word2vec's M* eigenvectors), random "
        "(N(0, 0.02)), mobius (the MobiusKernel pipeline, measured no better than random). Controls: "
        "random_rownorm (the init's row norms, random directions), shuffled (its rows given to other tokens).",
    )
    p.add_argument("stats", help="statistics .npz")
    p.add_argument("--dim", type=positive_int, required=True, help="embedding dimension (required)")
    params = add_signature_options(
        p,
        analytic_embeddings,
        INIT_HELP,
        choices={"method": METHODS, "control": (*CONTROLS, None)},
        parse={"scale": _scale},
        exclude=("k0_method",),
    )
    p.add_argument("-o", "--output", required=True, help="output .pt path (required)")
    p.set_defaults(func=_init, params=params)


def _add_comparisons(sub: argparse._SubParsersAction) -> None:
    """``compare`` and its small twin ``demo``."""
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
        DEMO_NOTE,
        help="the comparison, small, on the built-in corpus (about 30 s on 2 CPU cores)",
        description="mobius-init compare on builtin:lee with small settings; prints the table and where the files "
        "are. Every option of 'compare' can be changed.",
    )


def _add_horizons(sub: argparse._SubParsersAction) -> None:
    """``horizons``: wsd branches off one trunk per arm."""
    p = sub.add_parser(
        "horizons",
        formatter_class=HelpFormatter,
        parents=[COMMON],
        help="steps an init saves at each training length: wsd branches off one constant-rate trunk per arm",
        description="For every init x learning rate x embedding multiplier x seed, train one constant-rate trunk "
        "and branch a wsd decay off it for each horizon T (at T - decay_fraction x T): the full-schedule loss at "
        "every horizon for about the cost of the longest. Writes results.json, results.md (final loss, Δ vs random "
        "paired by seed, steps saved) and horizons.png. --lrs/--embedding-lr-mults sweep the baseline.",
    )
    horizon_defaults = HorizonsConfig()
    add_config_options(
        p,
        horizon_defaults,
        exclude=HORIZON_EXCLUDE,
        helps={
            "train.warmup_steps": "steps of linear warmup, shared by every horizon: fixed in steps, so adding a "
            "horizon keeps every trunk"
        },
    )
    p.add_argument("-o", "--output", default="horizons-out", help="output directory (default: horizons-out)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep finished trunks and branches, continue interrupted ones; refuses changed settings",
    )
    p.add_argument("--dask", metavar="ADDRESS", help=DASK_HELP.format(task="arm"))
    p.set_defaults(func=_horizons, defaults=horizon_defaults)


FORECAST_HELP = {
    "horizons": "comma-separated training lengths in steps, e.g. 6400,12800 (default: twice and four times the "
    "study's longest horizon)",
    "law": "the loss law: multi_power (Luo et al. 2025) or tissue (Tissue et al. 2024)",
}


def _add_forecast(sub: argparse._SubParsersAction) -> None:
    """``forecast STUDY --horizons ...``: a loss law read past the study."""
    p = sub.add_parser(
        "forecast",
        formatter_class=HelpFormatter,
        help="a horizon study read past its longest horizon: a loss law fitted to its trunks and branches",
        description="Fit the multi-power law (Luo et al. 2025) to each arm's trunk and branches in STUDY (every "
        "step's training loss) and print the final validation loss it predicts at HORIZONS, with an interval, and "
        "the steps an init would save there against random at its setting. The law failed its validation on "
        "held-out branches (docs/results/forecast.md): the numbers are rough. Writes STUDY/forecast.json.",
    )
    p.add_argument("study", help="a directory written by 'mobius-init horizons'")
    params = add_signature_options(
        p, forecast_study, FORECAST_HELP, choices={"law": tuple(LAWS)}, parse={"horizons": list_of(positive_int)}
    )
    p.set_defaults(func=_forecast, params=params)


def _add_verify(sub: argparse._SubParsersAction) -> None:
    """``verify REPORT``: one subcommand per source report."""
    p = sub.add_parser(
        "verify",
        help="rerun a source report's numbered claims with controls and verdicts (mobius, word2vec, res2vec)",
        description="Each report writes DIR/report.md, report.json and plots: every claim with the claimed value, "
        "the measured mean ± sd, its controls and a verdict from one stated rule.",
    )
    reports = p.add_subparsers(dest="report", metavar="REPORT")
    p.set_defaults(func=_verify_what)
    for name, module, defaults, text in (
        (
            "mobius",
            verify_mobius,
            VerifyConfig(),
            "the MobiusKernel report: train MiniGPTs with its settings; three controls "
            "(untrained model, W = I, random E). Byte-level BPE needs --vocab-size >= 257.",
        ),
        (
            "word2vec",
            verify_word2vec,
            Word2VecVerifyConfig(),
            "the closed-form word2vec report (Karkada et al.) in its own "
            "protocol: M*, PPMI and skip-gram, both analogy protocols, similarity, features = M*'s eigenvectors.",
        ),
        (
            "res2vec",
            verify_res2vec,
            Res2VecVerifyConfig(),
            "the Res2Vec release: the dimension fixed point against random "
            "embeddings, resonance against cosine, speed against skip-gram.",
        ),
    ):
        needs_corpus = name != "mobius"  # its reports need a corpus the package does not ship, or --quick
        r = reports.add_parser(
            name,
            formatter_class=HelpFormatter,
            parents=[COMMON],
            help=text.split(":")[0],
            description=text + " --quick: a tiny run for smoke tests (under a minute).",
            usage=f"mobius-init verify {name} (--corpus CORPUS | --quick) [options]" if needs_corpus else None,
        )
        add_config_options(r, defaults, exclude=VERIFY_EXCLUDE)
        r.add_argument(
            "--quick",
            action="store_true",
            help="tiny settings for a smoke test, on builtin:lee; options given beside it override them",
        )
        r.add_argument(
            "-o", "--output", default=f"verify-{name}", help=f"output directory of the report (default: verify-{name})"
        )
        r.set_defaults(func=_verify, defaults=defaults, module=module, preset=module.QUICK)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mobius-init",
        description="Corpus statistics -> embeddings and analytic initializations of tied embeddings, with controls.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_stats(sub)
    _add_init(sub)
    _add_comparisons(sub)
    _add_horizons(sub)
    _add_forecast(sub)
    _add_verify(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
