import hashlib
import json
import sys
import warnings

import numpy as np
import pytest

import res2vec
from mobius_init import CorpusStats
from res2vec import Res2Vec, information_capacity, optimal_dimension
from res2vec.cli import main
from res2vec.evaluate import evaluate_analogies, evaluate_similarity, read_analogy_file, read_similarity_file
from res2vec.resonance import metric_tensor, resonance_curve, sample_pairs, self_consistent_dimension


def test_calibration_against_published_release():
    R, V = 0.07105052444654311, 1_008_133
    assert abs(information_capacity(R) - 0.10632796259662737) < 1e-9
    assert abs(optimal_dimension(V, R) - 187.56359159122252) < 1e-9


def test_capacity_edges():
    assert information_capacity(0.0) == 0.0
    assert information_capacity(1.0) == np.inf and optimal_dimension(10, 1.0) == 0.0
    with pytest.raises(ValueError, match=r"R must lie in \[0, 1\]"):
        information_capacity(1.5)


def test_metric_and_resonance_definitions(rng):
    E = rng.standard_normal((200, 6)) * np.array([5, 4, 3, 2, 1, 0.5])
    G = metric_tensor(E)
    assert np.trace(G) == pytest.approx(6)
    pairs = sample_pairs(200, 500, 100, seed=1)
    assert (pairs[:, 0] != pairs[:, 1]).all() and pairs.max() < 100
    curve = resonance_curve(E, pairs)
    # R(d) by the definition, with the full (not diagonal) metric of the leading d columns
    for d in (1, 3, 6):
        Gd = metric_tensor(E[:, :d])
        a, b = E[pairs[:, 0], :d], E[pairs[:, 1], :d]
        cos = np.einsum("ij,jk,ik->i", a, Gd, b) / np.sqrt(
            np.einsum("ij,jk,ik->i", a, Gd, a) * np.einsum("ij,jk,ik->i", b, Gd, b)
        )
        # the sample's columns are not exactly orthogonal, so allow for the off-diagonal of G
        assert curve[d - 1] == pytest.approx(np.abs(cos).mean(), abs=0.05 if d > 1 else 1e-12)
    assert curve[0] == pytest.approx(1.0)


def test_resonance_is_exact_for_orthogonal_columns(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((300, 8)))
    E = Q * np.array([8, 7, 6, 5, 4, 3, 2, 1.0])
    pairs = sample_pairs(300, 400, 300, seed=2)
    curve = resonance_curve(E, pairs)
    Gd = metric_tensor(E[:, :5])
    a, b = E[pairs[:, 0], :5], E[pairs[:, 1], :5]
    cos = np.einsum("ij,jk,ik->i", a, Gd, b) / np.sqrt(
        np.einsum("ij,jk,ik->i", a, Gd, a) * np.einsum("ij,jk,ik->i", b, Gd, b)
    )
    assert curve[4] == pytest.approx(np.abs(cos).mean(), rel=1e-12)


def test_fixed_point_search():
    V = 2**20  # log2 V = 20
    d = np.arange(1, 101)
    R_at = lambda target: 1 - 2.0 ** (-20.0 / target)  # noqa: E731  R giving d* = target
    curve = R_at(np.sqrt(d) * 6)  # d* = 6 sqrt(d): crosses d at d = 36
    fp = self_consistent_dimension(V, curve)
    assert fp.dim == 36 and fp.crossing == pytest.approx(36, abs=0.05)
    assert fp.is_fixed_point and abs(fp.gap) < 1
    flat = self_consistent_dimension(V, R_at(d * 2.0))  # d* = 2d: never crosses
    assert flat.dim == 100 and flat.crossing is None and "no crossing" in flat.message


@pytest.fixture(scope="module")
def lee_model():
    return Res2Vec(min_count=3, max_dim=60).fit("builtin:lee")


def test_fit_outputs(lee_model):
    r = lee_model.results_
    kv = lee_model.wv
    assert kv.vectors.shape == (r["vocab_size"] - r["zero_rows"]["count"], r["dim"])
    assert kv.vectors.dtype == np.float32
    assert kv.index_to_key[0] == "the" and kv.get_vecattr("the", "count") > 1000
    assert len(r["curve"]) == 60 and r["curve"][0]["R"] == pytest.approx(1.0)
    assert r["dimension"]["rule"] == "auto" and r["dimension"]["dim"] == r["dim"] and "pip_sigma" in r["dimension"]
    assert r["I_capacity"] == pytest.approx(information_capacity(r["R_avg"]))
    assert set(r["seconds"]) == {"vocabulary", "cooccurrence", "ppmi", "svd", "dimension", "vectors", "geometry"}
    assert lee_model.metric_.shape == (r["dim"], r["dim"])
    assert kv.most_similar("president", topn=3)  # the gensim API works
    with pytest.raises(KeyError, match="qwertyuiop"):
        kv["qwertyuiop"]


