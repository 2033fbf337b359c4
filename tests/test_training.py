import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from mobius_init import (
    Callback,
    K0CosineMonitor,
    MiniGPT,
    MiniGPTConfig,
    TrainConfig,
    TrainingDiverged,
    train,
)
from mobius_init.embeddings import analytic_embeddings
from mobius_init.kernel import KERNEL_QUANTITIES
from mobius_init.weights import apply_embeddings_


def small_config(V):
    return MiniGPTConfig(vocab_size=V, n_layer=2, n_head=2, n_embd=16, block_size=16)


def test_model_structure():
    model = MiniGPT(small_config(50))
    assert model.lm_head.weight is model.tok_emb.weight
    assert model.get_input_embeddings() is model.tok_emb
    assert not any("pos" in name for name, _ in model.named_parameters())  # RoPE: no position table
    logits, loss = model(torch.randint(0, 50, (3, 16)), torch.randint(0, 50, (3, 16)))
    assert logits.shape == (3, 16, 50) and loss.ndim == 0
    assert abs(float(loss.detach()) - np.log(50)) < 0.5  # near-uniform predictions at init
    with pytest.raises(ValueError, match="exceeds block_size"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_causal_and_rope():
    torch.manual_seed(0)
    model = MiniGPT(small_config(30)).eval()
    x = torch.randint(0, 30, (1, 10))
    y = x.clone()
    y[0, 7:] = (y[0, 7:] + 1) % 30
    a, _ = model(x)
    b, _ = model(y)
    assert torch.allclose(a[0, :7], b[0, :7], atol=1e-6)  # the future does not leak into the past


def test_rope_scores_depend_on_relative_position_only():
    from mobius_init.minigpt import apply_rope, rope_tables

    cos, sin = rope_tables(8, 32, 10_000.0)
    q, k = torch.randn(8), torch.randn(8)

    def score(m, n):
        return float(apply_rope(q, cos[m], sin[m]) @ apply_rope(k, cos[n], sin[n]))

    assert score(3, 1) == pytest.approx(score(20, 18), abs=1e-5)
    assert score(3, 1) != pytest.approx(score(3, 2), abs=1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_embd": 30, "n_head": 4}, "heads of even size"),
        ({"dropout": 1.0}, "dropout"),
        ({"vocab_size": 0}, "vocab_size"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MiniGPTConfig(**{"vocab_size": 10, **kwargs})


def test_training_reduces_loss_and_is_deterministic(data, tmp_path):
    stats, train_ids, val_ids = data
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = MiniGPT(small_config(stats.vocab_size))
        config = TrainConfig(
            steps=60,
            batch_size=8,
            lr=3e-3,
            eval_every=20,
            seed=0,
            progress=False,
            log_path=str(tmp_path / "log.jsonl"),
            checkpoint_path=str(tmp_path / "ckpt.pt"),
        )
        results.append((train(model, train_ids, val_ids, config), model))
    (first, m1), (second, m2) = results
    assert first.history[-1]["val_loss"] < first.history[0]["val_loss"] - 0.5
    assert [h["val_loss"] for h in first.history] == [h["val_loss"] for h in second.history]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in lines] == [0, 20, 40, 60]
    assert torch.load(tmp_path / "ckpt.pt")["step"] == 60


def test_callbacks_are_called(data):
    stats, train_ids, val_ids = data
    calls = []

    class Recorder:
        def on_train_start(self, model, step, metrics):
            calls.append(("start", step))

        def on_step_end(self, model, step, metrics):
            calls.append(("step", step))

        def on_eval(self, model, step, metrics):
            metrics["custom"] = 1.0
            calls.append(("eval", step))

        def on_train_end(self, model, step, metrics):
            calls.append(("end", step))

    result = train(
        MiniGPT(small_config(stats.vocab_size)),
        train_ids,
        val_ids,
        TrainConfig(steps=4, eval_every=2, progress=False),
        callbacks=[Recorder()],
    )
    assert calls == [
        ("start", 0),
        ("eval", 0),
        ("step", 1),
        ("step", 2),
        ("eval", 2),
        ("step", 3),
        ("step", 4),
        ("eval", 4),
        ("end", 4),
    ]
    assert result.history[-1]["custom"] == 1.0


def test_bad_streams(data):
    stats, train_ids, val_ids = data
    model = MiniGPT(small_config(stats.vocab_size))
    with pytest.raises(ValueError, match="train_ids has 10 tokens, fewer than block_size"):
        train(model, train_ids[:10], val_ids, TrainConfig(steps=1, progress=False))
    with pytest.raises(ValueError, match="vocabulary mismatch"):
        train(MiniGPT(small_config(100)), train_ids + 200, val_ids, TrainConfig(steps=1, progress=False))


def test_divergence_stops_with_clear_message_and_keeps_checkpoint(data, tmp_path):
    stats, train_ids, val_ids = data
    model = MiniGPT(small_config(stats.vocab_size))
    ckpt = tmp_path / "ckpt.pt"

    class Poison:
        def on_step_end(self, model, step, metrics):
            if step == 3:
                with torch.no_grad():
                    model.tok_emb.weight.fill_(float("nan"))

    with pytest.raises(TrainingDiverged, match="became nan at step 4"):
        train(
            model,
            train_ids,
            val_ids,
            TrainConfig(steps=10, eval_every=2, progress=False, checkpoint_path=str(ckpt)),
            callbacks=[Poison()],
        )
    kept = torch.load(ckpt)
    assert kept["step"] == 2 and torch.isfinite(kept["model"]["tok_emb.weight"]).all()


def test_monitor_reports_controls(data):
    stats, train_ids, val_ids = data
    monitor = K0CosineMonitor(stats, every=5, top_n=100)
    torch.manual_seed(0)
    model = MiniGPT(small_config(stats.vocab_size))
    apply_embeddings_(model, analytic_embeddings(stats, 16, "ppmi_svd"))
    result = train(model, train_ids, val_ids, TrainConfig(steps=10, eval_every=5, progress=False), callbacks=[monitor])
    assert [h["step"] for h in monitor.history] == [0, 5, 10]
    for report in monitor.history:
        for q in KERNEL_QUANTITIES:
            assert np.isfinite(report[q])
            assert f"control_initial_{q}" in report and f"control_random_{q}" in report
    assert monitor.history[0]["k0_cos_eigh"] == pytest.approx(monitor.history[0]["control_initial_k0_cos_eigh"])
    assert "k0_cos_eigh" in result.history[-1]  # the report reaches the training log
    # a circulant-free random matrix is not circulant; W = I has cos(W, I) = 1
    assert monitor.controls["random"]["circulant_score"] < 0.9
    assert monitor.measure(torch.eye(stats.vocab_size, 16))["offdiag_energy"] == pytest.approx(0.0)


def test_monitor_in_a_plain_loop(data):
    stats, _, _ = data
    monitor = K0CosineMonitor(stats, top_n=50)
    E = torch.nn.Parameter(analytic_embeddings(stats, 8, "random"))
    optimizer = torch.optim.SGD([E], lr=0.1)
    for step in range(3):
        loss = (E @ E.T - torch.eye(len(E))).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        report = monitor.check(E, step)
    assert report["step"] == 2 and "control_random_k0_cos_eigh" in report
    with pytest.raises(ValueError, match="vocabulary size mismatch"):
        monitor.check(torch.zeros(5, 8), 3)


def test_schedule_warmup_then_cosine():
    from mobius_init.schedules import lr_multiplier

    config = TrainConfig(steps=100, warmup_steps=10, min_lr_ratio=0.1, device="cpu")
    lrs = [lr_multiplier(config, i) for i in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)  # linear warmup over 10 updates
    assert lrs[10] == pytest.approx(1.0) and lrs[99] == pytest.approx(0.1)  # cosine from 1 to min_lr_ratio
    assert lrs[10 + 89 // 2] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * 44 / 89)))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert TrainConfig(steps=1000, device="cpu").warmup == 20  # 2 % by default
    constant = TrainConfig(steps=50, schedule="constant", device="cpu")
    assert constant.warmup == 0 and {lr_multiplier(constant, i) for i in range(50)} == {1.0}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": 10, "warmup_steps": 10}, "warmup_steps .* must be >= 0 and shorter than the run"),
        ({"schedule": "step"}, "schedule must be one of cosine, constant"),
        ({"device": "cuda:7"} if not torch.cuda.is_available() else {"device": "cuda:999"}, "not available"),
        ({"device": "tpu"}, "not a device"),
        ({"lr": -1.0}, "lr must be a positive number"),
    ],
)
def test_bad_training_settings_fail_before_training(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_learning_rate_follows_the_schedule(data):
    stats, train_ids, val_ids = data
    config = TrainConfig(steps=20, eval_every=5, warmup_steps=4, progress=False, device="cpu")
    result = train(MiniGPT(small_config(stats.vocab_size)), train_ids, val_ids, config)
    from mobius_init.schedules import lr_multiplier

    for entry in result.history[1:]:  # the lr of the next update, read at each validation
        assert entry["lr"] == pytest.approx(config.lr * lr_multiplier(config, entry["step"]))
    assert len(result.train_losses) == 20


def test_resumed_run_is_bit_identical(data, tmp_path):
    """Interrupted after its step-10 checkpoint and resumed, a run ends exactly where it would have."""
    stats, train_ids, val_ids = data

    def run(steps_done_by_crash=None, resume=False):
        torch.manual_seed(0)
        model = MiniGPT(small_config(stats.vocab_size))
        monitor = K0CosineMonitor(stats, every=5, top_n=40)

        class Crash(Callback):  # stops the run as a kill would
            def on_step_end(self, model, step, metrics):
                if step == steps_done_by_crash:
                    raise KeyboardInterrupt

        config = TrainConfig(
            steps=20,
            eval_every=5,
            seed=3,
            progress=False,
            device="cpu",
            resume=resume,
            checkpoint_path=str(tmp_path / "ckpt.pt"),
            log_path=str(tmp_path / "log.jsonl"),
        )
        return train(model, train_ids, val_ids, config, callbacks=[monitor, Crash()]), model, monitor

    (tmp_path / "ckpt.pt").unlink(missing_ok=True)
    straight, model_a, monitor_a = run()
    (tmp_path / "ckpt.pt").unlink()
    with pytest.raises(KeyboardInterrupt):
        run(steps_done_by_crash=13)
    resumed, model_b, monitor_b = run(resume=True)
    assert [h["val_loss"] for h in resumed.history if "val_loss" in h] == [
        h["val_loss"] for h in straight.history if "val_loss" in h
    ]
    assert resumed.train_losses == straight.train_losses
    assert all(
        torch.equal(a, b) for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values(), strict=True)
    )
    assert monitor_b.history == monitor_a.history
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # the log has every entry once


def test_log_keeps_every_monitor_report(data, tmp_path):
    """Reports at steps that are not validations, and at the end, reach the JSONL log."""
    stats, train_ids, val_ids = data
    monitor = K0CosineMonitor(stats, every=3, top_n=40)
    config = TrainConfig(steps=10, eval_every=5, progress=False, device="cpu", log_path=str(tmp_path / "l.jsonl"))
    train(MiniGPT(small_config(stats.vocab_size)), train_ids, val_ids, config, callbacks=[monitor])
    logged = [json.loads(line) for line in (tmp_path / "l.jsonl").read_text().splitlines()]
    reports = [e["step"] for e in logged if "k0_cos_eigh" in e]
    assert reports == [h["step"] for h in monitor.history] == [0, 3, 6, 9, 10]


def test_hugging_face_model_trains_with_the_same_loop(data):
    transformers = pytest.importorskip("transformers")
    from mobius_init.integrations.hf import gpt2_model

    stats, train_ids, val_ids = data
    model = gpt2_model(small_config(stats.vocab_size))
    assert isinstance(model, transformers.GPT2LMHeadModel)
    result = train(
        model, train_ids, val_ids, TrainConfig(steps=30, lr=3e-3, eval_every=10, progress=False, device="cpu")
    )
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"] - 0.3
    assert model.lm_head.weight is model.transformer.wte.weight


def test_monitor_is_bounded_by_default_and_warns_for_large_dense_paths(data, monkeypatch):
    import mobius_init.monitors as monitors

    stats, _, _ = data
    assert len(K0CosineMonitor(stats).ids) == min(1024, stats.vocab_size)  # top_n=1024 by default
    monkeypatch.setattr(monitors, "DENSE_WARN_BYTES", 1000)  # as if V were large
    with pytest.warns(ResourceWarning, match=r"dense 300 x 300 arrays: about .* GiB; pass top_n"):
        K0CosineMonitor(stats, top_n=None)


def test_small_models_train_on_one_thread_and_the_setting_is_restored(data):
    stats, train_ids, val_ids = data
    seen = []

    class Threads(Callback):
        def on_step_end(self, model, step, metrics):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    config = TrainConfig(steps=2, eval_every=2, progress=False, device="cpu")
    train(MiniGPT(small_config(stats.vocab_size)), train_ids, val_ids, config, callbacks=[Threads()])
    assert seen == [1, 1] and torch.get_num_threads() == before
    seen.clear()
    train(
        MiniGPT(small_config(stats.vocab_size)), train_ids, val_ids, replace(config, threads=2), callbacks=[Threads()]
    )
    assert seen == [2, 2] and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        TrainConfig(threads=0)
