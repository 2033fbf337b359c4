import numpy as np
import pytest
from conftest import naive_cooccurrence

from mobius_init import cooccurrence, count_cooccurrence
from mobius_init.cooccurrence import WEIGHTINGS, distance_weights


def random_docs(rng, n_docs, vocab_size, max_len):
    # Zipf-like ids so that repeated pairs (and self-pairs on the diagonal) are common
    p = 1.0 / np.arange(1, vocab_size + 1)
    p /= p.sum()
    return [rng.choice(vocab_size, size=rng.integers(0, max_len + 1), p=p) for _ in range(n_docs)]


@pytest.fixture(params=[0, 6, 2048], ids=lambda n: f"dense{n}")
def dense_ids(request, monkeypatch):
    """The dense block's size: none (every pair sorted), the most frequent few ids, every id."""
    monkeypatch.setattr(cooccurrence, "DENSE_IDS", request.param)
    return request.param


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("window", [1, 2, 5, 9])
def test_matches_naive_double_loop(rng, weighting, window, dense_ids):
    docs = random_docs(rng, 40, 17, 25)  # many documents shorter than the window
    expected = naive_cooccurrence(docs, 17, window, weighting)
    C = count_cooccurrence(docs, 17, window, weighting)
    assert C.dtype == np.float64 and C.format == "csr" and C.has_canonical_format
    np.testing.assert_allclose(C.toarray(), expected, rtol=1e-12, atol=0)
    if weighting == "uniform":
        assert np.array_equal(C.toarray(), expected)  # integer counts are exact


@pytest.mark.parametrize("chunk_tokens", [1, 3, 7, 50, 10_000])
def test_chunking_and_long_documents(rng, chunk_tokens, dense_ids):
    """Long documents are cut into overlapping pieces; small chunks force many flushes and merges."""
    docs = random_docs(rng, 12, 11, 60) + [rng.integers(0, 11, 300)]
    expected = naive_cooccurrence(docs, 11, 4, "harmonic")
    C = count_cooccurrence(docs, 11, 4, "harmonic", chunk_tokens=chunk_tokens)
    np.testing.assert_allclose(C.toarray(), expected, rtol=1e-12)


def test_dense_block_changes_no_bit(rng, monkeypatch):
    """Integer weights: pairs summed in the dense block or by the sort give the same matrix, bit for bit."""
    docs = random_docs(rng, 120, 40, 60)
    found = []
    for dense in (0, 7, 40):
        monkeypatch.setattr(cooccurrence, "DENSE_IDS", dense)
        found.append(count_cooccurrence(docs, 40, 5, "harmonic", chunk_tokens=100))
    for other in found[1:]:
        for x, y in [(other.data, found[0].data), (other.indices, found[0].indices), (other.indptr, found[0].indptr)]:
            assert np.array_equal(x, y)


def test_windows_never_span_documents():
    C = count_cooccurrence([np.array([0, 1]), np.array([2, 3])], 4, window=5)
    assert C[1, 2] == 0 and C[0, 3] == 0
    assert C[0, 1] == C[1, 0] == 1 and C[2, 3] == 1


def test_self_pairs_count_both_directions():
    C = count_cooccurrence([np.array([0, 0])], 1, window=1)
    assert C[0, 0] == 2.0


def test_symmetric_and_deterministic_across_workers(rng):
    docs = random_docs(rng, 200, 50, 40)
    a = count_cooccurrence(docs, 50, 5, "harmonic", chunk_tokens=64, workers=1)
    b = count_cooccurrence(docs, 50, 5, "harmonic", chunk_tokens=64, workers=3)
    assert (abs(a - a.T) > 0).nnz == 0
    for x, y in [(a.data, b.data), (a.indices, b.indices), (a.indptr, b.indptr)]:
        assert np.array_equal(x, y)  # bit-identical, whatever the thread count


def test_empty_stream_gives_zero_matrix():
    C = count_cooccurrence([np.array([], dtype=np.int32), np.array([3])], 5)
    assert C.shape == (5, 5) and C.nnz == 0


def test_weights():
    assert np.array_equal(distance_weights(3, "uniform"), [1, 1, 1])
    np.testing.assert_allclose(distance_weights(4, "harmonic"), [1, 1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(distance_weights(4, "linear"), [1, 3 / 4, 1 / 2, 1 / 4])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"window": 0}, ValueError, "window must be an integer >= 1"),
        ({"window": 2.5}, ValueError, "window must be an integer"),
        ({"weighting": "gaussian"}, ValueError, "unknown weighting 'gaussian'"),
        ({"vocab_size": 0}, ValueError, "vocab_size must be an integer >= 1"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"docs": [np.array([0, 1])], "vocab_size": 2, **kwargs}
    with pytest.raises(error, match=match):
        count_cooccurrence(**args)


def test_out_of_range_and_non_integer_ids():
    with pytest.raises(ValueError, match="token id 7 is outside the vocabulary"):
        count_cooccurrence([np.array([0, 7])], 3)
    with pytest.raises(ValueError, match="token id -1"):
        count_cooccurrence([np.array([0, -1])], 3)
    with pytest.raises(TypeError, match="must be integers"):
        count_cooccurrence([np.array([0.0, 1.0])], 3)


@pytest.mark.parametrize("weighting, window", [("harmonic", 5), ("linear", 16), ("harmonic", 16)])
def test_exact_for_any_split(rng, weighting, window, dense_ids):
    """Integer-scaled weights make the counts independent of how the corpus is split: chunk sizes,
    threads, or parts counted separately (as on a cluster) give bit-identical matrices."""
    from mobius_init.cooccurrence import count_partial, finish_counts

    docs = random_docs(rng, 120, 40, 60)
    reference = count_cooccurrence(docs, 40, window, weighting, chunk_tokens=1 << 20, workers=1)
    for chunk in (7, 100, 1000):
        other = count_cooccurrence(docs, 40, window, weighting, chunk_tokens=chunk, workers=2)
        assert np.array_equal(other.toarray(), reference.toarray())
    parts = [count_partial(docs[i::3], 40, window, weighting) for i in (2, 0, 1)]
    merged = finish_counts(parts[0] + parts[1] + parts[2], window, weighting)
    assert np.array_equal(merged.toarray(), reference.toarray())
    np.testing.assert_allclose(reference.toarray(), naive_cooccurrence(docs, 40, window, weighting), rtol=1e-13)


def test_integer_weights():
    from mobius_init.cooccurrence import integer_weights

    numerators, denominator = integer_weights(4, "harmonic")
    assert denominator == 12 and numerators.tolist() == [12, 6, 4, 3]
    numerators, denominator = integer_weights(5, "linear")
    assert denominator == 5 and numerators.tolist() == [5, 4, 3, 2, 1]
    assert integer_weights(30, "harmonic")[1] == 1.0  # lcm(1..30) is too large: float weights
