"""`infoflow experiment`: a grid of presets x seeds as run directories, resumable after a kill."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from trainers.experiment import ExperimentSpec, plan, read_spec, write_spec
from trainers.rundir import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
STEPS = 400  # 10 episodes of 40 agent steps
TINY = ["env.game=harvest", "env.n_envs=2", "env.config.n_agents=2", "env.config.view_radius=2",
        "env.config.horizon=10", "model.hidden_size=8", "model.fc_sizes=[8]",
        "trainer.rollout_length=5", "logging.episode_every=1", "logging.checkpoint_every=80",
        "logging.tensorboard=false", "env.map=@@@@@@\n@P A @\n@AA P@\n@@@@@@"]


def command(out, *extra):
    args = [sys.executable, "-m", "cli.main", "experiment", "--out", str(out), "--quiet"]
    if not extra:
        args += ["-p", "quickstart", "-p", "harvest_a3c", "--seeds", "0-1",
                 "--steps", str(STEPS)]
        for item in TINY:
            args += ["-s", item]
    return args + list(extra)


def test_the_grid_names_its_runs_and_the_spec_round_trips(tmp_path):
    spec = ExperimentSpec(["quickstart", "harvest_a3c"], [0, 1], STEPS, sets=TINY,
                          grid={"trainer.beta": ["0.1", "0.2"]})
    names = [r.name for r in plan(spec)]
    assert names[:3] == ["quickstart-trainer.beta=0.1-s0", "quickstart-trainer.beta=0.2-s0",
                         "harvest_a3c-trainer.beta=0.1-s0"]  # seeds outermost
    assert len(names) == 8 and len(set(names)) == 8
    write_spec(tmp_path, spec)
    assert read_spec(tmp_path) == spec  # the map's newlines survive the TOML round trip


@pytest.mark.slow
def test_an_experiment_runs_every_cell_and_resumes_after_a_kill(tmp_path):
    out = tmp_path / "exp"
    proc = subprocess.Popen(command(out), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    second = out / "runs" / "harvest_a3c-s0" / "checkpoints"
    deadline = time.monotonic() + 120
    while not (second.is_dir() and any(second.glob("ckpt_*.pt"))):  # the 2nd run has started
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(1.0)  # the run dies with the experiment (PR_SET_PDEATHSIG)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(out) not in ps
    assert sorted(p.name for p in out.iterdir()) == ["README", "experiment.toml", "runs"]
    done = subprocess.run(command(out, "--resume"), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "[1/4] quickstart-s0: done" in done.stderr
    assert "[2/4] harvest_a3c-s0: resuming at" in done.stderr
    assert "[3/4] quickstart-s1: starting" in done.stderr
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["harvest_a3c-s0", "harvest_a3c-s1", "quickstart-s0", "quickstart-s1"]
    for name in runs:
        ckpt = load_checkpoint(out / "runs" / name)
        assert ckpt["agent_steps"] >= STEPS
        assert f"seed = {name[-1]}" in (out / "runs" / name / "config.toml").read_text()
    listing = CliRunner().invoke(cli, ["experiment", "--resume", "--out", str(out),
                                       "--dry-run"])
    assert listing.exit_code == 0 and listing.output.count(": done (") == 4
    compared = CliRunner().invoke(cli, ["compare", str(out)])
    assert compared.exit_code == 0, compared.output
    assert "| quickstart |" in compared.output and "| harvest_a3c |" in compared.output


@pytest.mark.parametrize(("args", "said"), [
    (["--steps", "400", "--out", "{out}"], "give --preset NAME"),
    (["-p", "quickstart", "--out", "{out}"], "give --steps"),
    (["-p", "quickstart", "--steps", "400", "--seeds", "2-x", "--out", "{out}"],
     "is not a list of seeds"),
    (["-p", "quickstart", "--steps", "400", "--grid", "beta", "--out", "{out}"],
     "write SECTION.FIELD=V1,V2"),
    (["-p", "nope", "--steps", "400", "--out", "{out}"], "nope"),
    (["-p", "quickstart", "--steps", "400", "-s", "model.hidden_size=-1", "--out", "{out}"],
     "hidden_size"),
    (["--resume", "--out", "{out}"], "holds no experiment"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, said):
    out = tmp_path / "exp"
    result = CliRunner().invoke(cli, ["experiment", *(a.format(out=out) for a in args)])
    assert result.exit_code == 2, result.output
    assert said in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def started_and_ended(run_dir: Path) -> tuple[float, float]:
    """When a run directory was created (its config.toml) and last checkpointed (mtimes)."""
    checkpoints = sorted((run_dir / "checkpoints").glob("ckpt_*.pt"))
    return (run_dir / "config.toml").stat().st_mtime, checkpoints[-1].stat().st_mtime


def assert_ran_together(out: Path, names: list[str]) -> None:
    """Every run reached the budget, wrote its log, and all of them were running at once."""
    spans = [started_and_ended(out / "runs" / name) for name in names]
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    for name in names:
        assert load_checkpoint(out / "runs" / name)["agent_steps"] >= STEPS
        assert (out / "logs" / f"{name}.log").is_file()


@pytest.mark.slow
def test_parallel_runs_overlap_and_write_their_output_to_logs(tmp_path):
    out = tmp_path / "exp"
    args = command(out, "-p", "quickstart", "-p", "harvest_a3c", "--seeds", "0",
                   "--steps", str(STEPS), "--parallel", "2", *[a for item in TINY
                                                               for a in ("-s", item)])
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "[1/2] quickstart-s0: starting (output: logs/quickstart-s0.log)" in done.stderr
    assert "harvest_a3c-s0: finished" in done.stderr
    assert_ran_together(out, ["quickstart-s0", "harvest_a3c-s0"])
    assert "trained to" in (out / "logs" / "quickstart-s0.log").read_text()


@pytest.mark.slow
def test_ctrl_c_reaches_every_parallel_run_once_and_resume_finishes_them(tmp_path):
    out = tmp_path / "exp"
    steps = 20 * STEPS
    args = command(out, "-p", "quickstart", "--seeds", "0,1", "--steps", str(steps),
                   "--parallel", "2", *[a for item in TINY for a in ("-s", item)])
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    metrics = [out / "runs" / f"quickstart-s{s}" / "metrics.csv" for s in (0, 1)]
    deadline = time.monotonic() + 120
    while not all(m.is_file() and len(m.read_text().splitlines()) > 1 for m in metrics):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "experiment interrupted; continue with: infoflow experiment --resume" in stderr
    for s in (0, 1):  # each run checkpointed on the way out, short of the budget
        assert 0 < load_checkpoint(out / "runs" / f"quickstart-s{s}")["agent_steps"] < steps
        assert "interrupted" in (out / "logs" / f"quickstart-s{s}.log").read_text()
    done = subprocess.run(command(out, "--resume", "--parallel", "2"), cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for s in (0, 1):
        assert load_checkpoint(out / "runs" / f"quickstart-s{s}")["agent_steps"] >= steps
