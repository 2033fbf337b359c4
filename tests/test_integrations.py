"""The monitors where users train: a transformers Trainer (values reach its reporters) and Lightning."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mobius_init import CorpusStats, K0CosineMonitor, MiniGPT, MiniGPTConfig


@pytest.fixture(scope="module")
def data(lee_docs):
    stats = CorpusStats.from_corpus(lee_docs, vocab_size=300)
    ids = np.concatenate(list(stats.encode(lee_docs)))
    return stats, torch.as_tensor(ids[: 16 * 64], dtype=torch.long).view(64, 16)


def event_tags(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for path in folder.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(path))
        accumulator.Reload()
        tags |= set(accumulator.Tags()["scalars"])
    return tags


def test_hf_trainer_reports_reach_tensorboard(data, tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    pytest.importorskip("tensorboard")
    from mobius_init.integrations.hf import add_monitor, gpt2_model

    stats, blocks = data
    torch.manual_seed(0)
    model = gpt2_model(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=16, n_layer=1, block_size=16))
    monitor = K0CosineMonitor(stats, every=2, top_n=64)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=4,
        per_device_train_batch_size=8,
        report_to=["tensorboard"],
        use_cpu=True,
        logging_steps=2,
        save_strategy="no",
    )
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=[{"input_ids": b, "labels": b} for b in blocks]
    )
    add_monitor(trainer, monitor, prefix="k0")
    trainer.train()
    assert [h["step"] for h in monitor.history] == [0, 2, 4]
    tags = event_tags(tmp_path / "out")  # the TensorBoard reporter writes under output_dir
    assert {
        "train/k0/k0_cos_eigh",
        "train/k0/control_random_k0_cos_eigh",
        "train/k0/control_initial_k0_cos_eigh",
    } <= tags
    logged = [h for h in trainer.state.log_history if "k0/k0_cos_eigh" in h]
    assert [h["step"] for h in logged] == [0, 2, 4]


def test_lightning_reports_reach_the_logger(data, tmp_path):
    lightning = pytest.importorskip("lightning")
    from lightning.pytorch.loggers import CSVLogger

    from mobius_init.integrations.lightning import MonitorCallback

    stats, blocks = data

    class Module(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.model = MiniGPT(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=16, block_size=16))

        def training_step(self, batch, batch_idx):
            return self.model(batch[:, :-1], batch[:, 1:])[1]

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=1e-3)

    monitor = K0CosineMonitor(stats, every=2, top_n=64)
    trainer = lightning.Trainer(
        max_steps=4,
        accelerator="cpu",
        logger=CSVLogger(str(tmp_path)),
        callbacks=[MonitorCallback(monitor)],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    trainer.fit(Module(), torch.utils.data.DataLoader(blocks, batch_size=8))
    metrics = (next(tmp_path.rglob("metrics.csv"))).read_text()
    header = metrics.splitlines()[0].split(",")
    assert "monitor/k0_cos_eigh" in header and "monitor/control_random_k0_cos_eigh" in header
    assert [h["step"] for h in monitor.history] == [0, 2, 4]
    callback = trainer.callbacks[[type(c) for c in trainer.callbacks].index(MonitorCallback)]
    restored = MonitorCallback(K0CosineMonitor(stats, every=2, top_n=64))
    restored.load_state_dict(callback.state_dict())  # what a Lightning checkpoint carries
    restored.on_train_start(trainer, None)  # a resumed fit keeps the history and controls
    assert restored.monitor.history == monitor.history and restored.monitor.controls == monitor.controls


STEPS = 160  # enough 9-step windows for the multi-power law's 7 parameters, the rate decaying throughout


def linear_decay(lr):
    """Every update's rate under a linear decay to 0 without warmup (transformers' "linear", Lightning's below)."""
    return lr * (1 - np.arange(STEPS) / STEPS)


def test_hf_trainer_logs_the_forecast_under_its_tags(data, tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    pytest.importorskip("tensorboard")
    from mobius_init import ConvergenceMonitor
    from mobius_init.integrations.hf import add_monitor, gpt2_model

    stats, blocks = data
    torch.manual_seed(0)
    model = gpt2_model(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=16, n_layer=1, block_size=16))
    monitor = ConvergenceMonitor(every=STEPS // 2, total_steps=STEPS, schedule=linear_decay(3e-3))
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=STEPS,
        learning_rate=3e-3,
        lr_scheduler_type="linear",
        per_device_train_batch_size=8,
        report_to=["tensorboard"],
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
    )
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=[{"input_ids": b, "labels": b} for b in blocks]
    )
    add_monitor(trainer, monitor)
    trainer.train()
    assert len(monitor.losses) == STEPS  # every logged loss reached the monitor
    last = monitor.history[-1]
    assert last["step"] == STEPS and np.isfinite(last["forecast_final"]), last.get("forecast_note")
    tags = event_tags(tmp_path / "out")
    assert {f"train/monitor/forecast_{k}" for k in ("final", "remaining", "low", "high")} <= tags