def test_integer_dim_and_nested_truncation():
    a = Res2Vec(dim=20, min_count=3, max_dim=60, context_vectors=False).fit("builtin:lee")
    b = Res2Vec(dim=40, min_count=3, max_dim=60, context_vectors=False).fit("builtin:lee")
    assert a.results_["dim"] == 20 and a.results_["dimension"]["rule"] == "fixed"
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors[:, :20])  # one SVD, nested truncations


def test_fit_precomputed_statistics():
    model = Res2Vec(dim=20, min_count=3, max_dim=60)
    stats = CorpusStats.from_corpus(
        "builtin:lee", window=model.window, weighting=model.weighting, min_count=3, normalize=model.normalize
    )
    given = Res2Vec(dim=20, min_count=3, max_dim=60).fit(stats)
    counted = model.fit("builtin:lee")
    assert given.wv.index_to_key == counted.wv.index_to_key
    np.testing.assert_array_equal(given.wv.vectors, counted.wv.vectors)
    with pytest.raises(ValueError, match="dim=<int>"):
        Res2Vec(min_count=3, max_dim=60).fit(stats)  # dim="auto" needs the two half-corpus counts
    with pytest.raises(ValueError, match="window=2"):
        Res2Vec(dim=20, window=2, max_dim=60).fit(stats)


def test_context_vectors_are_added_normalised():
    plain = Res2Vec(dim=20, min_count=3, max_dim=60, context_vectors=False).fit("builtin:lee")
    both = Res2Vec(dim=20, min_count=3, max_dim=60).fit("builtin:lee")
    norms = np.linalg.norm(both.wv.vectors, axis=1)
    assert norms.max() <= 2 + 1e-5 and norms.min() > 0  # the sum of two unit vectors
    assert not np.allclose(both.wv.vectors, plain.wv.vectors)


def test_mstar_method():
    m = Res2Vec(method="mstar", dim=20, min_count=3, max_dim=30).fit("builtin:lee")
    assert m.results_["params"]["weighting"] == "harmonic"  # as by default
    assert m.wv.vectors.shape[1] == 20 and np.isfinite(m.wv.vectors).all()
    again = Res2Vec(method="mstar", dim=20, min_count=3, max_dim=30).fit("builtin:lee")
    np.testing.assert_array_equal(m.wv.vectors, again.wv.vectors)  # deterministic
    assert set(m.results_["seconds"]) == {
        "vocabulary",
        "cooccurrence",
        "mstar_eigenpairs",
        "dimension",
        "vectors",
        "geometry",
    }


@pytest.mark.parametrize("metric", ["second_moment", "cosine", "whitened"])
def test_resonance_rule_reports_its_random_control(metric):
    m = Res2Vec(dim="resonance", metric=metric, min_count=3, max_dim=60).fit("builtin:lee")
    d = m.results_["dimension"]
    assert d["rule"] == "resonance" and d["metric"] == metric and 1 <= m.results_["dim"] <= 60
    assert len(d["random_dim"]) == 1 and 1 <= d["random_dim"][0] <= 60


