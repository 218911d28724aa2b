"""The A3C trainer: W workers on shared parameters, logging, checkpoints, resume (SPEC 3).

:func:`train` runs a whole job in a run directory:

1. set-up: env probe, shared model and shared optimiser built (restored on ``resume``) before
   the run directory is created or touched, so a config error leaves nothing behind; then the
   config is written back and the trajectory store and metrics file opened (a failure there
   removes what this call created);
2. workers: ``workers = 1`` runs the :class:`~trainers.a3c.worker.Worker` in this process (fully
   deterministic for a seed); ``workers > 1`` starts W processes with the spawn method, each
   with one torch thread and its own batch of E env copies, updating the shared parameters
   lock-free; ``trainer.backend = "ray"`` runs the workers as Ray actors around a parameter
   server instead (:mod:`trainers.a3c.ray_backend`);
3. the main process collects each worker's episode summaries and logged episodes, writes
   ``metrics.csv`` rows and the trajectory store, reports progress, and checkpoints every
   ``logging.checkpoint_every`` agent steps and at the end.

If a worker dies the trainer says which and why, saves a checkpoint and raises
:class:`WorkerError`; it never waits on a dead worker (queue reads time out and the process
sentinels are checked). If the main process itself fails while handling the workers' results
(a trajectory-store write, say), it still stops and joins (or terminates) the workers and saves
a checkpoint (best effort) before the original error propagates, with a note naming the
checkpoint.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import queue as queue_mod
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from trainers.a3c.parameters import SharedParameters
from trainers.a3c.shared_optim import SharedOptimizer, make_optimizer
from trainers.a3c.supervision import (
    deferred_interrupts,
    die_with_parent,
    interruption_message,
    terminate_as_interrupt,
)
from trainers.a3c.worker import EpisodeResult, Worker, build_env
from trainers.config import TrainConfig, config_to_toml, resolve_workers
from trainers.rundir import (
    CHECKPOINT_FORMAT,
    MetricsWriter,
    RunDir,
    RunDirInUse,
    load_checkpoint,
)
from trainers.schedules import influence_weight, learning_rate
from trainers.trajectory_log import episodes_to_dataset, store_attrs

__all__ = ["train", "WorkerError", "TrainingInterrupted", "TrainSummary", "build_model",
           "build_optimizer", "finish_workers", "influence_divergence", "n_symbols"]


class WorkerError(RuntimeError):
    """A worker process failed; the message names it, the cause and the checkpoint saved."""


class TrainingInterrupted(WorkerError):
    """Ctrl-C, SIGTERM or SIGHUP stopped the run; the message names the checkpoint saved."""


@dataclass
class TrainSummary:
    """What :func:`train` returns."""

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


def influence_divergence(cfg: TrainConfig) -> str | None:
    """What the logged ``influence`` holds (kl, jsd, pmi); None without an influence reward."""
    from trainers.models import kind_class

    kind = kind_class(cfg.model.kind)
    return kind.pair_measure(cfg.model) if kind.computes_influence else None


def n_symbols(cfg: TrainConfig) -> int:
    """Message vocabulary size logged in the store (0 without communication)."""
    from trainers.models import kind_class

    return kind_class(cfg.model.kind).message_symbols(cfg.model)


def build_model(cfg: TrainConfig, n_agents: int, n_actions: int, obs_shape: tuple[int, ...]):
    """The agents' model of ``cfg.model``, initialised from ``cfg.trainer.seed``."""
    from trainers.models import AgentsModel

    return AgentsModel(cfg.model, n_agents=n_agents, n_actions=n_actions,
                       obs_shape=tuple(obs_shape), seed=cfg.trainer.seed)


def build_optimizer(cfg: TrainConfig, params) -> SharedOptimizer:
    """The shared optimiser of ``cfg.trainer`` over ``params``."""
    tr = cfg.trainer
    return make_optimizer(params, tr.optimizer, tr.lr_init, rmsprop_alpha=tr.rmsprop_alpha,
                          rmsprop_eps=tr.rmsprop_eps, adam_betas=(tr.adam_beta1, tr.adam_beta2),
                          adam_eps=tr.adam_eps)


