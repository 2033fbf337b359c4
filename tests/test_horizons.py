"""The wsd schedule, the embedding learning-rate multiplier, trunk/branch equivalence and the
steps-saved arithmetic of the horizon study."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from mobius_init import MiniGPT, MiniGPTConfig, TrainConfig, train
from mobius_init.cli import main
from mobius_init.experiments.horizons import HorizonsConfig, run_horizons
from mobius_init.schedules import lr_multiplier
from mobius_init.settings import InvalidSetting
from mobius_init.significance import fit_saving, steps_to_reach
from mobius_init.training import kept_state_path, parameter_groups


def tiny_model(V, seed=0):
    torch.manual_seed(seed)
    return MiniGPT(MiniGPTConfig(vocab_size=V, n_layer=1, n_head=2, n_embd=16, block_size=16))


def _tiny_study(out, *extra):
    return [
        "horizons",
        "--quiet",
        "--max-docs",
        "120",
        "--vocab-size",
        "200",
        "--n-embd",
        "16",
        "--block-size",
        "16",
        "--eval-every",
        "50",
        "--seeds",
        "1",
        "--device",
        "cpu",
        "--inits",
        "random",
        "-o",
        str(out),
        *extra,
    ]


def _finals(out):
    return {p.name: json.loads(p.read_text())["result"]["final_val_loss"] for p in (out / "runs").glob("*_T*.json")}


@pytest.mark.parametrize("shape", ["linear", "sqrt"])
def test_wsd_warmup_plateau_and_decay(shape):
    config = TrainConfig(
        steps=100,
        schedule="wsd",
        warmup_steps=10,
        decay_fraction=0.2,
        decay_shape=shape,
        min_lr_ratio=0.0,
        device="cpu",
    )
    lrs = [lr_multiplier(config, i) for i in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)  # linear warmup over 10 updates
    assert set(lrs[10:80]) == {1.0}  # the plateau ends where the last 20 % begin
    assert lrs[99] == pytest.approx(0.0)  # the decay reaches min_lr_ratio at the last update
    progress = 10 / 20  # update 90 (index 89) is the 10th of the 20 decay updates
    expected = 1 - progress if shape == "linear" else 1 - np.sqrt(progress)
    assert lrs[89] == pytest.approx(expected)
    assert all(a >= b for a, b in zip(lrs[80:], lrs[81:], strict=False))
    floor = TrainConfig(steps=100, schedule="wsd", warmup_steps=0, min_lr_ratio=0.1, device="cpu")
    assert lr_multiplier(floor, 99) == pytest.approx(0.1)
    assert TrainConfig(steps=1000, schedule="wsd", device="cpu").warmup == 20


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"schedule": "wsd", "steps": 20, "warmup_steps": 18}, "shorter than warmup .* \\+ decay"),
        ({"schedule": "wsd", "decay_fraction": 1.0}, "decay_fraction must lie in \\(0, 1\\)"),
        ({"schedule": "wsd", "decay_fraction": 0.0}, "decay_fraction must lie in \\(0, 1\\)"),
        ({"decay_shape": "cosine"}, "decay_shape must be one of linear, sqrt"),
        ({"embedding_lr_mult": -1.0}, "embedding_lr_mult must be a number >= 0"),
    ],
)
def test_bad_schedule_settings(kwargs, match):
    with pytest.raises(InvalidSetting, match=match):
        TrainConfig(device="cpu", **kwargs)


def test_embedding_learning_rate_multiplier_groups(data):
    stats, train_ids, val_ids = data
    model = tiny_model(stats.vocab_size)
    config = TrainConfig(lr=1e-3, embedding_lr_mult=10.0, device="cpu")
    groups = {g["name"]: g for g in parameter_groups(model, config)}
    assert groups["embedding"]["params"] == [model.tok_emb.weight] and groups["embedding"]["lr"] == pytest.approx(1e-2)
    others = [p for g in ("matrices", "vectors") for p in groups[g]["params"]]
    assert all(p is not model.tok_emb.weight for p in others)
    assert len(others) + 1 == len(list(model.parameters()))  # every parameter once (the head is tied)
    result = train(
        model,
        train_ids,
        val_ids,
        TrainConfig(
            steps=6, eval_every=3, warmup_steps=2, lr=1e-3, embedding_lr_mult=10.0, progress=False, device="cpu"
        ),
    )
    assert result.history[-1]["lr"] == pytest.approx(1e-3)  # the first group reported is the embedding's...
    # ...at its multiple during the run: the update of the embedding is larger than at x1
    moved = {}
    for mult in (1.0, 10.0):
        m = tiny_model(stats.vocab_size)
        before = m.tok_emb.weight.detach().clone()
        train(
            m,
            train_ids,
            val_ids,
            TrainConfig(
                steps=3,
                eval_every=3,
                schedule="constant",
                lr=1e-3,
                embedding_lr_mult=mult,
                progress=False,
                device="cpu",
            ),
        )
        moved[mult] = float((m.tok_emb.weight.detach() - before).norm())
    assert moved[10.0] > 5 * moved[1.0]


def _wsd(steps, **kw):
    return TrainConfig(
        steps=steps,
        schedule="wsd",
        warmup_steps=4,
        min_lr_ratio=0.0,
        eval_every=5,
        seed=2,
        lr=3e-3,
        progress=False,
        device="cpu",
        **kw,
    )


def test_branch_off_a_constant_trunk_equals_the_straight_run(data, tmp_path):
    """A constant-rate trunk's state at 0.8 T, continued with the decay, ends bit-identically where the
    wsd run of T steps trained straight ends; and a branch interrupted mid-decay and resumed, too."""
    stats, train_ids, val_ids = data
    straight = train(tiny_model(stats.vocab_size), train_ids, val_ids, _wsd(30))
    trunk = replace(_wsd(24), schedule="constant", checkpoint_path=str(tmp_path / "trunk.pt"), keep_states_at=(24,))
    train(tiny_model(stats.vocab_size), train_ids, val_ids, trunk)
    state = torch.load(kept_state_path(trunk.checkpoint_path, 24), weights_only=False)
    branch = _wsd(30, checkpoint_path=str(tmp_path / "branch.pt"), resume=True)
    from dataclasses import asdict

    state["train_config"] = asdict(branch)
    torch.save(state, branch.checkpoint_path)
    branched = train(tiny_model(stats.vocab_size, seed=99), train_ids, val_ids, branch)
    assert branched.final_val_loss == straight.final_val_loss
    assert branched.train_losses == straight.train_losses

    class Crash:
        def __init__(self, at=None):
            self.at = at

        def on_step_end(self, model, step, metrics):
            if step == self.at:
                raise KeyboardInterrupt

    interrupted = _wsd(30, checkpoint_path=str(tmp_path / "mid.pt"))
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(stats.vocab_size), train_ids, val_ids, interrupted, callbacks=[Crash(27)])
    resumed = train(
        tiny_model(stats.vocab_size),
        train_ids,
        val_ids,
        _wsd(30, checkpoint_path=str(tmp_path / "mid.pt"), resume=True),
        callbacks=[Crash()],
    )
    assert resumed.final_val_loss == straight.final_val_loss and resumed.train_losses == straight.train_losses


def test_resume_refuses_changed_training_settings(data, tmp_path):
    stats, train_ids, val_ids = data
    path = str(tmp_path / "run.pt")
    train(tiny_model(stats.vocab_size), train_ids, val_ids, _wsd(10, checkpoint_path=path))
    with pytest.raises(ValueError, match="cannot resume .*lr=0.003, now 0.01"):
        train(
            tiny_model(stats.vocab_size),
            train_ids,
            val_ids,
            TrainConfig(**{**asdict_(_wsd(10)), "lr": 1e-2, "checkpoint_path": path, "resume": True}),
        )


def asdict_(config):
    from dataclasses import asdict

    return asdict(config)


def test_steps_to_reach_and_saving_fit_on_known_curves():
    horizons = [100, 200, 400, 800]
    losses = [5.0, 4.6, 4.2, 3.8]  # linear in log2 T: 0.4 nats per doubling
    assert steps_to_reach(horizons, losses, 4.4) == (pytest.approx(np.sqrt(200 * 400)), "exact")
    assert steps_to_reach(horizons, losses, 4.2) == (pytest.approx(400), "exact")
    assert steps_to_reach(horizons, losses, 3.0) == (800.0, "above")  # never reached: a lower bound
    assert steps_to_reach(horizons, losses, 5.5) == (100.0, "below")
    T = np.array([100, 200, 400, 800, 1600.0])
    linear = fit_saving(T, 50 + 0.25 * T)
    assert linear["linear"]["a"] == pytest.approx(50) and linear["linear"]["b"] == pytest.approx(0.25)
    assert linear["better"] == "linear"
    power = fit_saving(T, 3 * T**0.5)
    assert power["power"]["a"] == pytest.approx(3) and power["power"]["c"] == pytest.approx(0.5)
    assert power["better"] == "power"


def test_horizon_study_runs_resumes_and_refuses_changes(tmp_path, capsys):
    tiny = ["--horizons", "20,40", "--warmup-steps", "4", "--eval-every", "20", "--seeds", "2"]
    args = _tiny_study(tmp_path, *tiny, "--inits", "random,random+unigram")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "random_lr0.0003_emb1_seed0_T40.pt").write_text("an earlier study's state")
    assert main(args) == 0  # without --resume nothing of an earlier study is continued
    report = json.loads((tmp_path / "results.json").read_text())
    row = report["summary"]["random+unigram|0.0003|1"]["horizons"]["40"]
    assert set(row) >= {"delta_vs_random", "steps_saved", "saved_fraction", "censored"}
    assert (tmp_path / "horizons.png").is_file() and (tmp_path / "results.md").is_file()
    stamp = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()}
    assert main(args + ["--resume"]) == 0  # everything finished is kept, nothing retrained
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()} == stamp
    assert json.loads((tmp_path / "results.json").read_text())["summary"] == report["summary"]
    capsys.readouterr()
    assert main(args + ["--resume", "--weight-decay", "0.1"]) == 2  # same arm names, other training
    assert "--weight-decay=0.01, now 0.1" in capsys.readouterr().err

    # the reference reaches further: its trunks are extended, nothing else is retrained
    assert main(args + ["--resume", "--reference-horizons", "80"]) == 0
    runs = tmp_path / "runs"
    assert all((runs / name).stat().st_mtime_ns == t for name, t in stamp.items() if name.startswith("random+"))
    extended = json.loads((runs / "random_lr0.0003_emb1_seed1_T80.json").read_text())["result"]
    straight = tmp_path / "straight"
    one_arm = _tiny_study(straight, *tiny, "--horizons", "20,40,80")
    assert main(one_arm) == 0
    fresh = json.loads((straight / "runs" / "random_lr0.0003_emb1_seed1_T80.json").read_text())["result"]
    assert extended["final_val_loss"] == fresh["final_val_loss"]  # an extended trunk is the longer trunk
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert "80" in summary["random|0.0003|1"]["horizons"] and "80" not in summary["random+unigram|0.0003|1"]["horizons"]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--horizons", "100,50"], "--horizons must be strictly increasing"),
        (
            ["--horizons", "10,100", "--warmup-steps", "9"],
            "--horizons has 10: shorter than the warmup \\(--warmup-steps=9\\)",
        ),
        (["--decay-fraction", "1.5"], "--decay-fraction must lie in"),
    ],
)
def test_horizon_study_bad_input_fails_before_training(tmp_path, capsys, argv, match):
    assert main(["horizons", "-o", str(tmp_path / "out")] + argv) == 2
    err = capsys.readouterr().err
    import re

    assert re.search(match, err), err
    assert not (tmp_path / "out").exists()


def test_horizons_config_grid():
    config = HorizonsConfig(inits=("random", "ppmi_svd+unigram"), lrs=(1e-3, 2e-3), embedding_lr_mults=(1.0, 10.0))
    assert len(config.grid()) == 8
    assert config.branch_point(1000) == 800
    longer = HorizonsConfig(horizons=(250, 500, 1000, 2000, 4000, 8000))
    assert config.warmup == longer.warmup == 100  # fixed in steps: adding a horizon keeps every trunk
    assert run_horizons  # the runner is importable from the experiment module


def test_extending_a_study_keeps_its_branches_and_adds_the_new_ones(tmp_path):
    """The default warmup does not follow the longest horizon, so a finished study extended by a longer
    horizon and an intermediate one keeps its branches; the new ones equal a study that had them from the
    start (the intermediate branch point is reached by recomputing the trunk from its last kept state)."""
    study = tmp_path / "study"
    assert main(_tiny_study(study, "--horizons", "130,150")) == 0
    before = {p.name: p.stat().st_mtime_ns for p in (study / "runs").glob("*_T*.json")}
    assert main(_tiny_study(study, "--horizons", "130,140,150,250", "--resume")) == 0
    after = {p.name: p.stat().st_mtime_ns for p in (study / "runs").glob("*_T*.json")}
    assert {k: after[k] for k in before} == before  # the earlier branches are kept, not retrained
    assert set(after) - set(before) == {"random_lr0.0003_emb1_seed0_T140.json", "random_lr0.0003_emb1_seed0_T250.json"}
    straight = tmp_path / "straight"
    assert main(_tiny_study(straight, "--horizons", "140,250")) == 0
    finals, fresh = _finals(study), _finals(straight)
    assert {k: finals[k] for k in fresh} == fresh  # bit-identical to training them from the start
    summary = json.loads((study / "results.json").read_text())["summary"]["random|0.0003|1"]["horizons"]
    assert list(summary) == ["130", "140", "150", "250"]
    trunk = json.loads((study / "runs" / "random_lr0.0003_emb1_seed0.trunk.json").read_text())
    assert len(trunk["train_losses"]) == 200  # every step's training loss is kept (the forecast's data)


def test_a_resumed_study_with_another_setting_keeps_every_arm_in_its_report(tmp_path, capsys):
    study = tmp_path / "study"
    assert main(_tiny_study(study, "--horizons", "130,150", "--inits", "random,random+unigram")) == 0
    assert (
        main(
            _tiny_study(study, "--horizons", "130,150", "--inits", "random,random+unigram", "--lr", "1e-3", "--resume")
        )
        == 0
    )
    report = json.loads((study / "results.json").read_text())
    assert set(report["summary"]) == {
        "random|0.0003|1",
        "random+unigram|0.0003|1",
        "random|0.001|1",
        "random+unigram|0.001|1",
    }
    assert report["arms_from_earlier_commands"] == ["random+unigram|0.0003|1", "random|0.0003|1"]
    out = capsys.readouterr().out
    assert "the report covers 4 arms: 2 of them were already in" in out
    assert "| random+unigram | 0.0003 | 1 | 130 |" in (study / "results.md").read_text()
    # another model is another study: its arms do not enter this report (and same-named arms are refused)
    assert main(_tiny_study(study, "--horizons", "130,150", "--n-layer", "1", "--lr", "2e-3", "--resume")) == 0
    assert set(json.loads((study / "results.json").read_text())["summary"]) == {"random|0.002|1"}


def _synthetic(losses):
    """``{arm: {horizon: {seed: {"final_val_loss": x}}}}`` from ``{arm: {horizon: [x per seed]}}``."""
    return {
        arm: {h: {s: {"final_val_loss": x} for s, x in enumerate(xs)} for h, xs in by_h.items()}
        for arm, by_h in losses.items()
    }


def test_best_against_best_chooses_each_sides_cell_per_horizon():
    from mobius_init.experiments.horizons_report import best_against_best

    results = _synthetic(
        {  # random prefers x30 short and x10 long; the init prefers x10 short and x3 long
            "random|0.001|3": {100: [6.9, 6.9, 6.9], 400: [5.9, 5.9, 5.9], 1600: [5.10, 5.12, 5.14]},
            "random|0.001|10": {100: [6.8, 6.8, 6.8], 400: [5.8, 5.8, 5.8], 1600: [5.15, 5.15, 5.15]},
            "random|0.001|30": {100: [6.6, 6.6, 6.6], 400: [5.75, 5.75, 5.75], 1600: [5.2, 5.2, 5.2]},
            "ppmi|0.001|3": {100: [6.5, 6.5, 6.5], 400: [5.7, 5.7, 5.7], 1600: [5.0, 5.2, 5.1]},
            "ppmi|0.001|10": {100: [6.3, 6.4, 6.2], 400: [5.6, 5.6, 5.6], 1600: [5.08, 5.08, 5.08]},
            "ppmi|0.001|30": {100: [6.4, 6.4, 6.4], 400: [5.65, 5.65, 5.65], 1600: [5.2, 5.2, 5.2]},
        }
    )
    report = best_against_best(results)
    assert report["grid_sizes"] == {"random": 3, "ppmi": 3}
    rows = report["inits"]["ppmi"]["horizons"]
    assert rows["100"]["best"] == {"init": [0.001, 10.0], "random": [0.001, 30.0]}
    assert rows["1600"]["best"] == {"init": [0.001, 10.0], "random": [0.001, 3.0]}  # 5.08 < 5.1 on the mean
    assert rows["100"]["edge"] == {"init": [], "random": ["multiplier high"]}
    assert rows["1600"]["edge"]["random"] == ["multiplier low"]
    assert rows["400"]["delta"]["mean"] == pytest.approx(5.6 - 5.75)
    assert rows["1600"]["delta"]["mean"] == pytest.approx(5.08 - 5.12)
    # held out: seed 2's cells are chosen on seeds 0 and 1, where x3 (5.1 mean) loses to x10 (5.08)...
    held = rows["1600"]["held_out_seed"]
    assert held["chosen"]["0"] == [[0.001, 10.0], [0.001, 3.0]]  # on seeds 1, 2: x10 5.08 < x3 5.15
    assert held["chosen"]["1"] == [[0.001, 3.0], [0.001, 3.0]]  # on seeds 0, 2: x3 5.05 < x10 5.08
    assert held["mean"] == pytest.approx(np.mean([5.08 - 5.10, 5.2 - 5.12, 5.08 - 5.14]))
    # steps saved against random's best-at-each-horizon curve: at 400 the init's 5.6 lies between
    # random's 5.75 (400) and 5.12 (1600, seed 1) on a log-T line
    saved = rows["400"]["steps_saved_per_seed"]
    expected = [np.exp(np.log(400) + (5.75 - 5.6) / (5.75 - r) * np.log(4)) - 400 for r in (5.10, 5.12, 5.14)]
    assert saved == pytest.approx(expected)
    assert set(rows["400"]["censored"]) == {"exact"} and set(rows["1600"]["censored"]) == {"above"}


def test_the_plot_draws_bounds_apart_from_exact_savings(tmp_path):
    from mobius_init.experiments.horizons_report import _saved_points, best_against_best, plot, summarize

    results = _synthetic(
        {
            "random|0.001|30": {100: [6.6, 6.6], 400: [5.75, 5.75], 1600: [5.2, 5.2]},
            "ppmi|0.001|30": {100: [6.4, 6.4], 400: [5.6, 5.6], 1600: [5.1, 5.1]},  # 1600: below random's last
        }
    )
    summary = summarize(results)
    rows = list(summary["ppmi|0.001|30"]["horizons"].values())
    points = _saved_points(rows, [100, 400, 1600])
    assert points["exact"][0] == [100, 400] and points["lower"][0] == [1600] and points["upper"] == ([], [])
    report = {"summary": summary, "best_vs_best": best_against_best(results)}
    figure = plot(report, tmp_path / "h.png")
    open_up = [
        line
        for ax in figure.axes
        for line in ax.get_lines()
        if line.get_marker() == "^" and line.get_markerfacecolor() == "none" and len(line.get_xdata())
    ]
    assert [list(line.get_xdata()) for line in open_up] == [[1600]]
    assert (tmp_path / "h.png").is_file()

    # cells no seed of which all share (one seed here, another there): no best against best, yet a plot
    apart = {"random|0.001|1": {100: {0: {"final_val_loss": 6.9}}, 400: {0: {"final_val_loss": 5.9}}}}
    apart["random|0.001|3"] = {100: {1: {"final_val_loss": 6.8}}, 400: {1: {"final_val_loss": 5.8}}}
    apart["ppmi|0.001|1"] = {100: {1: {"final_val_loss": 6.5}}, 400: {1: {"final_val_loss": 5.7}}}
    report = {"summary": summarize(apart), "best_vs_best": best_against_best(apart)}
    assert report["best_vs_best"]["inits"]["ppmi"]["horizons"] == {}
    plot(report, tmp_path / "apart.png")
    assert (tmp_path / "apart.png").is_file()


def test_recommended_init_survives_a_standard_save(data, tmp_path):
    """The log-unigram prior round-trips: MiniGPT's bias through its state_dict, GPT-2's prior (in the
    final LayerNorm and a reserved embedding direction) through save_pretrained / from_pretrained."""
    from mobius_init.embeddings import unigram_log_probs
    from mobius_init.weights import set_output_bias_, set_output_prior_

    stats, train_ids, _ = data
    prior = torch.from_numpy(unigram_log_probs(stats.vocab.counts))
    x = torch.as_tensor(train_ids[:16]).view(1, 16)
    model = tiny_model(stats.vocab_size).eval()
    set_output_bias_(model, prior)
    torch.save(model.state_dict(), tmp_path / "minigpt.pt")
    loaded = tiny_model(stats.vocab_size, seed=5).eval()
    loaded.load_state_dict(torch.load(tmp_path / "minigpt.pt"))
    assert torch.equal(loaded(x)[0], model(x)[0])

    pytest.importorskip("transformers")
    from transformers import GPT2LMHeadModel

    from mobius_init.integrations.hf import gpt2_model

    torch.manual_seed(0)
    gpt2 = gpt2_model(MiniGPTConfig(vocab_size=stats.vocab_size, n_layer=1, n_head=2, n_embd=16, block_size=16))
    before = gpt2(input_ids=x).logits.detach()
    info = set_output_prior_(gpt2, prior)
    gpt2.eval()
    logits = gpt2(input_ids=x).logits.detach()
    shift = logits - before  # the prior is in the logits (up to the lost column's old term and a constant)
    assert torch.corrcoef(torch.stack([shift[0, -1], prior]))[0, 1] > 0.99 and info["beta"] > 0
    gpt2.save_pretrained(tmp_path / "gpt2")
    reloaded = GPT2LMHeadModel.from_pretrained(tmp_path / "gpt2").eval()
    assert torch.equal(reloaded(input_ids=x).logits, logits)
    untouched = gpt2_model(MiniGPTConfig(vocab_size=stats.vocab_size, n_layer=1, n_head=2, n_embd=16, block_size=16))
    set_output_bias_(untouched, prior)
    with pytest.raises(ValueError, match="already has a bias"):
        set_output_prior_(untouched, prior)


def test_untied_model_takes_the_analytic_input_and_keeps_its_head(data):
    from mobius_init.embeddings import analytic_embeddings
    from mobius_init.weights import apply_embeddings_

    stats, _, _ = data
    torch.manual_seed(0)
    model = MiniGPT(MiniGPTConfig(vocab_size=stats.vocab_size, n_layer=1, n_head=2, n_embd=16, tie_embeddings=False))
    assert model.lm_head.weight is not model.tok_emb.weight
    head = model.lm_head.weight.detach().clone()
    E = analytic_embeddings(stats, 16, "ppmi_svd")
    with pytest.raises(ValueError, match="not tied"):
        apply_embeddings_(model, E)
    apply_embeddings_(model, E, untied="input")
    assert torch.equal(model.tok_emb.weight.detach(), E.float()) and torch.equal(model.lm_head.weight.detach(), head)


def test_a_setting_added_later_matches_its_default_on_resume(tmp_path):
    from mobius_init.experiments.data import refuse_changed_settings

    saved = {"model": {"n_embd": 16}, "train": {"lr": 1e-3}}  # made before tie_embeddings existed
    refuse_changed_settings(tmp_path, saved, {"model": {"n_embd": 16, "tie_embeddings": True}, "train": {"lr": 1e-3}})
    with pytest.raises(ValueError, match="tie_embeddings=True, now False"):
        refuse_changed_settings(
            tmp_path, saved, {"model": {"n_embd": 16, "tie_embeddings": False}, "train": {"lr": 1e-3}}
        )


def test_initialize_is_the_recommended_init_in_one_call(data, tmp_path):
    import mobius_init
    from mobius_init import initialize_
    from mobius_init.embeddings import analytic_embeddings

    stats, train_ids, _ = data
    model = tiny_model(stats.vocab_size)
    done = initialize_(model, stats)
    assert done["method"] == "ppmi_svd" and done["prior"] == "bias" and done["shape"] == (stats.vocab_size, 16)
    assert torch.equal(model.tok_emb.weight.detach(), analytic_embeddings(stats, 16, "ppmi_svd").float())
    assert model.lm_head.bias is not None and model.lm_head.weight is model.tok_emb.weight
    assert "initialize_" in mobius_init.__all__ and "derive_k0" not in mobius_init.__all__
    from importlib.metadata import version

    assert mobius_init.__version__ == version("mobius-init")
    pytest.importorskip("transformers")
    from mobius_init.integrations.hf import gpt2_model

    gpt2 = gpt2_model(MiniGPTConfig(vocab_size=stats.vocab_size, n_layer=1, n_head=2, n_embd=16, block_size=16))
    with pytest.warns(UserWarning, match="save_pretrained"):
        done = initialize_(gpt2, stats)
    assert done["prior"] == "bias" and gpt2.lm_head.bias is not None
    other = gpt2_model(MiniGPTConfig(vocab_size=stats.vocab_size, n_layer=1, n_head=2, n_embd=16, block_size=16))
    done = initialize_(other, stats, unigram_prior="reserved")
    assert done["prior"] == "reserved" and done["column"] == 15 and other.lm_head.bias is None
    with pytest.raises(ValueError, match="unigram_prior must be"):
        initialize_(other, stats, unigram_prior="yes")


PLUGINS = """
import torch


