"""Every bad input of issue 15: one line naming the problem, exit status 2, within seconds, before any
long work, and nothing written."""

import re
import time
from pathlib import Path

import pytest

from mobius_init import CorpusStats
from mobius_init.cli import main
from res2vec.cli import main as res2vec_main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lee_stats_file(tmp_path_factory, lee_docs):
    path = tmp_path_factory.mktemp("stats") / "lee.npz"
    return CorpusStats.from_corpus(lee_docs, vocab_size=1200, min_count=1).save(path)


def fails(command, argv, capsys, expected, written=(), seconds=10.0):
    t0 = time.perf_counter()
    assert command(argv) == 2
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert re.search(expected, err), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    for path in written:
        assert not Path(path).exists(), f"{path} was written"
    return err


def test_binary_file_as_corpus(tmp_path, capsys):
    out = tmp_path / "o.npz"
    fails(main, ["stats", "/bin/ls", "-o", str(out), "--quiet"], capsys, "'/bin/ls' is not a text file", [out])


def test_tokenizer_name_in_capitals(tmp_path, capsys):
    out = tmp_path / "o.npz"
    fails(
        main,
        ["stats", "builtin:lee", "-o", str(out), "--tokenizer", "BPE", "--vocab-size", "500"],
        capsys,
        "--tokenizer is 'BPE': choose word or bpe",
        [out],
        seconds=2,
    )


@pytest.mark.parametrize("command", ["init", "stats"])
def test_output_folder_missing(tmp_path, capsys, command, lee_stats_file):
    out = tmp_path / "nonexistent" / "d" / "o.pt"
    argv = (
        ["init", str(lee_stats_file), "--dim", "8", "-o", str(out)]
        if command == "init"
        else ["stats", "builtin:lee", "-o", str(out)]
    )
    fails(main, argv, capsys, "the folder .*nonexistent/d' does not exist", [out], seconds=2)


def test_res2vec_output_is_an_existing_file(tmp_path, capsys):
    out = tmp_path / "model"
    out.write_text("not a directory")
    fails(
        res2vec_main,
        ["build", "builtin:lee", "-o", str(out)],
        capsys,
        "--output .* is a file; give a directory",
        seconds=2,
    )
    assert out.read_text() == "not a directory"


def test_large_dim_picks_the_dense_solver(tmp_path, capsys, lee_stats_file):
    """dim close to V: an exact dense SVD instead of a randomized sketch as wide as the matrix."""
    out = tmp_path / "e.pt"
    t0 = time.perf_counter()
    assert main(["init", str(lee_stats_file), "--dim", "1100", "--method", "ppmi_svd", "-o", str(out)]) == 0
    assert time.perf_counter() - t0 < 30 and out.stat().st_size > 0
    import torch

    assert torch.load(out)["embeddings"].shape == (1200, 1100)


def test_one_word_corpus(tmp_path, capsys):
    corpus, out = tmp_path / "one.txt", tmp_path / "o.npz"
    corpus.write_text("hello\n")
    fails(
        main,
        ["stats", str(corpus), "-o", str(out), "--min-count", "1", "--quiet"],
        capsys,
        "vocabulary of 1 token .*at least 2",
        [out],
    )


def test_text_file_named_npz(tmp_path, capsys):
    fake, out = tmp_path / "fake.npz", tmp_path / "e.pt"
    fake.write_text("just some text\n")
    err = fails(
        main, ["init", str(fake), "--dim", "8", "-o", str(out)], capsys, "is not a mobius-init statistics file", [out]
    )
    assert "allow_pickle" not in err


def test_non_latin_text_under_text8(tmp_path, capsys):
    corpus, out = tmp_path / "ru.txt", tmp_path / "o.npz"
    corpus.write_text("Добрый день, как дела?\nВсё хорошо, спасибо.\n", encoding="utf-8")
    fails(
        main,
        ["stats", str(corpus), "-o", str(out), "--quiet"],
        capsys,
        "corpus is empty.*use --normalize none or lower",
        [out],
    )