def test_words_without_a_vector_are_reported_not_kept(lee_docs):
    lonely = ["zzzlonely"] * 4  # documents of one word: no co-occurrence, an all-zero PPMI row
    model = Res2Vec(dim=20, min_count=3, max_dim=40).fit(lee_docs + lonely)
    zero = model.results_["zero_rows"]
    assert zero["count"] >= 1 and "zzzlonely" in zero["words"] and "zzzlonely" not in model.wv
    assert np.all(np.linalg.norm(model.wv.vectors, axis=1) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gensim warns "invalid value" on zero rows
        model.wv.most_similar("president", topn=3)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_load_and_bit_identical_rebuild(tmp_path, lee_model):
    first, second = tmp_path / "a", tmp_path / "b"
    lee_model.save(first)
    Res2Vec(min_count=3, max_dim=60).fit("builtin:lee").save(second)
    for name in ("embeddings.npy", "vocab.json", "counts.npy", "metric.npy"):
        assert sha256(first / name) == sha256(second / name), name
    ra, rb = (json.loads((d / "results.json").read_text()) for d in (first, second))
    ra.pop("seconds"), rb.pop("seconds")  # wall-clock timings are the only field allowed to differ
    assert ra == rb
    loaded = Res2Vec.load(first)
    np.testing.assert_array_equal(loaded.wv.vectors, lee_model.wv.vectors)
    assert loaded.wv.index_to_key == lee_model.wv.index_to_key
    assert loaded.results_["dim"] == lee_model.results_["dim"]
    np.testing.assert_array_equal(loaded.metric_, lee_model.metric_)
    assert json.loads((first / "vocab.json").read_text())["the"] == 0


def test_counts_survive_save_and_load(tmp_path, lee_model):
    lee_model.save(tmp_path / "m")
    loaded = Res2Vec.load(tmp_path / "m")
    for word in ("the", "president", lee_model.wv.index_to_key[-1]):
        assert loaded.wv.get_vecattr(word, "count") == lee_model.wv.get_vecattr(word, "count") > 0


def test_fitted_attributes_exist_only_after_fit(tmp_path):
    model = Res2Vec(min_count=3)
    for name in ("wv", "metric_", "results_", "curve_"):
        assert not hasattr(model, name)
    with pytest.raises(AttributeError, match="not fitted yet.*call fit"):
        _ = model.wv
    with pytest.raises(AttributeError, match="not fitted yet"):
        model.save(tmp_path / "x")


def test_save_does_not_evaluate(tmp_path, lee_model, monkeypatch):
    module = sys.modules["res2vec.evaluate"]
    monkeypatch.setattr(module, "evaluate", lambda *a, **k: pytest.fail("save evaluated the model"))
    fresh = Res2Vec(min_count=3, max_dim=40, dim=20).fit("builtin:lee")
    fresh.save(tmp_path / "m")
    assert not (tmp_path / "m" / "evaluation.json").exists()


def test_word2vec_formats(tmp_path, lee_model):
    from gensim.models import KeyedVectors

    for binary in (False, True):
        path = tmp_path / f"vectors.{'bin' if binary else 'txt'}"
        lee_model.wv.save_word2vec_format(str(path), binary=binary)
        back = KeyedVectors.load_word2vec_format(str(path), binary=binary)
        np.testing.assert_allclose(back["president"], lee_model.wv["president"], rtol=1e-5, atol=1e-6)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"vocabulary of 183 words \(min_count=40\), too small for max_dim=300"):
        Res2Vec(min_count=40).fit("builtin:lee")
    with pytest.raises(ValueError, match="dim must be one of auto, pip, resonance or an integer"):
        Res2Vec(dim=500).fit("builtin:lee")
    with pytest.raises(ValueError, match="unknown method"):
        Res2Vec(method="glove").fit("builtin:lee")
    with pytest.raises(ValueError, match="unknown svd 'lanczos'; choose one of block_krylov, power"):
        Res2Vec(svd="lanczos").fit("builtin:lee")
    with pytest.raises(FileNotFoundError, match="not a Res2Vec directory"):
        Res2Vec.load(tmp_path)


def test_benchmark_files_with_malformed_lines(tmp_path, lee_model):
    bad = tmp_path / "sim.txt"
    bad.write_text("# comment\ncar\tauto\t8.5\nbroken line\n")
    with pytest.raises(ValueError, match=r"sim.txt:3: expected 'word1 word2 score'"):
        read_similarity_file(bad)
    bad.write_text("a b notanumber\n")
    with pytest.raises(ValueError, match=r"sim.txt:1:"):
        evaluate_similarity(lee_model.wv, bad)
    bad.write_text("cat dog x\ncar auto 8.5\n")  # a malformed first line is not taken for a header
    with pytest.raises(ValueError, match=r"sim.txt:1: expected 'word1 word2 score'"):
        read_similarity_file(bad)
    bad.write_text("car auto 8.5\ncat dog 7.0 3\n")  # four fields where three are expected
    with pytest.raises(ValueError, match=r"sim.txt:2: expected 'word1 word2 score'"):
        read_similarity_file(bad)
    bad.write_text("Word 1,Word 2,Human (mean)\ncar,auto,8.5\n")  # a real header is still read
    assert read_similarity_file(bad) == [("car", "auto", 8.5)]
    analogies = tmp_path / "q.txt"
    analogies.write_text(": capitals\nathens greece oslo norway\nathens greece oslo\n")
    with pytest.raises(ValueError, match=r"q.txt:3: expected four words"):
        read_analogy_file(analogies)


def test_evaluation_on_shipped_benchmarks(lee_model):
    report = res2vec.evaluate(lee_model.wv)
    sims = report["similarity"]
    assert set(sims) == {"simlex999", "wordsim353"}
    assert sims["simlex999"]["pairs"] + round(sims["simlex999"]["oov_rate"] * 999) == 999
    a = report["analogy"]
    assert a["questions"] == 19544 and 0 < a["answered"] < 19544 and 0 <= a["3cosadd"] <= 1


