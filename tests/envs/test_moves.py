"""Turns, moves relative to facing, walls, conflicts, swaps and apple collection (SPEC 1.1)."""

from __future__ import annotations

import numpy as np
import pytest

LEFT, RIGHT, FORWARD, BACKWARD, STAY, CW, CCW = range(7)
UP, EAST, DOWN, WEST = range(4)

# 7 x 7 open room; spawn points only to satisfy the loader
ROOM = """
@@@@@@@
@PPPPP@
@     @
@     @
@     @
@     @
@@@@@@@
"""


def _step(env, actions):
    return env.step(np.broadcast_to(np.asarray(actions), (env.n_envs, env.n_agents)).copy())


@pytest.mark.parametrize(
    "facing, action, expected",
    [
        (UP, LEFT, (3, 2)), (UP, RIGHT, (3, 4)), (UP, FORWARD, (2, 3)), (UP, BACKWARD, (4, 3)),
        (EAST, LEFT, (2, 3)), (EAST, RIGHT, (4, 3)), (EAST, FORWARD, (3, 4)),
        (EAST, BACKWARD, (3, 2)),
        (DOWN, LEFT, (3, 4)), (DOWN, RIGHT, (3, 2)), (DOWN, FORWARD, (4, 3)),
        (DOWN, BACKWARD, (2, 3)),
        (WEST, LEFT, (4, 3)), (WEST, RIGHT, (2, 3)), (WEST, FORWARD, (3, 2)),
        (WEST, BACKWARD, (3, 4)),
        (UP, STAY, (3, 3)),
    ],
)
def test_moves_are_relative_to_facing(tiny_env, facing, action, expected):
    env = tiny_env("harvest", ROOM, n_agents=1)
    env.set_state(positions=[[3, 3]], facings=[facing])
    _, _, info = _step(env, [[action]])
    assert tuple(info["positions"][0, 0]) == expected
    assert info["facings"][0, 0] == facing  # moving never turns


@pytest.mark.parametrize("facing, action, expected", [
    (UP, CW, EAST), (EAST, CW, DOWN), (DOWN, CW, WEST), (WEST, CW, UP),
    (UP, CCW, WEST), (WEST, CCW, DOWN), (DOWN, CCW, EAST), (EAST, CCW, UP),
])
def test_turns(tiny_env, facing, action, expected):
    env = tiny_env("harvest", ROOM, n_agents=1)
    env.set_state(positions=[[3, 3]], facings=[facing])
    _, _, info = _step(env, [[action]])
    assert info["facings"][0, 0] == expected
    assert tuple(info["positions"][0, 0]) == (3, 3)


def test_turn_then_move_in_one_episode(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=1)
    env.set_state(positions=[[3, 3]], facings=[UP])
    _step(env, [[CW]])
    _, _, info = _step(env, [[FORWARD]])
    assert tuple(info["positions"][0, 0]) == (3, 4)


@pytest.mark.parametrize("action", [LEFT, FORWARD])
def test_walls_block_moves(tiny_env, action):
    env = tiny_env("harvest", ROOM, n_agents=1)
    env.set_state(positions=[[1, 1]], facings=[UP])
    _, rewards, info = _step(env, [[action]])
    assert tuple(info["positions"][0, 0]) == (1, 1)
    assert rewards[0, 0] == 0.0  # bumping is free by default


def test_wall_bump_cost(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=1, wall_bump_cost=0.5)
    env.set_state(positions=[[1, 1]], facings=[UP])
    _, rewards, _ = _step(env, [[FORWARD]])
    assert rewards[0, 0] == -0.5
    _, rewards, _ = _step(env, [[BACKWARD]])
    assert rewards[0, 0] == 0.0


def test_conflict_one_winner_both_outcomes_occur(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=2, n_envs=64, seed=3)
    env.set_state(positions=[[3, 2], [3, 4]], facings=[EAST, WEST])
    _, _, info = _step(env, [[FORWARD, FORWARD]])
    pos = info["positions"]
    won0 = (pos[:, 0] == [3, 3]).all(axis=1)
    won1 = (pos[:, 1] == [3, 3]).all(axis=1)
    assert (won0 ^ won1).all()  # exactly one agent takes the cell in every copy
    assert (pos[won0, 1] == [3, 4]).all() and (pos[won1, 0] == [3, 2]).all()
    assert 10 < won0.sum() < 54  # both outcomes occur


