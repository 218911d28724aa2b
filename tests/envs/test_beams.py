"""Fire (penalty) and clean beams: lanes, lengths, stops, costs and hits (SPEC 1.1, 1.2)."""

from __future__ import annotations

import numpy as np

STAY, FIRE, CLEAN = 4, 7, 8
UP, EAST, DOWN, WEST = range(4)

HALL = """
@@@@@@@
@     @
@     @
@     @
@     @
@     @
@     @
@     @
@PPP  @
@@@@@@@
"""


def _rows(decode, env):
    return decode(env.render(0, scale=1))[1:-1]


def test_fire_three_lanes_of_length_five(tiny_env, decode):
    env = tiny_env("harvest", HALL, n_agents=1)
    env.set_state(positions=[[8, 3]], facings=[UP])
    _, rewards, info = env.step(np.array([[FIRE]]))
    assert _rows(decode, env) == [
        "@     @",
        "@     @",
        "@ *** @",
        "@ *** @",
        "@ *** @",
        "@ *** @",
        "@ *** @",
        "@  0  @",
    ]
    assert rewards[0, 0] == -1.0
    assert info["fired"].tolist() == [[True]] and info["hits"].tolist() == [[0]]


def test_beam_length_configurable(tiny_env, decode):
    env = tiny_env("harvest", HALL, n_agents=1, beam_length=2)
    env.set_state(positions=[[8, 3]], facings=[UP])
    env.step(np.array([[FIRE]]))
    assert _rows(decode, env)[4:] == ["@     @", "@ *** @", "@ *** @", "@  0  @"]


def test_lanes_stop_before_walls_and_at_first_agent(tiny_env, decode):
    text = HALL.replace("@     @\n@     @\n@PPP", "@  @  @\n@     @\n@PPP")
    env = tiny_env("harvest", text, n_agents=2)
    env.set_state(positions=[[8, 3], [5, 4]], facings=[UP, UP])
    _, rewards, info = env.step(np.array([[FIRE, STAY]]))
    assert _rows(decode, env) == [
        "@     @",
        "@     @",
        "@ *   @",
        "@ *   @",
        "@ * 1 @",
        "@ *@* @",
        "@ *** @",
        "@  0  @",
    ]
    assert rewards.tolist() == [[-1.0, -50.0]]
    assert info["hits"].tolist() == [[0, 1]]
    assert info["fired"].tolist() == [[True, False]]


def test_side_lane_against_a_side_wall_is_empty(tiny_env, decode):
    env = tiny_env("harvest", HALL, n_agents=1)
    env.set_state(positions=[[8, 1]], facings=[UP])
    env.step(np.array([[FIRE]]))
    assert _rows(decode, env)[2:] == ["@**   @"] * 5 + ["@0    @"]


def test_beam_direction_follows_facing(tiny_env, decode):
    env = tiny_env("harvest", HALL, n_agents=1, beam_length=2)
    env.set_state(positions=[[4, 2]], facings=[EAST])
    env.step(np.array([[FIRE]]))
    assert _rows(decode, env)[2:5] == ["@  ** @", "@ 0** @", "@  ** @"]


def test_two_firers_hit_one_agent(tiny_env):
    env = tiny_env("harvest", HALL, n_agents=3)
    env.set_state(positions=[[8, 3], [3, 5], [3, 3]], facings=[UP, WEST, DOWN])
    _, rewards, info = env.step(np.array([[FIRE, FIRE, STAY]]))
    assert rewards.tolist() == [[-1.0, -1.0, -100.0]]
    assert info["hits"].tolist() == [[0, 0, 2]]


def test_agent_beyond_beam_length_is_not_hit(tiny_env):
    env = tiny_env("harvest", HALL, n_agents=2)
    env.set_state(positions=[[8, 3], [2, 3]], facings=[UP, UP])
    _, rewards, info = env.step(np.array([[FIRE, STAY]]))
    assert rewards.tolist() == [[-1.0, 0.0]] and info["hits"].tolist() == [[0, 0]]


def test_fire_costs_and_penalty_configurable(tiny_env):
    env = tiny_env("harvest", HALL, n_agents=2, fire_cost=0.5, hit_penalty=3.0)
    env.set_state(positions=[[8, 3], [6, 3]], facings=[UP, UP])
    _, rewards, _ = env.step(np.array([[FIRE, STAY]]))
    assert rewards.tolist() == [[-0.5, -3.0]]


RIVER = """
@@@@@@@
@HHHHH@
@HHHRH@
@RH RR@
@     @
@PP   @
@@@@@@@
"""


def test_clean_lane_stops_at_first_waste_which_becomes_river(tiny_env, decode):
    env = tiny_env("cleanup", RIVER, n_agents=1)
    env.set_state(positions=[[5, 3]], facings=[UP])
    _, rewards, info = env.step(np.array([[CLEAN]]))
    assert _rows(decode, env) == ["@HHH~H@", "@HH~~H@", "@R~~~R@", "@ ~~~ @", "@  0  @"]
    assert rewards.tolist() == [[0.0]]
    assert info["fired"].tolist() == [[False]] and info["hits"].tolist() == [[0]]
    assert info["waste"].tolist() == [7]
    env.step(np.array([[STAY]]))
    assert _rows(decode, env) == ["@HHHRH@", "@HHRRH@", "@RR RR@", "@     @", "@  0  @"]


def test_clean_lane_blocked_by_agent_who_is_not_hurt(tiny_env, decode):
    env = tiny_env("cleanup", RIVER, n_agents=2)
    env.set_state(positions=[[5, 3], [3, 3]], facings=[UP, UP])
    _, rewards, info = env.step(np.array([[CLEAN, STAY]]))
    assert _rows(decode, env)[:4] == ["@HHH~H@", "@HHH~H@", "@R~1~R@", "@ ~~~ @"]
    assert rewards.tolist() == [[0.0, 0.0]] and info["hits"].tolist() == [[0, 0]]
    assert info["waste"].tolist() == [8]


def test_overlapping_clean_lanes_clean_successive_waste(tiny_env, decode):
    env = tiny_env("cleanup", RIVER, n_agents=2, n_envs=8, waste_spawn=0.0)
    env.set_state(positions=[[5, 2], [5, 3]], facings=[UP, UP])
    _, _, info = env.step(np.array([[CLEAN, CLEAN]] * 8))
    env.step(np.full((8, 2), STAY))
    # columns 2 and 3 have two lanes each: the first two waste cells of each are cleaned
    for e in range(8):
        assert decode(env.render(e, scale=1))[1:4] == ["@HHRRH@", "@RRRRH@", "@RR RR@"]
    assert info["waste"].tolist() == [4] * 8


def test_fire_beam_passes_over_waste(tiny_env, decode):
    env = tiny_env("cleanup", RIVER, n_agents=1)
    env.set_state(positions=[[5, 3]], facings=[UP])
    _, _, info = env.step(np.array([[FIRE]]))
    assert _rows(decode, env)[:4] == ["@H***H@", "@H***H@", "@R***R@", "@ *** @"]
    assert info["waste"].tolist() == [10]


def test_rewards_of_one_step_add_up(tiny_env):
    # agent 1 steps onto an apple (+1) and is hit there by agent 0's beam (-50)
    text = "@@@@@\n@PA @\n@ P @\n@@@@@"
    env = tiny_env("harvest", text, n_agents=2)
    env.set_state(positions=[[1, 1], [2, 2]], facings=[EAST, UP])
    _, rewards, info = env.step(np.array([[FIRE, 2]]))
    assert info["positions"][0, 1].tolist() == [1, 2]
    assert rewards.tolist() == [[-1.0, -49.0]]
