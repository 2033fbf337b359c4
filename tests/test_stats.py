import zipfile

import numpy as np
import pytest
from conftest import naive_cooccurrence
from tokenizers import Tokenizer, models, pre_tokenizers

from mobius_init import CorpusStats, count_cooccurrence
from mobius_init.stats import FORMAT

DOCS = ["a b c a b", "c c d", "b a", "rare a e e"]


@pytest.fixture(scope="module")
def harmonic(lee_stats):
    return lee_stats("harmonic")


def test_word_stats_match_definition():
    stats = CorpusStats.from_corpus(DOCS, window=2, min_count=1)
    # frequency order, ties by string: a(4) b(3) c(3) e(2) d(1) rare(1)
    assert stats.vocab.tokens == ("a", "b", "c", "e", "d", "rare")
    assert stats.vocab.counts.tolist() == [4, 3, 3, 2, 1, 1]
    ids = [[stats.vocab.index(w) for w in d.split()] for d in DOCS]
    np.testing.assert_array_equal(stats.C.toarray(), naive_cooccurrence(ids, 6, 2, "uniform"))
    assert stats.n_tokens == stats.n_tokens_raw == 14 and stats.n_docs == 4


def test_out_of_vocabulary_tokens_removed_before_windowing():
    stats = CorpusStats.from_corpus(["x rare y", "x y"], window=1, min_count=2)
    assert stats.vocab.tokens == ("x", "y")
    # "x y" is adjacent in both documents once "rare" is gone (1 per document; 1 in all if it were kept)
    assert stats.C[0, 1] == 2
    assert CorpusStats.from_corpus(["x rare y", "x y"], window=1, min_count=1).C[0, 1] == 1
    assert stats.n_tokens == 4 and stats.n_tokens_raw == 5


def test_vocab_size_and_restrict(lee_docs, harmonic):
    small = CorpusStats.from_corpus(lee_docs, weighting="harmonic", vocab_size=500)
    assert small.vocab_size == 500 and small.vocab.tokens == harmonic.vocab.tokens[:500]
    top = harmonic.restrict(50)
    np.testing.assert_array_equal(top.C.toarray(), harmonic.C[:50, :50].toarray())
    np.testing.assert_array_equal(harmonic.dense("C", 50), harmonic.C[:50, :50].toarray())
    np.testing.assert_allclose(harmonic.dense("D", 30), np.log1p(harmonic.C[:30, :30].toarray()))


def test_restrict_follows_frequency_not_ids():
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "z": 1, "y": 2, "x": 3}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    stats = CorpusStats.from_corpus(["x x x y y z"], tokenizer=tok, window=1)
    assert stats.vocab.tokens == ("[UNK]", "z", "y", "x")  # the tokenizer's own ids are kept
    assert stats.vocab.counts.tolist() == [0, 1, 2, 3]
    top = stats.restrict(2)
    assert top.vocab.tokens == ("x", "y")
    assert top.C.toarray().tolist() == [[4.0, 1.0], [1.0, 2.0]]


def test_D_and_ppmi_against_dense_reference(harmonic):
    stats = harmonic.restrict(800)
    C = stats.C.toarray()
    np.testing.assert_allclose(stats.D().toarray(), np.log1p(C))
    for cds in (0.75, 1.0):
        total = C.sum()
        row = C.sum(1)
        ctx = C.sum(0) ** cds
        with np.errstate(divide="ignore"):
            pmi = np.log(C * total) - np.log(np.outer(row, ctx / ctx.sum() * total))
        expected = np.where(C > 0, np.maximum(pmi, 0), 0)
        np.testing.assert_allclose(stats.ppmi(cds).toarray(), expected, atol=1e-12)
    with pytest.raises(ValueError, match="cds must be a positive number"):
        harmonic.ppmi(0)


def test_encode_gives_the_ids_that_were_counted(lee_docs, harmonic):
    ids = list(harmonic.encode(lee_docs))  # raw text: the stored tokenizer normalises it
    assert sum(map(len, ids)) == harmonic.n_tokens
    C = count_cooccurrence(ids, harmonic.vocab_size, harmonic.window, harmonic.weighting)
    assert (C != harmonic.C).nnz == 0


def test_bpe_stats_and_encode(lee_docs):
    stats = CorpusStats.from_corpus(lee_docs, tokenizer="bpe", vocab_size=600)
    assert stats.vocab_size <= 600 and (np.diff(stats.vocab.counts) <= 0).all()
    assert stats.normalize == "none"  # BPE keeps case and punctuation by default
    ids = list(stats.encode(lee_docs))
    assert sum(map(len, ids)) == stats.n_tokens
    assert (count_cooccurrence(ids, stats.vocab_size) != stats.C).nnz == 0


