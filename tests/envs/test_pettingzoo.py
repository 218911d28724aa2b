"""The PettingZoo adapter (SPEC 1.5): API conformance, determinism, spaces, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from pettingzoo.utils.conversions import parallel_to_aec

from trainers.envs import CleanupConfig, make_env
from trainers.envs.pettingzoo_env import SSDParallelEnv, parallel_env

GAMES = [("cleanup", 5, 9), ("harvest", 5, 8), ("box_trapped", 2, 8)]


@pytest.mark.parametrize(("game", "n_agents", "n_actions"), GAMES)
def test_passes_pettingzoo_api_and_seed_tests(game, n_agents, n_actions):
    env = parallel_env(game, horizon=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Live agent was not given ..." etc. fail the test
        parallel_api_test(env, num_cycles=40)
        parallel_seed_test(lambda: parallel_env(game, horizon=30), num_cycles=40)
    assert env.possible_agents == [f"agent_{k}" for k in range(n_agents)]
    assert env.metadata["name"] == f"infoflow_{game}_v0"


def test_converts_to_an_aec_env_that_passes_the_aec_api_test():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api_test(parallel_to_aec(parallel_env("box_trapped", horizon=15)), num_cycles=20)


@pytest.mark.parametrize(("game", "n_agents", "n_actions"), GAMES)
def test_spaces_are_fixed_objects_of_the_view_and_actions(game, n_agents, n_actions):
    env = parallel_env(game)
    for agent in env.possible_agents:
        obs_space = env.observation_space(agent)
        act_space = env.action_space(agent)
        assert obs_space is env.observation_space(agent)
        assert act_space is env.action_space(agent)
        assert isinstance(obs_space, spaces.Box) and isinstance(act_space, spaces.Discrete)
        assert obs_space.shape == (15, 15, 3) and obs_space.dtype == np.uint8
        assert (obs_space.low.min(), obs_space.high.max()) == (0, 255)
        assert act_space.n == n_actions
    obs, infos = env.reset(seed=3)
    assert all(env.observation_space(a).contains(o) for a, o in obs.items())
    assert set(infos) == set(env.possible_agents)
    start = env.engine.info()
    for k, agent in enumerate(env.possible_agents):  # the starting state, before any step
        assert tuple(infos[agent]["position"]) == tuple(start["positions"][0, k])
        assert infos[agent]["fired"] is False and infos[agent]["hits"] == 0


def test_episode_runs_to_horizon_then_agents_are_removed():
    env = parallel_env("cleanup", seed=1, horizon=4)
    env.reset()
    stay = dict.fromkeys(env.possible_agents, 4)
    for t in range(1, 5):
        obs, rewards, terms, truncs, infos = env.step(stay)
        assert set(obs) == set(rewards) == set(terms) == set(truncs) == set(infos)
        assert len(obs) == 5
        assert not any(terms.values())
        assert all(v == (t == 4) for v in truncs.values())
        assert env.agents == ([] if t == 4 else env.possible_agents)
    assert env.num_moves == 4
    with pytest.raises(ValueError, match="episode is over.*call reset"):
        env.step(stay)
    env.reset()
    assert env.agents == env.possible_agents and env.num_moves == 0


def test_matches_the_batched_engine_step_for_step():
    adapter = parallel_env("harvest", seed=5, horizon=12)
    engine = make_env("harvest", n_envs=1, seed=5, config=adapter.engine.config)
    obs, _ = adapter.reset(seed=9)
    ref = engine.reset(seed=9)
    for k, agent in enumerate(adapter.possible_agents):
        np.testing.assert_array_equal(obs[agent], ref[0, k])
    rng = np.random.default_rng(0)
    for _ in range(12):
        acts = rng.integers(0, 8, size=(1, 5))
        obs, rew, _, _, infos = adapter.step(
            {a: int(acts[0, k]) for k, a in enumerate(adapter.possible_agents)}
        )
        ref, ref_rew, ref_info = engine.step(acts)
        for k, agent in enumerate(adapter.possible_agents):
            np.testing.assert_array_equal(obs[agent], ref[0, k])
            assert rew[agent] == float(ref_rew[0, k])
            assert tuple(infos[agent]["position"]) == tuple(ref_info["positions"][0, k])
            assert infos[agent]["facing"] == ref_info["facings"][0, k]
            np.testing.assert_array_equal(infos[agent]["visible"], ref_info["visible"][0, k])
            assert infos[agent]["hits"] == ref_info["hits"][0, k]
            assert infos[agent]["apples"] == ref_info["apples"][0]


def test_same_seed_same_episode_other_seed_differs():
    def rollout(seed):
        env = parallel_env("cleanup", horizon=25)
        obs, _ = env.reset(seed=seed)
        for space_seed, agent in enumerate(env.agents):
            env.action_space(agent).seed(space_seed)
        trace = [np.stack([obs[a] for a in env.possible_agents])]
        while env.agents:
            obs, rew, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
            trace.append(np.stack([obs[a] for a in env.possible_agents]))
            trace.append(np.array([rew[a] for a in env.possible_agents]))
        return trace

    first, again, other = rollout(7), rollout(7), rollout(8)
    assert len(first) == 1 + 2 * 25
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_reset_without_seed_continues_the_stream():
    env = parallel_env("harvest")
    a, _ = env.reset(seed=2)
    b, _ = env.reset()
    c, _ = env.reset(seed=2)
    assert all(np.array_equal(a[k], c[k]) for k in a)
    assert not all(np.array_equal(a[k], b[k]) for k in a)


def test_observations_stay_valid_after_later_steps():
    env = parallel_env("harvest", seed=0)
    obs, _ = env.reset()
    before = obs["agent_0"].copy()
    env.step(dict.fromkeys(env.agents, 1))
    np.testing.assert_array_equal(obs["agent_0"], before)


def test_render_and_state_show_the_whole_map():
    env = parallel_env("cleanup", render_mode="rgb_array", render_scale=3)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (25 * 3, 18 * 3, 3) and frame.dtype == np.uint8
    assert env.state().shape == env.state_space.shape == (25, 18, 3)
    assert env.state_space.contains(env.state())
    np.testing.assert_array_equal(frame[::3, ::3], env.state())
    quiet = parallel_env("cleanup")
    quiet.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode='rgb_array'"):
        assert quiet.render() is None


def test_config_overrides_and_explicit_config():
    env = parallel_env("cleanup", horizon=7, view_radius=3)
    assert env.engine.horizon == 7
    assert env.observation_space("agent_0").shape == (7, 7, 3)
    env = parallel_env("cleanup", config=CleanupConfig(n_agents=2), horizon=9)
    assert env.possible_agents == ["agent_0", "agent_1"] and env.engine.horizon == 9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"game": "chess"}, r"unknown game 'chess'; choose one of \('cleanup'"),
        ({"game": "chess", "horizon": 5}, r"unknown game 'chess'; choose one of"),
        ({"game": "harvest", "horizn": 5}, r"unknown HarvestConfig fields \['horizn'\]"),
        ({"game": "harvest", "render_mode": "human"}, r"unknown render_mode 'human'"),
        ({"game": "harvest", "render_scale": 0}, r"render_scale must be a positive integer"),
    ],
)
def test_bad_construction_is_a_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        parallel_env(**kwargs)


def test_wrapping_a_batch_of_several_copies_is_refused():
    with pytest.raises(ValueError, match=r"n_envs=2; build it with make_env\(\.\.\., n_envs=1\)"):
        SSDParallelEnv(make_env("harvest", n_envs=2))


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ({"agent_0": 0}, r"no action for live agents \['agent_1', 'agent_2'"),
        ({"agent_9": 0}, r"actions given for agents not in the episode: \['agent_9'\]"),
        ({f"agent_{k}": 8 for k in range(5)}, r"action 8 of agent_0 is out of range; use 0..7"),
        ({f"agent_{k}": -1 for k in range(5)}, r"action -1 of agent_0 is out of range"),
    ],
)
def test_bad_actions_are_value_errors(actions, message):
    env = parallel_env("harvest")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(actions)


def test_non_integer_action_is_a_value_error():
    env = parallel_env("harvest")
    env.reset(seed=0)
    actions = dict.fromkeys(env.agents, 4)
    actions["agent_3"] = 1.5
    with pytest.raises(ValueError, match=r"action 1.5 of agent_3 is not an integer"):
        env.step(actions)


def test_wraps_an_existing_engine_and_names_it_after_its_game():
    env = SSDParallelEnv(make_env("box_trapped", n_envs=1, seed=3), render_mode="rgb_array")
    assert env.game == "box_trapped" and env.metadata["name"] == "infoflow_box_trapped_v0"
    assert env.possible_agents == ["agent_0", "agent_1"]
    env.reset()
    assert env.render().shape == (9 * 8, 9 * 8, 3)


@pytest.mark.parametrize(
    ("game", "counters"),
    [
        ("cleanup", {"apples", "waste"}),
        ("harvest", {"apples"}),
        ("box_trapped", {"apples", "box_open", "box_opened_at"}),
    ],
)
def test_info_keys_per_game(game, counters):
    env = parallel_env(game, seed=0)
    env.reset()
    *_, infos = env.step(dict.fromkeys(env.agents, 4))
    per_agent = {"position", "facing", "visible", "fired", "hits"}
    for k, agent in enumerate(env.possible_agents):
        info = infos[agent]
        assert set(info) == per_agent | counters
        assert info["position"].shape == (2,) and info["position"].dtype == np.int16
        assert info["visible"].shape == (len(env.possible_agents),) and info["visible"][k]
        assert info["fired"] is False and info["hits"] == 0
        assert isinstance(info["facing"], int) and 0 <= info["facing"] <= 3