def test_hub_source_without_network(tmp_path, capsys, monkeypatch):
    pytest.importorskip("datasets")
    import socket

    def refused(address, timeout):
        raise OSError(101, "Network is unreachable")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(socket, "create_connection", refused)
    out = tmp_path / "o.npz"
    fails(
        main,
        ["stats", "hf:wikitext/wikitext-2-raw-v1", "-o", str(out), "--quiet"],
        capsys,
        "cannot reach the Hugging Face hub",
        [out],
        seconds=5,
    )


def test_errors_name_the_flags_typed(tmp_path, capsys):
    out = tmp_path / "o.npz"
    err = fails(
        main,
        ["stats", "builtin:lee", "-o", str(out), "--vocab-size", "99999", "--quiet"],
        capsys,
        "fewer than --vocab-size=99999; lower --vocab-size or --min-count",
        [out],
    )
    assert "vocab_size" not in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--device", "cuda:9"], "--device 'cuda:9' is not available"),
        (["--warmup-steps", "500", "--steps", "100"], r"--warmup-steps \(500\) must be >= 0 and shorter than the run"),
        (["--inits", "ppmi_svd"], "--inits must include random"),
    ],
)
def test_compare_settings_fail_before_any_training(tmp_path, capsys, argv, expected):
    fails(main, ["compare", *argv, "-o", str(tmp_path / "out")], capsys, expected, [tmp_path / "out"], seconds=3)


def test_version_and_quiet(tmp_path, capsys):
    from mobius_init import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"mobius-init {__version__}"
    assert main(["stats", "builtin:lee", "-o", str(tmp_path / "s.npz"), "--quiet"]) == 0
    assert "%|" not in capsys.readouterr().err  # no progress bar


def test_one_statement_of_the_demo_time(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    in_help = re.search(r"about (\d+) s on 2 CPU cores", " ".join(capsys.readouterr().out.split()))
    in_readme = re.search(r"about (\d+) s on 2 CPU cores", " ".join((ROOT / "README.md").read_text().split()))
    assert in_help and in_readme and in_help.group(1) == in_readme.group(1)


def test_plain_options_are_named_as_flags_too(tmp_path, capsys, lee_stats_file):
    out = tmp_path / "e.pt"
    fails(
        main,
        ["init", str(lee_stats_file), "--dim", "99999", "-o", str(out)],
        capsys,
        r"--dim must be an integer in \[1, V = 1200\], got 99999",
        [out],
    )


def test_json_that_is_not_a_tokenizer_says_so(tmp_path, capsys):
    (tmp_path / "t.json").write_text('{"vocab": {"a": 0}}')
    out = tmp_path / "o.npz"
    argv = ["stats", "builtin:lee", "-o", str(out), "--tokenizer", str(tmp_path / "t.json")]
    fails(main, argv, capsys, "is JSON but not a tokenizers tokenizer.json .*tokenizer.save", [out])


def test_a_tokenizer_directory_is_read_or_named(tmp_path, capsys, lee_docs):
    from mobius_init.tokenization import train_bpe

    folder = tmp_path / "hf-tokenizer"
    folder.mkdir()
    out = tmp_path / "o.npz"
    fails(
        main, ["stats", "builtin:lee", "-o", str(out), "--tokenizer", str(folder)], capsys, "no such file in it", [out]
    )
    train_bpe(lee_docs, 300).save(str(folder / "tokenizer.json"))  # what save_pretrained writes for a fast tokenizer
    assert main(["stats", "builtin:lee", "-o", str(out), "--tokenizer", str(folder), "--quiet"]) == 0
    assert CorpusStats.load(out).vocab_size == 300


def test_a_line_starting_with_doc_is_text_unless_it_is_a_tag(tmp_path):
    from mobius_init.corpus import read_corpus

    (tmp_path / "one.txt").write_text('<doc id="1"> some words of the only document\n')
    assert list(read_corpus(tmp_path / "one.txt")) == ['<doc id="1"> some words of the only document']
    (tmp_path / "wiki.txt").write_text('<doc id="1" title="A">\nA\n\nfirst text\n</doc>\n')
    assert list(read_corpus(tmp_path / "wiki.txt")) == ["A first text"]


@pytest.mark.parametrize(
    "command, argv, expected",
    [
        (
            res2vec_main,
            ["build", "builtin:lee", "--dim", "abc", "-o", "OUT"],
            "argument --dim: expected an integer or one of auto, pip, resonance, got 'abc'",
        ),
        (
            main,
            ["init", "STATS", "--dim", "8", "--scale", "big", "-o", "OUT"],
            "argument --scale: expected match or a positive number",
        ),
    ],
)
def test_option_values_name_their_flag(tmp_path, capsys, lee_stats_file, command, argv, expected):
    argv = [str(lee_stats_file) if a == "STATS" else str(tmp_path / "o") if a == "OUT" else a for a in argv]
    with pytest.raises(SystemExit) as exit_status:  # argparse's own error: usage, then one line
        command(argv)
    assert exit_status.value.code == 2
    assert expected in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "o").exists()


