"""Harvest: regrowth from the apples within Euclidean distance 2 (SPEC 1.3)."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.envs import HarvestConfig

STAY = 4
# a 7 x 7 field of apple cells; the agent waits in the corner spawn point
FIELD = """
@@@@@@@@@
@AAAAAAA@
@AAAAAAA@
@AAAAAAA@
@AAAAAAA@
@AAAAAAA@
@AAAAAAA@
@AAAAAAP@
@@@@@@@@@
"""
TARGET = (4, 4)


def _grows(tiny_env, offsets, probs, agent=(7, 7), radius=2.0) -> bool:
    env = tiny_env("harvest", FIELD, n_agents=1, regrowth_probs=probs, regrowth_radius=radius)
    apples = np.zeros((9, 9), bool)
    for dr, dc in offsets:
        apples[TARGET[0] + dr, TARGET[1] + dc] = True
    env.set_state(positions=[agent], facings=[0], apples=apples)
    env.step(np.array([[STAY]]))
    return bool((env.render(0, scale=1)[TARGET] == [0, 200, 0]).all())


@pytest.mark.parametrize(
    "offset, inside",
    [
        ((1, 0), True), ((0, -1), True), ((-1, 1), True), ((1, 1), True),
        ((2, 0), True), ((0, -2), True), ((-2, 0), True),
        ((2, 1), False), ((1, -2), False), ((2, 2), False), ((3, 0), False),
    ],
)
def test_neighbourhood_is_euclidean_radius_two(tiny_env, offset, inside):
    assert _grows(tiny_env, [offset], (0.0, 1.0, 1.0, 1.0)) is inside


@pytest.mark.parametrize(
    "n, probs, grows",
    [
        (0, (0.0, 1.0, 1.0, 1.0), False),
        (1, (0.0, 1.0, 0.0, 0.0), True),
        (2, (0.0, 1.0, 0.0, 0.0), False),
        (2, (0.0, 0.0, 1.0, 0.0), True),
        (3, (0.0, 0.0, 1.0, 0.0), False),
        (3, (0.0, 0.0, 0.0, 1.0), True),
        (5, (0.0, 0.0, 0.0, 1.0), True),
        (12, (0.0, 0.0, 0.0, 1.0), True),
        (12, (1.0, 1.0, 1.0, 0.0), False),
    ],
)
def test_probability_indexed_by_min_n_3(tiny_env, n, probs, grows):
    ring = [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1),
            (-2, 0), (2, 0), (0, -2), (0, 2)]
    assert _grows(tiny_env, ring[:n], probs) is grows


def test_itself_and_far_apples_do_not_count(tiny_env):
    # a full field except the target: 12 neighbours within radius 2 -> p[3]
    offsets = [(dr, dc) for dr in range(-3, 4) for dc in range(-3, 4)
               if (dr, dc) not in ((0, 0), (3, 3))]  # (3, 3) is the agent's cell
    assert _grows(tiny_env, offsets, (0.0, 0.0, 0.0, 1.0)) is True


def test_radius_is_configurable(tiny_env):
    assert _grows(tiny_env, [(1, 1)], (0.0, 1.0, 1.0, 1.0), radius=1.0) is False
    assert _grows(tiny_env, [(1, 0)], (0.0, 1.0, 1.0, 1.0), radius=1.0) is True


def test_no_regrowth_under_an_agent(tiny_env):
    assert _grows(tiny_env, [(1, 0)], (0.0, 1.0, 1.0, 1.0), agent=TARGET) is False


def test_growth_is_simultaneous(tiny_env):
    # a chain: the cell two steps from the only apple has n = 1 only after its
    # neighbour grows, which must not happen within the same step
    env = tiny_env("harvest", FIELD, n_agents=1, regrowth_probs=(0.0, 1.0, 0.0, 0.0),
                   regrowth_radius=1.0)
    apples = np.zeros((9, 9), bool)
    apples[4, 1] = True
    env.set_state(positions=[(7, 7)], facings=[0], apples=apples)
    _, _, info = env.step(np.array([[STAY]]))
    assert info["apples"].tolist() == [4]  # the apple and its 3 neighbours


def test_bare_patch_never_regrows(tiny_env):
    text = "@@@@@@@@@@@\n@AAA   AAA@\n@AAA P AAA@\n@@@@@@@@@@@"
    env = tiny_env("harvest", text, n_agents=1, n_envs=20, seed=4)
    apples = np.zeros((4, 11), bool)
    apples[1:3, 7:10] = True
    apples[1, 8] = False  # a hole in the right patch
    env.set_state(positions=[(2, 5)], facings=[0], apples=apples)
    for _ in range(300):
        _, _, info = env.step(np.full((20, 1), STAY))
    assert (info["apples"] == 6).all()
    for e in range(20):
        frame = env.render(e, scale=1)
        assert not (frame[1:3, 1:4] == [0, 200, 0]).all(axis=-1).any()


def test_default_probabilities_are_the_spec():
    assert HarvestConfig().regrowth_probs == (0.0, 0.005, 0.02, 0.05)
    assert HarvestConfig().regrowth_radius == 2.0
