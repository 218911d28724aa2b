"""Kill matrix (issue 10): whatever kills `infoflow train`, nothing outlives it and --resume works.

Each case runs the real command in a subprocess, kills it at a chosen moment, then checks: no
process of the run alive 10 s later; ``--resume`` finishes; the store opens and validates with
whole episodes; metrics.csv, the store and the checkpoint agree; with one worker the resumed run
ends exactly where an uninterrupted one does.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from infoflow.trajectory import open_trajectories, validate
from infoflow.trajectory.store import TEAR_APPEND_HOOK
from trainers.rundir import load_checkpoint

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STEPS = 4000  # 100 episodes of 40 agent steps
TINY = ["--game", "harvest", "--n-envs", "2", "--seed", "3",
        "-s", "env.config.n_agents=2", "-s", "env.config.view_radius=2",
        "-s", "env.config.horizon=10", "-s", "model.hidden_size=8", "-s", "model.fc_sizes=[8]",
        "-s", "trainer.rollout_length=5", "-s", "logging.episode_every=1",
        "-s", "logging.checkpoint_every=200", "-s", "logging.tensorboard=false",
        "-s", "env.map=@@@@@@\n@P A @\n@AA P@\n@@@@@@"]


def command(out, workers, resume=False, backend="processes"):
    setup = ["--resume"] if resume else ["-p", "quickstart", *TINY]
    return [sys.executable, "-m", "cli.main", "train", *setup, "--workers", str(workers),
            "--backend", backend, "--steps", str(STEPS), "--out", str(out), "--quiet"]


def descendants(pid):
    """PIDs of every live descendant of ``pid`` (from /proc)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the run ended before the moment to kill it"
        assert time.monotonic() < deadline, "the moment to kill the run never came"
        time.sleep(0.02)


def metrics_rows(out):
    path = out / "metrics.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.is_file() else 0


def assert_no_survivors(pids):
    deadline = time.monotonic() + 10.0
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if alive(p)], "processes of the killed run are still alive"


def resume_and_check(out, workers):
    if (out / "checkpoints").is_dir() and list((out / "checkpoints").glob("ckpt_*.pt")) and \
            load_checkpoint(out)["agent_steps"] >= STEPS:
        pass  # the run was already done when the signal came: nothing to continue
    else:
        done = subprocess.run(command(out, workers, resume=True), cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    ckpt = load_checkpoint(out)
    assert ckpt["agent_steps"] >= STEPS
    ds = validate(open_trajectories(out / "trajectories.zarr"))
    assert ds.sizes["episode"] == ckpt["logged_episodes"] == sum(ckpt["episodes"])
    assert metrics_rows(out) == sum(ckpt["episodes"])
    return ckpt


def kill_run(tmp_path, workers, moment, sig=signal.SIGKILL, env=None, group=False,
             backend="processes"):
    """Start a run, wait for ``moment(out)``, send ``sig``; returns (out, proc, its children)."""
    out = tmp_path / "run"
    proc = subprocess.Popen(command(out, workers, backend=backend), cwd=ROOT,
                            env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    wait_for(lambda: moment(out), proc)
    children = descendants(proc.pid)
    if workers > 1 and moment is during_rollout:
        assert len(children) >= workers
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    proc.wait(timeout=120)
    return out, proc, children


def during_rollout(out):
    return metrics_rows(out) >= 2


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_during_a_rollout(tmp_path, workers):
    out, proc, children = kill_run(tmp_path, workers, during_rollout)
    assert proc.returncode == -signal.SIGKILL
    assert_no_survivors(children)
    ckpt = resume_and_check(out, workers)
    if workers == 1:  # bit-identical to the run that was never killed
        ref = tmp_path / "ref"
        subprocess.run(command(ref, 1), cwd=ROOT, check=True, capture_output=True, timeout=300)
        want = load_checkpoint(ref)
        assert want["agent_steps"] == ckpt["agent_steps"]
        for key, value in want["model"].items():
            torch.testing.assert_close(ckpt["model"][key], value, rtol=0, atol=0)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_during_a_trajectory_append(tmp_path, workers):
    torn = tmp_path / "run" / "trajectories.zarr.torn"
    out, _, children = kill_run(tmp_path, workers, lambda out: torn.exists(),
                                env={TEAR_APPEND_HOOK: "1"})
    assert_no_survivors(children)
    resume_and_check(out, workers)


def test_sigkill_before_the_first_checkpoint_and_a_half_written_one(tmp_path):
    out, _, children = kill_run(tmp_path, 2, lambda out: (out / "config.toml").is_file())
    assert_no_survivors(children)
    folder = out / "checkpoints"
    folder.mkdir(exist_ok=True)
    (folder / "ckpt_0000000099999.pt.tmp").write_bytes(b"half a checkpoint")
    resume_and_check(out, 2)
    assert not list(folder.glob("*.tmp"))


@pytest.mark.parametrize(("workers", "sig", "group", "said"), [
    (1, signal.SIGTERM, False, "interrupted by SIGTERM"),
    (2, signal.SIGTERM, False, "interrupted by SIGTERM"),
    (2, signal.SIGHUP, False, "interrupted by SIGHUP"),
    (2, signal.SIGINT, True, "interrupted (Ctrl-C)"),
])
def test_termination_signals_checkpoint_and_stop(tmp_path, workers, sig, group, said):
    out, proc, children = kill_run(tmp_path, workers, during_rollout, sig=sig, group=group)
    err = [line for line in proc.stderr.read().splitlines() if line.strip()]
    assert proc.returncode not in (0, None)
    assert len(err) == 1 and said in err[0] and "continue with --resume" in err[0], err
    assert_no_survivors(children)
    resume_and_check(out, workers)


@pytest.mark.parametrize(("sig", "said"), [(signal.SIGKILL, None),
                                           (signal.SIGTERM, "interrupted by SIGTERM")])
def test_a_killed_ray_run_leaves_no_ray_process(tmp_path, sig, said):
    pytest.importorskip("ray", reason="the ray extra is not installed (it is in .[test])")
    out, proc, children = kill_run(tmp_path, 2, during_rollout, sig=sig, backend="ray",
                                   env={"RAY_USAGE_STATS_ENABLED": "0"})
    # the driver's local Ray: GCS, raylet, the actors' worker processes, Ray's helpers
    assert len(children) >= 4
    assert_no_survivors(children)
    if said is not None:
        err = [line for line in proc.stderr.read().splitlines() if said in line]
        assert err and "continue with --resume" in err[0]
    resume_and_check(out, 2)  # resumed on the processes backend (a faster start)


def test_sigterm_stops_an_evaluation_and_leaves_nothing(tmp_path):
    run_dir = tmp_path / "run"
    subprocess.run(command(run_dir, 1), cwd=ROOT, check=True, capture_output=True, timeout=300)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "evaluate", str(run_dir),
                             "--episodes", "10000", "--batch", "1",  # ~100k steps: minutes
                             "--out", str(tmp_path / "eval.zarr")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(p.name.startswith(".eval.zarr-") for p in tmp_path.iterdir()), proc)
    children = descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.read().strip().splitlines()[-1] == \
        "Error: evaluation interrupted by SIGTERM; nothing was written"
    assert_no_survivors(children)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no store, no temporary
