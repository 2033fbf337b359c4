import bz2
import gzip
import lzma

import numpy as np
import pytest

from mobius_init import read_corpus
from mobius_init.corpus import TEXT8_BYTES, hub_arguments, normalize_text, normalizer

WIKI = """<doc id="12" url="http://en.wikipedia.org/wiki?curid=12" title="Anarchism">
Anarchism

Anarchism is a political philosophy.
Its roots are old.
</doc>
<doc id="25" url="http://en.wikipedia.org/wiki?curid=25" title="Autism">
Autism

Autism is a disorder.
</doc>
"""


def test_plain_file_one_document_per_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("first line\n\n   \nsecond line\n", encoding="utf-8")
    assert list(read_corpus(path)) == ["first line", "second line"]


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_compressed_files(tmp_path, suffix, opener):
    path = tmp_path / f"c.txt{suffix}"
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("Hello World\nsecond doc\n")
    assert list(read_corpus(path, normalize="lower")) == ["hello world", "second doc"]


def test_directory_read_in_sorted_order(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("b\n")
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "sub" / "c.txt").write_text("c\n")
    (tmp_path / ".hidden").write_text("hidden\n")
    assert list(read_corpus(tmp_path)) == ["a", "b", "c"]


def test_glob_pattern(tmp_path):
    for name in ("b.txt", "a.txt", "c.md"):
        (tmp_path / name).write_text(name + "\n")
    assert list(read_corpus(str(tmp_path / "*.txt"))) == ["a.txt", "b.txt"]
    with pytest.raises(FileNotFoundError, match="no corpus file matches"):
        list(read_corpus(str(tmp_path / "*.xz")))


def test_files_source_repeats_in_order(tmp_path):
    from mobius_init.corpus import Files

    (tmp_path / "a.txt").write_text("one\n")
    (tmp_path / "b.txt").write_text("two\n")
    assert list(read_corpus(Files([tmp_path / "b.txt", tmp_path / "a.txt"] * 2))) == ["two", "one", "two", "one"]
    assert list(read_corpus(["one"])) == ["one"]  # a list of strings stays a list of documents


def test_wikiextractor_markup(tmp_path):
    path = tmp_path / "wiki_00"
    path.write_text(WIKI, encoding="utf-8")
    docs = list(read_corpus(path))  # detected from the first line
    assert docs == ["Anarchism Anarchism is a political philosophy. Its roots are old.", "Autism Autism is a disorder."]
    assert list(read_corpus(path, markup=True)) == docs
    raw = list(read_corpus(path, markup=False))
    assert raw[0].startswith("<doc ") and len(raw) == 9


def test_wikiextractor_truncated_article_is_kept(tmp_path):
    path = tmp_path / "wiki_01"
    path.write_text(WIKI + '<doc id="30" title="X">\nX\nlast words\n', encoding="utf-8")
    assert list(read_corpus(path))[-1] == "X last words"


def test_normalisation_presets():
    text = ["Hello, World! It's 1999: Über-cool café."]
    assert list(read_corpus(text)) == text
    assert list(read_corpus(text, normalize="lower")) == ["hello, world! it's 1999: über-cool café."]
    assert list(read_corpus(text, normalize="text8")) == ["hello world it s ber cool caf "]


ODD = "Ünïcödé ÀÉÎ straße İstanbul \u212a ǅ 42-x\x1cy\u00a0z\u3000w \ufffd"


def test_tokenizers_normaliser_agrees_with_preset(lee_docs):
    sample = lee_docs[:50] + [ODD]
    for preset in ("lower", "text8"):
        expected = list(read_corpus(sample, normalize=preset))
        assert [normalizer(preset).normalize_str(s) for s in sample] == expected
    assert normalizer("none") is None


def test_text8_on_bytes_gives_the_same_words(lee_docs):
    """The word encoder's fast path (bytes.translate) splits into the same words as the preset."""
    for text in lee_docs[:50] + [ODD]:
        assert text.encode().translate(TEXT8_BYTES).split() == normalize_text(text, "text8").encode().split()
    assert normalize_text("İstanbul \u212aelvin", "text8") == " stanbul elvin"  # ASCII letters only