def _worker_main(rank: int, cfg: TrainConfig, shared, optimizer, step_counts, episode: int,
                 results, stop, parent_pid: int | None) -> None:
    """Entry point of a worker process: play episodes until the budget or a stop request;
    dies with the trainer process ``parent_pid`` (`trainers.a3c.supervision`; None: called
    in-process, unsupervised)."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    torch.set_num_threads(1)
    try:
        link = SharedParameters(shared, optimizer, step_counts)
        worker = Worker(rank, cfg, copy.deepcopy(shared), link, episode=episode)  # local copy
        while not stop.is_set():
            result = worker.run_episode(should_stop=stop.is_set)
            results.put(("episode", result))
            if not result.complete:
                break
        results.put(("done", rank, None))
    except BaseException as exc:  # report anything, including KeyboardInterrupt
        tb = traceback.format_exc(limit=6)
        results.put(("error", rank, f"{type(exc).__name__}: {exc}\n{tb}"))
        raise SystemExit(1) from None


class _Run:
    """State of :func:`train` shared by the in-process and multi-process paths."""

    def __init__(self, cfg: TrainConfig, progress: Callable[[dict], None] | None,
                 checkpoint: Path | None = None) -> None:
        """Build the env probe, model and optimiser (restored from ``checkpoint``).

        Touches no file but the checkpoint it reads, so every config error surfaces here,
        before the run directory is created or changed; :meth:`open` does the writing.
        """
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
        if tr.backend == "ray":
            from trainers.a3c.ray_backend import require_ray

            require_ray()
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

    def open(self, run: RunDir, resume: bool) -> None:
        """Open the trajectory store and the metrics file in ``run``; on ``resume`` drop the
        episodes and metrics rows written after the checkpoint (they are played again)."""
        self.run = run
        cfg = self.cfg
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
                                     keep_episodes=self.resumed_episodes if resume else None)
        self.t0 = time.perf_counter()

    def close(self) -> None:
        """Close the metrics file (idempotent)."""
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None

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
        steps = int(self.step_counts.sum())
        tr = self.cfg.trainer
        rate = (steps - self.start_steps) / max(time.perf_counter() - self.t0, 1e-9)
        row: dict[str, Any] = {
            "agent_steps": steps, "worker": result.rank, "episode": result.episode,
            "steps_per_s": rate, "wall_s": time.perf_counter() - self.t0,
            "lr": learning_rate(steps, tr.total_steps, tr.lr_init, tr.lr_end),
        }
        row.update(result.stats)
        row["beta"] = influence_weight(steps, tr.beta, tr.curriculum_steps, tr.curriculum_delay)
        self.metrics.write(row)
        self.last_stats = row
        self.n_episodes += 1
        if self.progress is not None:
            self.progress(row)

    def worker_error(self, rank: int, report: str) -> str:
        """One line naming the worker and its error; the traceback goes to worker-errors.log."""
        log = self.run.path / "worker-errors.log"
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"worker {rank}:\n{report}\n")
        first = report.strip().splitlines()[0] if report.strip() else "unknown error"
        return f"worker {rank} died: {first} (traceback in {log})"

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

    def summary(self) -> TrainSummary:
        self.close()
        return TrainSummary(int(self.step_counts.sum()), self.n_episodes,
                            time.perf_counter() - self.t0, self.last_checkpoint, self.last_stats,
                            self.start_steps)


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
        Continue from the directory's newest checkpoint.
    progress : callable, optional
        Called with each metrics row (a dict: ``agent_steps``, ``steps_per_s``,
        ``collective_return``, ``beta``, ...).
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
        A worker process died; a checkpoint was saved first.
    """
    from infoflow import __version__
    from trainers.envs.maps import read_map_file
    from trainers.limits import check_resources, check_resume_budget, check_writable

    header = f"infoflow train: resolved config (infoflow {__version__})"
    if cfg.env.map and "\n" not in cfg.env.map:  # a map file: record its text (exact game)
        path = Path(cfg.env.map)
        if not path.is_file():
            raise FileNotFoundError(f"map file {str(path)!r} does not exist; check env.map")
        header += f"\nenv.map: the text of {path.resolve()}"
        cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env,
                                                               map=read_map_file(path)))
    out = Path(out)
    # everything that can fail on a bad config or run directory, before anything is written
    checkpoint = RunDir.check(out, resume=resume)
    check_writable(out, resume)
    check_resources(cfg)  # cores, bounds, memory (trainers.limits)
    state = _Run(cfg, progress, checkpoint)
    if resume:
        check_resume_budget(state.start_steps, cfg.trainer.total_steps, out)
    if cfg.trainer.backend == "ray":
        from trainers.a3c.ray_backend import ray_session, train_ray

        with ray_session(cfg, state.workers):  # started or joined before anything is written
            return _train_in_run_dir(state, out, resume, header, argv, stop_at,
                                     partial(train_ray, state, worker_timeout=worker_timeout))
    run_workers = (partial(_train_in_process, state) if state.workers == 1 else
                   partial(_train_processes, state, worker_timeout=worker_timeout))
    return _train_in_run_dir(state, out, resume, header, argv, stop_at, run_workers)


