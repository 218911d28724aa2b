"""`infoflow train` and `infoflow evaluate`: help, a tiny run, resume, one-line errors (exit 2)."""

import pytest
from cli_support import MAP, TINY, error_line, run, tree

TINY = [*TINY, *MAP]


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Usage: cli " + command in result.output or "Usage:" in result.output


def test_list_presets():
    result = run("train", "--list-presets")
    assert result.exit_code == 0
    assert "quickstart" in result.output.split()
    assert "cleanup_moa_influence" in result.output.split()


def test_train_resume_and_evaluate(tmp_path):
    out = tmp_path / "run"
    result = run("train", "--preset", "quickstart", *TINY, "--model", "influence",
                 "--steps", "8e1", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "trained to 80 agent steps" in result.output
    assert (out / "config.toml").is_file() and (out / "trajectories.zarr").is_dir()
    assert "quickstart" in (out / "README").read_text()

    again = run("train", "--out", out, "--resume", "--steps", 120, "--quiet")
    assert again.exit_code == 0, again.output
    assert "trained to 120 agent steps" in again.output

    evaluated = run("evaluate", out, "--episodes", 2, "--out", tmp_path / "eval.zarr")
    assert evaluated.exit_code == 0, evaluated.output
    assert "| agent_0 |" in evaluated.output and "collective return" in evaluated.output

    analysed = run("analyze", out, "--permutations", 20, "--lags", "1", "--out", tmp_path / "an")
    assert analysed.exit_code == 0, analysed.output
    assert (tmp_path / "an" / "analysis.nc").is_file()


def test_train_progress_bar_shows_rate_return_and_beta(tmp_path):
    result = run("train", "-p", "quickstart", *TINY, "--steps", 40, "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert "steps/s" in result.output and "return" in result.output and "beta" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "nope"], "unknown preset 'nope'; choose one of: "),
        (["--preset", "quickstart", "-s", "trainer.sed=1"], "unknown field 'trainer.sed'"),
        (["--preset", "quickstart", "-s", "trainer.seed=x"], "trainer.seed must be int"),
        (["--preset", "quickstart", "-s", "nonsense"], "write SECTION.FIELD=VALUE"),
        (["--config", "missing.toml"], "does not exist"),
        ([], "give --preset NAME or --config FILE"),
        (["--preset", "quickstart", "--steps", "0"], "not a positive whole number"),
        (["--preset", "quickstart", "--steps", "1.5e0"], "not a positive whole number"),
        (["--resume"], "--resume needs --out"),
    ],
)
def test_errors_are_one_line_with_exit_2(tmp_path, args, message):
    result = run("train", *args, "--quiet", *([] if "--resume" in args else
                                               ["--out", tmp_path / "x"]))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_existing_run_directory_without_resume(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.toml").write_text("")
    result = run("train", "--preset", "quickstart", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    assert "already exists; pass --resume" in result.output


def test_resume_refuses_config_changes(tmp_path):
    result = run("train", "--out", tmp_path, "--resume", "--beta", "2")
    assert result.exit_code == 2
    assert "only --steps, --workers, --backend and --ray-address may change" in result.output


def test_evaluate_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    result = run("evaluate", bad)
    assert result.exit_code == 2 and "not a readable infoflow checkpoint" in result.output
    result = run("evaluate", bad, "--video", tmp_path / "x.mp4")
    assert result.exit_code == 2 and ".gif" in result.output


@pytest.mark.parametrize("bad", ["env.config.n_agents=1", "model.influencers=5",
                                 "env.config.horizon=0", "model.divergence=pmi"])
def test_config_errors_leave_no_run_directory(tmp_path, bad):
    out = tmp_path / "run"
    kind = "moa" if bad == "model.divergence=pmi" else "influence"
    result = run("train", "-p", "quickstart", *TINY, "--model", kind, "-s", bad,
                 "--steps", 40, "--out", out, "--quiet")
    assert result.exit_code == 2, result.output
    error_line(result)
    assert not out.exists()
    fixed = run("train", "-p", "quickstart", *TINY, "--steps", 40, "--out", out, "--quiet")
    assert fixed.exit_code == 0, fixed.output  # the corrected command just works


def _killed_run(tmp_path):
    """A run directory as a kill before its first checkpoint leaves it."""
    from trainers.config import config_to_toml, load_config

    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    cfg = load_config(preset="quickstart", overrides=[
        "env.game=harvest", "env.config.n_agents=2", "env.n_envs=2", "env.config.horizon=10",
        "model.hidden_size=8", "model.fc_sizes=[8]", "trainer.workers=1",
        "logging.tensorboard=false", "env.map=@@@@@@\n@P A @\n@AA P@\n@@@@@@"])
    (out / "config.toml").write_text(config_to_toml(cfg))
    (out / "README").write_text("2026-01-01T00:00:00Z  infoflow train -p quickstart\n")
    return out


def test_resume_failure_leaves_the_directory_unchanged(tmp_path):
    out = _killed_run(tmp_path)
    (out / "checkpoints" / "ckpt_0000000000040.pt").write_bytes(b"junk")
    before = tree(out)
    result = run("train", "--out", out, "--resume", "--steps", 80, "--quiet")
    assert result.exit_code == 2, result.output
    assert "not a readable infoflow checkpoint" in error_line(result)
    assert tree(out) == before


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(tmp_path):
    out = _killed_run(tmp_path)
    result = run("train", "--out", out, "--resume", "--steps", 80, "--quiet")
    assert result.exit_code == 0, result.output
    assert "trained to 80 agent steps" in result.output


@pytest.mark.parametrize(("setting", "message"), [
    ("trainer.backend=mpi", "trainer.backend must be 'processes' or 'ray'"),
    ("trainer.backend=ray", "needs Ray: pip install -e '.[ray]'"),
])
def test_backend_errors_leave_no_run_directory(tmp_path, monkeypatch, setting, message):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the ray extra were not installed
    out = tmp_path / "run"
    result = run("train", "-p", "quickstart", *TINY, "-s", setting, "--steps", 40, "--out", out,
                 "--quiet")
    assert result.exit_code == 2, result.output
    assert message in error_line(result)
    assert not out.exists()
