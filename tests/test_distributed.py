"""Counting on a Dask cluster gives the local result, bit for bit."""

import numpy as np
import pytest

from mobius_init import CorpusStats


@pytest.fixture(scope="module")
def shards(tmp_path_factory, lee_docs):
    folder = tmp_path_factory.mktemp("shards")
    for i in range(3):  # three files, one of them compressed
        name = folder / (f"part-{i}.txt.gz" if i == 1 else f"part-{i}.txt")
        text = "\n".join(lee_docs[i::3]) + "\n"
        if i == 1:
            import gzip

            with gzip.open(name, "wt", encoding="utf-8") as f:
                f.write(text)
        else:
            name.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.mark.parametrize("weighting, window", [("harmonic", 5), ("linear", 2)])
def test_dask_count_is_bit_identical_to_local(shards, client, weighting, window):
    from mobius_init.distributed import stats_on_dask

    local = CorpusStats.from_corpus(str(shards / "part-*"), window=window, weighting=weighting, min_count=2)
    remote = stats_on_dask(str(shards / "part-*"), client, window=window, weighting=weighting, min_count=2)
    assert remote.vocab.tokens == local.vocab.tokens
    assert np.array_equal(remote.vocab.counts, local.vocab.counts)
    for a, b in ((remote.C.data, local.C.data), (remote.C.indices, local.C.indices), (remote.C.indptr, local.C.indptr)):
        assert np.array_equal(a, b)
    assert (remote.n_tokens, remote.n_tokens_raw, remote.n_docs) == (local.n_tokens, local.n_tokens_raw, local.n_docs)
    assert remote.tokenizer.to_str() == local.tokenizer.to_str()


def test_missing_files_fail_before_any_task():
    from mobius_init.distributed import expand

    with pytest.raises(FileNotFoundError, match="no corpus file"):
        expand(["no/such/file.txt"])
