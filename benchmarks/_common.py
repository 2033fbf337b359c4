"""Shared helpers for the benchmark scripts: data location and per-phase peak memory."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SHARED_DATA = Path(os.environ.get("MOBIUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SHARD_AA = SHARED_DATA / "corpus" / "enwiki-2015-wikiextractor-AA.txt.xz"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"benchmark data {path} not found (set MOBIUS_SHARED_DATA to the shared data folder)")
    return path


class MemorySampler:
    """Samples this process's resident memory every ``interval`` seconds in a thread; :meth:`peak` gives
    the highest sample in a time span (for per-stage peaks of a call that times its own stages)."""

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm") as statm:
            while not self._stop.is_set():
                statm.seek(0)
                self.samples.append((time.perf_counter(), int(statm.read().split()[1]) * page / 2**30))
                self._stop.wait(interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> float:
        inside = [gib for t, gib in self.samples if start <= t <= end]
        return max(inside) if inside else float("nan")

    def stage_peaks(self, start: float, seconds: dict[str, float]) -> dict[str, float]:
        """Peak GiB of each stage of a call that began at ``start`` and timed its stages in order."""
        peaks, t = {}, start
        for stage, duration in seconds.items():
            peaks[stage] = self.peak(t, t + duration)
            t += duration
        return peaks


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def parse_args(
    doc: str, phases: Sequence[str], extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """The options every benchmark takes (``--corpus``, ``--out``, and the hidden ``--phase`` that
    :func:`run_phase` passes), plus ``extra`` ones."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARD_AA, help="corpus file (default: shard AA)")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--phase", choices=list(phases), help=argparse.SUPPRESS)
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A markdown table; ``align`` gives one character per column (``l`` or ``r``, default: first left)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def save_results(args: argparse.Namespace, results: dict) -> None:
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


def scored(kv, seconds: float, restrict_vocab: int = 30_000, **extra) -> dict:
    """A contestant's result: its time, peak memory, vocabulary and benchmark scores."""
    from res2vec import evaluate

    report = evaluate(kv, similarity=similarity_files(), restrict_vocab=restrict_vocab)
    return {"seconds": seconds, "peak_gib": peak_rss_gib(), "vocab_size": len(kv), **extra, "evaluation": report}


def run_phase(script: str, phase: str, *args: str) -> dict:
    """Run ``script --phase PHASE ARGS`` in a fresh interpreter (so its peak memory is its own)
    and return the JSON dict it prints on its last line."""
    cmd = [sys.executable, script, "--phase", phase, *args]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result.setdefault("process_seconds", time.perf_counter() - t0)
    return result


def similarity_files() -> dict[str, Path]:
    """gensim's SimLex-999 and WordSim-353, plus the WS-353 similarity/relatedness splits when the
    shared benchmark folder is present."""
    from res2vec.evaluate import default_similarity_files

    files = default_similarity_files()
    extra = SHARED_DATA / "benchmarks"
    for name, file in (("ws353_similarity", "EN-WS-353-SIM.txt"), ("ws353_relatedness", "EN-WS-353-REL.txt")):
        if (extra / file).exists():
            files[name] = extra / file
    return files


def train_word2vec(corpus: Any, sg: bool, vector_size: int = 300, max_final_vocab: int | None = None):
    """gensim Word2Vec (window 5, min_count 5, negative 5, 5 epochs, 2 workers, seed 0) on the
    text8-normalised corpus (a path, or anything ``res2vec.baselines`` reads), read by it. Returns
    (KeyedVectors, seconds spent reading, tokens read)."""
    from res2vec.baselines import train_word2vec as train
    from res2vec.baselines import word2vec_sentences

    t0 = time.perf_counter()
    sentences = word2vec_sentences(corpus)
    read_seconds = time.perf_counter() - t0
    n_tokens = sum(map(len, sentences))
    if max_final_vocab is None:
        return train(sentences, sg=sg, vector_size=vector_size), read_seconds, n_tokens
    from collections import Counter

    counts = Counter(w for s in sentences for w in s).most_common(max_final_vocab)
    vocabulary = tuple(zip(*counts, strict=True))
    return train(sentences, sg=sg, vector_size=vector_size, vocabulary=vocabulary), read_seconds, n_tokens
