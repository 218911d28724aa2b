"""The A3C trainer: :func:`train` runs a whole job in a run directory (SPEC 3).

It reads top to bottom:

1. checks: the map file, the run directory (new, or a run to resume), the resources the
   config needs (:mod:`trainers.limits`), the budget of a resumed run; then the
   :class:`~trainers.a3c.run_state.RunState` (env probe, model and shared optimiser, restored
   on resume). Nothing is written before all of them pass, so a config error leaves nothing
   behind;
2. the backend's session (Ray started or joined; nothing for local processes), then the run
   directory set up (created atomically, config and README written, writers opened; a failure
   undoes it) with SIGTERM and SIGHUP turned into Ctrl-C;
3. the backend plays the workers to the step limit (:mod:`trainers.a3c.process_backend`, the
   default, or :mod:`trainers.a3c.ray_backend`); every result goes through the run state,
   which writes ``metrics.csv``, ``rollouts.csv``, the trajectory store and checkpoints;
4. the summary.

If a worker dies the backend says which and why, saves a checkpoint and raises
:class:`~trainers.a3c.run_state.WorkerError`; an interruption raises
:class:`~trainers.a3c.run_state.TrainingInterrupted` after a checkpoint; an error of the main
process itself (a trajectory-store write, say) propagates after the workers are stopped and a
checkpoint saved (best effort), with a note naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from trainers.a3c.run_state import RunState, TrainSummary
from trainers.a3c.supervision import terminate_as_interrupt
from trainers.config import TrainConfig
from trainers.rundir import RunDir
from trainers.schedules import curriculum_note

__all__ = ["train"]

Backend = Callable[[RunState, int, float], None]
"""``run(state, limit, worker_timeout)`` of a backend module."""


def train(cfg: TrainConfig, out: str | Path, resume: bool = False,
          progress: Callable[[dict], None] | None = None, argv: list[str] | None = None,
          stop_at: int | None = None, worker_timeout: float = 600.0) -> TrainSummary:
    """Train ``cfg`` in run directory ``out`` (see the module docstring).

    Parameters
    ----------
    cfg : TrainConfig
        The resolved config (on ``resume``: the run's ``config.toml``, possibly with a larger
        ``trainer.total_steps``).
    out : str or Path
        Run directory; must not exist (or be empty) unless ``resume``.
    resume : bool
        Continue from the directory's newest checkpoint (from step 0 when it has none).
    progress : callable, optional
        Called with each ``metrics.csv`` row (``kind = "episode"``) and ``rollouts.csv`` row
        (``kind = "rollouts"``) as a dict: ``agent_steps``, ``steps_per_s``,
        ``collective_return``, ``beta``, ...
    argv : list of str, optional
        Command line recorded in the run's ``README`` (default ``sys.argv``).
    stop_at : int, optional
        Pause the run once this many agent steps are done (checkpointed, to be resumed); the
        schedules still run over ``trainer.total_steps``. With ``workers = 1`` and a multiple
        of the agent steps of one episode (horizon * E * N), resuming gives exactly the run
        that was not paused.
    worker_timeout : float
        Seconds without any message from the workers after which they count as hung.

    Returns
    -------
    TrainSummary

    Raises
    ------
    WorkerError
        A worker died or hung (TrainingInterrupted: Ctrl-C, SIGTERM, SIGHUP); a checkpoint
        was saved first.
    """
    from infoflow import __version__
    from trainers.limits import check_resources, check_resume_budget, check_writable

    header = f"infoflow train: resolved config (infoflow {__version__})"
    if (note := curriculum_note(cfg.trainer)) is not None:
        header += f"\n{note}"
    cfg, header = _with_map_text(cfg, header)
    out = Path(out)
    checkpoint = RunDir.check(out, resume=resume)
    check_writable(out, resume)
    check_resources(cfg)  # cores, bounds, memory
    session, backend = _backend(cfg)
    state = RunState(cfg, progress, checkpoint)
    if resume:
        check_resume_budget(state.start_steps, cfg.trainer.total_steps, out)
    limit = cfg.trainer.total_steps if stop_at is None else min(stop_at, cfg.trainer.total_steps)
    with session(cfg, state.workers), terminate_as_interrupt():
        with state.opened(out, resume, header, argv):
            backend(state, limit, worker_timeout)
    return state.summary()


def _with_map_text(cfg: TrainConfig, header: str) -> tuple[TrainConfig, str]:
    """A map file in ``env.map`` replaced by its text (the run records the exact game)."""
    from trainers.envs.maps import read_map_file

    if not cfg.env.map or "\n" in cfg.env.map:
        return cfg, header
    path = Path(cfg.env.map)
    if not path.is_file():
        raise FileNotFoundError(f"map file {str(path)!r} does not exist; check env.map")
    env = dataclasses.replace(cfg.env, map=read_map_file(path))
    return (dataclasses.replace(cfg, env=env),
            f"{header}\nenv.map: the text of {path.resolve()}")


def _backend(cfg: TrainConfig) -> tuple[Callable[[TrainConfig, int], AbstractContextManager],
                                         Backend]:
    """(session, run) of ``trainer.backend``; Ray's absence is a ValueError here."""
    if cfg.trainer.backend == "ray":
        from trainers.a3c.ray_backend import require_ray, run, session

        require_ray()
        return session, run
    from trainers.a3c.process_backend import run

    return (lambda cfg, workers: nullcontext()), run
