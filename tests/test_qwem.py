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


def test_divergence_is_one_clear_error(stats, monkeypatch):
    import mobius_init.qwem as qwem

    monkeypatch.setattr(qwem, "curvature", lambda *a, **k: 1e-12)  # as if the curvature bound missed it
    with pytest.raises(FloatingPointError, match="diverged at step .*lower rate"):
        train_qwem(stats.C, stats.vocab.counts, 3, steps=200, rate=1e4, init_scale=1.0, weighting="corpus")


def test_the_step_stays_below_the_curvature_limit_for_a_large_init(stats):
    """Under corpus weighting the step set from the mean weight (rate / (g lam_1)) diverges from a large
    init; the step held below 1 / (largest curvature) descends."""
    from mobius_init.qwem import curvature

    G_np, H_np = qwem_targets(stats.C, stats.vocab.counts, "corpus")
    G, H = torch.from_numpy(G_np), torch.from_numpy(H_np)
    lam_1 = np.linalg.eigvalsh(mstar_dense(stats.C, stats.vocab.counts))[-1]
    old_lr = 0.02 / (G_np.mean() * lam_1)
    W0 = torch.randn(120, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.5 * np.sqrt(lam_1)
    W = W0.clone().requires_grad_()
    for _ in range(20):  # the old rule
        loss = qwem_loss(W, G, H)
        if not torch.isfinite(loss):
            break
        (grad,) = torch.autograd.grad(loss, W)
        W = (W - old_lr * grad).detach().requires_grad_()
    assert not torch.isfinite(qwem_loss(W, G, H))
    assert old_lr > 2 / curvature(W0, G, H)  # it was past the stability limit from the start
    run = train_qwem(stats.C, stats.vocab.counts, 4, steps=300, weighting="corpus", init_scale=0.5, rate=0.02)
    assert run.lr < old_lr and np.all(np.isfinite(run.losses)) and run.losses[-1] < run.losses[0]
    small = train_qwem(stats.C, stats.vocab.counts, 4, steps=10, weighting="corpus", rate=0.02)
    assert small.lr == pytest.approx(0.02 / (small.g * small.eigenvalues[0]))  # a small init keeps the old step
