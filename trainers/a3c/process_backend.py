"""The default backend: workers as local processes on shared-memory parameters (SPEC 3).

:func:`run` plays the workers of a :class:`~trainers.a3c.run_state.RunState` until a step limit:

- ``workers = 1``: the :class:`~trainers.a3c.worker.Worker` runs in this process, fully
  deterministic for a seed; checkpoints fall on episode boundaries, so a resumed run is the
  uninterrupted one;
- ``workers > 1``: W processes (spawn method, one torch thread each, their own batch of E env
  copies) update the shared model and optimiser lock-free (Hogwild-style A3C) and send their
  episode results and rollout reports through one queue. Each worker dies with this process
  (:mod:`trainers.a3c.supervision`); this process never waits on a dead or hung worker (queue
  reads time out, the process sentinels are checked) and stops, joins or kills every worker
  whatever ends the run.
"""

from __future__ import annotations

import copy
import os
import queue as queue_mod
import time
import traceback

import torch

from trainers.a3c.parameters import SharedParameters
from trainers.a3c.run_state import RunState, TrainingInterrupted, WorkerError
from trainers.a3c.supervision import (
    deferred_interrupts,
    die_with_parent,
    interruption_message,
    raise_pending_interrupt,
)
from trainers.a3c.worker import Worker

__all__ = ["run"]


def run(state: RunState, limit: int, worker_timeout: float) -> None:
    """Train until ``limit`` agent steps (all workers), checkpointing as ``state`` asks.

    Raises
    ------
    WorkerError
        A worker died or hung (TrainingInterrupted: Ctrl-C, SIGTERM, SIGHUP); a checkpoint was
        saved first.
    """
    if state.workers == 1:
        _run_here(state, limit)
    else:
        _run_processes(state, limit, worker_timeout)


def _run_here(state: RunState, limit: int) -> None:
    """``workers = 1``: the worker runs here; checkpoints at episode boundaries.

    An interruption or error mid-episode checkpoints the state held at the start of that
    episode (its partial updates are dropped), so that ``--resume`` replays it exactly.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    link = SharedParameters(state.model, state.optimizer, state.step_counts)
    worker = Worker(0, state.cfg, state.model, link, episode=state.episodes[0])
    result = None
    boundary = state.checkpoint_state(state.mid_episode)  # the start of the episode played
    try:
        while int(state.step_counts.sum()) < limit:
            result = worker.run_episode(lambda: int(state.step_counts.sum()) >= limit,
                                        report=state.report)
            state.handle(result)
            if not result.complete:
                break
            boundary = state.checkpoint_state(False)
            if state.checkpoint_due():
                state.save_checkpoint(False, held=boundary)
        mid_episode = result is not None and not result.complete
        state.save_checkpoint(mid_episode)
    except KeyboardInterrupt as exc:
        path = state.save_checkpoint(False, held=boundary)
        raise TrainingInterrupted(f"{interruption_message(exc)}; checkpoint saved to {path}; "
                                  "continue with --resume") from None
    except Exception as exc:  # the in-process worker failed: same report as a dead process
        path = state.save_checkpoint(False, held=boundary)
        report = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        line = state.worker_error(0, report)
        raise WorkerError(f"{line}; checkpoint saved to {path}; continue with --resume") from exc
    finally:
        torch.set_num_threads(threads)


def worker_main(rank: int, cfg, shared, optimizer, step_counts, episode: int, results, stop,
                parent_pid: int | None) -> None:
    """Entry point of a worker process: play episodes until the budget or a stop request,
    putting ``("episode", result)``, ``("rollouts", report)``, then ``("done", rank, None)``
    or ``("error", rank, traceback)`` on ``results``; dies with the process ``parent_pid``
    (None: called in-process, unsupervised)."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    torch.set_num_threads(1)
    try:
        link = SharedParameters(shared, optimizer, step_counts)
        worker = Worker(rank, cfg, copy.deepcopy(shared), link, episode=episode)  # local copy
        while not stop.is_set():
            result = worker.run_episode(should_stop=stop.is_set,
                                        report=lambda r: results.put(("rollouts", r)))
            results.put(("episode", result))
            if not result.complete:
                break
        results.put(("done", rank, None))
    except BaseException as exc:  # report anything, including KeyboardInterrupt
        tb = traceback.format_exc(limit=6)
        results.put(("error", rank, f"{type(exc).__name__}: {exc}\n{tb}"))
        raise SystemExit(1) from None


