"""Process supervision: workers that die with their trainer, and SIGTERM/SIGHUP as Ctrl-C.

Whatever ends a training run (Ctrl-C, a scheduler's SIGTERM, a closed terminal's SIGHUP, the
out-of-memory killer's SIGKILL), no worker may outlive it:

- a worker process asks the kernel to kill it when its parent dies (Linux
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)``), and a watcher thread checks the parent every
  ``POLL_S`` seconds as well (other platforms, and the instant between spawn and prctl);
- workers ignore SIGINT and SIGHUP: a Ctrl-C on the whole process group or a closed terminal
  is handled by the trainer alone, which stops the workers, checkpoints and exits;
- in the trainer, :func:`terminate_as_interrupt` turns SIGTERM and SIGHUP into the same
  :class:`KeyboardInterrupt` as Ctrl-C (subclass :class:`Terminated` naming the signal), and
  holds any of the three back while the trainer is inside :func:`deferred_interrupts` (a
  trajectory append with its episode count, a metrics row, a checkpoint), raising it as soon
  as that section ends, so an interruption never tears what the run writes;
- an exception raised by a signal handler is lost when the handler happens to run inside a
  callback that swallows exceptions (numba's compiler calls back into Python through ctypes
  while it loads its cache, a ``__del__`` runs): the signal is therefore also remembered, and
  the loops of a run call :func:`raise_pending_interrupt` at every rollout (and every message
  of the workers), which raises it again if it has not left the section yet.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

__all__ = ["Terminated", "terminate_as_interrupt", "deferred_interrupts", "die_with_parent",
           "interruption_message", "raise_pending_interrupt", "kill_with_parent", "POLL_S"]

POLL_S = 1.0
"""Seconds between a worker's checks that its parent is alive."""

_PR_SET_PDEATHSIG = 1
_held: list[str] = []  # signals received inside deferred_interrupts (main thread only)
_raised: list[str] = []  # signals raised by the handler (the exception may have been lost)
_depth = 0


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP) received by the trainer; ``str`` is its name."""


def interruption_message(exc: KeyboardInterrupt) -> str:
    """'interrupted by SIGTERM' (a `Terminated`) or 'interrupted (Ctrl-C)'."""
    return f"interrupted by {exc}" if isinstance(exc, Terminated) else "interrupted (Ctrl-C)"


def _interruption(name: str) -> KeyboardInterrupt:
    return KeyboardInterrupt() if name == "SIGINT" else Terminated(name)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP raise :class:`Terminated` in the main thread, Ctrl-C
    (SIGINT) :class:`KeyboardInterrupt`; inside :func:`deferred_interrupts` they wait for the
    section's end. Outside the main thread (no handlers there) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if _depth:
            _held.append(name)
            return
        _raised.append(name)
        raise _interruption(name)

    wanted = [signal.SIGINT, signal.SIGTERM] + \
        ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {sig: signal.signal(sig, interrupt) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _held.clear()
        _raised.clear()


def raise_pending_interrupt() -> None:
    """Raise (once) the interruption a signal handler raised earlier, in case that exception
    was swallowed where it was raised; call only in loops that the interruption leaves."""
    if _raised:
        name = _raised[0]
        _raised.clear()
        raise _interruption(name)


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """A section that an interruption must not cut: a signal received inside is raised when
    the (outermost) section ends without an error of its own."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
    if _depth == 0 and _held:
        name = _held[0]
        _held.clear()
        raise _interruption(name)


def die_with_parent(parent_pid: int) -> None:
    """Call first in a worker process: end it when ``parent_pid`` (its trainer) is gone.

    Also makes the worker ignore SIGINT and SIGHUP (the trainer handles them for the run).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    kill_with_parent()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="infoflow-parent-watch").start()


def kill_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``; a no-op elsewhere). Safe as a ``preexec_fn``."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError, TypeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != parent_pid:
            os._exit(1)
