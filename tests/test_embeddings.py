import numpy as np
import pytest
import torch

from mobius_init import CorpusStats
from mobius_init import kernel as K
from mobius_init.embeddings import (
    METHODS,
    analytic_embeddings,
    mstar_embeddings,
    random_control,
    random_embeddings,
    rms,
)
from mobius_init.matrices import mstar_dense
from mobius_init.spectral import PANEL_COLUMNS, block_krylov_svd, randomized_svd, sparse_matmul, torch_csr
from mobius_init.weights import apply_embeddings_


@pytest.fixture(scope="module")
def stats(lee_stats):
    return lee_stats("uniform").restrict(400)


@pytest.mark.parametrize("method", METHODS)
def test_shapes_scale_and_determinism(stats, method):
    E = analytic_embeddings(stats, 32, method, seed=3)
    assert E.shape == (400, 32) and E.dtype == torch.float32
    assert rms(E.numpy()) == pytest.approx(rms(random_embeddings(400, 32, 3)), rel=1e-6)
    assert torch.equal(E, analytic_embeddings(stats, 32, method, seed=3))
    assert rms(analytic_embeddings(stats, 32, method, scale=0.5).numpy()) == pytest.approx(0.5, rel=1e-6)


def test_random_is_gpt_init():
    E = random_embeddings(2000, 64, seed=0)
    assert abs(E.std() - 0.02) < 0.0005 and abs(E.mean()) < 0.0005
    assert not np.array_equal(E, random_embeddings(2000, 64, seed=1))


def test_random_control_is_independent_of_every_init_seed():
    """The control never equals a run's own random init, whatever the seed (MiniGPT draws its embedding
    first from torch's generator seeded with the run's seed)."""
    for seed in range(3):
        control = random_control((300, 16), 0.02, seed)
        assert abs(control.std() - 0.02) < 0.002
        for init_seed in range(3):
            assert abs(np.corrcoef(control.ravel(), random_embeddings(300, 16, init_seed).ravel())[0, 1]) < 0.05
        torch.manual_seed(seed)
        drawn = torch.nn.Embedding(300, 16).weight.detach().double().numpy()
        assert not np.allclose(control / 0.02, drawn)


def test_mobius_equals_dense_pipeline(stats):
    small = stats.restrict(120)
    E = analytic_embeddings(small, 120, "mobius", scale=None, k0_method="eigh").double().numpy()
    D = small.dense("D")
    W = K.reconstruct_w(D, K.derive_k0(D, 0.003, "eigh"))
    E_dense = K.embeddings_from_w(W, 120)
    scale = np.abs(E_dense @ E_dense.T).max()
    assert np.abs(E @ E.T - E_dense @ E_dense.T).max() < 1e-5 * scale  # float32 output
    norms = np.linalg.norm(E, axis=1)
    assert np.allclose(norms, norms[0], rtol=1e-4)  # circulant W: every token gets the same norm


def _assert_exact_triplets(P, S_dense, U, S, Vt):
    """The top singular values to 1e-6, orthonormal U, and Uᵀ P V = diag(S) to round-off."""
    np.testing.assert_allclose(S, S_dense, rtol=1e-6)
    np.testing.assert_allclose(U.T @ U, np.eye(len(S)), atol=1e-10)
    np.testing.assert_allclose(U.T @ (P @ Vt.T), np.diag(S), atol=1e-8)


def test_ppmi_svd_matches_dense_svd(stats):
    P = stats.ppmi(0.75)
    S_dense = np.linalg.svd(P.toarray(), compute_uv=False)[:10]
    # with a wide sketch the algorithm is exact to round-off ...
    _assert_exact_triplets(P, S_dense, *randomized_svd(P, 10, n_oversamples=60, n_iter=8, dtype=torch.float64))
    # ... and the defaults (float32, 20 extra columns, 5 power iterations) are within 1%
    np.testing.assert_allclose(randomized_svd(P, 10)[1], S_dense, rtol=1e-2)