def _train_in_run_dir(state: _Run, out: Path, resume: bool, header: str,
                      argv: list[str] | None, stop_at: int | None,
                      run_workers: Callable[[int], None]) -> TrainSummary:
    """Create (or reopen) the run directory, run the workers up to the step limit, summarise;
    a failure while setting up leaves the directory as it was found."""
    cfg = state.cfg
    with terminate_as_interrupt():  # SIGTERM / SIGHUP: checkpoint and stop, as Ctrl-C
        before = _snapshot(out)
        try:
            run = RunDir(out, resume=resume)
        except RunDirInUse:  # another run's directory now: touch nothing of it
            state.close()
            raise
        except BaseException:
            state.close()
            _restore_snapshot(out, before)
            raise
        try:
            run.write_config(config_to_toml(cfg, header=header))
            run.append_readme(argv)
            state.open(run, resume)
            if not resume:  # resumable from step 0 on, whatever kills the run
                state.save_checkpoint(False)
        except BaseException:  # leave the directory as it was found
            state.close()
            _restore_snapshot(out, before)
            raise
        limit = cfg.trainer.total_steps if stop_at is None else \
            min(stop_at, cfg.trainer.total_steps)
        try:
            run_workers(limit)
        except BaseException:
            state.close()
            raise
        return state.summary()


@dataclass
class _Snapshot:
    """What a run directory held before :func:`train` set it up (to undo a failed set-up)."""

    missing: list[Path]          # the directory and its missing parents, deepest first
    entries: set[str]            # names in the directory
    files: dict[str, bytes]      # README and config.toml as they were


def _snapshot(out: Path) -> _Snapshot:
    if not out.exists():
        missing = [out]
        while not missing[-1].parent.exists() and missing[-1].parent != missing[-1]:
            missing.append(missing[-1].parent)
        return _Snapshot(missing, set(), {})
    files = {name: (out / name).read_bytes() for name in ("README", "config.toml")
             if (out / name).is_file()}
    return _Snapshot([], {p.name for p in out.iterdir()}, files)


def _restore_snapshot(out: Path, before: _Snapshot) -> None:
    """Remove what a failed set-up created in ``out``; best effort, never raises."""
    import shutil

    try:
        if out.is_dir():
            for p in out.iterdir():
                if p.name not in before.entries:
                    if p.is_dir() and not p.is_symlink():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)
            for name, data in before.files.items():
                (out / name).write_bytes(data)
        for folder in before.missing:
            folder.rmdir()
    except OSError:
        pass


def _train_in_process(state: _Run, limit: int) -> None:
    """``workers = 1``: the worker runs here, deterministically; checkpoints at boundaries.

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
            result = worker.run_episode(lambda: int(state.step_counts.sum()) >= limit)
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


def _train_processes(state: _Run, limit: int, worker_timeout: float) -> None:
    """``workers > 1``: spawn W processes; collect results; never wait on a dead worker."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    state.model.share_memory()
    state.optimizer.share_memory()
    state.step_counts.share_memory_()
    results, stop = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker_main, name=f"infoflow-worker-{rank}", daemon=True,
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
            try:
                message = results.get(timeout=0.5)
            except queue_mod.Empty:
                message = None
            if message is None or time.monotonic() - last_check > 1.0:
                last_check = time.monotonic()
                for rank, p in enumerate(procs):
                    if rank not in done and not p.is_alive() and p.exitcode != 0:
                        failure = (f"worker {rank} exited with status {p.exitcode} without a "
                                   "report (killed, or out of memory?)")
                        break
                if failure is None and time.monotonic() - last_message > worker_timeout:
                    failure = f"no worker reported for {worker_timeout:.0f} s (hung?)"
            if message is None or failure is not None:
                continue
            last_message = time.monotonic()
            kind, payload = message[0], message[1]
            if kind == "episode":
                state.handle(payload)
                if state.checkpoint_due():
                    state.save_checkpoint(True)
                if int(state.step_counts.sum()) >= limit:
                    stop.set()
            elif kind == "done":
                done.add(payload)
            elif kind == "error":
                failure = state.worker_error(payload, message[2])
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
    finish_workers(lambda: state.save_checkpoint(True), error, failure)


def finish_workers(save: Callable[[], Path], error: BaseException | None,
                   failure: str | None) -> None:
    """After the workers have stopped: ``save()`` a checkpoint, then re-raise the main
    process's own ``error`` (with a note naming the checkpoint; the save is best effort then)
    or raise WorkerError for a worker ``failure``."""
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


def _drain_and_join(procs, results, state: _Run, timeout: float = 20.0,
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
