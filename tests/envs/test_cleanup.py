"""Cleanup: apple and waste spawning against the SPEC 1.2 formulas, over many copies."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.envs import (
    CleanupConfig,
    HarvestConfig,
    apple_spawn_probability,
    waste_spawn_probability,
)

STAY, CLEAN = 4, 8
WEST = 3
N_COPIES = 4000

# five river cells on row 1, ten orchard cells on row 2
STRIP = """
@@@@@@@@@@@@@@
@RRRRR P     @
@BBBBBBBBBB  @
@@@@@@@@@@@@@@
"""
ORCHARD = (2, slice(1, 11))


def _waste_mask(n_waste: int) -> np.ndarray:
    mask = np.zeros((4, 14), bool)
    mask[1, 1:1 + n_waste] = True
    return mask


def _expected(n_waste: int, q: float, n_river: int = 5) -> tuple[float, float]:
    d = n_waste / n_river
    p_apple = 0.05 * np.clip((0.4 - d) / 0.4, 0.0, 1.0)
    p_waste = 1.0 - (1.0 - q) ** (n_river - n_waste) if d < 0.4 else 0.0
    return p_apple, p_waste


def _close(observed: float, p: float, n: int) -> bool:
    return abs(observed - p) <= 4.5 * np.sqrt(max(p * (1 - p), 1e-12) / n) + 1e-12


@pytest.mark.parametrize(
    "n_waste, q",
    [(0, 0.5), (1, 0.5), (0, 0.2), (1, 0.2), (2, 0.5), (3, 0.5), (5, 0.5)],
)
def test_spawn_probabilities(tiny_env, n_waste, q):
    env = tiny_env("cleanup", STRIP, n_agents=1, n_envs=N_COPIES, seed=11, waste_spawn=q)
    env.set_state(positions=[[1, 7]], facings=[0], waste=_waste_mask(n_waste),
                  apples=np.zeros((4, 14), bool))
    _, _, info = env.step(np.full((N_COPIES, 1), STAY))
    p_apple, p_waste = _expected(n_waste, q)
    grown = info["apples"]
    spawned = info["waste"] - n_waste
    assert set(np.unique(spawned)) <= {0, 1}  # at most one waste cell per step
    assert _close(grown.mean() / 10, p_apple, 10 * N_COPIES)
    assert _close(spawned.mean(), p_waste, N_COPIES)
    if n_waste / 5 >= 0.4:  # at and above the depletion threshold nothing spawns
        assert grown.sum() == 0 and spawned.sum() == 0


@pytest.mark.parametrize(
    "d, p_apple", [(0.0, 0.05), (0.1, 0.0375), (0.2, 0.025), (0.4, 0.0), (0.6, 0.0), (1.0, 0.0)]
)
def test_engine_apple_probability_is_the_spec_table(d, p_apple):
    assert apple_spawn_probability(d, CleanupConfig()) == pytest.approx(p_apple, abs=1e-15)


@pytest.mark.parametrize(
    "d, n_clean, q, p_waste",
    [(0.0, 5, 0.5, 0.96875), (0.2, 4, 0.5, 0.9375), (0.2, 4, 0.2, 0.5904), (0.0, 1, 0.5, 0.5),
     (0.39, 3, 0.5, 0.875), (0.4, 3, 0.5, 0.0), (0.8, 1, 0.5, 0.0)],
)
def test_engine_waste_probability_is_the_spec_table(d, n_clean, q, p_waste):
    cfg = CleanupConfig(waste_spawn=q)
    assert waste_spawn_probability(d, n_clean, cfg) == pytest.approx(p_waste, abs=1e-12)


def test_engine_probabilities_follow_the_config():
    cfg = CleanupConfig(apple_respawn=0.1, depletion_threshold=0.5, restoration_threshold=0.1)
    assert apple_spawn_probability(0.1, cfg) == pytest.approx(0.1)
    assert apple_spawn_probability(0.3, cfg) == pytest.approx(0.05)
    assert waste_spawn_probability(0.45, 2, cfg) == pytest.approx(0.75)
    assert waste_spawn_probability(0.5, 2, cfg) == 0.0
    with pytest.raises(ValueError, match="give a CleanupConfig"):
        apple_spawn_probability(0.0, HarvestConfig())


def test_waste_spawns_on_a_uniform_clean_river_cell(tiny_env):
    env = tiny_env("cleanup", STRIP, n_agents=1, n_envs=N_COPIES, seed=5)
    env.set_state(positions=[[1, 7]], facings=[0], waste=_waste_mask(1))
    env.step(np.full((N_COPIES, 1), STAY))
    counts = np.zeros(5)
    for e in range(N_COPIES):  # read back which cell turned to waste
        row = env.render(e, scale=1)[1, 1:6]
        counts += (row == [100, 110, 40]).all(axis=1)
    assert counts[0] == N_COPIES  # the initial waste stays
    new = counts[1:]
    assert new.sum() == pytest.approx(N_COPIES * 0.9375, abs=4.5 * np.sqrt(N_COPIES * 0.06))
    share = new / new.sum()
    assert np.abs(share - 0.25).max() < 4.5 * np.sqrt(0.25 * 0.75 / new.sum())


def test_no_apple_grows_under_an_agent(tiny_env):
    env = tiny_env("cleanup", STRIP, n_agents=1, n_envs=500, seed=2, apple_respawn=1.0)
    env.set_state(positions=[[2, 3]], facings=[0], waste=_waste_mask(0),
                  apples=np.zeros((4, 14), bool))
    _, _, info = env.step(np.full((500, 1), STAY))
    assert info["apples"].tolist() == [9] * 500


def test_density_is_measured_after_the_beams(tiny_env):
    # before the step d = 0.4 (no spawning); the clean beam lowers it to 0.2 first
    env = tiny_env("cleanup", STRIP, n_agents=1, n_envs=N_COPIES, seed=3)
    waste = np.zeros((4, 14), bool)
    waste[1, 4:6] = True
    env.set_state(positions=[[1, 7]], facings=[WEST], waste=waste,
                  apples=np.zeros((4, 14), bool))
    _, _, info = env.step(np.full((N_COPIES, 1), CLEAN))
    assert _close(info["apples"].mean() / 10, 0.025, 10 * N_COPIES)
    spawned = info["waste"] - 1
    assert _close(spawned.mean(), 0.9375, N_COPIES)


def test_initial_waste_is_the_map_h_cells(decode):
    from trainers.envs import make_env

    env = make_env("cleanup", n_envs=2, seed=0)
    for e in range(2):
        text = "".join(decode(env.render(e, scale=1)))
        assert text.count("H") == 30 and text.count("R") == 62
        assert text.count("A") == 0  # the orchard starts empty