def test_block_krylov_svd_matches_dense_svd(stats):
    P = stats.ppmi(0.75)
    S_dense = np.linalg.svd(P.toarray(), compute_uv=False)[:10]
    # 9 blocks of 12 columns: a space of 108 of the 400 dimensions, so the sketch path (not the dense one)
    _assert_exact_triplets(P, S_dense, *block_krylov_svd(P, 10, block_size=12, n_iter=8, dtype=torch.float64))
    # blocks narrower than k (6 < 10) reach the same triplets with more iterations (13 blocks, 78 columns)
    _assert_exact_triplets(P, S_dense, *block_krylov_svd(P, 10, block_size=6, n_iter=12, dtype=torch.float64))
    # at the same block and iterations, keeping every iterate is far more accurate than the power method
    krylov = np.abs(block_krylov_svd(P, 10, block_size=20, n_iter=4, dtype=torch.float64)[1] / S_dense - 1).max()
    power = np.abs(randomized_svd(P, 10, n_oversamples=10, n_iter=4, dtype=torch.float64)[1] / S_dense - 1).max()
    assert krylov < power / 20
    np.testing.assert_allclose(block_krylov_svd(P, 10)[1], S_dense, rtol=1e-2)  # float32 defaults: 7 blocks of 15
    first, again = block_krylov_svd(P, 10, seed=1), block_krylov_svd(P, 10, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))  # bit-identical for a seed
    with pytest.raises(ValueError, match="block_size"):
        block_krylov_svd(P, 10, block_size=3, n_iter=2)  # a space of 9 columns cannot hold 10 triplets


def test_sparse_matmul_in_panels_gives_the_product_bit_for_bit(stats):
    A = torch_csr(stats.ppmi(0.75))
    Y = torch.from_numpy(np.random.default_rng(0).standard_normal((A.shape[1], 2 * PANEL_COLUMNS + 5))).float()
    assert torch.equal(sparse_matmul(A, Y), A @ Y)  # three panels, the last one narrower
    assert torch.equal(sparse_matmul(A, Y[:, :3]), A @ Y[:, :3])


def test_torch_csr_takes_int32_indices_and_gives_the_int64_products_bit_for_bit(stats):
    A = torch_csr(stats.ppmi(0.75))
    assert A.crow_indices().dtype == A.col_indices().dtype == torch.int32
    wide = torch.sparse_csr_tensor(A.crow_indices().long(), A.col_indices().long(), A.values(), size=A.shape)
    Y = torch.from_numpy(np.random.default_rng(0).standard_normal((A.shape[1], PANEL_COLUMNS))).float()
    assert torch.equal(A @ Y, wide @ Y)


def test_mstar_embeddings_match_dense_v1000(lee_stats):
    stats = lee_stats("linear").restrict(1000)
    M = mstar_dense(stats.C, stats.vocab.counts)
    assert np.allclose(M, M.T) and M.min() >= -2.0 - 1e-12
    lam, Q = np.linalg.eigh(M)
    E = mstar_embeddings(stats, 20)
    vals = np.sum(E**2, axis=0)  # columns are eigenvectors x sqrt(eigenvalue)
    np.testing.assert_allclose(vals, lam[::-1][:20], rtol=1e-8)
    overlap = np.abs(np.sum(E / np.sqrt(vals) * Q[:, ::-1][:, :20], axis=0))
    assert overlap.min() > 1 - 1e-6


def test_mstar_zero_rows_have_no_nan():
    stats = CorpusStats.from_corpus(["a b a b c", "d"], window=2, min_count=1)  # "d" co-occurs with nothing
    row = mstar_dense(stats.C, stats.vocab.counts)[stats.vocab.index("d")]
    assert np.all(row == -2.0)  # P_dj = 0 for every j: the row is exactly -2, not NaN
    assert torch.isfinite(analytic_embeddings(stats, 2, "mstar", scale=None)).all()


def test_bad_arguments(stats):
    with pytest.raises(ValueError, match="unknown init method 'glove'"):
        analytic_embeddings(stats, 8, "glove")
    with pytest.raises(ValueError, match=r"dim must be an integer in \[1, V = 400\]"):
        analytic_embeddings(stats, 401, "random")
    with pytest.raises(ValueError, match="scale must be"):
        analytic_embeddings(stats, 8, "random", scale=-1.0)


class Tied(torch.nn.Module):
    def __init__(self, V, d, tie=True):
        super().__init__()
        self.emb = torch.nn.Embedding(V, d)
        self.head = torch.nn.Linear(d, V, bias=False)
        if tie:
            self.head.weight = self.emb.weight

    def get_input_embeddings(self):
        return self.emb

    def get_output_embeddings(self):
        return self.head


def test_apply_to_tied_module_and_parameter(stats):
    E = analytic_embeddings(stats, 16, "ppmi_svd")
    model = Tied(400, 16)
    apply_embeddings_(model, E)
    assert torch.equal(model.emb.weight, E) and model.head.weight is model.emb.weight
    param = torch.nn.Parameter(torch.zeros(400, 16))
    apply_embeddings_(param, E)
    assert torch.equal(param, E)


def test_apply_untied(stats):
    E = analytic_embeddings(stats, 16, "random")
    with pytest.raises(ValueError, match="not tied"):
        apply_embeddings_(Tied(400, 16, tie=False), E)
    model = Tied(400, 16, tie=False)
    apply_embeddings_(model, E, untied="copy")
    assert torch.equal(model.head.weight, E) and torch.equal(model.emb.weight, E)


