"""Bad input to `infoflow evaluate`, `infoflow render` and the shared checkpoint loader (also used
by `train --resume`): one line on stderr naming the problem and the fix, exit status 2, nothing
written (issue 10)."""

from __future__ import annotations

import fractions
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch
from cli_support import MAP, TINY, error_line, run, tree

TINY = [*TINY, *MAP]

ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny trained run (40 agent steps), shared by every test here; never modified."""
    out = tmp_path_factory.mktemp("trained") / "run"
    result = run("train", "-p", "quickstart", *TINY, "--model", "influence", "--steps", 40,
                 "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


def _checkpoint(run_dir: Path) -> Path:
    return sorted((run_dir / "checkpoints").glob("ckpt_*.pt"))[-1]


# -- bad checkpoints ----------------------------------------------------------------------------

def _state(good: Path) -> dict:
    return torch.load(good, weights_only=True)


def _with_config(good: Path, text: str) -> dict:
    return {**_state(good), "config": text}


def _write_bad(kind: str, good: Path, path: Path) -> None:
    """Write a bad checkpoint of ``kind`` to ``path``, made from the good checkpoint ``good``."""
    if kind == "plain_pickle":  # a plain pickle with a Python object: never unpickled
        with open(path, "wb") as f:
            pickle.dump({"format": 1, "obj": fractions.Fraction(1, 3)}, f, protocol=4)
    elif kind == "torch_pickle":  # a torch file whose dict also holds a Python object
        torch.save({**_state(good), "obj": fractions.Fraction(1, 3)}, path)
    elif kind == "garbage_toml":
        torch.save(_with_config(good, "this is [not toml"), path)
    elif kind == "foreign_config":
        torch.save(_with_config(good, "x = 1\n"), path)
    elif kind == "no_config":
        torch.save({"format": 1}, path)
    elif kind == "wrong_weights":  # the stored config describes a bigger model than the weights
        text = re.sub(r"(?m)^hidden_size = 8$", "hidden_size = 16", _state(good)["config"])
        assert "hidden_size = 16" in text
        torch.save(_with_config(good, text), path)
    else:
        raise AssertionError(kind)


FIX = r"pass a checkpoint written by infoflow train"


@pytest.mark.parametrize(("kind", "message"), [
    ("plain_pickle", rf"'[^']*bad\.pt' is not a readable infoflow checkpoint: it is not "
                     rf"weights-only \(it holds pickled Python objects, and infoflow never "
                     rf"unpickles\); {FIX}"),
    ("torch_pickle", r"'[^']*bad\.pt' is not a readable infoflow checkpoint: it is not "
                     r"weights-only"),
    ("garbage_toml", r"'[^']*bad\.pt': the config stored in it is not valid TOML \(Expected "
                     r"'=' after a key .*\); the file is damaged or was not written by "
                     r"infoflow train; pass another checkpoint"),
    ("foreign_config", r"'[^']*bad\.pt': the config stored in it is not a valid infoflow config "
                       r"\(unknown field x.*\); the file is damaged"),
    ("no_config", r"'[^']*bad\.pt' lacks config, meta, model, agent_steps"),
    ("wrong_weights", r"'[^']*bad\.pt': its weights do not fit the influence model its config "
                      r"describes \(.*\); the file is damaged"),
])
def test_evaluate_bad_checkpoint(trained, tmp_path, kind, message):
    bad = tmp_path / "bad.pt"
    _write_bad(kind, _checkpoint(trained), bad)
    before = tree(tmp_path, trained)
    line = error_line(run("evaluate", bad, "--episodes", 2, "--video", tmp_path / "v.gif"))
    assert re.search(message, line), line
    assert "weights_only" not in line and "arbitrary code" not in line  # no torch advice
    assert tree(tmp_path, trained) == before


def test_train_resume_refuses_a_pickle_checkpoint_and_changes_nothing(trained, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    newest = out / "checkpoints" / "ckpt_0000000000080.pt"  # the one --resume picks
    _write_bad("plain_pickle", _checkpoint(trained), newest)
    before = tree(out)
    line = error_line(run("train", "--out", out, "--resume", "--steps", 120, "--quiet"))
    assert re.search(r"'[^']*ckpt_0000000000080\.pt' is not a readable infoflow checkpoint: "
                     r"it is not weights-only .*on --resume: move this file out of the run's "
                     r"checkpoints/ folder", line), line
    assert "weights_only" not in line
    assert tree(out) == before


# -- evaluate's options -------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--episodes", "1e8"], r"Invalid value for '--episodes' / '-n': 1e8 is more than 10,000 "
                            r"episodes, the most one evaluation allows; run several "
                            r"evaluations with different --seed"),
    (["--episodes", "10001"], r"10001 is more than 10,000 episodes"),
    (["--episodes", "2.5"], r"'2.5' is not a positive whole number of episodes"),
    (["--batch", "100000"], r"Invalid value for '--batch': 100000 is more than 256 env copies, "
                            r"the most one evaluation allows; give 256 or fewer"),
    (["--video", "NO_DIR/v.gif"], r"folder '[^']*no_dir' of --video does not exist; create it "
                                  r"or choose another --video"),
])
def test_evaluate_bad_option(trained, tmp_path, args, message):
    args = [str(tmp_path / "no_dir" / "v.gif") if a == "NO_DIR/v.gif" else a for a in args]
    before = tree(tmp_path, trained)
    line = error_line(run("evaluate", trained, "--out", tmp_path / "e.zarr", *args))
    assert re.search(message, line), line
    assert tree(tmp_path, trained) == before


def test_evaluate_limits_match_the_library():
    from cli import evaluate_cmd
    from trainers.a3c import evaluate

    assert (evaluate_cmd.MAX_EPISODES, evaluate_cmd.MAX_BATCH) == \
        (evaluate.MAX_EPISODES, evaluate.MAX_BATCH)


@pytest.fixture
def read_only(trained, tmp_path):
    """A folder this user cannot write to, holding a copy of the tiny run's checkpoint."""
    if ROOT:
        pytest.skip("root can write into a read-only folder")
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(_checkpoint(trained), folder / "ckpt_0000000000040.pt")
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize(("args", "message"), [
    (["RO/ckpt_0000000000040.pt"],  # the default store, beside the checkpoint
     r"cannot write the evaluation store '[^']*ro/evaluation-40\.zarr' \(Permission denied: "
     r"'[^']*ro'\); pass --out in a writable folder"),
    (["RUN", "--out", "RO/e.zarr"],
     r"cannot write the evaluation store '[^']*ro/e\.zarr' \(Permission denied: '[^']*ro'\); "
     r"pass --out in a writable folder"),
    (["RUN", "--out", "RO/new/e.zarr"],
     r"cannot write the evaluation store '[^']*ro/new/e\.zarr' \(Permission denied: "
     r"'[^']*ro/new'\)"),
    (["RUN", "--out", "TMP/e.zarr", "--video", "RO/v.gif"],
     r"cannot write --video '[^']*ro/v\.gif' \(Permission denied: '[^']*ro'\); choose a file "
     r"in a writable folder"),
])
def test_evaluate_read_only_output(trained, tmp_path, read_only, args, message):
    names = {"RUN": str(trained)}
    args = [names.get(a, a.replace("RO/", f"{read_only}/").replace("TMP/", f"{tmp_path}/"))
            for a in args]
    before = tree(tmp_path, trained)
    line = error_line(run("evaluate", *args, "--episodes", 2))
    assert re.search(message, line), line
    assert tree(tmp_path, trained) == before


