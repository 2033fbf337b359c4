"""The schedule-aware loss law: its areas on schedules with known values, and a forecast that recovers
a curve drawn from the law itself."""

import numpy as np
import pytest

from mobius_init import TrainConfig
from mobius_init.forecast import annealing_areas, annealing_law, forecast_final_loss, power_law_forecast
from mobius_init.schedules import learning_rates


def test_areas_of_constant_step_and_warmup_schedules():
    S1, S2 = annealing_areas([2.0] * 5)
    assert S1.tolist() == [1, 2, 3, 4, 5] and S2.tolist() == [0] * 5  # rates are taken relative to the peak
    S1, S2 = annealing_areas([1.0, 1.0, 0.5, 0.5], decay=0.5)
    assert S1.tolist() == [1, 2, 2.5, 3]
    assert S2.tolist() == pytest.approx([0, 0, 0.5, 0.75])  # the momentum of one drop decays by half per update
    S1, S2 = annealing_areas([0.25, 0.5, 1.0, 1.0])
    assert S2.tolist() == [0, 0, 0, 0]  # a warmup adds no (negative) annealing area
    with pytest.raises(ValueError, match="positive peak"):
        annealing_areas([0.0, 0.0])


def test_forecast_recovers_a_curve_drawn_from_the_law():
    config = TrainConfig(steps=2000, lr=2e-3, warmup_steps=40, min_lr_ratio=0.0, device="cpu")
    rates = learning_rates(config)
    assert rates[39] == pytest.approx(2e-3) and rates[-1] == pytest.approx(0.0, abs=1e-9)
    S1, S2 = annealing_areas(rates)
    truth = (3.5, 6.0, 0.45, 2e-3)
    curve = annealing_law(truth, S1, S2)
    steps = np.arange(100, 1001, 100)  # half the run observed
    fc = forecast_final_loss(steps, curve[steps - 1], rates)
    assert fc.final == pytest.approx(curve[-1], abs=0.01)
    assert fc.remaining == pytest.approx(curve[-1] - curve[999], abs=0.01) and fc.remaining < 0
    assert fc.interval[0] <= fc.final <= fc.interval[1]
    blind = power_law_forecast(steps, curve[steps - 1], 2000)
    assert abs(blind - curve[-1]) > abs(fc.final - curve[-1])  # the annealing is what the blind law misses
    with pytest.raises(ValueError, match="at least 4"):
        forecast_final_loss(steps[:3], curve[steps[:3] - 1], rates)


def test_convergence_monitor_reports_the_forecast_when_given_the_schedule(lee_docs):
    import torch

    from mobius_init import ConvergenceMonitor, CorpusStats, MiniGPT, MiniGPTConfig, train

    stats = CorpusStats.from_corpus(lee_docs, vocab_size=300)
    ids = np.concatenate(list(stats.encode(lee_docs)))
    config = TrainConfig(steps=200, eval_every=100, lr=3e-3, schedule="wsd", progress=False, device="cpu")
    monitor = ConvergenceMonitor(every=100, total_steps=200, schedule=learning_rates(config))
    torch.manual_seed(0)
    train(
        MiniGPT(MiniGPTConfig(vocab_size=300, n_embd=16, block_size=16)),
        ids[:-2000],
        ids[-2000:],
        config,
        callbacks=[monitor],
    )
    first, before_decay, last = monitor.history
    assert np.isnan(first["forecast_final"]) and first["forecast_note"].startswith("not enough history")
    assert np.isnan(before_decay["forecast_final"])  # step 100: wsd decays over the last 40 steps
    assert before_decay["forecast_note"].startswith("not enough history")
    assert last["step"] == 200 and "forecast_note" not in last
    assert (
        np.isfinite(last["forecast_final"]) and last["forecast_low"] <= last["forecast_final"] <= last["forecast_high"]
    )
    assert "forecast_final" not in ConvergenceMonitor(every=10).check(torch.zeros(5, 4), 0)


def _schedule(steps, kind):
    from mobius_init.schedules import learning_rates
    from mobius_init.training import TrainConfig

    config = TrainConfig(steps=steps, schedule=kind, warmup_steps=40, min_lr_ratio=0.0, lr=1e-3, device="cpu")
    return learning_rates(config)


def test_each_law_fitted_on_a_trunk_and_decays_recovers_the_curves_it_generated():
    from mobius_init.forecast import (
        Curve,
        annealing_law_at,
        fit_annealing_law_to,
        fit_multi_power_law,
        multi_power_law,
        smoothed,
    )

    schedules = [_schedule(400, "constant"), _schedule(400, "wsd"), _schedule(800, "wsd")]
    longer = _schedule(1600, "wsd")
    for law, fit, true in (
        (multi_power_law, fit_multi_power_law, (3.0, 4.0, 0.4, 0.5, 0.05, 0.8, 0.4)),
        (annealing_law_at, fit_annealing_law_to, (3.0, 4.0, 0.4, 2e-3)),
    ):
        curves = [Curve(r, *smoothed(law(true, r, np.arange(1, len(r) + 1)), width=27)) for r in schedules]
        params = fit(curves)
        assert abs(law(params, longer, [1600])[0] - law(true, longer, [1600])[0]) < 0.01  # a horizon never seen
        assert params[0] == pytest.approx(true[0], abs=0.3)  # the asymptote


def test_the_multi_power_law_says_why_it_has_no_answer():
    from mobius_init.forecast import Curve, fit_multi_power_law

    constant = _schedule(400, "constant")
    steps = np.arange(50, 400, 10)
    with pytest.raises(ValueError, match="no curve has losses inside a decay"):
        fit_multi_power_law([Curve(constant, steps, 5 - 0.001 * steps)])
    before_decay = np.arange(50, 300, 10)  # wsd's decay starts at step 320: none of it observed yet
    with pytest.raises(ValueError, match="no curve has losses inside a decay"):
        fit_multi_power_law([Curve(_schedule(400, "wsd"), before_decay, 5 - 0.001 * before_decay)])
    with pytest.raises(ValueError, match="finite and positive"):
        fit_multi_power_law([Curve(_schedule(400, "wsd"), steps, np.where(steps > 200, np.nan, 5.0))])
    with pytest.raises(ValueError, match="at least 14 losses after the warmup"):
        fit_multi_power_law([Curve(_schedule(400, "wsd"), np.array([10, 20, 380]), np.array([6.0, 5.5, 5.0]))])


def test_the_fits_analytic_jacobians_match_finite_differences():
    """The fits descend along hand-derived gradients: each Jacobian is checked against central differences."""
    from mobius_init.forecast import _annealing_model, _multi_power_law, annealing_areas

    rates = _schedule(400, "wsd")
    steps = np.arange(41, 401, 7)
    S1, S2 = annealing_areas(rates)
    for model, params in (
        (lambda p: _multi_power_law(p, rates, steps, jacobian=True), np.array([3.0, 4.0, 0.4, 0.5, 0.05, 0.8, 0.4])),
        (_annealing_model(S1[steps - 1], S2[steps - 1]), np.array([3.0, 4.0, 0.4, 2e-3])),
    ):
        h = 1e-6 * np.eye(len(params))
        numeric = np.stack([(model(params + e)[0] - model(params - e)[0]) / 2e-6 for e in h], axis=1)
        np.testing.assert_allclose(model(params)[1], numeric, rtol=1e-5, atol=1e-7)