def test_cannot_enter_cell_of_agent_that_stays(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=2, n_envs=8)
    env.set_state(positions=[[3, 2], [3, 3]], facings=[EAST, UP])
    _, _, info = _step(env, [[FORWARD, STAY]])
    assert (info["positions"][:, 0] == [3, 2]).all()


def test_occupant_blocked_by_wall_counts_as_staying(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=2, n_envs=8)
    env.set_state(positions=[[2, 1], [1, 1]], facings=[UP, UP])
    _, _, info = _step(env, [[FORWARD, FORWARD]])
    assert (info["positions"][:, 0] == [2, 1]).all()
    assert (info["positions"][:, 1] == [1, 1]).all()


def test_head_on_swap_blocked(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=2, n_envs=8)
    env.set_state(positions=[[3, 2], [3, 3]], facings=[EAST, WEST])
    _, _, info = _step(env, [[FORWARD, FORWARD]])
    assert (info["positions"][:, 0] == [3, 2]).all()
    assert (info["positions"][:, 1] == [3, 3]).all()


def test_entering_a_vacated_cell_allowed(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=3, n_envs=16)
    env.set_state(positions=[[3, 1], [3, 2], [3, 3]], facings=[EAST, EAST, EAST])
    _, _, info = _step(env, [[FORWARD, FORWARD, FORWARD]])
    assert (info["positions"][:, :, 1] == [2, 3, 4]).all()  # the whole queue moves, any priority


def test_queue_behind_a_blocked_head_stays(tiny_env):
    env = tiny_env("harvest", ROOM, n_agents=3, n_envs=16)
    env.set_state(positions=[[3, 3], [3, 4], [3, 5]], facings=[EAST, EAST, EAST])
    _, _, info = _step(env, [[FORWARD, FORWARD, FORWARD]])
    assert (info["positions"][:, :, 1] == [3, 4, 5]).all()


def test_conflict_loser_blocks_the_agent_behind_it(tiny_env):
    # agent 0 and agent 1 want (3, 3); agent 2 wants agent 0's cell (3, 2)
    env = tiny_env("harvest", ROOM, n_agents=3, n_envs=64, seed=1)
    env.set_state(positions=[[3, 2], [3, 4], [3, 1]], facings=[EAST, WEST, EAST])
    _, _, info = _step(env, [[FORWARD, FORWARD, FORWARD]])
    pos = info["positions"]
    won0 = (pos[:, 0] == [3, 3]).all(axis=1)
    assert ((pos[:, 2, 1] == 2) == won0).all()
    assert 0 < won0.sum() < 64


def test_rotation_of_four_agents_moves_all(tiny_env):
    # a 2 x 2 block turning clockwise: no swaps, every target is vacated
    env = tiny_env("harvest", ROOM, n_agents=4, n_envs=8)
    env.set_state(positions=[[2, 2], [2, 3], [3, 3], [3, 2]], facings=[EAST, DOWN, WEST, UP])
    _, _, info = _step(env, [[FORWARD] * 4])
    assert (info["positions"][:, :, :] == [[2, 3], [3, 3], [3, 2], [2, 2]]).all()


def test_apples_collected_once(tiny_env):
    text = """
@@@@@@
@P AA@
@@@@@@
"""
    env = tiny_env("harvest", text, n_agents=1, regrowth_probs=(0.0, 0.0, 0.0, 0.0))
    env.set_state(positions=[[1, 1]], facings=[EAST])
    _, rewards, info = _step(env, [[FORWARD]])
    assert rewards[0, 0] == 0.0 and info["apples"][0] == 2
    _, rewards, info = _step(env, [[FORWARD]])
    assert rewards[0, 0] == 1.0 and info["apples"][0] == 1
    _, rewards, info = _step(env, [[STAY]])
    assert rewards[0, 0] == 0.0 and info["apples"][0] == 1
    _, rewards, info = _step(env, [[FORWARD]])
    assert rewards[0, 0] == 1.0 and info["apples"][0] == 0


def test_apple_reward_configurable(tiny_env):
    text = "@@@@@\n@PA @\n@@@@@"
    env = tiny_env("harvest", text, n_agents=1, apple_reward=2.5)
    env.set_state(positions=[[1, 1]], facings=[EAST])
    _, rewards, _ = _step(env, [[FORWARD]])
    assert rewards[0, 0] == 2.5
