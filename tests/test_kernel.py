import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

from mobius_init import kernel as K
from mobius_init.spectral import EIGENVALUE_FLOOR


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def lee_uniform(lee_stats):
    return lee_stats("uniform")


def random_D(rng, V, pd=False):
    A = rng.random((V, V)) * (rng.random((V, V)) < 0.3)
    D = np.log1p(5 * (A + A.T))
    if pd:
        D += V * np.eye(V)  # strictly positive definite
    return D


def test_eigh_formula_against_fractional_power(rng):
    D = random_D(rng, 40, pd=True)
    expected = np.real(sla.fractional_matrix_power(D, 0.003 - 1))[0]
    np.testing.assert_allclose(K.derive_k0(D, 0.003, "eigh"), expected, rtol=1e-8)


def test_fft_formula_against_fractional_power(rng):
    D = random_D(rng, 40, pd=True)
    F = np.fft.fft2(D)
    F[np.abs(F) <= 1e-10] = 1e-10
    D_eps = np.real(sla.fractional_matrix_power(D, 0.01))
    expected = np.real(np.fft.ifft2(np.fft.fft2(D_eps) / F))[0]
    np.testing.assert_allclose(K.derive_k0(D, 0.01, "fft"), expected, rtol=1e-7, atol=1e-12)


def test_guard_replaces_small_fft_entries():
    D = np.ones((4, 4))  # FFT2 is zero except at (0, 0)
    F = K.guarded_fft2(D)
    assert F[0, 0] == 16 and np.all(F.ravel()[1:] == 1e-10)


def nonpositive_projection(D):
    lam, Q = np.linalg.eigh(D)
    neg = lam <= EIGENVALUE_FLOOR
    return Q[:, neg] @ Q[0, neg], neg.any()


@pytest.mark.parametrize("V", [30, 200])
def test_k0_is_projection_on_nonpositive_eigenspace_random(rng, V):
    D = random_D(rng, V)
    proj, has_neg = nonpositive_projection(D)
    assert has_neg
    k0 = K.derive_k0(D, 0.003, "eigh")
    assert 1 - cos(k0, proj) < 1e-12


def test_k0_is_projection_on_nonpositive_eigenspace_real(lee_uniform):
    D = lee_uniform.dense("D", 1000)
    proj, has_neg = nonpositive_projection(D)
    assert has_neg
    assert 1 - cos(K.derive_k0(D, 0.003, "eigh"), proj) < 1e-12


def test_k0_without_nonpositive_eigenvalues_is_power_times_e0(rng):
    D = random_D(rng, 30, pd=True)
    assert np.linalg.eigvalsh(D).min() > 0
    e0 = np.eye(30)[0]
    expected = np.linalg.solve(np.real(sla.fractional_matrix_power(D, 1 - 0.003)), e0)
    np.testing.assert_allclose(K.derive_k0(D, 0.003, "eigh"), expected, rtol=1e-8)
    np.testing.assert_allclose(K.derive_k0(sp.csr_matrix(D), 0.003, "auto"), expected, rtol=1e-6)


def test_auto_matches_eigh_on_real_corpus_v2000(lee_uniform):
    D = lee_uniform.restrict(2000).D()
    reference = K.derive_k0(D, 0.003, "eigh")
    k0, info = K.derive_k0(D, 0.003, "auto", return_info=True)
    assert info.converged and info.iterations < 2000
    assert cos(k0, reference) >= 0.99
    # the reported estimate is honest: the true error is of the order of the last change
    assert 1 - cos(k0, reference) < 100 * max(info.change, 1e-6)


def test_auto_warns_when_not_converged(lee_uniform):
    with pytest.warns(RuntimeWarning, match="did not converge in 25 iterations"):
        K.derive_k0(lee_uniform.restrict(500).D(), method="auto", max_iter=25, tol=1e-12)


def test_fft2_of_circulant_lives_on_antidiagonal(rng):
    V = 16
    F = np.fft.fft2(K.circulant(rng.standard_normal(V)))
    u, v = np.indices((V, V))
    assert np.abs(F[(u + v) % V != 0]).max() < 1e-10
    assert np.abs(F[(u + v) % V == 0]).max() > 1e-3


@pytest.mark.parametrize("source", ["random", "real"])
def test_reconstructed_w_is_circulant_from_wrapped_diagonals(rng, lee_uniform, source):
    if source == "random":
        D = random_D(rng, 64)
    else:
        D = lee_uniform.restrict(300).D()  # sparse
    k0 = K.derive_k0(D, 0.003, "eigh")
    W = K.reconstruct_w(D, k0)
    w = K.reconstruct_w_row(D, k0)
    scale = np.abs(W).max()
    assert np.abs(W - K.circulant(w)).max() < 1e-12 * scale
    assert K.circulant_score(W) > 1 - 1e-12
    Dd = D.toarray() if sp.issparse(D) else D
    d = K.wrapped_diagonal_sums(D)
    assert np.allclose(d, [sum(Dd[i, (i + s) % len(d)] for i in range(len(d))) for s in range(len(d))])


def test_empirical_kernel_inverts_reconstruction(rng):
    D = random_D(rng, 32, pd=True)
    k0 = rng.standard_normal(32)
    Kemp = K.empirical_kernel(K.reconstruct_w(D, k0), D)
    np.testing.assert_allclose(Kemp, K.circulant(k0), atol=1e-8)


