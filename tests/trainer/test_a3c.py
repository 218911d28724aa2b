"""A3C trainer end to end on a tiny Harvest: determinism, exact resume, logging, worker death."""

import multiprocessing
import os
import signal

import numpy as np
import pytest
import torch

from trainers.a3c import WorkerError, train
from trainers.a3c.evaluate import evaluate_checkpoint
from trainers.config import list_presets, load_config
from trainers.rundir import RunDir, load_checkpoint

TINY_MAP = "@@@@@@@@\n@P A  A@\n@ AAA  @\n@  A P @\n@@@@@@@@\n"
EPISODE = 20 * 2 * 2  # horizon * copies * agents = agent steps of one worker episode


def tiny(kind="influence", steps=4 * EPISODE, workers=1, extra=()):
    return load_config(overrides=[
        "env.game=harvest", "env.n_envs=2", "env.config.n_agents=2", "env.config.view_radius=2",
        "env.config.horizon=20", f"env.map={TINY_MAP}",
        f"model.kind={kind}", "model.hidden_size=16", "model.fc_sizes=[8]",
        "model.influencers=1", "trainer.rollout_length=8", f"trainer.total_steps={steps}",
        f"trainer.workers={workers}", "trainer.beta=0.5", f"trainer.curriculum_steps={EPISODE}",
        "trainer.seed=7", "logging.episode_every=1", "logging.policy_every=2",
        f"logging.checkpoint_every={2 * EPISODE}", "logging.keep_checkpoints=2",
        "logging.tensorboard=false", *extra])


def _store(path):
    from infoflow.trajectory import open_trajectories

    ds = open_trajectories(path).load()
    for key in ("created", "history"):
        ds.attrs.pop(key, None)
    return ds


