import math

import pytest

from mobius_init.significance import first_crossing, mean_sd, paired_difference, plateaued


def test_first_crossing_interpolates_between_evaluations():
    steps, losses = [0, 10, 20], [5.0, 4.0, 3.0]
    assert first_crossing(steps, losses, 3.5) == pytest.approx(15.0)
    assert first_crossing(steps, losses, 4.0) == 10.0  # reached exactly at an evaluation
    assert first_crossing(steps, losses, 6.0) == 0.0
    assert first_crossing(steps, losses, 2.0) is None
    assert first_crossing([0, 10, 20, 30], [5.0, 3.0, 3.5, 2.0], 3.2) == pytest.approx(10 * 1.8 / 2.0)  # the first


def test_paired_t_test_against_the_closed_form():
    # differences 1, 1, 2, 2: mean 1.5, sd sqrt(1/3), t = 3 sqrt(3) with 3 degrees of freedom, whose
    # two-sided p is 2 (1 - F(t)), F(t) = 1/2 + (t/(sqrt(3)(1 + t^2/3)) + atan(t/sqrt(3))) / pi
    result = paired_difference([1, 2, 3, 4], [0, 1, 1, 2])
    t = 3 * math.sqrt(3)
    expected_p = 2 * (1 - (0.5 + (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi))
    assert result["mean"] == 1.5 and result["sd"] == pytest.approx(math.sqrt(1 / 3)) and result["n"] == 4
    assert result["p"] == pytest.approx(expected_p, rel=1e-9)
    assert math.isnan(paired_difference([1.0], [0.0])["p"])  # one pair: no test
    assert math.isnan(paired_difference([1, 2], [0, 1])["p"])  # no spread in the differences
    with pytest.raises(ValueError, match="equal-length"):
        paired_difference([1, 2], [1])


def test_mean_sd_and_plateau():
    assert mean_sd([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))
    assert mean_sd([4.0]) == (4.0, 0.0)
    flat = [5.0, 4.0, 3.5, 3.45, 3.44, 3.43]
    assert plateaued(range(0, 60, 10), flat)  # 3.444 -> 3.43 over the last 20 %: 0.4 %
    assert not plateaued(range(0, 60, 10), [5.0, 4.5, 4.0, 3.5, 3.0, 2.5])
