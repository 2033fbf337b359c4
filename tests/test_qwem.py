import numpy as np
import pytest
import torch

from mobius_init.matrices import mstar_dense
from mobius_init.qwem import predicted_singular_values, qwem_loss, qwem_targets, switch_steps, train_qwem


@pytest.fixture(scope="module")
def stats(lee_stats):
    return lee_stats("linear").restrict(120)


def test_loss_is_minimised_entrywise_at_mstar(stats):
    for weighting in ("constant", "corpus"):
        G, H = qwem_targets(stats.C, stats.vocab.counts, weighting)
        np.testing.assert_allclose(2 * H / G, mstar_dense(stats.C, stats.vocab.counts), atol=1e-9)


def test_constant_weighting_gradient_is_matrix_factorisation(stats, rng):
    G, H = qwem_targets(stats.C, stats.vocab.counts, "constant")
    g, M = G[0, 0], mstar_dense(stats.C, stats.vocab.counts)
    W = torch.tensor(rng.standard_normal((120, 4)), requires_grad=True)
    qwem_loss(W, torch.from_numpy(G), torch.from_numpy(H)).backward()
    Wn = W.detach().numpy()
    np.testing.assert_allclose(W.grad.numpy(), (g / 2) * (Wn @ Wn.T - M) @ Wn, rtol=1e-9, atol=1e-12)


def test_gradient_descent_follows_closed_form(stats):
    run = train_qwem(stats.C, stats.vocab.counts, 3, steps=4000, rate=0.02, record_every=20)
    predicted = run.predicted()
    half = np.sqrt(run.eigenvalues / 2)
    measured_on = switch_steps(run.singular_values, run.steps, half)
    predicted_on = switch_steps(predicted, run.steps, half)
    assert np.all(np.isfinite(measured_on)) and np.all(np.diff(measured_on) >= 0)  # in eigenvalue order
    assert np.all(np.abs(measured_on - predicted_on) <= 0.1 * predicted_on)
    np.testing.assert_allclose(run.singular_values[-1], predicted[-1], rtol=0.02)


def test_logistic_solution():
    s = predicted_singular_values(np.array([4.0, 1.0]), np.array([1e-6, 1e-6]), 1.0, np.array([0.0, 100.0]))
    np.testing.assert_allclose(s[0], [1e-3, 1e-3])
    np.testing.assert_allclose(s[1], [2.0, 1.0], rtol=1e-6)


def test_divergence_is_one_clear_error(stats):
    with pytest.raises(FloatingPointError, match="diverged at step .*lower rate"):
        train_qwem(stats.C, stats.vocab.counts, 3, steps=200, rate=1e4, init_scale=1.0, weighting="corpus")
