"""Shared helpers for the benchmark scripts: data location and per-phase peak memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SHARED_DATA = Path(os.environ.get("MOBIUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SHARD_AA = SHARED_DATA / "corpus" / "enwiki-2015-wikiextractor-AA.txt.xz"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"benchmark data {path} not found (set MOBIUS_SHARED_DATA to the shared data folder)")
    return path


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_phase(script: str, phase: str, *args: str) -> dict:
    """Run ``script --phase PHASE ARGS`` in a fresh interpreter (so its peak memory is its own)
    and return the JSON dict it prints on its last line."""
    cmd = [sys.executable, script, "--phase", phase, *args]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result.setdefault("process_seconds", time.perf_counter() - t0)
    return result
