"""Schedules: linear learning-rate annealing and the influence curriculum β(t) (SPEC 2, 3)."""

import pytest

from trainers.schedules import influence_weight, learning_rate


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0, 1e-3), (250, 7.5e-4), (500, 5e-4), (1000, 0.0), (5000, 0.0)],
)
def test_learning_rate_anneals_linearly(t, expected):
    assert learning_rate(t, 1000, 1e-3, 0.0) == pytest.approx(expected)


def test_learning_rate_paper_cleanup_a3c_endpoints():
    # Table 1, Cleanup A3C: lr init .00126 -> lr end .000012
    assert learning_rate(0, 10**8, 0.00126, 0.000012) == pytest.approx(0.00126)
    assert learning_rate(10**8, 10**8, 0.00126, 0.000012) == pytest.approx(0.000012)
    mid = learning_rate(5 * 10**7, 10**8, 0.00126, 0.000012)
    assert mid == pytest.approx((0.00126 + 0.000012) / 2)


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0, 0.0), (99, 0.0), (100, 0.0), (150, 0.5), (200, 1.0), (300, 2.0), (10**9, 2.0)],
)
def test_curriculum_with_delay(t, expected):
    # delay 100 steps, then a rise to beta = 2 over 200 steps
    assert influence_weight(t, beta=2.0, curriculum_steps=200, delay=100) == pytest.approx(expected)


def test_curriculum_without_rise_gives_full_beta_after_delay():
    assert influence_weight(9, 0.146, 0, delay=10) == 0.0
    assert influence_weight(10, 0.146, 0, delay=10) == pytest.approx(0.146)


def test_curriculum_paper_cleanup_influence():
    # Table 1, Cleanup influence: beta .146, curriculum 140 M steps
    assert influence_weight(70 * 10**6, 0.146, 140 * 10**6) == pytest.approx(0.073)


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError, match="total_steps must be positive"):
        learning_rate(0, 0, 1e-3, 1e-5)
    with pytest.raises(ValueError, match="must be >= 0"):
        influence_weight(0, 1.0, -1)
    with pytest.raises(ValueError, match="step counter"):
        learning_rate(-1, 10, 1e-3, 1e-5)
