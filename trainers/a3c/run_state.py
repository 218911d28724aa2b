"""The state of one training run, shared by every backend (SPEC 3).

:class:`RunState` holds what the main process of a run owns, whatever runs the workers
(:mod:`trainers.a3c.process_backend`, :mod:`trainers.a3c.ray_backend`):

- the model, the shared optimiser and the per-worker step counters (restored from a
  checkpoint on resume);
- the run directory's writers: ``metrics.csv`` (one row per finished worker episode),
  ``rollouts.csv`` (one row every ``logging.progress_rollouts`` rollouts of a worker, so the
  running return shows long before an episode ends), ``trajectories.zarr`` and the error log;
- checkpoints (on the ``checkpoint_every`` / ``checkpoint_minutes`` cadence and at the end);
- how a run ends: :meth:`RunState.finish` saves a checkpoint and raises the error that
  stopped the workers, if any.

A backend is a function ``run(state, limit, worker_timeout)`` that plays episodes until
``limit`` agent steps, passes each :class:`~trainers.a3c.worker.EpisodeResult` to
:meth:`RunState.handle` and each :class:`~trainers.a3c.worker.RolloutReport` to
:meth:`RunState.report`, asks :meth:`RunState.checkpoint_due` after each episode and ends with
:meth:`RunState.finish`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainers.a3c.build import build_model, build_optimizer, influence_divergence, n_symbols
from trainers.a3c.supervision import deferred_interrupts
from trainers.a3c.worker import EpisodeResult, RolloutReport, build_env
from trainers.config import TrainConfig, config_to_toml, resolve_workers
from trainers.rundir import (
    CHECKPOINT_FORMAT,
    DirectorySnapshot,
    MetricsWriter,
    RunDir,
    RunDirInUse,
    load_checkpoint,
)
from trainers.schedules import beta_at, learning_rate
from trainers.trajectory_log import episodes_to_dataset, store_attrs

__all__ = ["RunState", "TrainSummary", "WorkerError", "TrainingInterrupted"]


class WorkerError(RuntimeError):
    """A worker process failed; the message names it, the cause and the checkpoint saved."""


class TrainingInterrupted(WorkerError):
    """Ctrl-C, SIGTERM or SIGHUP stopped the run; the message names the checkpoint saved."""


@dataclass
class TrainSummary:
    """What :func:`trainers.a3c.train` returns."""

    agent_steps: int
    episodes: int
    seconds: float
    checkpoint: Path | None
    last_stats: dict[str, float]
    start_steps: int = 0
    """agent steps done before this call (a resumed run's checkpoint)."""

    @property
    def steps_per_s(self) -> float:
        """Agent steps of this call divided by its seconds (workers' start-up included)."""
        return (self.agent_steps - self.start_steps) / max(self.seconds, 1e-9)


class RunState:
    """What the main process of a training run owns (see the module docstring).

    Parameters
    ----------
    cfg : TrainConfig
        The run's resolved config.
    progress : callable, optional
        Called with every ``metrics.csv`` row (``kind = "episode"``) and ``rollouts.csv`` row
        (``kind = "rollouts"``) as a dict.
    checkpoint : Path, optional
        Restore the model, optimiser, counters and RNG from this checkpoint (resume).

    Notes
    -----
    Building it touches no file but the checkpoint it reads, so that every config error
    surfaces before the run directory is created or changed; :meth:`opened` does the writing.
    """

    def __init__(self, cfg: TrainConfig, progress: Callable[[dict], None] | None = None,
                 checkpoint: Path | None = None) -> None:
        from infoflow import __version__

        self.cfg, self.progress, self.version = cfg, progress, __version__
        self.run: RunDir | None = None
        tr = cfg.trainer
        probe = build_env(cfg, n_envs=1, seed=tr.seed)
        self.agents = list(probe.agent_names)
        self.meta = {"game": probe.game, "n_agents": probe.n_agents,
                     "n_actions": probe.n_actions, "obs_shape": list(probe.obs_shape),
                     "agents": self.agents, "horizon": probe.horizon}
        self.workers = resolve_workers(cfg)
        torch.manual_seed(tr.seed)
        self.model = build_model(cfg, probe.n_agents, probe.n_actions, probe.obs_shape)
        self.optimizer = build_optimizer(cfg, self.model.parameters())
        self.step_counts = torch.zeros(self.workers, dtype=torch.int64)   # [W] agent steps
        self.episodes = [0] * self.workers                                # next episode per worker
        self.logged = 0
        self.mid_episode = False  # whether the state was taken in the middle of an episode
        self.resumed_episodes: list[int] = []
        if checkpoint is not None:
            self._restore(load_checkpoint(checkpoint))
        self.start_steps = int(self.step_counts.sum())
        self.next_checkpoint = (self.start_steps // cfg.logging.checkpoint_every + 1) * \
            cfg.logging.checkpoint_every
        self.writer = None
        self.metrics: MetricsWriter | None = None
        self.rollouts: MetricsWriter | None = None
        self.attrs = None
        if cfg.logging.episode_every > 0:
            self.attrs = store_attrs(probe.game, cfg.model.kind, probe.n_actions,
                                     n_symbols(cfg), config_to_toml(cfg), tr.seed,
                                     divergence=influence_divergence(cfg))
        self.last_stats: dict[str, float] = {}
        self.n_episodes = 0
        self.last_checkpoint: Path | None = None
        self.checkpoint_time = time.monotonic()  # of the last checkpoint (or the start)
        self.t0 = time.perf_counter()

    # -- the run directory -----------------------------------------------------------------

    @contextmanager
    def opened(self, out: Path, resume: bool, header: str,
               argv: list[str] | None) -> Iterator[RunDir]:
        """Create (or reopen, on ``resume``) the run directory ``out``, write the config and
        the README line, open the writers, checkpoint step 0 of a new run; close the writers
        on exit. A failure while setting up leaves the directory as it was found."""
        before = DirectorySnapshot.take(out)
        try:
            run = RunDir(out, resume=resume)
        except RunDirInUse:  # another run's directory now: touch nothing of it
            raise
        except BaseException:
            before.restore()
            raise
        try:
            run.write_config(config_to_toml(self.cfg, header=header))
            run.append_readme(argv)
            self._open_writers(run, resume)
            if not resume:  # resumable from step 0 on, whatever kills the run
                self.save_checkpoint(False)
        except BaseException:
            self.close()
            before.restore()
            raise
        try:
            yield run
        finally:
            self.close()

    def _open_writers(self, run: RunDir, resume: bool) -> None:
        """Open the trajectory store and the CSV files in ``run``; on ``resume`` drop the
        episodes and rows written after the checkpoint (they are played again)."""
        self.run = run
        cfg = self.cfg
        keep = self.resumed_episodes if resume else None
        if cfg.logging.episode_every > 0:
            from infoflow.trajectory import TrajectoryWriter, truncate_store

            if resume and run.trajectories_path.exists():
                # episodes logged after the checkpoint are played again; an append cut short
                # by a kill left arrays of unequal lengths: cut all to the checkpoint's count
                truncate_store(run.trajectories_path, self.logged)
            self.writer = TrajectoryWriter(run.trajectories_path, agents=self.agents,
                                           n_actions=self.meta["n_actions"],
                                           n_symbols=n_symbols(cfg), attrs=self.attrs)
        tb_dir = run.path if cfg.logging.tensorboard else None
        self.metrics = MetricsWriter(run.metrics_path, tensorboard_dir=tb_dir,
                                     keep_episodes=keep)
        if cfg.logging.progress_rollouts > 0:
            self.rollouts = MetricsWriter(run.rollouts_path, keep_episodes=keep)
        self.t0 = time.perf_counter()

    def close(self) -> None:
        """Close the CSV files (idempotent)."""
        for writer in (self.metrics, self.rollouts):
            if writer is not None:
                writer.close()
        self.metrics = self.rollouts = None

    # -- checkpoints -----------------------------------------------------------------------

    def _restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        steps = ckpt["worker_steps"].to(torch.int64)
        episodes = [int(e) for e in ckpt["episodes"]]
        self.resumed_episodes = episodes  # episodes per worker finished before the checkpoint
        if len(episodes) == self.workers:
            self.step_counts[:] = steps
            self.episodes = episodes
        else:  # another worker count: keep the total, start fresh episode indices
            self.step_counts[0] = int(steps.sum())
            self.episodes = [max(episodes)] * self.workers
        self.logged = int(ckpt["logged_episodes"])
        self.mid_episode = bool(ckpt["mid_episode"])
        torch.set_rng_state(ckpt["rng"]["torch"])

    def checkpoint_state(self, mid_episode: bool) -> dict[str, Any]:
        """What a checkpoint holds, as copies: safe to keep while training goes on. (Workers
        reseed their action sampling from (seed, worker, episode) at every episode start.)"""
        return {
            "format": CHECKPOINT_FORMAT,
            "infoflow_version": self.version,
            "config": config_to_toml(self.cfg),
            "meta": self.meta,
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "agent_steps": int(self.step_counts.sum()),
            "worker_steps": self.step_counts.clone(),
            "episodes": list(self.episodes),
            "logged_episodes": self.logged,
            "mid_episode": mid_episode,
            "rng": {"torch": torch.get_rng_state()},
        }

    def save_checkpoint(self, mid_episode: bool, held: dict[str, Any] | None = None) -> Path:
        """Write the current state (or ``held``, a `checkpoint_state` taken earlier)."""
        state = held if held is not None else self.checkpoint_state(mid_episode)
        with deferred_interrupts():
            self.last_checkpoint = self.run.save_checkpoint(state, state["agent_steps"],
                                                            self.cfg.logging.keep_checkpoints)
        self.checkpoint_time = time.monotonic()
        return self.last_checkpoint

    def checkpoint_due(self) -> bool:
        """Whether to checkpoint now: ``checkpoint_every`` agent steps or
        ``checkpoint_minutes`` of wall-clock time since the last checkpoint."""
        steps = int(self.step_counts.sum())
        lg = self.cfg.logging
        late = lg.checkpoint_minutes > 0 and \
            time.monotonic() - self.checkpoint_time >= 60.0 * lg.checkpoint_minutes
        if steps >= self.next_checkpoint or late:
            self.next_checkpoint = (steps // lg.checkpoint_every + 1) * lg.checkpoint_every
            return True
        return False

    # -- results ---------------------------------------------------------------------------

    def handle(self, result: EpisodeResult) -> None:
        """Metrics row, logged episodes, progress for one worker episode (not cut by an
        interruption: a signal waits for its end)."""
        with deferred_interrupts():
            self._handle(result)

    def _handle(self, result: EpisodeResult) -> None:
        if result.complete:
            self.episodes[result.rank] = result.episode + 1
        if result.logged is not None and self.writer is not None:
            ds = episodes_to_dataset(result.logged, self.agents, self.attrs,
                                     self.meta["n_actions"], n_symbols(self.cfg))
            self.writer.append(ds)
            self.logged += ds.sizes["episode"]
        if not result.complete:
            return
        row = self._row(result.rank, result.episode)
        row.update(result.stats)
        row["beta"] = self._beta()
        self.metrics.write(row)
        self.last_stats = row
        self.n_episodes += 1
        self._tell(row, "episode")

    def report(self, report: RolloutReport) -> None:
        """A ``rollouts.csv`` row and progress for a worker's running episode."""
        if self.rollouts is None:
            return
        row = self._row(report.rank, report.episode)
        row["episode_step"] = report.episode_step
        row.update(report.stats)
        row["beta"] = self._beta()
        with deferred_interrupts():
            self.rollouts.write(row)
        self._tell(row, "rollouts")

    def _row(self, rank: int, episode: int) -> dict[str, Any]:
        steps = int(self.step_counts.sum())
        tr = self.cfg.trainer
        wall = time.perf_counter() - self.t0
        return {"agent_steps": steps, "worker": rank, "episode": episode,
                "steps_per_s": (steps - self.start_steps) / max(wall, 1e-9), "wall_s": wall,
                "lr": learning_rate(steps, tr.total_steps, tr.lr_init, tr.lr_end)}

    def _beta(self) -> float:
        tr = self.cfg.trainer
        return beta_at(tr, int(self.step_counts.sum()))

    def _tell(self, row: dict[str, Any], kind: str) -> None:
        if self.progress is not None:
            self.progress({**row, "kind": kind})

    def worker_error(self, rank: int, report: str) -> str:
        """One line naming the worker and its error; the traceback goes to worker-errors.log."""
        log = self.run.path / "worker-errors.log"
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"worker {rank}:\n{report}\n")
        first = report.strip().splitlines()[0] if report.strip() else "unknown error"
        return f"worker {rank} died: {first} (traceback in {log})"

    # -- the end ---------------------------------------------------------------------------

    def finish(self, error: BaseException | None, failure: str | None,
               save: Callable[[], Path] | None = None) -> None:
        """After the workers have stopped: ``save()`` a checkpoint (default: the current
        state, mid-episode), then re-raise the main process's own ``error`` (with a note
        naming the checkpoint; the save is best effort then) or raise WorkerError for a
        worker ``failure`` (TrainingInterrupted for an interruption)."""
        if save is None:
            def save() -> Path:
                return self.save_checkpoint(True)
        if error is not None:
            try:
                path = save()
            except Exception as exc:
                error.add_note(f"infoflow: no checkpoint saved ({type(exc).__name__}: {exc})")
            else:
                error.add_note(f"infoflow: checkpoint saved to {path}; continue with --resume")
            raise error
        path = save()
        if failure is not None:
            kind = TrainingInterrupted if failure.startswith("interrupted") else WorkerError
            raise kind(f"{failure}; checkpoint saved to {path}; continue with --resume")

    def summary(self) -> TrainSummary:
        """Steps, episodes, seconds and the last checkpoint and episode row of this call."""
        self.close()
        return TrainSummary(int(self.step_counts.sum()), self.n_episodes,
                            time.perf_counter() - self.t0, self.last_checkpoint, self.last_stats,
                            self.start_steps)
