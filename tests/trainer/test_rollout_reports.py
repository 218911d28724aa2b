"""rollouts.csv and the progress of a running episode (logging.progress_rollouts)."""

import csv

import numpy as np

from trainers.a3c import train

from .test_a3c import EPISODE, _store, tiny

ROLLOUT = 8 * 2 * 2  # rollout_length * copies * agents: agent steps of one rollout


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_rollout_reports_come_before_the_episode_ends_and_sum_the_rewards_so_far(tmp_path):
    rows = []
    cfg = tiny(kind="a3c", steps=2 * EPISODE,
               extra=["logging.progress_rollouts=1", "logging.env_fraction=1"])
    train(cfg, tmp_path / "run", progress=rows.append, argv=["test"])
    # horizon 20, rollouts of 8: reports after steps 8 and 16, none after the last rollout
    assert [(r["kind"], r.get("episode_step")) for r in rows] == [
        ("rollouts", 8), ("rollouts", 16), ("episode", None)] * 2
    assert [r["agent_steps"] for r in rows[:3]] == [ROLLOUT, 2 * ROLLOUT, EPISODE]
    written = _rows(tmp_path / "run" / "rollouts.csv")
    assert [(int(r["episode"]), int(r["episode_step"])) for r in written] == \
        [(0, 8), (0, 16), (1, 8), (1, 16)]
    # the running return is the rewards of the first episode_step steps, mean over copies
    ds = _store(tmp_path / "run" / "trajectories.zarr")
    per_step = ds["reward"].transpose("episode", "step", "agent").values     # [2*E, T, N]
    for r in written:
        ep, t = int(r["episode"]), int(r["episode_step"])
        copies = per_step[2 * ep: 2 * ep + 2, :t].sum(axis=(1, 2))          # [E]
        np.testing.assert_allclose(float(r["collective_return"]), copies.mean(), rtol=1e-9)


def test_resume_drops_the_rollout_rows_of_episodes_played_again(tmp_path):
    cfg = tiny(kind="a3c", steps=3 * EPISODE, extra=["logging.progress_rollouts=1"])
    train(cfg, tmp_path / "run", argv=["test"], stop_at=EPISODE + ROLLOUT)  # inside episode 1
    before = _rows(tmp_path / "run" / "rollouts.csv")
    assert [(r["episode"], r["episode_step"]) for r in before] == \
        [("0", "8"), ("0", "16"), ("1", "8")]
    train(cfg, tmp_path / "run", resume=True, argv=["test", "--resume"])
    after = [(r["episode"], r["episode_step"]) for r in _rows(tmp_path / "run" / "rollouts.csv")]
    assert after == [(str(e), str(t)) for e in range(3) for t in (8, 16)]


def test_progress_rollouts_zero_writes_no_rollouts_file(tmp_path):
    rows = []
    train(tiny(kind="a3c", steps=EPISODE, extra=["logging.progress_rollouts=0"]),
          tmp_path / "run", progress=rows.append, argv=["test"])
    assert [r["kind"] for r in rows] == ["episode"]
    assert not (tmp_path / "run" / "rollouts.csv").exists()