def test_pip_on_one_document_is_refused(tmp_path, capsys, lee_docs):
    one = tmp_path / "one.txt"
    one.write_text(" ".join(lee_docs) + "\n")
    fails(
        res2vec_main,
        ["build", str(one), "-o", str(tmp_path / "m"), "--no-eval", "--quiet"],
        capsys,
        "reads its noise level from two halves of the documents, and this corpus has 1 document",
        [tmp_path / "m"],
    )


@pytest.mark.parametrize("report", ["word2vec", "res2vec"])
def test_verify_needs_a_corpus_an_installed_package_does_not_ship(tmp_path, capsys, report):
    fails(
        main,
        ["verify", report, "-o", str(tmp_path / "v")],
        capsys,
        "--corpus is required: .*--quick runs on builtin:lee",
        seconds=5,
    )


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--horizons", "abc"], "argument --horizons: expected comma-separated integers, got 'abc'"),
        (["--horizons", "20,40.5"], "argument --horizons: expected comma-separated integers, got '20,40.5'"),
        (["--horizons", ""], "argument --horizons: expected comma-separated integers, got an empty value"),
        (["--lrs", "abc"], "argument --lrs: expected comma-separated numbers, got 'abc'"),
    ],
)
def test_list_values_are_one_line_naming_the_flag(tmp_path, capsys, argv, expected):
    with pytest.raises(SystemExit) as exit_status:
        main(["horizons", *argv, "-o", str(tmp_path / "o")])
    assert exit_status.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err
    assert "<lambda>" not in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--embedding-lr-mults", "-1"], "--embedding-lr-mults must be numbers > 0, got -1"),
        (["--lrs", "0,1e-3"], "--lrs must be numbers > 0, got 0,0.001"),
        (["--lr", "0.01", "--lrs", "0.001"], "--lrs sweeps 0.001 and --lr=0.01 is not one of them: give one"),
        (
            ["--embedding-lr-mult", "3", "--embedding-lr-mults", "10,30"],
            "--embedding-lr-mults sweeps 10,30 and --embedding-lr-mult=3 is not one of them",
        ),
        (
            ["--reference-horizons", "10"],
            "--reference-horizons must be longer than the longest horizon \\(4000\\), got 10",
        ),
        (["--warmup-steps", "none"], "--warmup-steps must be a number of steps in a horizon study"),
    ],
)
def test_horizon_grids_and_reference_are_checked_before_any_work(tmp_path, capsys, argv, expected):
    fails(main, ["horizons", *argv, "-o", str(tmp_path / "o")], capsys, expected, [tmp_path / "o"], seconds=3)


