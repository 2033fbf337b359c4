import os

# One thread per library: the tests' work is small, and threads that wait on each other slow the suite
# down many times when another job shares the cores. A variable already set is kept.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import functools
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from mobius_init.cooccurrence import distance_weights

ROOT = Path(__file__).resolve().parents[1]


def naive_cooccurrence(docs, vocab_size, window, weighting):
    """The definition, literally: every ordered pair of positions at distance 1..window."""
    w = distance_weights(window, weighting)
    C = np.zeros((vocab_size, vocab_size))
    for doc in docs:
        for p in range(len(doc)):
            for q in range(len(doc)):
                if p != q and abs(p - q) <= window:
                    C[doc[p], doc[q]] += w[abs(p - q) - 1]
    return C


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def lee_path():
    from mobius_init.corpus import builtin_path

    return builtin_path("lee")


@pytest.fixture(scope="session")
def lee_docs():
    """The Lee corpus's documents, raw (314 news articles, about 60k words)."""
    from mobius_init import read_corpus

    return list(read_corpus("builtin:lee"))


@pytest.fixture(scope="session")
def lee_encoded(lee_docs):
    """The Lee corpus, text8, every word kept."""
    from mobius_init import encode_corpus

    return encode_corpus(lee_docs, min_count=1)


@pytest.fixture(scope="session")
def lee_stats(lee_encoded):
    """``lee_stats(weighting="uniform", window=5)``: the Lee corpus's statistics, counted once per setting."""
    from mobius_init import CorpusStats

    @functools.cache
    def counted(weighting="uniform", window=5):
        return CorpusStats.from_encoded(lee_encoded, window, weighting)

    return counted


@pytest.fixture
def run_example(monkeypatch, capsys):
    """Run ``examples/NAME`` in this process with the given arguments; returns what it printed."""

    def run(name, *args):
        monkeypatch.setattr(sys, "argv", [name, *args])
        runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
        return capsys.readouterr().out

    return run


@pytest.fixture(scope="module")
def data(lee_docs):
    """A language-modelling split of the Lee corpus: (statistics of the first 270 documents, their ids,
    the ids of the rest)."""
    from mobius_init import CorpusStats

    stats = CorpusStats.from_corpus(lee_docs[:270], vocab_size=300)
    train_ids = np.concatenate(list(stats.encode(lee_docs[:270])))
    val_ids = np.concatenate(list(stats.encode(lee_docs[270:])))
    return stats, train_ids, val_ids
