"""The paper's communication metrics and equality on hand-built sequences."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from infoflow.communication import (
    consistency_kernel,
    episode_returns,
    equality,
    gini,
    gini_kernel,
    instantaneous_coordination,
    return_summary,
    speaker_consistency,
)
from infoflow.trajectory import from_arrays

NAN = np.nan


def speaker_ds(messages: np.ndarray, actions: np.ndarray, n: int = 4) -> xr.Dataset:
    return from_arrays(actions.astype(np.int16), messages=messages.astype(np.int16),
                       n_actions=n, n_symbols=n)


def test_perfect_speaker_scores_one() -> None:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, (3, 50, 2))
    messages = np.stack([(actions[..., 0] + 1) % 4, rng.integers(0, 4, (3, 50))], axis=-1)
    score = speaker_consistency(speaker_ds(messages, actions))
    assert score.sel(agent="agent_0").item() == 1.0
    assert score.sel(agent="agent_1").item() < 0.05  # random speaker, 150 samples


@pytest.mark.parametrize(("actions", "symbols", "expected"), [
    ([0, 1, 2, 0], [2, 0, 1, 2], 1.0),  # one to one
    ([0, 0, 1, 1], [0, 1, 0, 1], 0.0),  # every conditional is uniform over 2 of 2 codes
    # p(a|m=0) = (2/3, 1/3), p(a|m=1) = (0, 1); p(m|a=0) = (1, 0), p(m|a=1) = (1/2, 1/2)
    ([0, 0, 1, 1], [0, 0, 0, 1], 0.5 * ((1 - 0.9182958340544896 + 1) / 2 + (1 + 0) / 2)),
    ([0, -1, 1], [0, 1, -1], 1.0),  # padding ignored
])
def test_consistency_hand_cases(actions, symbols, expected) -> None:
    value = consistency_kernel(np.array(actions), np.array(symbols), 2 if max(actions) < 2
                               else 3, 2 if max(symbols) < 2 else 3)
    assert value == pytest.approx(expected)


def test_consistency_needs_messages() -> None:
    ds = from_arrays(np.zeros((1, 3, 2), np.int16), n_actions=2)
    with pytest.raises(ValueError, match="no 'message' variable; log messages"):
        speaker_consistency(ds)


def test_listener_copying_symbol_gives_entropy_of_symbol() -> None:
    messages = np.zeros((1, 9, 2), np.int16)
    messages[0, :, 0] = [0, 1, 2, 3, 0, 1, 2, 3, 0]  # speaker 0
    actions = np.zeros((1, 9, 2), np.int16)
    actions[0, 1:, 1] = messages[0, :-1, 0]  # listener 1 copies at t + 1
    ic = instantaneous_coordination(speaker_ds(messages, actions), "symbol")
    assert ic.sel(source="agent_0", target="agent_1").item() == pytest.approx(2.0)  # H = 2 bits
    assert ic.sel(source="agent_1", target="agent_0").item() == pytest.approx(0.0)
    assert np.isnan(ic.sel(source="agent_0", target="agent_0").item())


def test_action_coordination_and_moments() -> None:
    actions = np.zeros((1, 9, 2), np.int16)
    actions[0, :, 0] = [0, 1, 0, 1, 0, 1, 0, 1, 0]
    actions[0, 1:5, 1] = actions[0, 0:4, 0]  # copies during t = 0..3, then stays at 0
    ds = from_arrays(actions, n_actions=2)
    ic = instantaneous_coordination(ds, "action")
    # all 8 pairs: (0,0) x3, (1,1) x2, (0,0)... -> (x, y) = 00 01 00 11 ... compute by hand
    x, y = actions[0, :-1, 0], actions[0, 1:, 1]
    joint = np.histogram2d(x, y, bins=2)[0] / 8
    px, py = joint.sum(1), joint.sum(0)
    nz = joint > 0
    expected = float((joint[nz] * np.log2(joint[nz] / np.outer(px, py)[nz])).sum())
    assert ic.sel(source="agent_0", target="agent_1").item() == pytest.approx(expected)
    moments = xr.DataArray(np.zeros((1, 9, 2), bool), dims=("episode", "step", "source"))
    moments[0, :4, 0] = True  # only the copying steps
    ic_m = instantaneous_coordination(ds, "action", moments)
    assert ic_m.sel(source="agent_0", target="agent_1").item() == pytest.approx(1.0)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be 'action' or 'symbol', not 'x'"):
        instantaneous_coordination(from_arrays(np.zeros((1, 3, 2), np.int16)), "x")


@pytest.mark.parametrize(("returns", "expected"), [
    ([5.0, 5.0, 5.0], 0.0),  # equal returns
    ([4.0, 0.0, 0.0, 0.0], 0.75),  # one agent has all: (N - 1) / N
    ([10.0, 0.0], 0.5),
    ([1.0, 2.0, 3.0], 8 / 36),
    ([0.0, 0.0], 0.0),
    ([1.0, -1.0], NAN),  # undefined: differing returns summing to 0
])
def test_gini_hand_cases(returns, expected) -> None:
    np.testing.assert_allclose(gini_kernel(np.array(returns)), expected)


def test_gini_and_equality_by_dimension_name() -> None:
    r = xr.DataArray([[4.0, 0.0], [1.0, 1.0]], dims=("episode", "agent"))
    np.testing.assert_allclose(gini(r, "agent"), [0.5, 0.0])
    np.testing.assert_allclose(equality(r, "agent"), [0.5, 1.0])
    with pytest.raises(ValueError, match="returns has no dimension 'player'"):
        gini(r, "player")


def test_returns_equality_and_product() -> None:
    rewards = np.zeros((2, 3, 2), np.float32)
    rewards[0, :, 0] = 1.0  # episode 0: agent 0 gets 3, agent 1 gets 0
    rewards[1] = 1.0  # episode 1: 2 steps long (third step padded), 2 each
    actions = np.zeros((2, 3, 2), np.int16)
    actions[1, 2] = -1
    ds = from_arrays(actions, rewards=np.where(actions >= 0, rewards, np.nan), n_actions=2)
    np.testing.assert_allclose(episode_returns(ds), [[3.0, 0.0], [2.0, 2.0]])
    summary = return_summary(ds)
    np.testing.assert_allclose(summary["collective_return"], [3.0, 4.0])
    np.testing.assert_allclose(summary["equality"], [0.5, 1.0])
    np.testing.assert_allclose(summary["return_equality"], [1.5, 4.0])
    np.testing.assert_allclose(summary["return"], [2.5, 1.0])


def test_returns_need_rewards() -> None:
    with pytest.raises(ValueError, match="no 'reward' variable; log rewards"):
        episode_returns(from_arrays(np.zeros((1, 3, 2), np.int16)))
