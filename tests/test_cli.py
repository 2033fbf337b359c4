import re
import subprocess
import sys

import pytest

from mobius_init import CorpusStats
from mobius_init.cli import main


def test_stats_command(tmp_path, capsys):
    out = tmp_path / "lee.npz"
    assert main(["stats", "builtin:lee", "-o", str(out), "--normalize", "text8", "--min-count", "2"]) == 0
    stats = CorpusStats.load(out)
    assert stats.vocab.counts.min() >= 2 and stats.normalize == "text8"
    assert f"wrote {out}" in capsys.readouterr().out


def test_stats_command_with_saved_tokenizer(tmp_path, lee_docs):
    first = CorpusStats.from_corpus(lee_docs, tokenizer="bpe", vocab_size=400)
    first.tokenizer.save(str(tmp_path / "tok.json"))
    assert main(["stats", "builtin:lee", "-o", str(tmp_path / "s.npz"), "--tokenizer", str(tmp_path / "tok.json")]) == 0
    assert CorpusStats.load(tmp_path / "s.npz").vocab_size == first.tokenizer.get_vocab_size()


@pytest.mark.parametrize(
    "args, message",
    [
        (["stats", "no/such/file.txt", "-o", "x.npz"], "does not exist"),
        (["stats", "builtin:lee", "-o", "x.npz", "--window", "0"], "--window must be a positive integer, got 0"),
        (["stats", "builtin:lee", "-o", "x.npz", "--vocab-size", "99999"], "fewer than --vocab-size=99999"),
        (["stats", "builtin:lee", "-o", "x.npz", "--window", "-2"], "--window must be a positive integer, got -2"),
        (["stats", "builtin:lee", "-o", "x.npz", "--tokenizer", "bpe"], "--vocab-size is required with the bpe"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_console_script_help():
    result = subprocess.run(
        [sys.executable, "-m", "mobius_init.cli", "stats", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "builtin:lee" in result.stdout and "--weighting" in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["stats"],
        ["init"],
        ["compare"],
        ["demo"],
        ["horizons"],
        ["verify"],
        ["verify", "mobius"],
        ["verify", "word2vec"],
        ["verify", "res2vec"],
        ["res2vec", "build"],
        ["res2vec", "eval"],
    ],
)
def test_every_option_has_help_and_shows_its_default_once(argv, capsys):
    from res2vec.cli import main as res2vec_main

    command, args = (res2vec_main, argv[1:]) if argv[0] == "res2vec" else (main, argv)
    with pytest.raises(SystemExit):
        command([*args, "--help"])
    raw = capsys.readouterr().out
    assert ".:" not in raw  # group titles are not sentences
    text = " ".join(raw.split())
    parser_help = text.split("options:")[1]
    options = re.findall(r"(--[a-z][a-z-]+)(?:,| [A-Z{])", parser_help)
    for opt, following in zip(options, options[1:] + [None], strict=False):
        after = re.split(re.escape(opt) + "[ ,]", parser_help, maxsplit=1)[1]
        after = re.split(re.escape(following) + "[ ,]", after, maxsplit=1)[0] if following else after[:400]
        assert after.count("default:") <= 1, f"{argv} {opt}: {after!r}"  # required options have none
        assert "(default: )" not in after, f"{argv} {opt} shows an empty default"
        assert not re.match(r"[A-Z_{},a-z]+ \(default", after), f"{argv} {opt} has no help text"
        takes_value = re.match(r"[A-Z_]+ |\{", after)
        if takes_value and "required" not in after and opt not in ("--help",):
            assert "default:" in after, f"{argv} {opt} does not say its default: {after!r}"
    flags = re.findall(r"(--[a-z][a-z-]+) ", parser_help)
    for flag in flags:  # a flag that takes no value still says what it does
        after = re.split(re.escape(flag) + " ", parser_help, maxsplit=1)[1]
        assert not after.startswith("-"), f"{argv} {flag} has no help text"


def test_normalize_none_is_honoured_not_taken_for_the_default(tmp_path):
    out = tmp_path / "s.npz"
    assert main(["stats", "builtin:lee", "--normalize", "none", "--quiet", "-o", str(out)]) == 0
    stats = CorpusStats.load(out)
    assert stats.normalize == "none" and "The" in stats.vocab.tokens  # case kept: not text8


def test_demo_and_compare_share_one_set_of_defaults():
    from mobius_init.experiments.compare import DEMO, CompareConfig

    full, demo = CompareConfig(), DEMO
    assert demo.model.dropout == full.model.dropout == 0.1  # written once, in MiniGPTConfig
    assert demo.train.lr == full.train.lr and demo.data.normalize == full.data.normalize


def test_init_command(tmp_path, capsys, lee_docs):
    import torch

    stats_path = CorpusStats.from_corpus(lee_docs, vocab_size=300).save(tmp_path / "s.npz")
    out = tmp_path / "emb.pt"
    assert main(["init", str(stats_path), "--dim", "16", "--method", "mobius", "-o", str(out)]) == 0
    saved = torch.load(out)
    assert saved["embeddings"].shape == (300, 16) and saved["tokens"][0] == "the"
    assert main(["init", str(stats_path), "--dim", "301", "-o", str(out)]) == 2
    assert "dim must be an integer in [1, V = 300]" in capsys.readouterr().err


def test_demo_shows_the_recommended_init_with_its_controls_and_says_what_it_cannot_show(tmp_path, capsys):
    assert main(["demo", "--steps", "10", "--eval-every", "5", "--seeds", "1", "--quiet", "-o", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for init in ("| random |", "| random+unigram |", "| ppmi_svd+unigram |", "| ppmi_svd:shuffled+unigram |"):
        assert init in printed
    assert "smoke test" in printed and "cannot rank inits" in printed


def test_verify_usage_shows_that_a_corpus_or_quick_is_needed(capsys):
    for report in ("word2vec", "res2vec"):
        with pytest.raises(SystemExit):
            main(["verify", report, "--help"])
        assert f"usage: mobius-init verify {report} (--corpus CORPUS | --quick) [options]" in capsys.readouterr().out