def test_deterministic(tmp_path, lee_docs):
    a = CorpusStats.from_corpus(lee_docs, tokenizer="bpe", vocab_size=500).save(tmp_path / "a.npz")
    b = CorpusStats.from_corpus(lee_docs, tokenizer="bpe", vocab_size=500).save(tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes()
    c = CorpusStats.from_corpus(lee_docs).save(tmp_path / "c.npz")
    d = CorpusStats.from_corpus("builtin:lee").save(tmp_path / "d.npz")  # a list or the file: the same bytes
    assert c.read_bytes() == d.read_bytes()


def test_one_shot_iterator_is_read_once():
    stats = CorpusStats.from_corpus(iter(DOCS), window=2, min_count=1)
    assert stats.n_tokens == 14


def test_save_load_round_trip(tmp_path, harmonic):
    path = harmonic.save(tmp_path / "stats.npz")
    loaded = CorpusStats.load(path)
    for a, b in [
        (harmonic.C.data, loaded.C.data),
        (harmonic.C.indices, loaded.C.indices),
        (harmonic.C.indptr, loaded.C.indptr),
        (harmonic.vocab.counts, loaded.vocab.counts),
        (harmonic.vocab.tokenizer_ids, loaded.vocab.tokenizer_ids),
    ]:
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert loaded.vocab.tokens == harmonic.vocab.tokens
    for field in ("window", "weighting", "n_tokens", "n_tokens_raw", "n_docs", "normalize"):
        assert getattr(loaded, field) == getattr(harmonic, field)
    assert loaded.tokenizer.to_str() == harmonic.tokenizer.to_str()
    assert loaded.save(tmp_path / "again.npz").read_bytes() == path.read_bytes()


def test_load_rejects_bad_files(tmp_path, harmonic):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="junk.npz.* is not a mobius-init statistics file"):
        CorpusStats.load(junk)
    good = harmonic.save(tmp_path / "good.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="cut.npz.*not a complete .npz archive"):
        CorpusStats.load(cut)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(ValueError, match="not a corpus-statistics file"):
        CorpusStats.load(other)
    future = tmp_path / "future.npz"
    with zipfile.ZipFile(tmp_path / "good.npz") as src, zipfile.ZipFile(future, "w") as dst:
        for item in src.namelist():
            dst.writestr(item, src.read(item))
    with np.load(future) as z:
        content = dict(z)
    content["version"] = np.array(99)
    np.savez(future, **content)
    assert str(content["format"]) == FORMAT
    with pytest.raises(ValueError, match="format version 99; this mobius-init reads version 1"):
        CorpusStats.load(future)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CorpusStats.load(tmp_path / "nope.npz")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"window": 0}, "window must be an integer >= 1"),
        ({"weighting": "cosine"}, "unknown weighting 'cosine'"),
        ({"vocab_size": 10, "min_count": 1}, "only 6 distinct tokens with count >= 1, fewer than vocab_size=10"),
        ({"min_count": 100}, "no token occurs at least min_count=100 times"),
        ({"tokenizer": "char"}, "unknown tokenizer 'char': choose word or bpe"),
        ({"tokenizer": "bpe", "vocab_size": 100}, "BPE needs vocab_size >= 257"),
        ({"tokenizer": "bpe", "vocab_size": 5000}, "supports only .* BPE tokens, fewer than vocab_size=5000"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CorpusStats.from_corpus(DOCS, **kwargs)


def test_empty_corpus():
    with pytest.raises(ValueError, match="the corpus is empty"):
        CorpusStats.from_corpus(["", "   "])
    with pytest.raises(ValueError, match="the corpus is empty.*use --normalize none or lower"):
        CorpusStats.from_corpus(["!!! ??? Добрый день"], normalize="text8")


def test_unknown_token_lookup(harmonic):
    with pytest.raises(KeyError, match="'qwertyuiop' is not in the vocabulary"):
        harmonic.vocab.index("qwertyuiop")


def test_existing_tokenizer_rejects_frequency_filters():
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    with pytest.raises(ValueError, match="ids are kept as they are"):
        CorpusStats.from_corpus(["a a"], tokenizer=tok, min_count=2)
    with pytest.raises(ValueError, match="an existing tokenizer has its own"):
        CorpusStats.from_corpus(["a a"], tokenizer=tok, vocab_size=10)
    with pytest.raises(ValueError, match="normalises text itself"):
        CorpusStats.from_corpus(["a a"], tokenizer=tok, normalize="text8")