def test_lightning_logs_the_forecast_under_its_tags(data, tmp_path):
    lightning = pytest.importorskip("lightning")
    from lightning.pytorch.loggers import CSVLogger

    from mobius_init import ConvergenceMonitor
    from mobius_init.integrations.lightning import MonitorCallback

    stats, blocks = data

    class Module(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.model = MiniGPT(MiniGPTConfig(vocab_size=stats.vocab_size, n_embd=16, block_size=16))

        def training_step(self, batch, batch_idx):
            return self.model(batch[:, :-1], batch[:, 1:])[1]

        def configure_optimizers(self):
            optimizer = torch.optim.AdamW(self.parameters(), lr=3e-3)
            decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / STEPS)
            return [optimizer], [{"scheduler": decay, "interval": "step"}]

    monitor = ConvergenceMonitor(every=STEPS // 2, total_steps=STEPS, schedule=linear_decay(3e-3))
    trainer = lightning.Trainer(
        max_steps=STEPS,
        accelerator="cpu",
        logger=CSVLogger(str(tmp_path)),
        callbacks=[MonitorCallback(monitor)],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    trainer.fit(Module(), torch.utils.data.DataLoader(blocks, batch_size=8))
    last = monitor.history[-1]
    assert last["step"] == STEPS and np.isfinite(last["forecast_final"]), last.get("forecast_note")
    header = next(tmp_path.rglob("metrics.csv")).read_text().splitlines()[0].split(",")
    assert {f"monitor/forecast_{k}" for k in ("final", "remaining", "low", "high")} <= set(header)


def _rank(rank, world, port, folder, train_ids, val_ids, stats):
    import hashlib
    import json
    import os

    import torch.distributed as dist

    from mobius_init import ConvergenceMonitor, TrainConfig, initialize_, train

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = MiniGPT(MiniGPTConfig(vocab_size=stats.vocab_size, n_layer=1, n_head=2, n_embd=16, block_size=16))
        initialize_(model, stats)  # every rank computes the init from the same statistics and seed
        init = hashlib.sha256(model.tok_emb.weight.detach().numpy().tobytes()).hexdigest()
        init += hashlib.sha256(model.lm_head.bias.detach().numpy().tobytes()).hexdigest()
        monitor = ConvergenceMonitor(every=5)
        config = TrainConfig(steps=12, eval_every=6, progress=False, device="cpu", seed=rank)
        result = train(model, train_ids, val_ids, config, callbacks=[monitor])
        dist.barrier()  # every rank reaches the end: none waited on a report
        reported = [h["step"] for h in result.history if "relative_change" in h]
        (folder / f"rank{rank}.json").write_text(
            json.dumps({"history": [h["step"] for h in monitor.history], "reported": reported, "init": init})
        )
    finally:
        dist.destroy_process_group()


def test_a_monitor_reports_once_under_torch_distributed(data, tmp_path):
    """Two processes on the gloo backend: the analytic init is bit-identical on both ranks, and the monitor
    runs and reports on rank 0 only."""
    import json
    import socket

    import torch.multiprocessing as mp

    stats, blocks = data
    ids = blocks.flatten().numpy()
    train_ids, val_ids = ids[:800], ids[800:]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(_rank, args=(2, port, tmp_path, train_ids, val_ids, stats), nprocs=2, start_method="fork")
    zero, one = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert zero["history"] == [0, 5, 10, 12] and zero["reported"] == [0, 5, 10, 12]
    assert one["history"] == [] and one["reported"] == []
    assert zero["init"] == one["init"]  # bit-identical init on every rank


try:  # module level: the DDP test below and the logger test share it
    import lightning as _lightning

    class TinyModule(_lightning.LightningModule):
        def __init__(self, vocab, dropout=0.1):
            super().__init__()
            torch.manual_seed(0)
            self.model = MiniGPT(MiniGPTConfig(vocab_size=vocab, n_embd=16, block_size=16, dropout=dropout))

        def training_step(self, batch, batch_idx):
            return self.model(batch[:, :-1], batch[:, 1:])[1]

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=1e-3)
except ImportError:
    TinyModule = None


if TinyModule is not None:
    from mobius_init.integrations.lightning import MonitorCallback as _LightningMonitor

    class RankRecording(_LightningMonitor):
        """Writes, at the end, the steps its monitor measured on this rank."""

        def __init__(self, monitor, folder):
            super().__init__(monitor)
            self.folder = folder

        def on_train_end(self, trainer, pl_module):
            steps = [h["step"] for h in self.monitor.history]
            (Path(self.folder) / f"rank{trainer.global_rank}.json").write_text(json.dumps(steps))
            changes = [h.get("relative_change") for h in self.monitor.history]
            (Path(self.folder) / f"changes{trainer.global_rank}.json").write_text(json.dumps(changes))


class Interleaved(torch.utils.data.Sampler):
    """Rank r of w reads blocks r, r + w, ...: two ranks' batches of 8 are one process's batch of 16 in order
    (Lightning's own distributed sampler shuffles, so its global batch is another one)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(torch.distributed.get_rank(), self.n, torch.distributed.get_world_size()))

    def __len__(self):
        return self.n // torch.distributed.get_world_size()


def test_lightning_under_ddp_reports_from_rank_zero_only(data, tmp_path):
    lightning = pytest.importorskip("lightning")
    import json

    from mobius_init import ConvergenceMonitor

    stats, blocks = data
    settings = {"max_steps": 4, "accelerator": "cpu", "logger": False, "enable_checkpointing": False}
    settings |= {"enable_progress_bar": False, "enable_model_summary": False}
    trainer = lightning.Trainer(
        devices=2,
        strategy="ddp_fork",
        use_distributed_sampler=False,
        callbacks=[RankRecording(ConvergenceMonitor(every=2), folder=str(tmp_path))],
        **settings,
    )
    loader = torch.utils.data.DataLoader(blocks, batch_size=8, sampler=Interleaved(len(blocks)))
    trainer.fit(TinyModule(stats.vocab_size, dropout=0.0), loader)
    assert json.loads((tmp_path / "rank0.json").read_text()) == [0, 2, 4]
    assert json.loads((tmp_path / "rank1.json").read_text()) == []
    # the same global batch in one process (no dropout, whose masks differ by rank): the same embedding,
    # so the same embedding reports, up to the rounding of the gradient all-reduce
    one = tmp_path / "one"
    one.mkdir()
    alone = lightning.Trainer(
        devices=1, callbacks=[RankRecording(ConvergenceMonitor(every=2), folder=str(one))], **settings
    )
    alone.fit(TinyModule(stats.vocab_size, dropout=0.0), torch.utils.data.DataLoader(blocks, batch_size=16))
    ddp, single = (json.loads((folder / "changes0.json").read_text()) for folder in (tmp_path, one))
    assert ddp[1:] == pytest.approx(single[1:], rel=1e-5) and ddp[1] > 0


def _hf_rank(rank, world, port, folder, blocks, vocab):
    """One rank of an HF Trainer run, its distributed setup from the environment as torchrun sets it; a
    global batch of 8 blocks (8 // world per rank) and no dropout, so any world size trains the same steps."""
    import os

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world)
    )
    import transformers

    from mobius_init import ConvergenceMonitor
    from mobius_init.integrations.hf import add_monitor, gpt2_model

    torch.manual_seed(0)
    model = gpt2_model(MiniGPTConfig(vocab_size=vocab, n_embd=16, n_layer=1, block_size=16, dropout=0.0))
    args = transformers.TrainingArguments(
        output_dir=f"{folder}/out",
        max_steps=4,
        per_device_train_batch_size=8 // world,
        report_to=[],
        use_cpu=True,
        logging_steps=2,
        save_strategy="no",
        ddp_backend="gloo",
        disable_tqdm=True,
    )
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=[{"input_ids": b, "labels": b} for b in blocks]
    )
    monitor = ConvergenceMonitor(every=2)
    add_monitor(trainer, monitor)
    try:
        trainer.train()
        logged = [h["step"] for h in trainer.state.log_history if "monitor/relative_change" in h]
        report = {"history": [h["step"] for h in monitor.history], "logged": logged, "world": args.world_size}
        report["changes"] = [h.get("relative_change") for h in monitor.history]
        (Path(folder) / f"rank{rank}.json").write_text(json.dumps(report))
        torch.distributed.barrier()  # neither rank exits while the other still talks to it
    finally:  # a process that exits with its gloo threads alive aborts
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _hf_run(world, folder, data):
    import socket

    import torch.multiprocessing as mp

    stats, blocks = data
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder.mkdir(exist_ok=True)
    args = (world, port, str(folder), blocks, stats.vocab_size)
    mp.start_processes(_hf_rank, args=args, nprocs=world, start_method="fork")
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(world)]