def _assert_same_checkpoint(a, b):
    assert a["agent_steps"] == b["agent_steps"]
    assert a["episodes"] == b["episodes"]
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0)
    for p, state in a["optimizer"]["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(value, b["optimizer"]["state"][p][name], rtol=0, atol=0)


def test_config_map_is_the_tiny_map():
    assert tiny().env.map == TINY_MAP.strip()


def test_two_runs_with_one_worker_are_identical(tmp_path):
    cfg = tiny()
    first = train(cfg, tmp_path / "a", argv=["test"])
    second = train(cfg, tmp_path / "b", argv=["test"])
    assert first.agent_steps == second.agent_steps == 4 * EPISODE
    _assert_same_checkpoint(load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b"))
    a = _store(tmp_path / "a" / "trajectories.zarr")
    assert a.identical(_store(tmp_path / "b" / "trajectories.zarr"))


def test_resume_continues_exactly(tmp_path):
    cfg = tiny()
    train(cfg, tmp_path / "full", argv=["test"])
    paused = train(cfg, tmp_path / "half", argv=["test"], stop_at=2 * EPISODE)
    assert paused.agent_steps == 2 * EPISODE
    resumed = train(cfg, tmp_path / "half", resume=True, argv=["test", "--resume"])
    assert resumed.agent_steps == 4 * EPISODE
    _assert_same_checkpoint(load_checkpoint(tmp_path / "full"), load_checkpoint(tmp_path / "half"))
    full = _store(tmp_path / "full" / "trajectories.zarr")
    half = _store(tmp_path / "half" / "trajectories.zarr")
    assert full.identical(half)
    assert len((tmp_path / "half" / "README").read_text().splitlines()) == 2


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_interrupted_mid_episode_resume_is_exact(tmp_path, monkeypatch, failure):
    """Ctrl-C (or an error) in the middle of the 3rd episode: the checkpoint is the state at
    that episode's start, so resuming gives exactly the uninterrupted run."""
    from trainers.a3c.worker import Worker

    cfg = tiny()
    train(cfg, tmp_path / "full", argv=["test"])
    calls, update = [0], Worker._update

    def failing_update(self, rollout):
        calls[0] += 1
        if calls[0] == 8:  # 3 updates per episode: the 2nd update of the 3rd episode
            raise failure("stop here")
        return update(self, rollout)

    monkeypatch.setattr(Worker, "_update", failing_update)
    said = "interrupted .Ctrl-C." if failure is KeyboardInterrupt else "RuntimeError: stop here"
    with pytest.raises(WorkerError, match=said):
        train(cfg, tmp_path / "cut", argv=["test"])
    ckpt = load_checkpoint(tmp_path / "cut")
    assert ckpt["agent_steps"] == 2 * EPISODE and not ckpt["mid_episode"]
    monkeypatch.setattr(Worker, "_update", update)
    train(cfg, tmp_path / "cut", resume=True, argv=["test", "--resume"])
    _assert_same_checkpoint(load_checkpoint(tmp_path / "full"), load_checkpoint(tmp_path / "cut"))
    assert _store(tmp_path / "full" / "trajectories.zarr").identical(
        _store(tmp_path / "cut" / "trajectories.zarr"))


def test_resume_drops_episodes_and_metrics_after_the_last_checkpoint(tmp_path):
    from infoflow.trajectory import TrajectoryWriter, open_trajectories

    cfg = tiny()
    train(cfg, tmp_path / "full", argv=["test"])
    train(cfg, tmp_path / "half", argv=["test"], stop_at=2 * EPISODE)
    store = tmp_path / "half" / "trajectories.zarr"
    logged = open_trajectories(store)
    # a crash after logging one more episode but before the next checkpoint
    extra = logged.isel(episode=[-1]).load()
    with TrajectoryWriter(store, agents=list(logged.agent.values),
                          n_actions=int(logged.attrs["n_actions"])) as writer:
        writer.append(extra)
    metrics = tmp_path / "half" / "metrics.csv"
    header, *rows = metrics.read_text().splitlines()
    assert header.startswith("agent_steps,worker,episode,")
    row = rows[-1].split(",")
    row[:3] = [str(3 * EPISODE), "0", "2"]
    with open(metrics, "a", encoding="utf-8") as f:  # and its metrics row
        f.write(",".join(row) + "\n")
    train(cfg, tmp_path / "half", resume=True, argv=["test", "--resume"])
    full = _store(tmp_path / "full" / "trajectories.zarr")
    assert full.identical(_store(store))
    steps = [line.split(",")[0] for line in metrics.read_text().splitlines()[1:]]
    assert steps == [str(k * EPISODE) for k in (1, 2, 3, 4)]


def test_store_names_the_logged_divergence(tmp_path):
    from infoflow.trajectory import open_trajectories

    train(tiny(steps=EPISODE, extra=["model.divergence=jsd"]), tmp_path / "jsd", argv=["t"])
    assert open_trajectories(tmp_path / "jsd").attrs["influence_divergence"] == "jsd"
    train(tiny(kind="a3c", steps=EPISODE), tmp_path / "a3c", argv=["t"])
    assert "influence_divergence" not in open_trajectories(tmp_path / "a3c").attrs


def test_run_directory_contents_and_logged_store(tmp_path):
    from infoflow.trajectory import open_trajectories, validate

    cfg = tiny(kind="moa", steps=3 * EPISODE)
    summary = train(cfg, tmp_path / "run", argv=["infoflow", "train"])
    run = tmp_path / "run"
    assert (run / "config.toml").is_file() and (run / "README").is_file()
    from infoflow import __version__

    assert f"(infoflow {__version__})" in (run / "config.toml").read_text().splitlines()[0]
    assert f"(infoflow {__version__})  infoflow train" in (run / "README").read_text()
    assert load_checkpoint(run)["infoflow_version"] == __version__
    assert len(RunDir(run, resume=True).checkpoints()) == 2  # keep_checkpoints
    lines = (run / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    for column in ("agent_steps", "steps_per_s", "collective_return", "equality", "beta",
                   "influence_reward", "loss_policy", "entropy", "moa_accuracy", "return_0",
                   "apples", "lr"):
        assert column in header, column
    assert len(lines) == 1 + 3
    ds = validate(open_trajectories(run / "trajectories.zarr"))
    assert ds.sizes["episode"] == 3 and ds.sizes["step"] == 20
    assert ds.attrs["env"] == "harvest" and ds.attrs["model"] == "moa"
    assert ds.attrs["seed"] == 7 and "[trainer]" in ds.attrs["config"]
    for name in ("reward", "intrinsic_reward", "influence", "visible", "position", "facing",
                 "apples", "policy"):
        assert name in ds, name
    policy = ds["policy"].values
    assert np.isfinite(policy[0]).all() and np.isnan(policy[1]).all()  # every 2nd logged
    np.testing.assert_allclose(policy[0].sum(-1), 1.0, rtol=1e-5)
    assert summary.last_stats["beta"] == pytest.approx(0.5)


def test_existing_run_directory_needs_resume(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "file").write_text("x")
    with pytest.raises(FileExistsError, match="pass --resume"):
        train(tiny(), tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="no config.toml"):
        train(tiny(), tmp_path / "other", resume=True)


def test_checkpoint_loads_weights_only_and_rejects_foreign_files(tmp_path):
    train(tiny(kind="a3c", steps=EPISODE), tmp_path / "run", argv=["test"])
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt["meta"]["agents"] == ["agent_0", "agent_1"]
    bad = tmp_path / "bad.pt"
    torch.save({"something": 1}, bad)
    with pytest.raises(ValueError, match="not an infoflow checkpoint"):
        load_checkpoint(bad)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable infoflow checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_evaluate_logs_every_episode(tmp_path):
    from infoflow.trajectory import open_trajectories, validate

    train(tiny(kind="communication", steps=EPISODE), tmp_path / "run", argv=["test"])
    result = evaluate_checkpoint(tmp_path / "run", episodes=3, batch=2,
                                 out=tmp_path / "eval.zarr", video=tmp_path / "ep.gif")
    ds = validate(open_trajectories(tmp_path / "eval.zarr"))
    assert ds.sizes["episode"] == 3 and "message" in ds and ds.attrs["n_symbols"] == 9
    assert np.isfinite(ds["policy"].values[:, :20]).all()
    assert (tmp_path / "ep.gif").stat().st_size > 0
    assert len(result["returns"]) == 2
    with pytest.raises(FileExistsError, match="already exists"):
        evaluate_checkpoint(tmp_path / "run", episodes=1, out=tmp_path / "eval.zarr")


def test_two_worker_processes_train_and_log(tmp_path):
    from infoflow.trajectory import open_trajectories, validate

    summary = train(tiny(kind="a3c", steps=4 * EPISODE, workers=2), tmp_path / "run",
                    argv=["test"])
    assert summary.agent_steps >= 4 * EPISODE
    ds = validate(open_trajectories(tmp_path / "run" / "trajectories.zarr"))
    assert ds.sizes["episode"] >= 2  # a worker may stop mid-episode at the budget
    assert load_checkpoint(tmp_path / "run")["agent_steps"] == summary.agent_steps


def test_dead_worker_is_named_and_a_checkpoint_saved(tmp_path):
    killed = []

    def kill_worker_1(row):
        if killed:
            return
        for child in multiprocessing.active_children():
            if child.name == "infoflow-worker-1":
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    with pytest.raises(WorkerError, match=r"worker 1 exited with status -9.*checkpoint saved"):
        train(tiny(kind="a3c", steps=10**6, workers=2), tmp_path / "run",
              progress=kill_worker_1, argv=["test"])
    assert killed
    assert load_checkpoint(tmp_path / "run")["agent_steps"] > 0


def test_a_failing_worker_reports_its_error(tmp_path):
    import queue
    import threading

    from trainers.a3c.process_backend import worker_main
    from trainers.a3c.run_state import RunState

    results, stop = queue.Queue(), threading.Event()
    with pytest.raises(SystemExit):
        worker_main(3, tiny(), None, None, torch.zeros(4, dtype=torch.int64), 0, results, stop,
                     None)
    kind, rank, report = results.get_nowait()
    assert (kind, rank) == ("error", 3) and "Traceback" in report

    class State:  # what RunState.worker_error needs of the run's state
        run = RunDir(tmp_path / "run")

    line = RunState.worker_error(State, rank, report)
    assert line.startswith("worker 3 died: AttributeError") and "\n" not in line
    assert "Traceback" in (tmp_path / "run" / "worker-errors.log").read_text()


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_trains_a_few_steps(tmp_path, preset):
    from infoflow.trajectory import open_trajectories, validate

    cfg = load_config(preset=preset, overrides=[
        "env.n_envs=1", "env.config.horizon=6", "trainer.workers=1", "trainer.rollout_length=4",
        "trainer.total_steps=30", "trainer.curriculum_steps=6", "logging.episode_every=1",
        "logging.tensorboard=false"])
    summary = train(cfg, tmp_path / "run", argv=["test"])
    assert summary.agent_steps >= 30
    ds = validate(open_trajectories(tmp_path / "run" / "trajectories.zarr"))
    assert ds.attrs["model"] == cfg.model.kind and ds.sizes["step"] == 6


def test_map_file_is_recorded_as_text(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_MAP)
    train(tiny(kind="a3c", steps=EPISODE, extra=[f"env.map={path}"]), tmp_path / "run",
          argv=["test"])
    saved = load_config(tmp_path / "run" / "config.toml")
    assert saved.env.map.strip() == TINY_MAP.strip()
    with pytest.raises(FileNotFoundError, match="map file .* does not exist"):
        train(tiny(extra=[f"env.map={tmp_path / 'nope.txt'}"]), tmp_path / "other")


def test_in_process_worker_failure_saves_a_checkpoint(tmp_path, monkeypatch):
    from trainers.a3c.worker import Worker

    calls = []
    original = Worker._update

    def failing_update(self, rollout):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("simulated failure")
        return original(self, rollout)

    monkeypatch.setattr(Worker, "_update", failing_update)
    with pytest.raises(WorkerError, match=r"worker 0 died: RuntimeError: simulated failure.*"
                                          r"checkpoint saved"):
        train(tiny(kind="a3c"), tmp_path / "run", argv=["test"])
    ckpt = load_checkpoint(tmp_path / "run")  # the start of the failed 2nd episode
    assert ckpt["mid_episode"] is False and ckpt["agent_steps"] == EPISODE
    assert "simulated failure" in (tmp_path / "run" / "worker-errors.log").read_text()


def test_failed_set_up_removes_the_new_run_directory(tmp_path, monkeypatch):
    import trainers.a3c.run_state as run_state

    def broken_metrics(*args, **kwargs):
        raise PermissionError("metrics.csv is not writable")

    monkeypatch.setattr(run_state, "MetricsWriter", broken_metrics)
    with pytest.raises(PermissionError, match="not writable"):
        train(tiny(kind="a3c", steps=EPISODE), tmp_path / "a" / "run", argv=["test"])
    assert not (tmp_path / "a").exists()
    (tmp_path / "empty").mkdir()  # an existing empty directory is emptied again, not removed
    with pytest.raises(PermissionError, match="not writable"):
        train(tiny(kind="a3c", steps=EPISODE), tmp_path / "empty", argv=["test"])
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())


def test_config_errors_leave_no_run_directory(tmp_path):
    for extra in (["env.config.n_agents=1"], ["model.influencers=5"],
                  ["env.config.horizon=0"]):
        with pytest.raises(ValueError):
            train(tiny(extra=extra), tmp_path / "run", argv=["test"])
        assert not (tmp_path / "run").exists()


def test_main_process_failure_with_workers_saves_a_checkpoint_and_stops_them(tmp_path,
                                                                           monkeypatch):
    import trainers.a3c.run_state as run_state

    def failing_store_write(*args, **kwargs):
        raise OSError("simulated trajectory-store write failure")

    monkeypatch.setattr(run_state, "episodes_to_dataset", failing_store_write)
    with pytest.raises(OSError, match="simulated trajectory-store write failure") as info:
        train(tiny(kind="a3c", steps=4 * EPISODE, workers=2), tmp_path / "run", argv=["test"])
    assert any("checkpoint saved" in note for note in getattr(info.value, "__notes__", []))
    assert load_checkpoint(tmp_path / "run")["format"] == 1
    alive = [c for c in multiprocessing.active_children()
             if c.name.startswith("infoflow-worker")]
    assert not alive


@pytest.mark.parametrize(("minutes", "want"), [(0.0, [0, 4 * EPISODE]),
                                               (1e-9, [0, 1, 2, 3, 4])])
def test_checkpoints_by_steps_and_by_wall_clock(tmp_path, minutes, want):
    """A new run checkpoints at step 0; checkpoint_minutes adds checkpoints by elapsed time
    (here: at every episode end) on top of checkpoint_every (here: never)."""
    cfg = tiny(extra=["logging.checkpoint_every=1000000000", "logging.keep_checkpoints=50",
                      f"logging.checkpoint_minutes={minutes}"])
    train(cfg, tmp_path / "run", argv=["test"])
    steps = sorted(int(p.stem.split("_")[1]) for p in (tmp_path / "run" / "checkpoints").iterdir())
    if minutes:
        want = [k * EPISODE for k in want]
    assert steps == want


def test_two_runs_racing_for_one_directory(tmp_path, monkeypatch):
    """Both pass the check (as two processes can); the second to create the directory stops
    with one line and leaves the first run's files alone."""
    from trainers.rundir import RunDirInUse

    train(tiny(steps=EPISODE), tmp_path / "run", argv=["winner"])
    winner = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    monkeypatch.setattr(RunDir, "check", staticmethod(lambda path, resume=False: None))
    with pytest.raises(RunDirInUse, match="just taken by another run; choose another --out"):
        train(tiny(steps=EPISODE), tmp_path / "run", argv=["loser"])
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == winner
