"""Learning sanity (slow): the A3C baseline beats a random policy clearly on a tiny Harvest."""

import numpy as np
import pytest

from trainers.a3c import train
from trainers.a3c.worker import build_env
from trainers.config import load_config

MAP = "@@@@@@@@@@\n@P AA  A @\n@ AAAA AA@\n@  AA  A @\n@ P   AAA@\n@@@@@@@@@@"


def random_policy_return(cfg, episodes=64, seed=0):
    """Mean collective return of uniformly random actions (the fresh model's behaviour)."""
    env = build_env(cfg, n_envs=episodes, seed=seed)
    rng = np.random.default_rng(seed)
    total = np.zeros((episodes, env.n_agents))
    env.reset()
    for _ in range(env.horizon):
        _, rewards, _ = env.step(rng.integers(0, env.n_actions, (episodes, env.n_agents)))
        total += rewards
    return float(total.sum(1).mean())


@pytest.mark.slow
def test_baseline_learns_on_tiny_harvest(tmp_path):
    from infoflow.trajectory import open_trajectories, validate

    cfg = load_config(overrides=[
        "env.game=harvest", "env.n_envs=16", "env.config.n_agents=2",
        "env.config.view_radius=3", "env.config.horizon=50", f"env.map={MAP}",
        "model.kind=a3c", "model.hidden_size=32", "model.fc_sizes=[32]",
        "model.entropy_coef=0.01", "trainer.workers=1", "trainer.total_steps=400000",
        "trainer.lr_init=0.003", "trainer.lr_end=0.0003", "trainer.seed=0",
        "logging.episode_every=25", "logging.tensorboard=false"])
    returns = []
    train(cfg, tmp_path / "run", argv=["test"],
          progress=lambda row: returns.append(row["collective_return"]))
    random_return = random_policy_return(cfg)
    late = float(np.mean(returns[-len(returns) // 5:]))
    # random play fires and gets hit (-50 per hit): far below zero; the learner stops that
    # and collects apples
    assert random_return < -20
    assert late > 0 and late > random_return + 50, (late, random_return)
    ds = validate(open_trajectories(tmp_path / "run" / "trajectories.zarr"))
    assert ds.sizes["episode"] == len(returns) // 25