def test_hf_trainer_under_ddp_reports_from_rank_zero_only(data, tmp_path):
    """The Trainer's own distributed setup (RANK/WORLD_SIZE, gloo) in two processes, as torchrun sets it; its
    sampler hands each rank its share of one shuffled batch, so 2 x 4 is the one-process run's 1 x 8."""
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    zero, one = _hf_run(2, tmp_path / "ddp", data)
    assert (zero["history"], zero["logged"], zero["world"]) == ([0, 2, 4], [0, 2, 4], 2)
    assert one == {"history": [], "logged": [], "world": 2, "changes": []}
    (alone,) = _hf_run(1, tmp_path / "one", data)
    assert alone["history"] == [0, 2, 4] and zero["changes"][1] > 0
    assert zero["changes"][1:] == pytest.approx(alone["changes"][1:], rel=1e-5)


def _fsdp_rank(rank, world, port, folder, train_ids, val_ids, vocab):
    import os

    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard

    from mobius_init import ConvergenceMonitor, TrainConfig, train

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = MiniGPT(MiniGPTConfig(vocab_size=vocab, n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0))
        whole = ConvergenceMonitor(every=1).check(model.tok_emb.weight.detach().clone(), 0)
        fully_shard(model)
        local_rows = model.tok_emb.weight.to_local().shape[0]
        monitor = ConvergenceMonitor(every=3)
        sharded = monitor.check(model, 0)  # the gather: both ranks enter it
        monitor.reset()
        config = TrainConfig(steps=7, eval_every=7, progress=False, device="cpu", seed=0)
        result = train(model, train_ids, val_ids, config, callbacks=[monitor])
        dist.barrier()
        report = {"whole": whole, "sharded": sharded, "rows": local_rows, "final_loss": result.final_val_loss}
        report["history"] = [h["step"] for h in monitor.history]
        (Path(folder) / f"rank{rank}.json").write_text(json.dumps(report))
    finally:
        dist.destroy_process_group()