def _run_processes(state: RunState, limit: int, worker_timeout: float) -> None:
    """``workers > 1``: spawn W processes; collect results; never wait on a dead worker."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    state.model.share_memory()
    state.optimizer.share_memory()
    state.step_counts.share_memory_()
    results, stop = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=worker_main, name=f"infoflow-worker-{rank}", daemon=True,
                         args=(rank, state.cfg, state.model, state.optimizer, state.step_counts,
                               state.episodes[rank], results, stop, os.getpid()))
             for rank in range(state.workers)]
    for p in procs:
        p.start()
    done: set[int] = set()
    failure: str | None = None
    error: BaseException | None = None  # raised here in the main process (e.g. a store write)
    late_error: str | None = None
    last_message = last_check = time.monotonic()
    try:
        while len(done) < len(procs) and failure is None:
            raise_pending_interrupt()
            # a signal waits until the message read here is handled: raised inside the read, it
            # would lose an episode that the worker's next one then counts (store one short)
            with deferred_interrupts():
                failure, last_message, last_check = _next_message(
                    procs, results, state, done, limit, stop, worker_timeout, last_message,
                    last_check)
    except KeyboardInterrupt as exc:
        failure = interruption_message(exc)
    except BaseException as exc:
        error = exc
    finally:
        stop.set()
        try:
            late_error = _drain_and_join(procs, results, state, handle=error is None)
        except BaseException as exc:  # a late result could not be handled; workers are stopped
            if error is None:
                error = exc
    if late_error is not None and (failure is None or "without a report" in failure):
        failure = late_error
    state.finish(error, failure)


def _next_message(procs, results, state: RunState, done: set[int], limit: int, stop,
                  worker_timeout: float, last_message: float, last_check: float
                  ) -> tuple[str | None, float, float]:
    """Read and handle one message of the workers (or notice a dead or hung one); returns
    (failure or None, time of the last message, time of the last liveness check)."""
    try:
        message = results.get(timeout=0.5)
    except queue_mod.Empty:
        message = None
    failure = None
    if message is None or time.monotonic() - last_check > 1.0:
        last_check = time.monotonic()
        for rank, p in enumerate(procs):
            if rank not in done and not p.is_alive() and p.exitcode != 0:
                failure = (f"worker {rank} exited with status {p.exitcode} without a report "
                           "(killed, or out of memory?)")
                break
        if failure is None and time.monotonic() - last_message > worker_timeout:
            failure = f"no worker reported for {worker_timeout:.0f} s (hung?)"
    if message is None or failure is not None:
        return failure, last_message, last_check
    last_message = time.monotonic()
    kind, payload = message[0], message[1]
    if kind == "episode":
        state.handle(payload)
        if state.checkpoint_due():
            state.save_checkpoint(True)
        if int(state.step_counts.sum()) >= limit:
            stop.set()
    elif kind == "rollouts":
        state.report(payload)
    elif kind == "done":
        done.add(payload)
    elif kind == "error":
        failure = state.worker_error(payload, message[2])
    return failure, last_message, last_check


def _drain_and_join(procs, results, state: RunState, timeout: float = 20.0,
                    handle: bool = True) -> str | None:
    """Collect late results (so that workers can flush their queues), then stop them.

    With ``handle=False`` (the main process already failed) late episodes are read and
    dropped. The workers are joined, or terminated, whatever happens while draining.

    Returns the first error a worker reported meanwhile, or None.
    """
    deadline = time.monotonic() + timeout
    error = None
    try:
        while time.monotonic() < deadline:
            try:
                message = results.get(timeout=0.2)
            except queue_mod.Empty:
                if not any(p.is_alive() for p in procs):
                    break
                continue
            if message[0] == "episode" and handle:
                state.handle(message[1])
            elif message[0] == "error" and error is None:
                error = state.worker_error(message[1], message[2])
    finally:
        for p in procs:
            p.join(timeout=1.0)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5.0)
            if p.is_alive():
                p.kill()
                p.join(timeout=5.0)
    return error