def test_analogy_scoring_on_constructed_vectors():
    from res2vec.io import keyed_vectors

    words = ["king", "queen", "man", "woman", "apple"]
    E = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0.1], [0, -1, 0.1], [0, 0, 1]], dtype=np.float32)
    kv = keyed_vectors(words, E)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "q.txt"
        path.write_text(": gender\nman woman king queen\nMAN WOMAN KING QUEEN\nman woman king unknown\n")
        r = evaluate_analogies(kv, path)
    assert r["answered"] == 2 and r["3cosadd"] == 1.0 and r["3cosmul"] == 1.0
    assert r["oov_rate"] == pytest.approx(1 / 3)


def test_cli_build_and_eval(tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["build", "builtin:lee", "-o", str(out), "--min-count", "3", "--max-dim", "40"]) == 0
    printed = capsys.readouterr().out
    assert "svd" in printed and "simlex999" in printed and f"wrote {out}" in printed
    assert (out / "evaluation.json").is_file()
    assert (
        main(["build", "builtin:lee", "-o", str(tmp_path / "fast"), "--min-count", "3", "--max-dim", "40", "--no-eval"])
        == 0
    )
    assert "simlex999" not in capsys.readouterr().out and not (tmp_path / "fast" / "evaluation.json").exists()
    assert main(["eval", str(out), "--analogies", "none"]) == 0
    assert "wordsim353" in capsys.readouterr().out
    assert main(["build", "builtin:lee", "-o", str(out), "--min-count", "40"]) == 2
    assert "too small for --max-dim=300" in capsys.readouterr().err


def test_canonical_files_with_header_lines(tmp_path):
    simlex = tmp_path / "SimLex-999.txt"  # the original distribution: POS before the score, CRLF
    simlex.write_bytes(
        b"word1\tword2\tPOS\tSimLex999\tconc(w1)\r\nold\tnew\tA\t1.58\t2.72\r\nsmart\tbright\tA\t9.2\t1.7\r\n"
    )
    assert read_similarity_file(simlex) == [("old", "new", 1.58), ("smart", "bright", 9.2)]
    combined = tmp_path / "combined.csv"
    combined.write_text("Word 1,Word 2,Human (mean)\nlove,sex,6.77\ntiger,cat,7.35\n")
    assert read_similarity_file(combined) == [("love", "sex", 6.77), ("tiger", "cat", 7.35)]
    bad = tmp_path / "bad.tab"
    bad.write_text("Word 1\tWord 2\tHuman\nlove\tsex\tlots\n")
    with pytest.raises(ValueError, match=r"bad.tab:2: expected 'word1 word2 score'"):
        read_similarity_file(bad)


@pytest.mark.parametrize("suffix", [".bin", ".txt", ".kv", "dir"])
def test_eval_reads_every_vector_format(tmp_path, capsys, lee_model, suffix):
    path = tmp_path / ("model" if suffix == "dir" else f"vectors{suffix}")
    if suffix == "dir":
        lee_model.save(path)
    elif suffix == ".kv":
        lee_model.wv.save(str(path))
    else:
        lee_model.wv.save_word2vec_format(str(path), binary=suffix == ".bin")
    assert main(["eval", str(path), "--analogies", "none"]) == 0
    assert "wordsim353" in capsys.readouterr().out
    (tmp_path / "vectors.npy").write_bytes(b"x")
    assert main(["eval", str(tmp_path / "vectors.npy")]) == 2
    assert "unknown vector format '.npy'" in capsys.readouterr().err


def test_rebuild_without_evaluation_leaves_no_stale_evaluation(tmp_path, lee_model):
    import copy

    evaluated, plain = copy.copy(lee_model), copy.copy(lee_model)
    evaluated.evaluation_ = {"simlex999": 0.5}
    plain.__dict__.pop("evaluation_", None)
    evaluated.save(tmp_path / "m")
    assert (tmp_path / "m" / "evaluation.json").is_file()
    plain.save(tmp_path / "m")  # e.g. a rebuild with --no-eval into the same directory
    assert not (tmp_path / "m" / "evaluation.json").exists()
    assert not hasattr(Res2Vec.load(tmp_path / "m"), "evaluation_")
    assert not list((tmp_path / "m").glob(".*partial"))


def test_parameters_are_keyword_only_and_get_params_reads_the_signature():
    import inspect

    with pytest.raises(TypeError):
        Res2Vec(300)  # the positional call a keyword-only estimator refuses
    params = Res2Vec(dim=50, seed=3).get_params()
    signature = [n for n in inspect.signature(Res2Vec.__init__).parameters if n not in ("self", "progress")]
    assert list(params) == signature and params["dim"] == 50 and params["seed"] == 3