@pytest.mark.parametrize("V", [31, 64])
def test_empirical_kernel_equals_full_complex_formula(rng, lee_uniform, V):
    D = lee_uniform.dense("D", V)  # real D with exact zeros: the guard is exercised
    W = rng.standard_normal((V, V))
    F = np.fft.fft2(D)
    F[np.abs(F) <= 1e-10] = 1e-10
    expected = np.real(np.fft.ifft2(np.fft.fft2(W) / F))
    np.testing.assert_allclose(K.empirical_kernel(W, D), expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


def test_circulant_score(rng):
    assert K.circulant_score(K.circulant(rng.standard_normal(50))) == pytest.approx(1.0)
    assert abs(K.circulant_score(rng.standard_normal((50, 50)))) < 0.3


@pytest.mark.parametrize("V, dim", [(64, 1), (64, 10), (63, 11), (64, 64)])
def test_circulant_embeddings_match_eigensolver(rng, V, dim):
    w = rng.standard_normal(V)
    W = K.circulant(w)
    sym = (W + W.T) / 2
    lam = np.sort(np.linalg.eigvalsh(sym))[::-1]
    E_fast = K.circulant_embeddings(w, dim)
    E_dense = K.embeddings_from_w(W, dim)
    assert E_fast.shape == E_dense.shape == (V, dim)
    if dim == V or lam[dim - 1] - lam[dim] > 1e-9:  # E E^T is unique when the cut splits no eigenvalue
        np.testing.assert_allclose(E_fast @ E_fast.T, E_dense @ E_dense.T, atol=1e-9)
    # columns are eigenvectors of the symmetrised W with the expected eigenvalues
    norms2 = (E_fast**2).sum(0)
    np.testing.assert_allclose(np.sort(norms2)[::-1], np.maximum(lam[:dim], 0), atol=1e-9)


def test_embeddings_from_w_clips_negative_eigenvalues():
    W = np.diag([3.0, -2.0, 1.0])
    E = K.embeddings_from_w(W, 3)
    np.testing.assert_allclose(E @ E.T, np.diag([3.0, 0.0, 1.0]), atol=1e-12)


@pytest.mark.parametrize(
    "D, match",
    [
        (np.ones((3, 4)), "square"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "NaN or Inf"),
        (sp.csr_matrix(np.array([[np.inf, 1.0], [1.0, 0.0]])), "NaN or Inf"),
        (np.ones((1, 1)), "at least 2 x 2"),
    ],
)
def test_bad_D(D, match):
    with pytest.raises(ValueError, match=match):
        K.derive_k0(D)


@pytest.mark.parametrize("eps", [0.0, -0.1, 1.0, 1.5, float("nan")])
def test_bad_epsilon(eps):
    with pytest.raises(ValueError, match="epsilon must lie strictly between 0 and 1"):
        K.derive_k0(np.eye(3), eps)


def test_bad_dim_and_shapes():
    with pytest.raises(ValueError, match=r"dim must be an integer in \[1, V = 4\]"):
        K.embeddings_from_w(np.eye(4), 5)
    with pytest.raises(ValueError, match=r"dim must be an integer in \[1, V = 4\]"):
        K.circulant_embeddings(np.ones(4), 0)
    with pytest.raises(ValueError, match=r"k0 must have shape \(3,\)"):
        K.reconstruct_w_row(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="W has shape"):
        K.empirical_kernel(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="unknown k0 method"):
        K.derive_k0(np.eye(3), method="svd")


def test_kernel_quantities_by_definition(rng, lee_uniform):
    D = lee_uniform.dense("D", 40)
    F = K.guarded_fft2(D)
    k0 = K.derive_k0_variants(D, 0.003)
    E = rng.standard_normal((40, 6))
    q = K.kernel_quantities(E, F, k0)
    W = E @ E.T
    Kemp = K.empirical_kernel(W, D)
    assert set(q) == set(K.KERNEL_QUANTITIES)
    assert q["k0_cos_eigh"] == pytest.approx(cos(Kemp[0], k0["eigh"]))
    assert q["k0_cos_fft"] == pytest.approx(cos(Kemp[0], k0["fft"]))
    assert q["circulant_score"] == pytest.approx(K.circulant_score(Kemp))
    assert q["cos_W_I"] == pytest.approx(np.trace(W) / (np.linalg.norm(W) * np.sqrt(40)))
    assert q["offdiag_energy"] == pytest.approx(1 - np.sum(np.diag(W) ** 2) / np.sum(W**2))
    identity = K.kernel_quantities(np.eye(40), F, k0)
    assert identity["cos_W_I"] == pytest.approx(1.0) and identity["offdiag_energy"] == pytest.approx(0.0)


def test_fourteen_candidates_are_defined(rng):
    A = rng.random((30, 30))
    D = np.log1p(A + A.T)
    cands = K.candidate_k0s(D, np.maximum(D - 1, 0), dim=8, epsilon=0.003)
    families = {name.split()[0] for name in cands}
    assert families == {f"H{i}" for i in range(1, 13)} | {"H_cI", "H_logD"}
    for vec, definition in cands.values():
        assert vec.shape == (30,) and np.all(np.isfinite(vec)) and definition
    np.testing.assert_allclose(cands["H4"][0], K.derive_k0(D, 0.003, "eigh"))


def test_eigen_exponent_recovers_a_matrix_power(rng):
    D = random_D(rng, 30, pd=True)
    lam, Q = np.linalg.eigh(D)
    k = np.real(sla.fractional_matrix_power(D, -0.7))[0]
    assert K.eigen_exponent(k, lam, Q) == pytest.approx(-0.7, abs=1e-6)
