"""A reaper: a small process that outlives the trainer to end what the trainer leaves behind.

Ray's local processes do not all die with the driver that started them: after a SIGKILL of
the driver, its GCS and raylet go (Ray binds them to the driver with ``PR_SET_PDEATHSIG``) and
so do the actors, but Ray's dashboard and runtime-env agents, children of the raylet, keep
running. :class:`Reaper` runs this file (standard library only: no torch import) with a pipe
on its stdin; :meth:`Reaper.watch` sends it the process tree below the trainer (PID and start
time of each); when the pipe closes (the trainer ended, however it ended) the reaper sends
SIGTERM to every watched process still alive with the same start time (a reused PID is left
alone), SIGKILL after ``GRACE_S`` seconds, and exits. It ignores SIGINT, SIGHUP and SIGTERM:
a signal to the whole process group must not end it before it has done its job.

Linux only (it reads ``/proc``); elsewhere :class:`Reaper` does nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["Reaper", "process_tree", "GRACE_S"]

GRACE_S = 2.0
"""Seconds between the reaper's SIGTERM and its SIGKILL."""

_PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        return (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks after boot (None: gone or a zombie)."""
    fields = _stat(pid)
    return int(fields[19]) if fields is not None and fields[0] != "Z" else None


def process_tree(root: int) -> dict[int, int]:
    """Every live descendant of ``root`` (not ``root`` itself) -> its start time."""
    parent = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                parent[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {child for child, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return {pid: start for pid in found if (start := _start_time(pid)) is not None}


class Reaper:
    """The reaper process of this trainer (a no-op where ``/proc`` is missing)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        if _PROC.is_dir():
            self._proc = subprocess.Popen(
                [sys.executable, __file__], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                close_fds=True)

    def watch(self, pids: dict[int, int] | None = None) -> None:
        """Add ``pids`` (PID -> start time; default: this process's tree now) to the
        processes ended when this trainer ends."""
        if self._proc is None:
            return
        tree = process_tree(os.getpid()) if pids is None else pids
        tree.pop(self._proc.pid, None)
        self._proc.stdin.write(json.dumps({str(p): t for p, t in tree.items()}) + "\n")
        self._proc.stdin.flush()

    def close(self, timeout: float = 10.0) -> None:
        """End the watched processes still alive now, and the reaper (it exits once done)."""
        if self._proc is None:
            return
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._proc = None


def _reap(watched: dict[int, int]) -> None:
    """SIGTERM, then SIGKILL after GRACE_S, to every watched process still the same one."""
    def same(pid: int, start: int) -> bool:
        return _start_time(pid) == start

    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 0.0)):
        left = {p: t for p, t in watched.items() if same(p, t)}
        for pid in left:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline and any(same(p, t) for p, t in left.items()):
            time.sleep(0.05)


def main() -> None:
    """The reaper process: read watched processes from stdin until EOF, then end them."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    watched: dict[int, int] = {}
    for line in sys.stdin:
        try:
            watched.update({int(p): int(t) for p, t in json.loads(line).items()})
        except (ValueError, AttributeError):
            continue
    _reap(watched)


if __name__ == "__main__":
    main()