def test_evaluate_stopped_half_way_leaves_no_store(trained, tmp_path, monkeypatch):
    """A failure (or Ctrl-C) after some episodes were written leaves neither the store nor the
    GIF; a kill leaves only a hidden temporary sibling, never a store that looks complete."""
    from trainers.a3c import evaluate

    played = []
    original = evaluate.Worker.run_episode

    def run_episode(self, *args, **kwargs):
        if len(played) == 2:
            raise KeyboardInterrupt
        played.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(evaluate.Worker, "run_episode", run_episode)
    with pytest.raises(KeyboardInterrupt):
        evaluate.evaluate_checkpoint(trained, episodes=6, batch=2, out=tmp_path / "e.zarr",
                                     video=tmp_path / "v.gif")
    assert len(played) == 2
    assert list(tmp_path.iterdir()) == []


def test_evaluate_writes_the_store_and_gif_whole_and_nothing_else(trained, tmp_path):
    result = run("evaluate", trained, "--episodes", 3, "--batch", 2, "--out",
                 tmp_path / "sub" / "e.zarr", "--video", tmp_path / "v.gif")
    assert result.exit_code == 0, result.output
    # an influence model: the influence timeline comes with the GIF
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "v-timeline.png", "v.gif"]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["e.zarr"]
    from infoflow.trajectory import open_trajectories

    assert open_trajectories(tmp_path / "sub" / "e.zarr").sizes["episode"] == 3


# -- render -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["cleanup", "--scale", "100000"],
     r"Invalid value for '--scale': 100000 is not in the range 1<=x<=64"),
    (["harvest", "--scale", "64", "--steps", "5000"],
     r"Invalid value for --scale: 5001 frames of 2432x1024 px need 37\.4 GB of memory, more "
     r"than the 2 GB allowed; lower --scale or --steps"),
])
def test_render_too_big(tmp_path, args, message):
    line = error_line(run("render", *args, "--out", tmp_path / "r.gif"))
    assert re.search(message, line), line
    assert list(tmp_path.iterdir()) == []


def test_render_help_states_the_scale_limit():
    result = run("render", "--help")
    assert result.exit_code == 0
    assert "at most 64" in result.output and "1<=x<=64" in result.output


def test_render_read_only_out(tmp_path, read_only):
    before = tree(tmp_path)
    line = error_line(run("render", "cleanup", "--steps", 2, "--out", read_only / "c.gif"))
    assert re.search(r"Invalid value for --out: cannot write to folder '[^']*ro' \(Permission "
                     r"denied\); choose a writable folder", line), line
    assert tree(tmp_path) == before


def test_render_writes_only_the_gif(tmp_path):
    result = run("render", "box_trapped", "--steps", 3, "--scale", 2, "--out", tmp_path / "b.gif")
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["b.gif"]
    assert (tmp_path / "b.gif").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
