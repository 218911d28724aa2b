"""Bad input to `infoflow train`: one line on stderr naming the problem and the fix, exit status 2,
nothing written, every limit checked before any work (issue 10; trainers/limits.py).

The memory and core counts of this machine are replaced by fixed values, so that each case is
decided the same way on any machine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_support import MAP, TINY, error_line, run, tree

import trainers.limits as limits
from trainers.config import load_config

GIB = 2**30
READ_AVAILABLE = limits.available_memory  # this machine's, before the fixture replaces it


@pytest.fixture(autouse=True)
def machine(monkeypatch):
    """A machine with 2 cores and 8 GiB of memory available."""
    monkeypatch.setattr(limits, "available_memory", lambda: 8 * GIB)
    monkeypatch.setattr(limits, "usable_cores", lambda: 2)


# -- each case: files it needs, the arguments, the words its line must hold ------------------

def _files(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("@@@@@@\n@P é @\n@AA P@\n@@@@@@\n".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "latin1.toml").write_bytes('[env]\ngame = "harvest" # é\n'.encode("latin-1"))
    (tmp_path / "binary.toml").write_bytes(b"\x00\x01\xff\xfe binary")


CASES = {
    "n_envs_1e9": (["-s", "env.n_envs=1e9"],
                   ["not enough memory for env.n_envs = 1000000000", "this run needs about",
                    "but 8 GiB is available", "lower env.n_envs"]),
    "horizon_1e10": (["-s", "env.config.horizon=1e10"],
                     ["env.config.horizon = 10000000000 is above the limit of 10,000,000 steps",
                      "use a shorter horizon"]),
    "horizon_memory": (["-s", "env.config.horizon=1e7", "-s", "env.n_envs=64",
                        "-s", "logging.env_fraction=1.0"],
                       ["not enough memory for env.config.horizon = 10000000",
                        "episode-log buffers", "lower env.config.horizon",
                        "logging.episode_every = 0"]),
    "hidden_size_1e8": (["-s", "model.hidden_size=1e8"],
                        ["not enough memory for model.hidden_size = 100000000",
                         "parameters", "lower model.hidden_size"]),
    "workers_100000": (["--workers", "100000"],
                       ["trainer.workers = 100000 (--workers) is more than the 2 CPU cores",
                        "--backend ray", "trainer.allow_oversubscribe = true"]),
    "workers_ray_beyond_max": (["--workers", "100000", "--backend", "ray"],
                               ["trainer.workers = 100000 (--workers) is above the limit of "
                                "4096 workers"]),
    "empty_map": (["--map", "{tmp}/empty.txt"],
                  ["empty.txt: the map file is empty", "draw at least a 3 x 3 walled map"]),
    "latin1_map": (["--map", "{tmp}/latin1.txt"],
                   ["latin1.txt: not a text map (not UTF-8: byte 0xe9 at offset 10)",
                    "saved as UTF-8"]),
    "binary_map": (["--map", "{tmp}/binary.txt"],
                   ["binary.txt: not a text map (not UTF-8: byte 0x89 at offset 0)",
                    "saved as UTF-8"]),
    "latin1_toml": (["--config", "{tmp}/latin1.toml"],
                    ["latin1.toml' is not UTF-8 text (byte 0xe9 at offset 25)",
                     "save it as UTF-8"]),
    "binary_toml": (["--config", "{tmp}/binary.toml"],
                    ["binary.toml' is not UTF-8 text (byte 0xff at offset 2)",
                     "save it as UTF-8"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, case):
    args, words = CASES[case]
    _files(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    preset = [] if "--config" in args else ["-p", "quickstart", *TINY,
                                             *([] if "--map" in args else MAP)]
    before = tree(tmp_path)
    line = error_line(run("train", *preset, *args, "--steps", 40,
                           "--out", tmp_path / "runs" / "run", "--quiet"))
    for word in words:
        assert word in line, line
    assert tree(tmp_path) == before  # no run directory, nothing else


def _immutable(folder: Path) -> bool:
    """Make ``folder`` unwritable (chmod, or ``chattr +i`` for root); False if neither works."""
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        folder.chmod(0o755)
        try:
            done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        except OSError:
            return False
        return done.returncode == 0 and not os.access(folder, os.W_OK)
    return True


def test_read_only_out(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    if not _immutable(locked):
        pytest.skip("cannot make a folder read-only here (root without chattr +i support)")
    try:
        before = tree(tmp_path)
        line = error_line(run("train", "-p", "quickstart", *TINY, *MAP, "--steps", 40,
                               "--out", locked / "sub" / "run", "--quiet"))
        assert tree(tmp_path) == before
    finally:
        subprocess.run(["chattr", "-i", str(locked)], capture_output=True)
        locked.chmod(0o755)
    assert f"cannot write the run directory '{locked / 'sub' / 'run'}'" in line
    assert f"'{locked}' is not writable" in line and "choose another --out" in line


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny trained run of 40 agent steps."""
    out = tmp_path_factory.mktemp("trained") / "run"
    result = run("train", "-p", "quickstart", *TINY, *MAP, "--steps", 40, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("steps", [["--steps", 20], ["--steps", 40], []])
def test_resume_with_a_spent_budget(trained, steps):
    before = tree(trained)
    line = error_line(run("train", "--out", trained, "--resume", *steps, "--quiet"))
    budget = steps[1] if steps else 40
    assert (f"--steps {budget} (trainer.total_steps) does not exceed the 40 agent steps the run "
            f"in '{trained}' has already done; --steps must exceed 40") in line
    assert tree(trained) == before


# -- the limits themselves ----------------------------------------------------------------------

def _cfg(*overrides):
    return load_config(preset="quickstart", overrides=["env.game=harvest", *overrides])


def test_workers_beyond_cores_pass_with_ray_or_the_override():
    limits.check_workers(_cfg("trainer.workers=2"), cores=2)
    limits.check_workers(_cfg("trainer.workers=64", "trainer.backend=ray"), cores=2)
    limits.check_workers(_cfg("trainer.workers=64", "trainer.allow_oversubscribe=true"), cores=2)
    with pytest.raises(ValueError, match="trainer.workers = 3 .* more than the 2 CPU cores"):
        limits.check_workers(_cfg("trainer.workers=3"), cores=2)


def test_memory_estimate_grows_with_each_field_and_workers():
    base = limits.estimate_memory(_cfg("trainer.workers=1")).total
    for field in ("env.n_envs=64", "env.config.horizon=10000", "model.hidden_size=512",
                  "model.fc_sizes=[256, 256]", "trainer.rollout_length=100",
                  "env.config.view_radius=20", "trainer.workers=2"):
        assert limits.estimate_memory(_cfg("trainer.workers=1", field)).total > base, field
    # the shipped presets fit a machine of 8 GiB
    for preset in ("quickstart", "cleanup_moa_influence"):
        limits.check_resources(load_config(preset=preset), available=8 * GIB, cores=2)


def test_available_memory_reads_this_machine():
    found = READ_AVAILABLE()
    assert found is None or found > 0


def test_a_full_disk_is_one_line_and_leaves_no_run_directory(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 100, 100))
    before = tree(tmp_path)
    result = run("train", "-p", "quickstart", *TINY, *MAP, "--steps", 40,
                 "--out", tmp_path / "run", "--quiet")
    assert "not enough free disk space for a checkpoint" in error_line(result)
    assert tree(tmp_path) == before
