"""The Ray backend (trainer.backend = "ray"): the same run as the in-process trainer with one
worker, the same run directory with two, and clear errors."""

import pytest
import torch

from trainers.a3c import train
from trainers.rundir import load_checkpoint

from .test_a3c import EPISODE, _assert_same_checkpoint, _store, tiny

ray = pytest.importorskip("ray", reason="the ray extra is not installed (it is in .[test])")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
             object_store_memory=100 * 2**20)
    yield
    ray.shutdown()


def test_one_ray_worker_equals_the_in_process_run(tmp_path, local_ray):
    cfg = tiny(kind="communication", steps=3 * EPISODE)
    train(cfg, tmp_path / "local", argv=["test"])
    ray_cfg = tiny(kind="communication", steps=3 * EPISODE, extra=["trainer.backend=ray"])
    summary = train(ray_cfg, tmp_path / "ray", argv=["test"])
    assert summary.agent_steps == 3 * EPISODE
    _assert_same_checkpoint(load_checkpoint(tmp_path / "local"), load_checkpoint(tmp_path / "ray"))
    assert _store(tmp_path / "local" / "trajectories.zarr").identical(
        _store(tmp_path / "ray" / "trajectories.zarr").assign_attrs(
            config=_store(tmp_path / "local" / "trajectories.zarr").attrs["config"]))


def test_two_ray_workers_fill_the_run_directory_and_resume(tmp_path, local_ray):
    from infoflow.trajectory import open_trajectories, validate

    cfg = tiny(kind="moa", steps=4 * EPISODE, workers=2, extra=["trainer.backend=ray"])
    summary = train(cfg, tmp_path / "run", argv=["test"], stop_at=2 * EPISODE)
    assert summary.agent_steps >= 2 * EPISODE
    summary = train(cfg, tmp_path / "run", resume=True, argv=["test", "--resume"])
    assert summary.agent_steps >= 4 * EPISODE
    ckpt = load_checkpoint(tmp_path / "run")
    assert int(ckpt["worker_steps"].sum()) == ckpt["agent_steps"] >= 4 * EPISODE
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    ds = validate(open_trajectories(tmp_path / "run" / "trajectories.zarr"))
    # two workers share the budget unevenly under load, and a worker's unfinished last episode
    # is not logged: between 2 and 4 whole episodes, and store, metrics and checkpoint agree
    assert 2 <= ds.sizes["episode"] == sum(ckpt["episodes"]) <= 4
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(lines) == 1 + sum(ckpt["episodes"])


def test_too_many_workers_for_the_cluster_is_a_clear_error(tmp_path, local_ray):
    cfg = tiny(workers=3, extra=["trainer.backend=ray"])
    with pytest.raises(ValueError, match="the Ray cluster has 2 CPUs, fewer than "
                                         "trainer.workers = 3"):
        train(cfg, tmp_path / "run", argv=["test"])
    assert not (tmp_path / "run").exists()


def _actor_pids(name):
    """PIDs of this test process's Ray actor processes of class ``name`` (their title names
    it). Only descendants of this process: another test worker's Ray (a kill-matrix run on
    the same machine) must not be hit."""
    import os
    import pathlib

    from trainers.a3c.reaper import process_tree

    pids = []
    for pid in process_tree(os.getpid()):
        try:
            cmdline = (pathlib.Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if f"ray::{name}".encode() in cmdline:
            pids.append(pid)
    return pids


@pytest.mark.parametrize(("victim", "message"), [
    ("RayWorker", r"worker \d died: .*checkpoint saved to .*continue with --resume"),
    ("ParameterServer", r"the parameter server died or hangs .*no checkpoint saved"),
])
def test_a_killed_actor_is_a_one_line_worker_error(tmp_path, local_ray, victim, message):
    import os
    import signal

    from trainers.a3c import WorkerError

    killed = []

    def kill(row):
        if not killed and _actor_pids(victim):
            killed.append(_actor_pids(victim)[0])
            os.kill(killed[0], signal.SIGKILL)

    cfg = tiny(kind="a3c", steps=10**6, workers=2, extra=["trainer.backend=ray"])
    with pytest.raises(WorkerError, match=message):
        train(cfg, tmp_path / "run", progress=kill, argv=["test"], worker_timeout=30)
    assert killed
    if victim == "RayWorker":
        assert load_checkpoint(tmp_path / "run")["agent_steps"] > 0
        assert "RayWorker" in (tmp_path / "run" / "worker-errors.log").read_text()


def test_cli_resumes_a_local_run_on_ray(tmp_path, local_ray):
    from click.testing import CliRunner

    from cli.main import cli

    from ..cli.test_train_cli import TINY

    out = str(tmp_path / "run")
    first = CliRunner().invoke(cli, ["train", "-p", "quickstart", *TINY, "--steps", "40",
                                     "--out", out, "--quiet"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(cli, ["train", "--out", out, "--resume", "--steps", "80",
                                     "--backend", "ray", "--quiet"])
    assert again.exit_code == 0, again.output
    assert "trained to 80 agent steps" in again.output
    assert "backend = \"ray\"" in (tmp_path / "run" / "config.toml").read_text()


def test_experiment_runs_join_the_cluster_concurrently(tmp_path, local_ray):
    """`infoflow experiment --backend ray --parallel 2` with trainer.ray_address: two runs
    train at the same time as jobs of the running cluster (this test's), one worker each."""
    import subprocess
    import sys

    from ..cli.test_experiment_cli import ROOT, STEPS, TINY, assert_ran_together

    address = ray.get_runtime_context().gcs_address
    out = tmp_path / "exp"
    args = [sys.executable, "-m", "cli.main", "experiment", "--out", str(out), "--quiet",
            "-p", "quickstart", "--seeds", "0,1", "--steps", str(STEPS), "--workers", "1",
            "--backend", "ray", "--parallel", "2", "-s", f"trainer.ray_address={address}",
            *[a for item in TINY for a in ("-s", item)]]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert_ran_together(out, ["quickstart-s0", "quickstart-s1"])
    for name in ("quickstart-s0", "quickstart-s1"):
        config = (out / "runs" / name / "config.toml").read_text()
        assert 'backend = "ray"' in config and address in config
