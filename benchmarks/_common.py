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

SHARED_DATA = Path(os.environ.get("MOBIUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SHARD_AA = SHARED_DATA / "corpus" / "enwiki-2015-wikiextractor-AA.txt.xz"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"benchmark data {path} not found (set MOBIUS_SHARED_DATA to the shared data folder)")
    return path


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


W2V_MAX_SENTENCE = 10_000


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


def train_word2vec(corpus: Path, sg: bool, vector_size: int = 300, max_final_vocab: int | None = None):
    """gensim Word2Vec (window 5, min_count 10, negative 5, 5 epochs, 2 workers, seed 0) on the
    text8-normalised corpus; documents are cut into pieces of at most 10,000 words because gensim
    silently truncates longer sentences. Returns (KeyedVectors, seconds spent reading)."""
    from gensim.models import Word2Vec

    from mobius_init import read_corpus

    t0 = time.perf_counter()
    sentences = []
    for doc in read_corpus(corpus, normalize="text8"):
        words = doc.split()
        sentences.extend(words[i : i + W2V_MAX_SENTENCE] for i in range(0, len(words), W2V_MAX_SENTENCE))
    read_seconds = time.perf_counter() - t0
    model = Word2Vec(
        sentences,
        sg=int(sg),
        vector_size=vector_size,
        window=5,
        min_count=10,
        negative=5,
        epochs=5,
        workers=2,
        seed=0,
        max_final_vocab=max_final_vocab,
    )
    return model.wv, read_seconds
