"""Box trapped: opening from outside, before moves, logged; regrowth delay (SPEC 1.4)."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.envs import BoxTrappedConfig, make_env

LEFT, RIGHT, FORWARD, BACKWARD, STAY, CW, CCW, OPEN = range(8)
UP, EAST, DOWN, WEST = range(4)
# the shipped map: box walls on rows 3-5, columns 3-5; 'T' at (4, 4); 'P' at (4, 1), (4, 7)
OUTSIDE, INSIDE = (4, 1), (4, 4)


def _env(n_envs=1, **overrides):
    return make_env("box_trapped", n_envs=n_envs, seed=0, config=BoxTrappedConfig(**overrides))


def _box_rows(decode, env, e=0):
    return [row[3:6] for row in decode(env.render(e, scale=1))[3:6]]


def test_reset_places_one_agent_inside_one_outside():
    env = _env(n_envs=64)
    pos = env.positions
    assert (pos[:, 1] == INSIDE).all()
    outside = {tuple(p) for p in pos[:, 0]}
    assert outside == {(4, 1), (4, 7)}
    assert set(np.unique(env.facings)) == {0, 1, 2, 3}
    assert env.trapped_agent == 1


def test_trapped_agent_cannot_open(decode):
    env = _env()
    env.set_state(positions=[OUTSIDE, INSIDE], facings=[UP, UP])
    _, rewards, info = env.step(np.array([[STAY, OPEN]]))
    assert info["box_open"].tolist() == [False] and info["box_opened_at"].tolist() == [-1]
    assert _box_rows(decode, env) == ["XXX", "X1X", "XXX"]
    assert rewards.tolist() == [[0.0, 0.0]] and info["fired"].tolist() == [[False, False]]


def test_outside_agent_opens_for_the_rest_of_the_episode(decode):
    env = _env()
    env.set_state(positions=[OUTSIDE, INSIDE], facings=[UP, UP])
    env.step(np.array([[STAY, STAY]]))
    env.step(np.array([[STAY, STAY]]))
    _, rewards, info = env.step(np.array([[OPEN, STAY]]))
    assert info["box_open"].tolist() == [True] and info["box_opened_at"].tolist() == [2]
    assert _box_rows(decode, env) == ["   ", " 1 ", "   "]
    assert rewards.tolist() == [[0.0, 0.0]]  # opening is free and fires no beam
    for _ in range(3):
        _, _, info = env.step(np.array([[OPEN, STAY]]))
    assert info["box_open"].tolist() == [True] and info["box_opened_at"].tolist() == [2]
    env.reset()
    _, _, info = env.step(np.array([[STAY, STAY]]))
    assert info["box_open"].tolist() == [False] and info["box_opened_at"].tolist() == [-1]
    assert _box_rows(decode, env)[0] == "XXX"


def test_trapped_agent_steps_out_in_the_opening_step():
    env = _env()
    env.set_state(positions=[OUTSIDE, INSIDE], facings=[UP, UP])
    _, _, info = env.step(np.array([[STAY, FORWARD]]))
    assert tuple(info["positions"][0, 1]) == INSIDE  # the wall blocks
    _, _, info = env.step(np.array([[OPEN, FORWARD]]))
    assert tuple(info["positions"][0, 1]) == (3, 4)


def test_opening_copies_independently():
    env = _env(n_envs=3)
    env.set_state(positions=[OUTSIDE, INSIDE], facings=[UP, UP])
    _, _, info = env.step(np.array([[OPEN, STAY], [STAY, STAY], [STAY, OPEN]]))
    assert info["box_open"].tolist() == [True, False, False]
    assert info["box_opened_at"].tolist() == [0, -1, -1]


def test_opening_may_need_adjacency():
    env = _env(open_needs_adjacency=True)
    env.set_state(positions=[OUTSIDE, INSIDE], facings=[UP, UP])
    _, _, info = env.step(np.array([[OPEN, STAY]]))
    assert info["box_open"].tolist() == [False]
    env.set_state(positions=[(4, 2), INSIDE])
    _, _, info = env.step(np.array([[OPEN, STAY]]))
    assert info["box_open"].tolist() == [True] and info["box_opened_at"].tolist() == [1]


def test_trapped_agent_may_not_see_the_box(decode):
    env = _env(trapped_sees_box=False, view_radius=1)
    obs = env.set_state(positions=[(4, 2), INSIDE], facings=[EAST, UP])
    assert decode(obs[0, 1]) == ["   ", " 1 ", "   "]
    assert decode(obs[0, 0]) == ["XXX", " 0 ", "A A"]  # the opener sees it
    seen = _env(view_radius=1).set_state(positions=[(4, 2), INSIDE], facings=[EAST, UP])
    assert decode(seen[0, 1]) == ["XXX", "X1X", "XXX"]


def test_apples_regrow_after_the_delay():
    env = _env(regrowth_delay=2)
    env.set_state(positions=[(2, 1), INSIDE], facings=[UP, UP])
    _, rewards, info = env.step(np.array([[FORWARD, STAY]]))  # t = 0: eat the apple at (1, 1)
    assert rewards[0, 0] == 1.0 and info["apples"].tolist() == [11]
    _, _, info = env.step(np.array([[BACKWARD, STAY]]))  # t = 1: step off, not yet
    assert info["apples"].tolist() == [11]
    _, _, info = env.step(np.array([[STAY, STAY]]))  # t = 2: back
    assert info["apples"].tolist() == [12]


def test_apple_waits_while_an_agent_stands_on_it():
    env = _env(regrowth_delay=1)
    env.set_state(positions=[(2, 1), INSIDE], facings=[UP, UP])
    env.step(np.array([[FORWARD, STAY]]))
    _, _, info = env.step(np.array([[STAY, STAY]]))
    assert info["apples"].tolist() == [11]
    _, _, info = env.step(np.array([[BACKWARD, STAY]]))
    assert info["apples"].tolist() == [12]


def test_trapped_agent_configurable():
    env = make_env("box_trapped", n_envs=8, config=BoxTrappedConfig(trapped_agent=0))
    assert (env.positions[:, 0] == INSIDE).all() and env.trapped_agent == 0


def test_box_config_validation():
    with pytest.raises(ValueError, match="box_trapped needs exactly 2"):
        make_env("box_trapped", config=BoxTrappedConfig(n_agents=3))
    with pytest.raises(ValueError, match="regrowth_delay"):
        make_env("box_trapped", config=BoxTrappedConfig(regrowth_delay=0))
    assert BoxTrappedConfig().horizon == 100


def test_set_state_opens_and_closes_per_copy(decode):
    env = _env(n_envs=2)
    env.step(np.full((2, 2), STAY))
    env.set_state(box_open=[True, False])
    assert _box_rows(decode, env, 0)[0] == "   " and _box_rows(decode, env, 1)[0] == "XXX"
    _, _, info = env.step(np.full((2, 2), STAY))
    assert info["box_open"].tolist() == [True, False]
    assert info["box_opened_at"].tolist() == [1, -1]


def test_box_without_x_walls_is_refused_before_play():
    # the reviewed bug: a box drawn with '@' only used to "open" (box_open, box_opened_at = 0)
    # at the trapped agent's action while the agent stayed locked in
    walled = "@@@@@@@@\n@@@@ P @\n@@T@ A @\n@@@@ P @\n@@@@@@@@"
    with pytest.raises(ValueError, match=r"line 3, column 3: the box around spawn point 'T' has "
                       r"no box wall 'X'"):
        _env(map=walled)


@pytest.mark.parametrize("needs_adjacency", [False, True])
def test_trapped_agent_cannot_open_a_box_against_the_border(needs_adjacency):
    # box in the map's corner: '@' on two sides, 'X' on the others; the 'T' agent stands
    # next to its 'X' walls, so it would pass the adjacency rule if it were outside
    corner = "@@@@@@\n@TX P@\n@XX A@\n@   P@\n@@@@@@"
    env = _env(n_envs=4, map=corner, open_needs_adjacency=needs_adjacency)
    assert (env.positions[:, 1] == (1, 1)).all()
    for _ in range(5):
        _, _, info = env.step(np.array([[STAY, OPEN]] * 4))
    assert not info["box_open"].any() and (info["box_opened_at"] == -1).all()
    assert (info["positions"][:, 1] == (1, 1)).all()
    env.set_state(positions=[(1, 3), (1, 1)])  # outside, next to the 'X' at (1, 2)
    _, _, info = env.step(np.array([[OPEN, STAY]] * 4))  # the outside agent can
    assert info["box_open"].all() and (info["box_opened_at"] == 5).all()
