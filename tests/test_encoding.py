import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from mobius_init import encode_corpus, read_corpus
from mobius_init.encoding import FirstOccurrence, prefetch
from mobius_init.id_stream import IdStream
from mobius_init.tokenization import word_tokenizer

ODD = ["Ünïcödé straße İstanbul \u212a 42-x", "a\x1cb c\u00a0d\u3000e\u2028f", "A A a  b\tb\r\nb"]


@pytest.mark.parametrize("normalize", ["text8", "lower", "none"])
def test_fast_word_path_equals_the_tokenizer(lee_docs, normalize):
    """One pass with C-level dict operations gives the ids the exported tokenizers tokenizer gives."""
    docs = lee_docs[:120] + ODD
    encoded = encode_corpus(docs, normalize=normalize, min_count=2)
    fast = encoded.ids()
    slow = np.concatenate(list(encoded.encode(docs)))
    np.testing.assert_array_equal(fast, slow)
    assert len(fast) == encoded.n_tokens and encoded.n_tokens < encoded.n_tokens_raw  # min_count removed some
    words = [w for d in docs for w in read_corpus([d], normalize=normalize) for w in w.split()]
    assert encoded.n_tokens_raw == len(words)
    counts = dict(zip(*np.unique(words, return_counts=True), strict=True))
    assert all(counts[t] == c for t, c in zip(encoded.vocab.tokens, encoded.vocab.counts, strict=True))


def test_word_tokenizer_splits_like_python():
    text = "".join(f"w{i}{chr(c)}" for i, c in enumerate(range(0x3100)) if chr(c).isspace() or c % 97 == 0)
    tokens = text.split()
    tok = word_tokenizer(tokens, "none")
    assert tok.encode(text).tokens == tokens


def test_documents_and_oov_removal():
    encoded = encode_corpus(["a b rare a", "c", "b a"], min_count=2)
    assert encoded.vocab.tokens == ("a", "b")
    assert [d.tolist() for d in encoded.documents()] == [[0, 1, 0], [], [1, 0]]
    assert encoded.n_docs == 3 and encoded.n_tokens == 5 and encoded.n_tokens_raw == 7


def test_spilled_ids_read_back_the_same(lee_docs, tmp_path):
    small = encode_corpus(lee_docs, min_count=1)
    spilled = encode_corpus(lee_docs, min_count=1, spill_dir=str(tmp_path))
    assert isinstance(small.stream.ids, np.ndarray)
    stream = IdStream(spill_tokens=1000, spill_dir=str(tmp_path))
    for doc in small.stream.documents(np.arange(small.table.size, dtype=np.int32)):
        stream.append(doc, [len(doc)])
    stream.finish()
    assert isinstance(stream.ids, np.memmap)
    table = small.table
    for a, b in zip(small.stream.documents(table), stream.documents(table, block_tokens=777), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(spilled.ids(), small.ids())
    n = small.table.size
    expected = np.bincount(np.asarray(stream.ids), minlength=n)
    for block in (777, 1 << 24):  # counted a block at a time: the same counts
        np.testing.assert_array_equal(stream.counts(n, block_tokens=block), expected)
    assert stream.counts(n).dtype == np.int64 and IdStream().finish().counts(3).tolist() == [0, 0, 0]


def test_global_ids_follow_first_occurrence_across_batches():
    first = FirstOccurrence()
    np.testing.assert_array_equal(first.merge([b"b", b"a"]), [0, 1])
    np.testing.assert_array_equal(first.merge([b"d", b"a", b"c", b"b"]), [2, 1, 3, 0])
    np.testing.assert_array_equal(first.merge([]), np.zeros(0, np.int32))
    assert first.index == {b"b": 0, b"a": 1, b"d": 2, b"c": 3}


def test_prefetch_keeps_order_and_raises():
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))

    def failing():
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(prefetch(failing()))


def test_existing_tokenizer_ids_are_kept():
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "z": 1, "y": 2, "x": 3}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    encoded = encode_corpus(["x x y q"], tokenizer=tok)
    assert encoded.vocab.tokens == ("[UNK]", "z", "y", "x") and encoded.vocab.counts.tolist() == [1, 0, 1, 2]
    assert encoded.ids().tolist() == [3, 3, 2, 0]
    freq = encode_corpus(["x x y q"], tokenizer=tok, id_order="frequency", min_count=1)
    assert freq.vocab.tokens == ("x", "[UNK]", "y")


def test_transformers_fast_tokenizer_is_accepted():
    transformers = pytest.importorskip("transformers")
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok)
    assert encode_corpus(["a b b"], tokenizer=fast).ids().tolist() == [1, 2, 2]


def test_tokenizer_json_path(tmp_path):
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(tmp_path / "tok.json"))
    assert encode_corpus(["a a"], tokenizer=str(tmp_path / "tok.json")).ids().tolist() == [1, 1]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read .*bad.json.* as a tokenizers tokenizer.json"):
        encode_corpus(["a a"], tokenizer=str(tmp_path / "bad.json"))


def test_worker_processes_give_the_same_result(monkeypatch, lee_path):
    """Batches split into words in forked processes and merged in order: the same ids as one process."""
    import mobius_init.encoding as encoding

    monkeypatch.setattr(encoding, "PARALLEL_BYTES", 0)  # the Lee file is small: make it qualify
    monkeypatch.setattr(encoding, "_BATCH_BYTES", 20_000)  # and cut it into many batches
    one = encode_corpus(lee_path, workers=1, min_count=2)
    two = encode_corpus(lee_path, workers=2, min_count=2)
    assert one.vocab.tokens == two.vocab.tokens and np.array_equal(one.vocab.counts, two.vocab.counts)
    np.testing.assert_array_equal(one.ids(), two.ids())
    assert [len(d) for d in one.documents()] == [len(d) for d in two.documents()]


def test_a_compressed_corpus_counts_its_text_not_its_file_size_for_the_worker_pool(monkeypatch, tmp_path):
    """A 26 MB .xz shard holds about 100 MB of text: it qualifies for the worker processes as that much text."""
    import contextlib
    import lzma

    import mobius_init.encoding as encoding

    text = ("the cat sat on the mat " * 2000 + "\n").encode()
    plain, packed = tmp_path / "a.txt", tmp_path / "a.txt.xz"
    plain.write_bytes(text)
    packed.write_bytes(lzma.compress(text))
    assert encoding._text_bytes(plain) == len(text)
    assert encoding._text_bytes(packed) == packed.stat().st_size * encoding.COMPRESSION_RATIO
    monkeypatch.setattr(encoding, "PARALLEL_BYTES", 5 * packed.stat().st_size)  # more text than it holds
    assert isinstance(encoding._pool(2, str(packed)), contextlib.nullcontext)
    monkeypatch.setattr(encoding, "PARALLEL_BYTES", 2 * packed.stat().st_size)  # above the file's own bytes only
    with encoding._pool(2, str(packed)) as pool:  # its text is enough: a pool
        assert pool is not None and pool.map(len, ["ab"]) == [2]
