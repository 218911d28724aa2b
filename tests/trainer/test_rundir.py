"""Run directory: checkpoints (atomic, newest K kept, weights_only), metrics CSV, README."""

import fractions

import pytest
import torch

from trainers.rundir import CHECKPOINT_FORMAT, MetricsWriter, RunDir, load_checkpoint


def test_checkpoints_keep_the_newest_k(tmp_path):
    run = RunDir(tmp_path / "run")
    for steps in (10, 200, 3000, 40000):
        run.save_checkpoint({"format": CHECKPOINT_FORMAT, "x": torch.tensor([steps])}, steps,
                            keep=2)
    names = [p.name for p in run.checkpoints()]
    assert names == ["ckpt_0000000003000.pt", "ckpt_0000000040000.pt"]
    assert not list(run.checkpoint_dir.glob("*.tmp"))
    state = load_checkpoint(run.latest_checkpoint())
    assert int(state["x"]) == 40000
    assert int(load_checkpoint(tmp_path / "run")["x"]) == 40000  # a run directory works too


def test_new_run_refuses_a_used_directory_and_resume_needs_a_run(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("1")
    with pytest.raises(FileExistsError, match="already exists; pass --resume"):
        RunDir(tmp_path / "used")
    with pytest.raises(FileNotFoundError, match="no config.toml"):
        RunDir(tmp_path / "used", resume=True)
    (tmp_path / "used" / "config.toml").write_text("")
    assert RunDir(tmp_path / "used", resume=True).latest_checkpoint() is None  # from step 0
    (tmp_path / "empty").mkdir()
    RunDir(tmp_path / "empty")  # an empty directory is fine


def test_load_checkpoint_is_weights_only(tmp_path):
    path = tmp_path / "foreign.pt"  # an arbitrary Python object: refused, never unpickled
    torch.save({"format": CHECKPOINT_FORMAT, "obj": fractions.Fraction(1, 3)}, path)
    with pytest.raises(ValueError, match="not a readable infoflow checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_metrics_columns_fixed_and_continued_on_resume(tmp_path):
    path = tmp_path / "metrics.csv"
    writer = MetricsWriter(path)
    writer.write({"agent_steps": 1, "collective_return": 0.5, "beta": 0.0})
    writer.write({"agent_steps": 2, "beta": 0.1, "unknown": 3})
    writer.close()
    again = MetricsWriter(path)
    again.write({"agent_steps": 3, "collective_return": -1.0, "beta": 0.2})
    again.close()
    lines = path.read_text().splitlines()
    assert lines == ["agent_steps,collective_return,beta", "1,0.5,0.0", "2,,0.1", "3,-1.0,0.2"]


@pytest.mark.parametrize("tail, kept", [
    ("", ["1,0,0,0.5", "2,1,0,0.25"]),          # episodes after the checkpoint dropped
    ("4,0,2,0.", ["1,0,0,0.5", "2,1,0,0.25"]),   # a line cut by a crash
    ("1", ["1,0,0,0.5", "2,1,0,0.25"]),          # cut inside its first field
    ("x,0,0,1\r\n,\r\n", ["1,0,0,0.5", "2,1,0,0.25"]),  # garbage rows
])
def test_resume_keeps_only_whole_metrics_rows_of_checkpointed_episodes(tmp_path, tail, kept):
    path = tmp_path / "metrics.csv"
    path.write_bytes(("agent_steps,worker,episode,collective_return\r\n1,0,0,0.5\r\n"
                      "2,1,0,0.25\r\n3,0,1,1.0\r\n4,1,1,1.0\r\n" + tail).encode())
    writer = MetricsWriter(path, keep_episodes=[1, 1])  # worker 0 and 1: episode 0 done
    writer.write({"agent_steps": 3, "worker": 0, "episode": 1, "collective_return": 2.0})
    writer.close()
    assert path.read_text().splitlines() == ["agent_steps,worker,episode,collective_return",
                                             *kept, "3,0,1,2.0"]


def test_readme_and_config_lines(tmp_path):
    run = RunDir(tmp_path / "run")
    run.write_config("[trainer]\nseed = 1\n")
    run.append_readme(["/usr/bin/infoflow", "train", "--preset", "quickstart"])
    run.append_readme(["infoflow", "train", "--out", "x y", "--resume"])
    lines = (tmp_path / "run" / "README").read_text().splitlines()
    assert lines[0].endswith("infoflow train --preset quickstart")
    assert lines[1].endswith("infoflow train --out 'x y' --resume")
    assert run.config_path.read_text() == "[trainer]\nseed = 1\n"


def test_metrics_also_go_to_tensorboard_events(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    writer = MetricsWriter(tmp_path / "metrics.csv", tensorboard_dir=tmp_path / "tb")
    writer.write({"agent_steps": 100, "collective_return": 3.5, "beta": 0.25})
    writer.write({"agent_steps": 200, "collective_return": 4.5, "beta": 0.5})
    writer.close()
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"collective_return", "beta"}
    points = events.Scalars("collective_return")
    assert [(p.step, p.value) for p in points] == [(100, 3.5), (200, 4.5)]


def test_stale_temporary_checkpoints_are_removed_on_start_and_resume(tmp_path):
    run = RunDir(tmp_path / "run")
    run.write_config("")
    path = run.save_checkpoint({"format": CHECKPOINT_FORMAT, "x": torch.tensor([5])}, 5, keep=1)
    stale = run.checkpoint_dir / "ckpt_0000000000009.pt.tmp"  # an interrupted write
    stale.write_bytes(b"half a checkpoint")
    resumed = RunDir(tmp_path / "run", resume=True)
    assert not stale.exists()
    assert resumed.latest_checkpoint() == path
    assert int(load_checkpoint(path)["x"]) == 5
    assert not list(resumed.checkpoint_dir.glob("*.tmp"))


def test_check_touches_nothing(tmp_path):
    assert RunDir.check(tmp_path / "new") is None
    assert not (tmp_path / "new").exists()
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "config.toml").write_text("")
    assert RunDir.check(tmp_path / "run", resume=True) is None  # killed before a checkpoint
    (tmp_path / "run" / "checkpoints" / "ckpt_0000000000007.pt").write_bytes(b"")
    found = RunDir.check(tmp_path / "run", resume=True)
    assert found == tmp_path / "run" / "checkpoints" / "ckpt_0000000000007.pt"


def test_a_checkpoint_needs_free_space_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from trainers.errors import NoSpaceError

    run = RunDir(tmp_path / "run")
    state = {"format": CHECKPOINT_FORMAT, "model": {"w": torch.zeros(1000)}}
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 100, 100))
    with pytest.raises(NoSpaceError, match="not enough free disk space for a checkpoint .*"
                                           "free some space, then continue the run with --resume"):
        run.save_checkpoint(state, 40, keep=2)
    assert list(run.checkpoint_dir.iterdir()) == []
    monkeypatch.undo()
    assert run.save_checkpoint(state, 40, keep=2).is_file()
