"""Episodes, seeding, batch independence, the info contract and input checks (SPEC 1.1)."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.envs import (
    GAME_NAMES,
    BoxTrappedConfig,
    CleanupConfig,
    HarvestConfig,
    SocialDilemmaEnv,
    make_env,
)

STAY = 4


def _play(env, actions):
    """Run a fixed action sequence [T, E, N]; return stacked obs, rewards, positions."""
    obs, rew, pos = [], [], []
    for a in actions:
        o, r, info = env.step(a)
        obs.append(o)
        rew.append(r)
        pos.append(info["positions"])
    return np.stack(obs), np.stack(rew), np.stack(pos)


def _random_actions(env_like_n_envs, n_agents, n_actions, steps=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_actions, (steps, env_like_n_envs, n_agents))


def test_horizon_truncates():
    env = make_env("harvest", n_envs=2, config=HarvestConfig(horizon=3))
    flags = [env.step(np.full((2, 5), STAY))[2]["truncated"] for _ in range(3)]
    assert flags == [False, False, True]
    assert env.t == 3
    with pytest.raises(ValueError, match="call reset"):
        env.step(np.full((2, 5), STAY))
    env.reset()
    assert env.t == 0
    _, _, info = env.step(np.full((2, 5), STAY))
    assert info["t"] == 1 and info["truncated"] is False


@pytest.mark.parametrize("game", GAME_NAMES)
def test_same_seed_same_trajectory_whatever_the_batch(game):
    small = make_env(game, n_envs=1, seed=9)
    big = make_env(game, n_envs=6, seed=9)
    a_big = _random_actions(6, big.n_agents, big.n_actions)
    o1, r1, p1 = _play(small, a_big[:, :1])
    o6, r6, p6 = _play(big, a_big)
    np.testing.assert_array_equal(o1[:, 0], o6[:, 0])
    np.testing.assert_array_equal(r1[:, 0], r6[:, 0])
    np.testing.assert_array_equal(p1[:, 0], p6[:, 0])
    mid = make_env(game, n_envs=4, seed=9)
    o4, _, _ = _play(mid, a_big[:, :4])
    np.testing.assert_array_equal(o4[:, 3], o6[:, 3])


def test_a_copy_does_not_depend_on_other_copies_actions():
    a = make_env("cleanup", n_envs=3, seed=2)
    b = make_env("cleanup", n_envs=3, seed=2)
    acts = _random_actions(3, 5, 9, seed=1)
    other = acts.copy()
    other[:, 1:] = _random_actions(2, 5, 9, seed=2)
    oa, ra, _ = _play(a, acts)
    ob, rb, _ = _play(b, other)
    np.testing.assert_array_equal(oa[:, 0], ob[:, 0])
    np.testing.assert_array_equal(ra[:, 0], rb[:, 0])


def test_reset_with_seed_reproduces_and_seeds_differ():
    env = make_env("cleanup", n_envs=4, seed=1)
    acts = _random_actions(4, 5, 9)
    first = env.reset(seed=5)
    o1, _, _ = _play(env, acts)
    again = env.reset(seed=5)
    o2, _, _ = _play(env, acts)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(o1, o2)
    env.reset(seed=6)
    o3, _, _ = _play(env, acts)
    assert not np.array_equal(o1, o3)
    assert not np.array_equal(o1[:, 0], o1[:, 1])  # copies differ from each other


def test_reset_without_seed_continues_the_streams():
    env = make_env("harvest", n_envs=64, seed=3)
    start = env.positions
    env.reset()
    assert not np.array_equal(env.positions, start)  # a new draw, not a replay
    fresh = make_env("harvest", n_envs=64, seed=3)
    fresh.reset()
    np.testing.assert_array_equal(fresh.positions, env.positions)


def test_reset_spawns_on_distinct_spawn_points_with_random_facings():
    env = make_env("cleanup", n_envs=200, seed=0)
    chars = env.map.chars
    pos = env.positions.astype(int)
    assert (chars[pos[..., 0], pos[..., 1]] == "P").all()
    flat = pos[..., 0] * 100 + pos[..., 1]
    assert all(len(set(row)) == 5 for row in flat)
    assert len(set(flat.ravel())) == (chars == "P").sum()  # every spawn point gets used
    assert set(np.unique(env.facings)) == {0, 1, 2, 3}


@pytest.mark.parametrize("game", GAME_NAMES)
def test_info_contract(game):
    env = make_env(game, n_envs=3, seed=0)
    n = env.n_agents
    obs, rewards, info = env.step(np.full((3, n), STAY))
    assert obs.shape == (3, n, 15, 15, 3) and obs.dtype == np.uint8
    assert env.obs_shape == (15, 15, 3)
    assert rewards.shape == (3, n) and rewards.dtype == np.float32
    expected = {
        "positions": (np.int16, (3, n, 2)),
        "facings": (np.int8, (3, n)),
        "visible": (np.bool_, (3, n, n)),
        "fired": (np.bool_, (3, n)),
        "hits": (np.int16, (3, n)),
        "apples": (np.int32, (3,)),
    }
    if game == "cleanup":
        expected["waste"] = (np.int32, (3,))
    if game == "box_trapped":
        expected["box_open"] = (np.bool_, (3,))
        expected["box_opened_at"] = (np.int32, (3,))
    for key, (dtype, shape) in expected.items():
        assert info[key].dtype == dtype and info[key].shape == shape, key
    assert set(info) == set(expected) | {"truncated", "t"}
    assert env.n_actions == (9 if game == "cleanup" else 8) == len(env.action_names)
    assert env.agent_names == tuple(f"agent_{k}" for k in range(n))
    assert env.horizon == (100 if game == "box_trapped" else 1000)


@pytest.mark.parametrize("game", GAME_NAMES)
def test_info_of_the_current_state(game):
    env = make_env(game, n_envs=3, seed=0)
    env.reset()
    now = env.info()  # before any step: what the trainer needs at reset
    _, _, stepped = env.step(np.full((3, env.n_agents), STAY))
    assert set(now) == set(stepped)
    for key, value in stepped.items():
        if isinstance(value, np.ndarray):
            assert now[key].dtype == value.dtype and now[key].shape == value.shape, key
    assert now["t"] == 0 and now["truncated"] is False
    assert not now["fired"].any() and not now["hits"].any()
    assert now["visible"][:, range(env.n_agents), range(env.n_agents)].all()
    again = env.info()  # after the step: the step's info
    for key, value in stepped.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)


def test_info_reports_the_last_step_and_is_fresh():
    env = make_env("harvest", n_envs=1, seed=0)
    env.set_state(positions=[[1, 1], [1, 2], [1, 3], [1, 4], [3, 1]], facings=[1, 0, 0, 0, 0])
    _, _, stepped = env.step(np.array([[7, 4, 4, 4, 4]]))  # agent 0 fires east at agent 1
    info = env.info()
    assert info["fired"].tolist() == [[True, False, False, False, False]]
    assert info["hits"].tolist() == [[0, 1, 0, 0, 0]]
    np.testing.assert_array_equal(info["positions"], env.positions)
    info["positions"][:] = -1
    info["fired"][:] = False
    assert (env.info()["positions"] >= 0).all() and env.info()["fired"][0, 0]
    env.reset()
    assert not env.info()["fired"].any() and not env.info()["hits"].any()


def test_action_names():
    assert make_env("cleanup").action_names[7:] == ("fire", "clean")
    assert make_env("harvest").action_names[:5] == (
        "step_left", "step_right", "step_forward", "step_backward", "stay")
    assert make_env("box_trapped").action_names[7] == "open_box"


def test_action_constants_name_the_documented_codes():
    from trainers.envs import actions

    cleanup = make_env("cleanup").action_names  # all nine codes, 7 = fire
    for name in actions.__all__:
        if name not in ("OPEN_BOX", "N_STEPS"):
            assert cleanup[getattr(actions, name)] == name.lower(), name
    assert make_env("box_trapped").action_names[actions.OPEN_BOX] == "open_box"
    assert all(n.startswith("step_") for n in cleanup[: actions.N_STEPS])
    assert not any(n.startswith("step_") for n in cleanup[actions.N_STEPS:])
    assert len(cleanup) == actions.CLEAN + 1
    assert make_env("harvest").n_actions == actions.FIRE + 1


def test_returned_arrays_are_fresh():
    env = make_env("harvest", n_envs=2, seed=0)
    o1, r1, i1 = env.step(np.full((2, 5), 2))
    keep = o1.copy(), i1["positions"].copy()
    env.step(np.full((2, 5), 2))
    np.testing.assert_array_equal(o1, keep[0])
    np.testing.assert_array_equal(i1["positions"], keep[1])


def test_view_radius_configurable():
    env = make_env("harvest", n_envs=1, config=HarvestConfig(view_radius=2))
    assert env.reset().shape == (1, 5, 5, 5, 3)


def test_cleanup_defaults_are_the_spec():
    c = CleanupConfig()
    assert (c.depletion_threshold, c.restoration_threshold, c.apple_respawn, c.waste_spawn) == (
        0.4, 0.0, 0.05, 0.5)
    assert (c.n_agents, c.view_radius, c.horizon, c.beam_length, c.fire_cost, c.hit_penalty) == (
        5, 7, 1000, 5, 1.0, 50.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"actions": np.zeros((2, 4), int)}, r"actions of shape \(2, 4\)"),
        ({"actions": np.full((2, 5), 9)}, r"actions must lie in 0..8"),
        ({"actions": np.full((2, 5), -1)}, r"actions must lie in 0..8"),
        ({"actions": np.zeros((2, 5))}, r"dtype float64"),
    ],
)
def test_bad_actions(kwargs, match):
    env = make_env("cleanup", n_envs=2)
    with pytest.raises(ValueError, match=match):
        env.step(kwargs["actions"])


def test_bad_construction():
    with pytest.raises(ValueError, match="unknown game 'chess'"):
        make_env("chess")
    with pytest.raises(ValueError, match="does not fit game 'harvest'"):
        make_env("harvest", config=CleanupConfig())
    with pytest.raises(ValueError, match="n_envs = 0"):
        make_env("harvest", n_envs=0)
    with pytest.raises(ValueError, match="seed = -1"):
        make_env("harvest", seed=-1)
    with pytest.raises(ValueError, match=r"config.n_agents = 0"):
        make_env("harvest", config=HarvestConfig(n_agents=0))
    with pytest.raises(ValueError, match="regrowth_probs"):
        make_env("harvest", config=HarvestConfig(regrowth_probs=(0.1, 0.2)))
    with pytest.raises(ValueError, match="depletion_threshold must exceed"):
        make_env("cleanup", config=CleanupConfig(depletion_threshold=0.0))
    with pytest.raises(ValueError, match="14 spawn points"):
        make_env("harvest", config=HarvestConfig(n_agents=20))
    with pytest.raises(ValueError, match="give one of CleanupConfig, HarvestConfig"):
        SocialDilemmaEnv(BoxTrappedConfig.__mro__[1]())


def test_map_path_overrides_config(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("@@@@@\n@PAP@\n@@@@@\n")
    env = make_env("harvest", config=HarvestConfig(n_agents=2), map_path=path)
    assert env.map.shape == (3, 5) and env.map.name == "tiny.txt"
    with pytest.raises(FileNotFoundError):
        make_env("harvest", map_path=tmp_path / "nope.txt")


def test_set_state_checks_its_input():
    env = make_env("cleanup", n_envs=2)
    with pytest.raises(ValueError, match="on a wall"):
        env.set_state(positions=[[0, 0], [1, 7], [2, 8], [3, 8], [4, 8]])
    with pytest.raises(ValueError, match="two agents on one cell"):
        env.set_state(positions=[[2, 8]] * 5)
    with pytest.raises(ValueError, match="outside the 25 x 18 map"):
        env.set_state(positions=[[30, 8]] * 5)
    with pytest.raises(ValueError, match="apples outside apple cells"):
        env.set_state(apples=np.ones((25, 18), bool))
    with pytest.raises(ValueError, match="waste outside the river"):
        env.set_state(waste=np.ones((25, 18), bool))
    with pytest.raises(ValueError, match="box_trapped only"):
        env.set_state(box_open=True)
    with pytest.raises(ValueError, match="facings must be"):
        env.set_state(facings=[4] * 5)