def test_apply_shape_errors(stats):
    E = analytic_embeddings(stats, 16, "random")
    with pytest.raises(ValueError, match="vocabulary size mismatch: the model embeds 500 ids but E has 400"):
        apply_embeddings_(Tied(500, 16), E)
    with pytest.raises(ValueError, match="dimension mismatch"):
        apply_embeddings_(Tied(400, 8), E)
    with pytest.raises(TypeError, match="has no get_input_embeddings"):
        apply_embeddings_(torch.nn.Linear(3, 3), E)


def test_apply_to_tiny_local_gpt2(stats):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(vocab_size=400, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    model = transformers.GPT2LMHeadModel(config)  # built locally, nothing downloaded
    E = analytic_embeddings(stats, 16, "mobius")
    apply_embeddings_(model, E)
    assert torch.equal(model.get_input_embeddings().weight, E)
    assert torch.equal(model.get_output_embeddings().weight, E)
    logits = model(torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, 400) and torch.isfinite(logits).all()


@pytest.mark.parametrize("control", ["random_rownorm", "shuffled"])
def test_controls_keep_what_they_should(stats, control):
    E = analytic_embeddings(stats, 16, "ppmi_svd", seed=2, scale=None).numpy()
    C = analytic_embeddings(stats, 16, "ppmi_svd", seed=2, scale=None, control=control).numpy()
    assert C.shape == E.shape and not np.allclose(C, E)
    norms_e, norms_c = np.linalg.norm(E, axis=1), np.linalg.norm(C, axis=1)
    if control == "shuffled":  # the same rows, given to other tokens: spectrum and norms kept
        np.testing.assert_allclose(np.sort(norms_c), np.sort(norms_e), rtol=1e-6)
        np.testing.assert_allclose(np.linalg.svd(C, compute_uv=False), np.linalg.svd(E, compute_uv=False), rtol=1e-5)
        assert (norms_c != norms_e).mean() > 0.9  # almost every token got another row
    else:  # each token keeps its own norm, its direction is random
        np.testing.assert_allclose(norms_c, norms_e, rtol=1e-5)
        cos = np.sum(C * E, axis=1) / (norms_c * norms_e)
        assert abs(cos.mean()) < 0.05
    again = analytic_embeddings(stats, 16, "ppmi_svd", seed=2, scale=None, control=control)
    assert np.array_equal(again.numpy(), C)  # seeded
    assert not np.array_equal(analytic_embeddings(stats, 16, "ppmi_svd", seed=3, control=control).numpy(), C)
    scaled = analytic_embeddings(stats, 16, "ppmi_svd", seed=2, control=control)
    assert rms(scaled.numpy()) == pytest.approx(rms(random_embeddings(400, 16, 2)), rel=1e-6)
    with pytest.raises(ValueError, match="unknown control 'jitter'"):
        analytic_embeddings(stats, 16, "ppmi_svd", control="jitter")


def test_unigram_bias_makes_an_untrained_model_predict_unigram_frequencies(stats):
    from mobius_init import MiniGPT, MiniGPTConfig
    from mobius_init.embeddings import unigram_log_probs
    from mobius_init.weights import set_output_bias_

    bias = unigram_log_probs(stats.vocab.counts)
    p = np.exp(bias)
    assert p.sum() == pytest.approx(1.0, rel=1e-5) and np.all(np.diff(bias) <= 0)  # ids by frequency
    torch.manual_seed(0)
    model = MiniGPT(MiniGPTConfig(vocab_size=400, n_embd=16, block_size=8))
    set_output_bias_(model, torch.from_numpy(bias))
    assert model.lm_head.weight is model.tok_emb.weight  # still tied
    logits, _ = model(torch.zeros(1, 4, dtype=torch.long))
    predicted = torch.softmax(logits[0, -1], -1).detach().numpy()
    assert np.corrcoef(predicted, p)[0, 1] > 0.99
    with pytest.raises(ValueError, match="the bias has shape"):
        set_output_bias_(model, torch.zeros(3))


def test_ids_the_corpus_never_shows_keep_the_random_init():
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2, "c": 3, "never": 4}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    stats = CorpusStats.from_corpus(["a b c a b c b a c"] * 20, tokenizer=tok, window=2)  # every id kept
    E = analytic_embeddings(stats, 2, "ppmi_svd", seed=5).numpy()
    random = random_embeddings(5, 2, 5)
    np.testing.assert_allclose(E[4], random[4], rtol=1e-6)  # "never" (and "[UNK]") were never seen
    np.testing.assert_allclose(E[0], random[0], rtol=1e-6)
    assert not np.allclose(E[1:4], random[1:4])
