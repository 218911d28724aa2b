"""The reaper ends what a killed trainer leaves behind (trainers.a3c.reaper)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainers.a3c.reaper import Reaper, process_tree

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="the reaper reads /proc")
ROOT = Path(__file__).resolve().parents[2]

TRAINER = """
import subprocess, sys, time
from trainers.a3c.reaper import Reaper
reaper = Reaper()
# a process that would outlive its parent: its own session, no death signal
left = subprocess.Popen(["sleep", "120"], start_new_session=True)
reaper.watch()
print(left.pid, reaper._proc.pid, flush=True)
time.sleep(120)
"""


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_trainer_leaves_nothing_behind(sig):
    trainer = subprocess.Popen([sys.executable, "-c", TRAINER], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    left, reaper = map(int, trainer.stdout.readline().split())
    assert alive(left) and alive(reaper)
    trainer.send_signal(sig)
    trainer.wait(timeout=10)
    assert wait_gone([left, reaper]) == []


def test_the_reaper_survives_signals_to_the_group_and_spares_reused_pids():
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        start = process_tree(os.getpid())[sleeper.pid]
        reaper = Reaper()
        reaper._proc.send_signal(signal.SIGTERM)  # as from a kill of the whole group
        reaper._proc.send_signal(signal.SIGINT)
        reaper.watch({sleeper.pid: start + 1})  # the PID of another process, started later
        reaper.close()
        assert alive(sleeper.pid)  # spared
        reaper = Reaper()
        reaper.watch({sleeper.pid: start})
        reaper.close()
        assert wait_gone([sleeper.pid]) == []
    finally:
        sleeper.kill()
        sleeper.wait()