def test_gpt2_without_transformers_says_which_extra_at_once(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    out = tmp_path / "out"
    fails(
        main,
        ["compare", "--model", "gpt2", "-o", str(out)],
        capsys,
        "--model gpt2 needs transformers: pip install 'mobius-init\\[hf\\]'",
        [out],
        seconds=3,
    )


def test_initialize_refuses_what_it_cannot_write_and_leaves_it_untouched(data):
    import torch

    from mobius_init import initialize_

    stats, _, _ = data
    layer = torch.nn.Linear(16, stats.vocab_size)
    with pytest.raises(
        TypeError, match="initialize_ needs a model .* got Linear; for a bare embedding matrix use apply_embeddings_"
    ):
        initialize_(layer, stats)
    weight = torch.nn.Parameter(torch.zeros(stats.vocab_size, 16))
    with pytest.raises(TypeError, match="got Parameter"):
        initialize_(weight, stats)
    assert not weight.detach().any()  # nothing was written


def test_ctrl_c_is_one_line_with_the_way_back(tmp_path, capsys, monkeypatch):
    from mobius_init import training

    calls = {"n": 0}
    batch = training._Run.batch

    def interrupted(self):
        calls["n"] += 1
        if calls["n"] == 30:
            raise KeyboardInterrupt
        return batch(self)

    monkeypatch.setattr(training._Run, "batch", interrupted)
    argv = [
        "demo",
        "--quiet",
        "--seeds",
        "1",
        "--inits",
        "random",
        "--steps",
        "40",
        "--eval-every",
        "25",
        "--monitor-every",
        "25",
        "-o",
        str(tmp_path / "d"),
    ]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip()
    assert err == (
        "mobius-init demo: interrupted at step 30 of random seed 0 (its state at step 25 is saved); rerun the same "
        "command with --resume to continue"
    )
    monkeypatch.setattr(training._Run, "batch", batch)
    assert main(argv + ["--resume"]) == 0  # and it does


def test_a_demo_rerun_with_other_inits_removes_the_earlier_runs(tmp_path, capsys):
    argv = [
        "demo",
        "--quiet",
        "--steps",
        "20",
        "--eval-every",
        "10",
        "--monitor-every",
        "10",
        "-o",
        str(tmp_path / "d"),
    ]
    assert main(argv + ["--seeds", "2", "--inits", "random,random+unigram"]) == 0
    assert main(argv + ["--seeds", "1", "--inits", "random"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"removed \d+ files of an earlier run with other inits or seeds", out), out
    left = sorted(p.name for folder in ("runs", "logs", "checkpoints") for p in (tmp_path / "d" / folder).iterdir())
    assert left == ["random_seed0.json", "random_seed0.jsonl", "random_seed0.pt", "random_seed0.settings.json"]


def test_bpe_says_when_the_corpus_uses_fewer_ids_than_trained():
    from mobius_init import encode_corpus

    with pytest.warns(UserWarning, match="BPE trained 500 ids, but only 324 occur at least min_count=1 times"):
        encoded = encode_corpus("builtin:lee", tokenizer="bpe", vocab_size=500)
    assert len(encoded.vocab) == 324


@pytest.mark.parametrize(
    "text, expected",
    [
        ("nope: 1\n", "'nope' is not a setting of this command"),
        ("seeds: two\n", "'seeds' \\(--seeds\\): expected int, got 'two'"),
        ("data: {weighting: cubic}\n", "'data.weighting' \\(--weighting\\): 'cubic' is not one of"),
        ("model: {tie_embeddings: 3}\n", "'model.tie_embeddings' \\(--tie-embeddings\\): expected true or false"),
        ("vocab_size: 10\ndata: {vocab_size: 20}\n", "'vocab_size' and 'data.vocab_size' both set --vocab-size"),
        ("[1, 2]\n", "expected a mapping of settings, got list"),
        ("seeds: [\n", "not YAML or JSON"),
    ],
)
def test_a_bad_settings_file_is_one_line_naming_the_file_and_key(tmp_path, capsys, text, expected):
    config = tmp_path / "study.yaml"
    config.write_text(text)
    out = tmp_path / "o"
    err = fails(main, ["horizons", "--config", str(config), "-o", str(out)], capsys, expected, [out], seconds=3)
    assert str(config) in err


def test_res2vec_block_too_small_for_max_dim_is_refused_before_reading(tmp_path, capsys):
    fails(
        res2vec_main,
        ["build", "builtin:lee", "--block-size", "10", "--n-iter", "2", "-o", str(tmp_path / "m"), "--quiet"],
        capsys,
        r"--block-size \* \(--n-iter \+ 1\) must be at least --max-dim = 300, got 10 \* 3",
        [tmp_path / "m"],
        seconds=2.0,
    )
