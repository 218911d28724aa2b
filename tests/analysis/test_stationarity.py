"""The stationarity diagnostic: movement of action marginals across and within episodes."""

import numpy as np
import pytest

from infoflow.stationarity import DRIFT_NOTE_LEVEL, format_stationarity, stationarity


def test_stationary_agents_barely_move() -> None:
    acts = np.random.default_rng(0).integers(0, 4, (20, 400, 3))
    diag = stationarity(acts)
    assert float(diag.drift_across.max()) < 0.05 and float(diag.drift_within.max()) < 0.05
    assert "marked" not in format_stationarity(diag)


def test_drift_across_and_within_episodes_is_measured_and_marked() -> None:
    rng = np.random.default_rng(1)
    n_ep, n_steps = 20, 200
    p_zero = np.linspace(0.1, 0.9, n_ep)[:, None, None]  # learning: action 0 takes over
    across = np.where(rng.random((n_ep, n_steps, 2)) < p_zero, 0, 1)
    p_step = np.linspace(0.1, 0.9, n_steps)[None, :, None]  # depletion: within each episode
    within = np.where(rng.random((n_ep, n_steps, 2)) < p_step, 0, 1)
    d_across, d_within = stationarity(across), stationarity(within)
    assert float(d_across.drift_across.min()) > 0.25 > float(d_across.drift_within.max())
    assert float(d_within.drift_within.min()) > 0.25 > float(d_within.drift_across.max())
    assert DRIFT_NOTE_LEVEL < 0.25
    assert "across episodes (TV up to" in format_stationarity(d_across)
    assert "; marked)" in format_stationarity(d_across)


def test_padding_is_ignored() -> None:
    acts = np.zeros((6, 50, 2), dtype=int)
    acts[:, 25:] = -1  # half the steps are padding
    diag = stationarity(acts, block=2)
    assert diag.drift_across.values.tolist() == pytest.approx([0.0, 0.0])
