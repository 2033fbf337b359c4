import numpy as np
import pytest

from mobius_init.cooccurrence import distance_weights


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


@pytest.fixture
def lee_path():
    from mobius_init.corpus import builtin_path

    return builtin_path("lee")
