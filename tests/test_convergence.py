import numpy as np
import pytest

from mobius_init import convergence as cv
from mobius_init.monitors import CANDIDATES, DEFAULT_DIAGNOSTICS, ConvergenceMonitor


def test_loss_fit_recovers_a_power_law(rng):
    steps = np.arange(1, 4001)
    losses = 3.0 + 4.0 * (steps + 20.0) ** -0.6 + rng.normal(0, 0.05, len(steps))
    fit = cv.fit_loss_curve(steps, losses)
    assert fit.l_inf == pytest.approx(3.0, abs=0.05) and fit.alpha == pytest.approx(0.6, abs=0.1)
    assert fit.predicted_remaining == pytest.approx(fit.current - fit.l_inf)
    assert 0.8 < fit.fraction_achieved < 1.0
    logged = cv.fit_loss_curve(steps[::25], losses[::25])  # a Trainer logging every 25 steps
    assert logged.l_inf == pytest.approx(3.0, abs=0.1)
    assert cv.fit_loss_curve(steps[:20], losses[:20]) is None  # too little history


def test_loss_slope():
    steps = np.arange(1, 1001)
    assert cv.loss_slope(steps, 5 - 0.002 * steps) == pytest.approx(2.0)  # nats per 1,000 steps
    assert np.isnan(cv.loss_slope(steps[:2], np.ones(2)))


def test_spectral_diagnostics(rng):
    E = rng.standard_normal((2000, 32))
    assert cv.effective_rank(E) > 30 and cv.effective_rank(np.outer(rng.standard_normal(2000), np.ones(32))) < 1.01
    rotation = np.linalg.qr(rng.standard_normal((32, 32)))[0]
    assert cv.spectral_distance(E, E @ rotation) < 1e-10  # the spectrum ignores rotations
    assert cv.spectral_distance(E, E * np.r_[np.full(16, 3.0), np.ones(16)]) > 0.5
    low_rank = rng.standard_normal((2000, 4)) @ rng.standard_normal((4, 32)) + 0.01 * E
    assert cv.rand_distance(low_rank) > 10 * cv.rand_distance(E)  # structure is far from a random matrix
    # eigenvalues lambda_k = k^-2 have the density lambda^-(1 + 1/2): the tail exponent is 1.5
    lam = np.arange(1, 65, dtype=float) ** -2.0
    heavy = np.linalg.qr(rng.standard_normal((4000, 64)))[0] * np.sqrt(4000 * lam)
    assert cv.esd_alpha(heavy, tail=1.0) == pytest.approx(1.5, abs=0.1)
    assert cv.esd_alpha(E, tail=1.0) > 3  # a random matrix's spectrum has no heavy tail
    assert cv.relative_change(2 * E, E) == pytest.approx(1.0)


def test_convergence_monitor_in_training(lee_docs):
    from mobius_init import CorpusStats, MiniGPT, MiniGPTConfig, TrainConfig, train

    stats = CorpusStats.from_corpus(lee_docs[:270], vocab_size=300)
    ids = np.concatenate(list(stats.encode(lee_docs)))
    assert ConvergenceMonitor().diagnostics == DEFAULT_DIAGNOSTICS
    monitor = ConvergenceMonitor(every=40, diagnostics=CANDIDATES, total_steps=120)
    model = MiniGPT(MiniGPTConfig(vocab_size=300, n_embd=16, block_size=16))
    train(
        model,
        ids[:-2000],
        ids[-2000:],
        TrainConfig(steps=120, eval_every=40, progress=False, device="cpu"),
        callbacks=[monitor],
    )
    assert [h["step"] for h in monitor.history] == [0, 40, 80, 120]
    last = monitor.history[-1]
    assert set(CANDIDATES) <= set(last) and last["control_step_fraction"] == 1.0
    assert np.isfinite(last["loss_fit_remaining"]) and last["relative_change"] > 0
    assert last["control_initial_relative_change"] == 0.0 and last["control_random_relative_change"] > 1
    assert len(monitor.losses) == 120  # every step's training loss was observed
    with pytest.raises(ValueError, match="unknown diagnostic"):
        ConvergenceMonitor(diagnostics=("vibes",))
