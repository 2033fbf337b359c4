"""Res2Vec's SVD on each device this machine has, beside the stages that always run on the CPU (issue 29).

    python benchmarks/bench_svd_device.py [--corpus PATH] [--out results.json] [--devices cpu cuda]

Shard AA is counted once at Res2Vec's defaults, timing the CPU stages (vocabulary and co-occurrence
together, then PPMI); then the default SVD (block Krylov, d = 300) runs on each device twice: the
first call pays the device's start-up (CUDA context, sparse handles), the second is what a second fit
in one process costs. CUDA is timed with synchronisation. Reported per device: both calls' seconds,
the largest relative difference of the 300 singular values from the CPU's (``torch`` float32 on
both), and the pipeline's seconds to the end of the SVD with that device's first call. The dimension
and vector stages are left out (CPU, seconds in ``bench_res2vec.py``); no gensim and no scores,
so the script runs where only torch and scipy are installed. ``--devices`` defaults to every one present.
On a machine without the shared data: put the shard under an ignored folder of the checkout, bring it
along, and point ``MOBIUS_SHARED_DATA`` at the folder that holds its ``corpus/``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, require, save_results  # noqa: E402

DIM = 300


def timed_svd(P, device: str) -> tuple[float, np.ndarray]:
    """Seconds for one default block Krylov SVD of ``P`` on ``device``, and its singular values."""
    from mobius_init.spectral import block_krylov_svd

    t0 = time.perf_counter()
    _, S, _ = block_krylov_svd(P, DIM, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0, S


def main() -> None:
    from mobius_init.matrices import ppmi
    from res2vec import Res2Vec

    present = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    args = parse_args(__doc__, (), lambda p: p.add_argument("--devices", nargs="+", default=present))
    missing = [d for d in args.devices if d not in present]
    if missing:
        raise SystemExit(f"--devices: {', '.join(missing)} not on this machine (it has {', '.join(present)})")
    corpus = require(args.corpus)
    model = Res2Vec(dim=DIM)
    t0 = time.perf_counter()
    stats, _ = model._count(str(corpus), lambda stage: None)
    counting = time.perf_counter() - t0
    t0 = time.perf_counter()
    P = ppmi(stats.C, model.cds)
    ppmi_seconds = time.perf_counter() - t0
    print(
        f"PPMI {P.shape[0]:,} x {P.shape[1]:,}, {P.nnz:,} non-zeros; counting {counting:.1f} s, PPMI {ppmi_seconds:.1f} s"
    )
    results = {
        "corpus": corpus.name,
        "matrix": {"V": P.shape[0], "nnz": int(P.nnz)},
        "cpu_stages": {"vocabulary_and_cooccurrence": counting, "ppmi": ppmi_seconds},
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "devices": {},
    }
    reference = None
    for device in sorted(set(args.devices), key=lambda d: d != "cpu"):  # the CPU first: the reference
        first, S = timed_svd(P, device)
        second, _ = timed_svd(P, device)
        if device == "cpu":
            reference = S
        row = {
            "first_call_seconds": first,
            "second_call_seconds": second,
            "pipeline_to_svd_seconds": counting + ppmi_seconds + first,
            "sigma_max_relative_difference_to_cpu": None
            if reference is None
            else float(np.max(np.abs(S - reference) / reference)),
        }
        results["devices"][device] = row
        print(json.dumps({device: row}), flush=True)
        save_results(args, results)


if __name__ == "__main__":
    main()
