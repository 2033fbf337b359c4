import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mobius_init import CorpusStats
from mobius_init.cli import main

ROOT = Path(__file__).resolve().parents[1]


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
    (tmp_path / "init.yaml").write_text("method: random\nseed: 3\ncontrol: shuffled\n")  # init's own settings file
    argv = ["init", str(stats_path), "--dim", "8", "--config", str(tmp_path / "init.yaml"), "--seed", "4", "-o"]
    assert main([*argv, str(out)]) == 0
    saved = torch.load(out)
    assert (saved["method"], saved["seed"], saved["control"], saved["scale"]) == ("random", 4, "shuffled", "match")
    assert main(["init", str(stats_path), "--dim", "8", "--control", "none", "-o", str(out)]) == 0
    assert torch.load(out)["control"] is None


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


def test_quick_is_a_preset_that_files_and_flags_override(tmp_path, capsys):
    import yaml

    def printed(*argv):
        assert main(["verify", "word2vec", *argv, "--print-config"]) == 0
        return yaml.safe_load(capsys.readouterr().out)

    full, quick = printed(), printed("--quick")
    assert full["dim"] != 12 and quick["dim"] == 12 and quick["corpus"] == "builtin:lee"  # verify_word2vec.QUICK
    (tmp_path / "dim.yaml").write_text("dim: 9\nwindow: 3\n")
    both = printed("--quick", "--config", str(tmp_path / "dim.yaml"), "--window", "4")
    assert (both["dim"], both["window"], both["qwem_steps"]) == (9, 4, quick["qwem_steps"])


def test_settings_files_round_trip_and_flags_override_them(tmp_path, capsys):
    assert (
        main(["horizons", "--n-embd", "16", "--horizons", "200,400", "--reference-horizons", "800", "--print-config"])
        == 0
    )
    printed = capsys.readouterr().out
    config = tmp_path / "study.yaml"
    config.write_text(printed)
    assert main(["horizons", "--config", str(config), "--print-config"]) == 0
    assert capsys.readouterr().out == printed  # every setting it prints reads back to itself
    override = tmp_path / "width.yaml"
    override.write_text("model:\n  n_embd: 32\n  n_head: 4\n")
    assert (
        main(["horizons", "--config", str(config), "--config", str(override), "--n-head", "8", "--print-config"]) == 0
    )
    settings = yaml.safe_load(capsys.readouterr().out)
    assert settings["model"]["n_embd"] == 32 and settings["model"]["n_head"] == 8  # later file, then the flag
    assert settings["horizons"] == [200, 400] and settings["reference_horizons"] == [800]
    flat = tmp_path / "flat.yaml"
    flat.write_text("n_embd: 24\nnormalize: null\ntokenizer: bpe\n")  # flat, by option name
    assert main(["compare", "--config", str(flat), "--print-config"]) == 0
    settings = yaml.safe_load(capsys.readouterr().out)
    assert settings["model"]["n_embd"] == 24 and settings["data"]["tokenizer"] == "bpe"
    assert main(["horizons", "--config", str(config), "--seeds", "0", "--print-config"]) == 2  # checked as a run is
    assert "--seeds must be a positive integer" in capsys.readouterr().err


def _by_name(settings, path=""):
    """Leaf settings by their own name (the report of an earlier version stored them flat)."""
    for key, value in settings.items():
        if isinstance(value, dict):
            yield from _by_name(value, f"{path}{key}.")
        elif f"{path}{key}" != "model.vocab_size":  # set per run from the statistics
            yield key, value


@pytest.mark.parametrize(
    "result", ["docs/results/wiki-compare/results.json", "docs/results/bpe8k-compare/results.json"]
)
def test_a_committed_result_reruns_from_its_report(result, capsys):
    """Reports of two earlier versions (flat, then nested): their settings load; fields they lack keep
    their defaults."""
    stored = dict(_by_name(json.loads((ROOT / result).read_text())["config"]))
    assert main(["compare", "--config", str(ROOT / result), "--print-config"]) == 0
    settings = dict(_by_name(yaml.safe_load(capsys.readouterr().out)))
    for name in ("corpus", "tokenizer", "vocab_size", "normalize", "inits", "seeds", "steps", "n_embd", "lr"):
        assert settings[name] == stored[name], name


@pytest.mark.parametrize(
    "study, horizons, width",
    [
        ("horizons-bvb.yaml", [100, 200, 400, 800, 1600, 3200], 128),
        ("horizons-width256.yaml", [100, 200, 400, 800], 256),
    ],
)
def test_the_committed_study_configs_load(capsys, study, horizons, width):
    configs = [str(ROOT / "benchmarks/configs" / name) for name in ("horizons.yaml", study)]
    assert main(["horizons", *(a for c in configs for a in ("--config", c)), "--print-config"]) == 0
    settings = yaml.safe_load(capsys.readouterr().out)
    assert settings["data"]["vocab_size"] == 8192 and settings["horizons"] == horizons
    assert settings["model"]["n_embd"] == width


def test_res2vec_and_stats_read_settings_files(tmp_path, capsys):
    from res2vec.cli import main as res2vec_main

    config = tmp_path / "r.yaml"
    config.write_text("dim: 50\nwindow: 2\n")
    assert (
        res2vec_main(["build", "builtin:lee", "-o", str(tmp_path / "o"), "--config", str(config), "--print-config"])
        == 0
    )
    settings = yaml.safe_load(capsys.readouterr().out)
    assert settings["dim"] == 50 and settings["window"] == 2
    built = tmp_path / "built"
    assert (
        res2vec_main(["build", "builtin:lee", "-o", str(built), "--config", str(config), "--no-eval", "--quiet"]) == 0
    )
    capsys.readouterr()
    assert res2vec_main(["build", "x", "-o", "y", "--config", str(built / "results.json"), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == settings  # a built result reruns from its report
    out = tmp_path / "s.npz"
    config.write_text("window: 2\nvocab_size: 300\n")
    assert main(["stats", "builtin:lee", "-o", str(out), "--config", str(config), "--quiet"]) == 0
    assert CorpusStats.load(out).vocab_size <= 300 and CorpusStats.load(out).window == 2