def rows(stats, model):
    weight = model.get_input_embeddings().weight
    V, d = weight.shape
    with torch.no_grad():
        weight.copy_(0.02 * torch.linspace(-1, 1, V)[:, None] * torch.cos(torch.arange(d, dtype=torch.float32)))


def attention_only(stats, model):
    with torch.no_grad():
        for block in model.blocks:
            block.attn.proj.weight.mul_(0.5)


def too_wide(stats, model):
    model.tok_emb = torch.nn.Embedding(model.tok_emb.num_embeddings + 1, model.tok_emb.embedding_dim)


def not_finite(stats, model):
    with torch.no_grad():
        model.get_input_embeddings().weight[0, 0] = float("nan")


def one_argument(stats):
    pass
"""


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    (tmp_path / "toyinit.py").write_text(PLUGINS)
    (tmp_path / "broken.py").write_text("import no_such_package\n")
    monkeypatch.chdir(tmp_path)  # a plug-in module is found from the current directory, as python -m finds it
    yield tmp_path
    import sys

    for name in ("toyinit", "broken"):
        sys.modules.pop(name, None)


def test_a_plugin_init_is_applied_with_its_controls(data, plugins):
    from mobius_init.embeddings import shuffled_control
    from mobius_init.experiments.arms import InitSpec, initialise

    stats, _, _ = data
    written = tiny_model(stats.vocab_size)
    initialise(written, stats, InitSpec.parse("toyinit:rows+unigram"), seed=0)
    E = written.tok_emb.weight.detach().double().numpy()
    assert np.ptp(E[:, 0]) > 0 and written.lm_head.bias is not None
    control = tiny_model(stats.vocab_size)
    initialise(control, stats, InitSpec.parse("toyinit:rows:shuffled"), seed=0)
    assert np.allclose(control.tok_emb.weight.detach().double().numpy(), shuffled_control(E, 0), atol=1e-7)
    with pytest.raises(
        ValueError,
        match="the control :shuffled rearranges the embedding's rows, which toyinit:attention_only does not write",
    ):
        initialise(tiny_model(stats.vocab_size), stats, InitSpec.parse("toyinit:attention_only:shuffled"), seed=0)


def test_a_plugin_init_goes_through_a_study(plugins):
    out = plugins / "study"
    assert main(_tiny_study(out, "--horizons", "130,150", "--inits", "random,toyinit:rows")) == 0
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert "delta_vs_random" in summary["toyinit:rows|0.0003|1"]["horizons"]["150"]


@pytest.mark.parametrize(
    "init, message",
    [
        ("nosuchmodule:f", "cannot import 'nosuchmodule' \\(ModuleNotFoundError"),
        ("broken:f", "cannot import 'broken' \\(ModuleNotFoundError: No module named 'no_such_package'\\)"),
        ("toyinit:missing", "'toyinit' has no function 'missing'"),
        ("toyinit:one_argument", "one_argument\\(stats\\) must take \\(stats, model\\)"),
        (
            "toyinit:too_wide",
            "init 'toyinit:too_wide' changed the embedding's shape from \\(\\d+, 16\\) to \\(\\d+, 16\\)",
        ),
        ("toyinit:not_finite", "init 'toyinit:not_finite' wrote non-finite values into tok_emb.weight"),
    ],
)
def test_a_bad_plugin_is_one_line_before_any_training(plugins, capsys, init, message):
    import re

    out = plugins / "study"
    assert main(_tiny_study(out, "--horizons", "130,150", "--inits", f"random,{init}")) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and len(err.strip().splitlines()) == 1, err
    assert not (out / "runs").exists() and not (out / "logs").exists()


def test_the_mimetic_example_is_a_plugin_through_a_short_study(run_example, monkeypatch, tmp_path):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # examples.mimetic_init imports from the root
    out = run_example("mimetic_init.py", "--steps", "40", "-o", str(tmp_path / "m"))
    assert "| examples.mimetic_init:mimetic_attention_ | 0.0003 | 1 | 40 | 2 |" in out
    import torch

    from mobius_init import MiniGPT, MiniGPTConfig

    spec = __import__("examples.mimetic_init", fromlist=["mimetic_attention_"])
    torch.manual_seed(0)
    model = MiniGPT(MiniGPTConfig(vocab_size=50, n_embd=32, n_head=4))
    spec.mimetic_attention_(None, model)
    attn, d = model.blocks[0].attn, 32
    qk = attn.qkv.weight[:d].T @ attn.qkv.weight[d : 2 * d]
    vo = attn.qkv.weight[2 * d :].T @ attn.proj.weight.T
    assert torch.diagonal(qk).mean() > 0.5 and torch.diagonal(vo).mean() < -0.2  # ~ +0.7 I and ~ -0.4 I


def test_forecast_reads_a_study_past_its_longest_horizon(tmp_path, capsys):
    study = tmp_path / "study"
    args = ["--horizons", "80,160", "--warmup-steps", "4", "--eval-every", "40", "--inits", "random,random+unigram"]
    assert main(_tiny_study(study, *args)) == 0
    capsys.readouterr()
    assert main(["forecast", str(study), "--horizons", "400,800"]) == 0
    printed = capsys.readouterr().out
    assert "failed its validation" in printed and "| random+unigram |" in printed
    report = json.loads((study / "forecast.json").read_text())
    rows = {row["arm"][0]: row for row in report["arms"]}
    for row in rows.values():
        for horizon in ("400", "800"):
            f = row["forecast"][horizon]
            assert np.isfinite(f["final"]) and f["low"] <= f["final"] <= f["high"]
    assert set(rows["random+unigram"]["steps_saved"]["800"]) == {"steps", "bound"}
    assert "steps_saved" not in rows["random"]
    assert main(["forecast", str(study)]) == 0  # default: twice and four times the longest horizon (160)
    assert json.loads((study / "forecast.json").read_text())["horizons"] == [320, 640]
    capsys.readouterr()
    with pytest.raises(SystemExit, match="2"):
        main(["forecast", str(study), "--horizons", "0,80"])
    assert "argument --horizons: expected comma-separated positive integers" in capsys.readouterr().err

    short = tmp_path / "short"  # too few losses after the warmup: each arm says why, the command still ends
    assert main(_tiny_study(short, "--horizons", "20,40", "--warmup-steps", "4", "--eval-every", "20")) == 0
    capsys.readouterr()
    assert main(["forecast", str(short), "--horizons", "80"]) == 0
    assert "no forecast: need at least 14 losses after the warmup" in capsys.readouterr().out
    assert main(["forecast", str(tmp_path / "nothing"), "--horizons", "80"]) == 2
    assert "holds no horizon study" in capsys.readouterr().err


def test_a_study_on_a_dask_cluster_equals_the_one_process_study(tmp_path, capsys):
    """Each arm one task on a LocalCluster of two worker processes: the same branches, bit for bit; an
    address that does not answer is one line before any work."""
    distributed = pytest.importorskip("distributed")
    tiny = ["--horizons", "20,40", "--warmup-steps", "4", "--eval-every", "20", "--inits", "random,ppmi_svd+unigram"]
    assert main(_tiny_study(tmp_path / "local", *tiny, "--seeds", "2")) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert main(_tiny_study(tmp_path / "dask", *tiny, "--seeds", "2", "--dask", address)) == 0
    assert _finals(tmp_path / "dask") == _finals(tmp_path / "local") and len(_finals(tmp_path / "local")) == 8
    capsys.readouterr()
    assert main(_tiny_study(tmp_path / "x", *tiny, "--dask", "tcp://127.0.0.1:9")) == 2
    assert "the Dask scheduler at 'tcp://127.0.0.1:9' did not answer" in capsys.readouterr().err
    assert not (tmp_path / "x" / "runs").exists()  # refused before the data is prepared


def _bvb_report():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "horizon_bvb_report.py"
    spec = importlib.util.spec_from_file_location("horizon_bvb_report", path)
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    return report


def test_archived_records_the_directory_lacks_are_restored_and_count_in_its_report(tmp_path):
    """benchmarks/horizon_bvb_report.py --logs: a record trained elsewhere is written back, one here is
    never overwritten; the restored branch is then read like any other."""
    from mobius_init.experiments.horizons_forecast import load_study_logs

    out = tmp_path / "study"
    assert main(_tiny_study(out, "--horizons", "40,80", "--seeds", "2", "--warmup-steps", "5")) == 0
    archive = load_study_logs(out)
    kept, lost = "random_lr0.0003_emb1_seed0_T40", "random_lr0.0003_emb1_seed1_T80"
    (out / "runs" / f"{lost}.json").unlink()
    mark = json.loads((out / "runs" / f"{kept}.json").read_text())
    mark["result"]["final_val_loss"] = -1.0  # a record here wins over the archive's
    (out / "runs" / f"{kept}.json").write_text(json.dumps(mark))
    assert _bvb_report().restore(archive, out) == [lost]
    assert _finals(out)[f"{lost}.json"] == archive["branches"][lost]["result"]["final_val_loss"]
    assert _finals(out)[f"{kept}.json"] == -1.0


def test_an_earlier_reports_missing_seed_is_recovered_exactly_and_only_when_alone():
    """benchmarks/horizon_bvb_report.py --earlier: the one seed a row lacks here is n * mean - the others;
    a row missing two seeds (several values fit its mean) is left out, a row missing none is untouched."""
    report = _bvb_report()
    earlier = {
        "summary": {
            "random|0.001|30": {"horizons": {"100": {"seeds": [0, 1, 2], "final_val_loss": [6.5, 0.1]}}},
            "random|0.001|10": {"horizons": {"100": {"seeds": [0, 2], "final_val_loss": [6.6, 0.1]}}},
            "random|0.001|3": {"horizons": {"100": {"seeds": [1], "final_val_loss": [6.9, 0.0]}}},
        }
    }
    here = {"random|0.001|30": {100: {1: {"final_val_loss": 6.4}, 2: {"final_val_loss": 6.45}}}}
    extra = report.recovered(earlier, here)
    assert extra.keys() == {"random|0.001|30", "random|0.001|3"}
    assert extra["random|0.001|30"][100][0]["final_val_loss"] == pytest.approx(3 * 6.5 - 6.4 - 6.45)
    merged = report.merged(here, extra)
    assert (
        list(merged["random|0.001|30"][100]) == [0, 1, 2] and merged["random|0.001|3"][100][1]["final_val_loss"] == 6.9
    )
    assert report.merged(here, report.recovered({"summary": {}}, here)) == here


def test_a_report_on_part_of_the_grid_keeps_those_multipliers_for_every_init():
    report = _bvb_report()
    results = {f"{init}|0.001|{m}": {100: {}} for init in ("random", "ppmi_svd+unigram") for m in (1, 3, 100)}
    kept = report.only_multipliers(results, {1.0, 3.0})
    assert sorted(kept) == ["ppmi_svd+unigram|0.001|1", "ppmi_svd+unigram|0.001|3", "random|0.001|1", "random|0.001|3"]