def test_builtin_lee(lee_docs):
    assert len(lee_docs) == 300 and lee_docs[0].startswith("Hundreds of people")


def test_iterable_and_generator():
    assert list(read_corpus(iter(["a b", "", "c"]))) == ["a b", "c"]


def test_datasets_in_memory_and_iterable():
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"body": ["One two", "three"], "id": [1, 2]})
    assert list(read_corpus(ds, text_column="body")) == ["One two", "three"]
    assert list(read_corpus(ds.to_iterable_dataset(), text_column="body", normalize="lower")) == ["one two", "three"]
    with pytest.raises(ValueError, match="dataset has no column 'text'"):
        list(read_corpus(ds))


def test_datasets_loaded_from_local_file(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "corpus.txt"
    path.write_text("alpha beta\ngamma\n")
    ds = datasets.load_dataset("text", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert list(read_corpus(ds)) == ["alpha beta", "gamma"]


def test_hub_source_calls_datasets(monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load(path, name, split, streaming):
        calls.append((path, name, split, streaming))
        return datasets.Dataset.from_dict({"text": ["from the hub"]})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network here: read the (fake) cache, skip the reachability probe
    assert list(read_corpus("hf:wikitext/wikitext-2-raw-v1:test")) == ["from the hub"]
    assert calls == [("wikitext", "wikitext-2-raw-v1", "test", True)]


def test_unreachable_hub_fails_in_seconds(monkeypatch):
    pytest.importorskip("datasets")
    import socket
    import time

    def refused(address, timeout):
        raise OSError(101, "Network is unreachable")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(socket, "create_connection", refused)
    t0 = time.perf_counter()
    with pytest.raises(OSError, match="cannot reach the Hugging Face hub .* set HF_HUB_OFFLINE=1"):
        list(read_corpus("hf:wikitext/wikitext-2-raw-v1"))
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("wikitext", ("wikitext", None, "train")),
        ("wikitext/wikitext-2-raw-v1", ("wikitext", "wikitext-2-raw-v1", "train")),
        ("Salesforce/wikitext/wikitext-103-v1:validation", ("Salesforce/wikitext", "wikitext-103-v1", "validation")),
        ("owner/name/", ("owner/name", None, "train")),
    ],
)
def test_hub_arguments(spec, expected):
    assert hub_arguments(spec) == expected


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(read_corpus(tmp_path / "missing.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="contains no files"):
        list(read_corpus(tmp_path / "empty"))
    with pytest.raises(ValueError, match="unknown normalisation 'upper'"):
        list(read_corpus(["a"], normalize="upper"))
    with pytest.raises(ValueError, match="unknown built-in corpus 'text9'"):
        list(read_corpus("builtin:text9"))
    with pytest.raises(TypeError, match="corpus item 1 is int"):
        list(read_corpus(["a", 3]))
    with pytest.raises(TypeError, match="cannot read a corpus from int"):
        list(read_corpus(42))
    with pytest.raises(ValueError, match="cannot parse hub dataset"):
        list(read_corpus("hf:"))
    bad = tmp_path / "bad.txt.xz"
    bad.write_bytes(b"not xz data at all")
    with pytest.raises(OSError, match="bad.txt.xz"):
        list(read_corpus(bad))


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("x\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("mobius_init.corpus.open", denied, raising=False)
    with pytest.raises(OSError, match="cannot read corpus file .*secret.txt.*Permission denied"):
        list(read_corpus(path))


def test_documents_are_strings_not_bytes(lee_docs):
    assert all(isinstance(d, str) for d in lee_docs)
    assert np.mean([len(d.split()) for d in lee_docs]) > 100


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100])
def test_binary_files_are_rejected(tmp_path, content):
    path = tmp_path / "program"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not a text file|does not look like UTF-8 text"):
        list(read_corpus(path))


def test_latin1_text_with_a_few_bad_bytes_is_read(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("caf\xe9 au lait\n".encode("latin-1") + b"plain words here\n" * 20)
    assert list(read_corpus(path))[0] == "caf\ufffd au lait"
