import json
from dataclasses import replace

import numpy as np
import pytest

from mobius_init import CorpusConfig, MiniGPTConfig, TrainConfig
from mobius_init.cli import main
from mobius_init.experiments.arms import InitSpec
from mobius_init.experiments.compare import CompareConfig, run_compare, summarize
from mobius_init.kernel import KERNEL_QUANTITIES


def tiny(**kwargs):
    settings = {"seeds": 2, "monitor_every": 10, "progress": False, **kwargs}
    return CompareConfig(
        data=CorpusConfig(vocab_size=200),
        model=MiniGPTConfig(n_embd=16, block_size=16),
        train=TrainConfig(steps=20, eval_every=10, device="cpu"),
        **settings,
    )


def test_run_compare_writes_everything(tmp_path):
    results = run_compare(tiny(), tmp_path)
    for name in ("results.json", "results.md", "loss.png", "k0_cosine.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert len(list((tmp_path / "logs").glob("*.jsonl"))) == 8
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["summary"] == json.loads(json.dumps(results["summary"]))
    table = (tmp_path / "results.md").read_text()
    for init in ("random", "mobius", "ppmi_svd", "mstar"):
        assert f"| {init} |" in table
        run = results["runs"][init][0]
        assert [m["step"] for m in run["monitor"]] == [0, 10, 20]
        assert "control_random_k0_cos_eigh" in run["monitor"][-1]
    # every init saw the same data: seed s gives the same batches, so the random init reruns identically
    again = run_compare(tiny(inits=("random",)), tmp_path / "again")

    def losses(r):
        return [(h["step"], h["val_loss"], h.get("k0_cos_eigh")) for h in r["history"]]

    assert losses(again["runs"]["random"][1]) == losses(results["runs"]["random"][1])


def _quantities():
    keys = list(KERNEL_QUANTITIES)
    return keys + [f"control_random_{q}" for q in keys] + [f"control_initial_{q}" for q in keys]


def test_summary_is_paired_by_seed():
    def run(losses):
        return {
            "history": [{"step": 10 * i, "val_loss": v} for i, v in enumerate(losses)],
            "final_val_loss": losses[-1],
            "monitor": [{q: 0.0 for q in _quantities()}] * 2,
            "seconds": 10.0,
            "monitor_seconds": 0.1,
        }

    runs = {
        "random": [run([5, 4, 3]), run([5, 4, 3.2])],
        "fast": [run([5, 3, 2.5]), {**run([5, 3.05, 2.9]), "monitor_seconds": 0.3}],
        "slow": [run([5, 4.5, 4]), run([5, 4.4, 3.1])],
    }
    s = summarize(runs, steps=20)
    assert s["random_final_val_loss"][0] == pytest.approx(3.1)
    fast = s["fast"]
    # seed 0 reaches its own random's 3.0 at step 10; seed 1 reaches 3.2 between steps 0 and 10 (1.8 / 1.95)
    assert fast["steps_to_random_final"][0] == pytest.approx((10 + 10 * 1.8 / 1.95) / 2)
    assert fast["steps_saved_vs_random"]["mean"] == pytest.approx(20 - (10 + 10 * 1.8 / 1.95) / 2)
    assert fast["delta_vs_random"]["mean"] == pytest.approx(-0.4) and fast["delta_vs_random"]["n"] == 2
    assert fast["runs_reaching_random_final"] == "2/2" and s["random"]["runs_reaching_random_final"] == "2/2"
    assert s["slow"]["runs_reaching_random_final"] == "1/2"  # seed 0 never reaches 3.0: counted as 20 steps
    assert s["slow"]["steps_to_random_final"][0] == pytest.approx((20 + 10 + 10 * 1.2 / 1.3) / 2)
    assert s["random"]["delta_vs_random"]["mean"] == 0
    assert fast["val_loss_at_50pct"][0] == pytest.approx(3.025)
    assert fast["monitor_overhead"] == pytest.approx(0.03)  # the worst run, not the mean


def test_init_specs():
    spec = InitSpec.parse("ppmi_svd:shuffled+unigram")
    assert (spec.method, spec.control, spec.prior) == ("ppmi_svd", "shuffled", "unigram")
    assert str(spec) == "ppmi_svd:shuffled+unigram" and str(InitSpec.parse("random")) == "random"
    assert InitSpec.parse("ppmi_svd+prior").prior == "prior"
    for bad in ("glove", "ppmi_svd:scrambled", "random+bias"):
        with pytest.raises(ValueError, match="METHOD\\[:CONTROL\\]\\[\\+unigram\\|\\+prior\\]"):
            InitSpec.parse(bad)
    with pytest.raises(ValueError, match="must include random"):
        tiny(inits=("ppmi_svd",))


def test_controls_and_bias_arms_and_resume(tmp_path, capsys):
    """Controls and the unigram bias run through compare; an interrupted comparison resumes and gives
    the same numbers as an uninterrupted one."""
    inits = ("random", "ppmi_svd:shuffled", "random+unigram")
    config = tiny(inits=inits, seeds=1, snapshots=2)
    full = run_compare(config, tmp_path / "full")
    assert full["summary"]["random+unigram"]["delta_vs_random"]["n"] == 1
    first = full["runs"]["random+unigram"][0]["history"][0]["val_loss"]
    assert first < full["runs"]["random"][0]["history"][0]["val_loss"] - 0.3  # starts at the unigram entropy
    snaps = np.load(tmp_path / "full" / "snapshots" / "random_seed0.npz")
    assert sorted(snaps.files) == ["step_0", "step_10", "step_20"]
    partial = tmp_path / "partial"
    run_compare(replace(config, inits=inits[:2]), partial)  # as if stopped after two arms
    (partial / "runs" / "ppmi_svd-shuffled_seed0.json").unlink()  # and in the middle of the second
    resumed = run_compare(config, partial, resume=True)
    for init in inits:
        losses = [[h["val_loss"] for h in r["runs"][init][0]["history"]] for r in (resumed, full)]
        assert losses[0] == losses[1]
    assert "--inits must include random" in _cli_error(["compare", "--inits", "ppmi_svd", "-o", str(tmp_path)], capsys)
    with pytest.raises(ValueError, match=r"cannot resume .*random_seed0.json.*\(lr=0.0003, now 0.01"):
        run_compare(replace(config, train=replace(config.train, lr=0.01)), partial, resume=True)
    with pytest.raises(ValueError, match=r"n_embd=16, now 32"):
        run_compare(replace(config, model=replace(config.model, n_embd=32)), partial, resume=True)


def _cli_error(argv, capsys):
    assert main(argv) == 2
    return capsys.readouterr().err


def test_compare_cli_bad_input(tmp_path, capsys):
    assert main(["compare", "--inits", "random,glove", "-o", str(tmp_path)]) == 2
    assert "--inits has 'glove': expected METHOD[:CONTROL][+unigram|+prior]" in capsys.readouterr().err
    assert main(["compare", "--block-size", "100000", "--steps", "1", "--vocab-size", "100", "-o", str(tmp_path)]) == 2
    assert "fewer than --block-size + 1" in capsys.readouterr().err


def test_examples_run_in_process(run_example, tmp_path):
    assert "validation loss" in run_example("init_minigpt.py", "--steps", "20")
    printed = run_example("monitor_plain_loop.py", "--steps", "50")
    assert "own init" in printed and "control_step_fraction 1" in printed
    out = tmp_path / "q.png"
    printed = run_example("qwem_dynamics.py", "--vocab", "300", "--dim", "2", "--steps", "1500", "-o", str(out))
    assert "switched on in eigenvalue order" in printed and out.stat().st_size > 0


def test_lightning_example_logs_the_monitor(run_example, tmp_path):
    pytest.importorskip("lightning")
    printed = run_example("lightning_callback.py", "--steps", "20", "--logs", str(tmp_path))
    assert "convergence/relative_change" in printed and "convergence/control_random_relative_change" in printed


def test_hf_example_keeps_the_trainers_loss_and_feeds_the_monitor(run_example, tmp_path):
    """The monitors' interval coincides with logging_steps: TensorBoard still has the Trainer's loss at
    every logging step, and the ConvergenceMonitor saw it (a finite loss_slope)."""
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    printed = run_example("hf_trainer_callback.py", "--steps", "30", "--tensorboard", str(tmp_path))
    assert "own init" in printed and "'control_step_fraction': 1.0" in printed
    scalars = {}
    for path in tmp_path.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(path))
        accumulator.Reload()
        scalars |= {tag: [e.step for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    assert scalars["train/loss"] == [10, 20, 30]
    assert scalars["train/convergence/loss_slope"] == [30]  # finite once it has seen three logged losses
    assert scalars["train/k0/k0_cos_eigh"] == [0, 10, 20, 30]


def test_a_run_that_fails_before_training_leaves_no_empty_folders(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compare", "--block-size", "100000", "--steps", "1", "--vocab-size", "100", "-o", str(out)]) == 2
    assert not any((out / sub).exists() for sub in ("logs", "runs", "checkpoints"))


def test_a_comparison_on_a_dask_cluster_equals_the_one_process_one(tmp_path, capsys):
    """Each (init, seed) run one task on a LocalCluster of two worker processes: the same losses and
    monitor reports, bit for bit; an address that does not answer is one line before any work."""
    distributed = pytest.importorskip("distributed")
    config = tiny(inits=("random", "ppmi_svd+unigram"))
    local = run_compare(config, tmp_path / "local")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_compare(config, tmp_path / "dask", client=client)
    for init, runs in local["runs"].items():
        for a, b in zip(runs, on_dask["runs"][init], strict=True):
            assert [h["val_loss"] for h in a["history"]] == [h["val_loss"] for h in b["history"]]
            assert [m["k0_cos_eigh"] for m in a["monitor"]] == [m["k0_cos_eigh"] for m in b["monitor"]]
    for init in local["runs"]:  # every figure but the monitor's share of the wall time
        mine, theirs = local["summary"][init], on_dask["summary"][init]
        assert {k: v for k, v in mine.items() if k != "monitor_overhead"} == {
            k: v for k, v in theirs.items() if k != "monitor_overhead"
        }
    out = tmp_path / "x"
    error = _cli_error(["compare", "--steps", "2", "--dask", "tcp://127.0.0.1:9", "-o", str(out)], capsys)
    assert "the Dask scheduler at 'tcp://127.0.0.1:9' did not answer" in error
    assert not (out / "runs").exists()  # refused before the data is prepared


def test_a_retried_task_continues_from_its_checkpoint(tmp_path, monkeypatch):
    """A run whose worker dies mid-run leaves its checkpoint and no result; the task run again (as Dask
    retries it) continues from that checkpoint to the uninterrupted run's numbers."""
    import mobius_init.training as training
    from mobius_init.experiments.compare import compare_run

    config = tiny(inits=("random", "ppmi_svd"), seeds=1)
    config = replace(config, train=replace(config.train, eval_every=5))
    full = run_compare(config, tmp_path / "full")["runs"]["ppmi_svd"][0]
    out, step = tmp_path / "retried", training._step
    run_compare(replace(config, inits=("random",)), out)  # the data and folders, as the client prepares them

    def dies_at_12(run, train_config, i):
        if i == 12:
            raise RuntimeError("the worker died")
        return step(run, train_config, i)

    monkeypatch.setattr(training, "_step", dies_at_12)
    with pytest.raises(RuntimeError, match="the worker died"):
        compare_run(config, out, "ppmi_svd", 0)
    assert not (out / "runs" / "ppmi_svd_seed0.json").exists()  # nothing half-recorded
    steps_run = []
    monkeypatch.setattr(
        training, "_step", lambda run, train_config, i: steps_run.append(i) or step(run, train_config, i)
    )
    retried = compare_run(config, out, "ppmi_svd", 0)
    assert steps_run == list(range(11, 21))  # from the checkpoint of step 10, not from the start
    assert [h["val_loss"] for h in retried["history"]] == [h["val_loss"] for h in full["history"]]
    assert retried["monitor"] == full["monitor"]


def test_a_worker_process_killed_mid_run_is_replaced_and_the_run_finishes_as_if_uninterrupted(tmp_path):
    """SIGKILL to a Dask worker process while its run trains (checkpoint written, no result yet): the
    nanny starts a new worker, the scheduler runs the task again, and every run ends with the numbers of
    the one-process comparison; nothing half-recorded is read."""
    import os
    import signal
    import threading
    import time

    distributed = pytest.importorskip("distributed")
    config = tiny(inits=("random", "ppmi_svd"), seeds=1)
    config = replace(config, train=replace(config.train, steps=200, eval_every=5))
    local = run_compare(config, tmp_path / "local")
    out, finished = tmp_path / "dask", {}
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        before = client.run(os.getpid)
        thread = threading.Thread(target=lambda: finished.update(run_compare(config, out, client=client)))
        thread.start()
        deadline = time.monotonic() + 60
        while not list((out / "checkpoints").glob("*.pt")) and time.monotonic() < deadline:
            time.sleep(0.05)
        busy = [address for address, keys in client.processing().items() if keys]
        assert busy and not list((out / "runs").glob("*.json")), "the runs ended before a worker could be killed"
        os.kill(before[busy[0]], signal.SIGKILL)
        thread.join(timeout=120)
        after = client.run(os.getpid)
    assert not thread.is_alive() and before[busy[0]] not in after.values()  # a new process took its place
    for init, runs in local["runs"].items():
        for a, b in zip(runs, finished["runs"][init], strict=True):
            assert [h["val_loss"] for h in a["history"]] == [h["val_loss"] for h in b["history"]]
            assert a["monitor"] == b["monitor"]