def test_a_monitor_gathers_an_embedding_sharded_by_fully_shard(data, tmp_path):
    """FSDP2 in two gloo processes: each rank holds half the embedding's rows; the monitor gathers them at
    its report steps only (both ranks enter the all-gather), rank 0 measures the whole matrix, rank 1 nothing."""
    pytest.importorskip("torch.distributed.fsdp")
    import socket

    import torch.multiprocessing as mp

    stats, blocks = data
    ids = blocks.flatten().numpy()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = (2, port, str(tmp_path), ids[:800], ids[800:], stats.vocab_size)
    mp.start_processes(_fsdp_rank, args=args, nprocs=2, start_method="fork")
    zero, one = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert zero["rows"] < stats.vocab_size and zero["rows"] + one["rows"] == stats.vocab_size
    assert zero["sharded"] == pytest.approx(zero["whole"], nan_ok=True) and zero["sharded"]["relative_change"] == 0
    assert one["sharded"] == {} and one["history"] == []
    assert zero["history"] == [0, 3, 6, 7] and np.isfinite(zero["final_loss"])


def test_a_flat_shard_is_refused_in_one_line_saying_what_to_do(tmp_path):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, distribute_tensor

    from mobius_init import ConvergenceMonitor

    E = torch.randn(12, 4)
    with pytest.raises(ValueError, match=r"of shape \(48,\), not V x d .*summon_full_params.*fully_shard"):
        ConvergenceMonitor(every=1).check(E.flatten(), 0)  # FSDP's flat parameter
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1,))
        replicated = ConvergenceMonitor(every=1).check(distribute_tensor(E, mesh, [Replicate()]), 0)
    finally:
        dist.destroy_process_group()
    whole = ConvergenceMonitor(every=1).check(E, 0)  # a whole matrix, whatever holds it
    assert replicated.keys() == whole.keys() and np.allclose(
        list(replicated.values()), list(whole.values()), equal_nan=True
    )
