"""Scale-out with Ray (SPEC 3): the same workers as Ray actors around a parameter server.

Chosen with ``trainer.backend = "ray"`` (install the extra: ``pip install -e ".[ray]"``):

- :class:`ParameterServer` (an actor, no CPU reserved) holds the model, the shared optimiser
  (the same RMSprop / Adam) and the per-worker step counters. ``update`` applies one worker's
  clipped gradients and returns the newest parameters; updates from different workers are
  applied one at a time, asynchronously between workers, as in A3C.
- :class:`RayWorker` (an actor, one CPU) runs a :class:`~trainers.a3c.worker.Worker` on a local
  copy of the model linked to the server by :class:`RemoteParameters`; each call plays one
  episode and returns its :class:`~trainers.a3c.worker.EpisodeResult`; its rollout reports
  wait on the server until the driver collects them.
- :func:`run` (the driver, inside :func:`trainers.a3c.train`, as the process backend's
  :func:`trainers.a3c.process_backend.run`) hands out episodes and gives the results to the
  same :class:`~trainers.a3c.run_state.RunState`: ``metrics.csv``, ``rollouts.csv``,
  ``trajectories.zarr``, progress, checkpoints (state pulled from the server).

Ray starts on this machine with W CPUs, unless ``trainer.ray_address`` names a running cluster
(``auto``, ``ray://host:10001``), whose machines all need this package installed. With one
worker an uninterrupted run equals the in-process run of the same seed step for step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from trainers.a3c.build import build_model, build_optimizer
from trainers.a3c.parameters import ParameterLink, SharedParameters
from trainers.a3c.reaper import Reaper
from trainers.a3c.run_state import RunState, WorkerError
from trainers.a3c.supervision import (
    deferred_interrupts,
    interruption_message,
    raise_pending_interrupt,
)
from trainers.a3c.worker import EpisodeResult, RolloutReport, Worker
from trainers.config import TrainConfig

__all__ = ["ParameterServer", "RayWorker", "RemoteParameters", "session", "require_ray", "run"]


def require_ray():
    """The ``ray`` module, or a ValueError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ValueError("trainer.backend = 'ray' needs Ray: pip install -e '.[ray]' "
                         "(or set trainer.backend = 'processes')") from None
    return ray


def _flat(params) -> np.ndarray:
    """Parameters -> one float32 vector (what travels between actors)."""
    return parameters_to_vector([p.detach() for p in params]).numpy()


def _load_flat(model: nn.Module, flat: np.ndarray) -> None:
    """Copy a vector from `_flat` into ``model``'s parameters."""
    src = torch.from_numpy(np.array(flat, copy=True))  # object-store arrays are read-only
    with torch.no_grad():
        vector_to_parameters(src, model.parameters())


def _build(cfg: TrainConfig, meta: dict[str, Any]):
    return build_model(cfg, meta["n_agents"], meta["n_actions"], meta["obs_shape"])


class ParameterServer:
    """The shared parameters, optimiser and step counters of a Ray run (an actor).

    Parameters
    ----------
    cfg : TrainConfig
    meta : dict
        The env's ``n_agents``, ``n_actions``, ``obs_shape``.
    model_state, optimizer_state : dict
        State dicts to start from (a new or a resumed run).
    step_counts : int64 tensor [W]
        Agent steps per worker so far.
    """

    def __init__(self, cfg: TrainConfig, meta: dict[str, Any], model_state: dict,
                 optimizer_state: dict, step_counts: torch.Tensor) -> None:
        torch.set_num_threads(1)
        self.model = _build(cfg, meta)
        self.model.load_state_dict(model_state)
        self.optimizer = build_optimizer(cfg, self.model.parameters())
        self.optimizer.load_state_dict(optimizer_state)
        self.link = SharedParameters(self.model, self.optimizer, step_counts.clone())
        self.reports: list[RolloutReport] = []

    def parameters(self) -> np.ndarray:
        """The current parameters as one vector."""
        return _flat(self.model.parameters())

    def update(self, grads: list[np.ndarray | None], lr: float) -> tuple[np.ndarray, int]:
        """Apply one worker's gradients (one array per parameter, None = no gradient) at
        learning rate ``lr``; returns the new parameters as one vector and the global steps."""
        for p, g in zip(self.model.parameters(), grads, strict=True):
            p.grad = None if g is None else torch.from_numpy(np.array(g, copy=True))
        self.link.update(self.model, lr)
        return self.parameters(), self.link.global_steps()

    def count(self, rank: int, n: int) -> tuple[int, int]:
        """Add ``n`` agent steps of worker ``rank``; returns (its total, all workers' total)."""
        return self.link.count(rank, n), self.link.global_steps()

    def global_steps(self) -> int:
        return self.link.global_steps()

    def report(self, report: RolloutReport) -> None:
        """Keep a worker's rollout report until the driver takes it."""
        self.reports.append(report)

    def take_reports(self) -> list[RolloutReport]:
        """The reports kept since the last call, oldest first."""
        reports, self.reports = self.reports, []
        return reports

    def state(self) -> tuple[dict, dict, torch.Tensor]:
        """(model state dict, optimiser state dict, step counts [W]) for a checkpoint."""
        return self.model.state_dict(), self.optimizer.state_dict(), self.link.step_counts


class RemoteParameters(ParameterLink):
    """A worker's link to a :class:`ParameterServer` actor (blocking calls).

    ``global_steps`` is the total the server reported with the worker's last update or count
    (other workers' newer steps show up at the next call): no round trip per question.
    """

    def __init__(self, server) -> None:
        self.ray = require_ray()
        self.server = server
        self._global = self.ray.get(server.global_steps.remote())

    def global_steps(self) -> int:
        return self._global

    def count(self, rank: int, n: int) -> int:
        mine, self._global = self.ray.get(self.server.count.remote(rank, n))
        return mine

    def update(self, model: nn.Module, lr: float) -> None:
        grads = [None if p.grad is None else p.grad.numpy() for p in model.parameters()]
        flat, self._global = self.ray.get(self.server.update.remote(grads, lr))
        _load_flat(model, flat)


class RayWorker:
    """One A3C worker as a Ray actor: plays and learns from one episode per call."""

    def __init__(self, rank: int, cfg: TrainConfig, meta: dict[str, Any], server,
                 episode: int) -> None:
        torch.set_num_threads(1)
        self.server = server
        self.link = RemoteParameters(server)
        model = _build(cfg, meta)
        _load_flat(model, self.link.ray.get(server.parameters.remote()))
        self.worker = Worker(rank, cfg, model, self.link, episode=episode)

    def run_episode(self, limit: int) -> EpisodeResult:
        """One episode, stopped early at a rollout boundary once ``limit`` steps are done."""
        return self.worker.run_episode(lambda: self.link.global_steps() >= limit,
                                       report=self.server.report.remote)


@contextmanager
def session(cfg: TrainConfig, workers: int) -> Iterator[None]:
    """Start Ray on this machine with ``workers`` CPUs, or join ``trainer.ray_address``, or use
    the connection the caller already made; end what this call started on exit, and, through a
    :class:`~trainers.a3c.reaper.Reaper`, whatever of a local Ray outlives this process when it
    is killed. A cluster with fewer CPUs than workers is a ValueError (raised before the run
    directory is touched)."""
    ray = require_ray()
    started, reaper = False, None
    if not ray.is_initialized():
        options = {"logging_level": logging.WARNING, "include_dashboard": False}
        if cfg.trainer.ray_address:
            ray.init(address=cfg.trainer.ray_address, **options)
        else:
            reaper = Reaper()  # Ray's agents outlive a killed driver: end them then
            ray.init(num_cpus=workers, **options)
            reaper.watch()
        started = True
    try:
        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus < workers:
            raise ValueError(f"the Ray cluster has {cpus:g} CPUs, fewer than trainer.workers = "
                             f"{workers}; lower trainer.workers or add machines")
        yield
    finally:
        if started:
            ray.shutdown()
        if reaper is not None:
            reaper.close()


def _pull(server, state: RunState, timeout: float) -> None:
    """Copy the server's parameters, optimiser state and step counts into the driver's."""
    ray = require_ray()
    model_state, optimizer_state, steps = ray.get(server.state.remote(), timeout=timeout)
    state.model.load_state_dict(model_state)
    state.optimizer.load_state_dict(optimizer_state)
    state.step_counts[:] = steps


def run(state: RunState, limit: int, worker_timeout: float) -> None:
    """Run the workers of ``state`` as Ray actors (inside `session`) until ``limit`` agent
    steps; checkpoint as ``state`` asks and at the end (state pulled from the server). Raises
    WorkerError when a worker or the parameter server dies or hangs, or TrainingInterrupted
    on Ctrl-C, SIGTERM or SIGHUP (after a checkpoint when the server still answers)."""
    ray = require_ray()
    cfg = state.cfg
    server, actors = None, []
    pending: dict[Any, int] = {}  # episode call -> worker rank
    stopped_mid_episode = False
    failure: str | None = None
    error: BaseException | None = None  # raised here in the driver (e.g. a store write)
    try:
        server = ray.remote(num_cpus=0)(ParameterServer).remote(
            cfg, state.meta, state.model.state_dict(), state.optimizer.state_dict(),
            state.step_counts)
        actor = ray.remote(num_cpus=1)(RayWorker)
        actors = [actor.remote(rank, cfg, state.meta, server, state.episodes[rank])
                  for rank in range(state.workers)]
        pending = {a.run_episode.remote(limit): rank for rank, a in enumerate(actors)}
        last_message = time.monotonic()
        reports_call, next_poll = None, 0.0  # rollout reports: asked for at most once a second
        while pending:
            raise_pending_interrupt()
            if reports_call is None and time.monotonic() >= next_poll:
                reports_call = server.take_reports.remote()
            waiting = [*pending, *([reports_call] if reports_call is not None else [])]
            ready, _ = ray.wait(waiting, num_returns=1, timeout=1.0)
            if not ready:
                if time.monotonic() - last_message > worker_timeout:
                    failure = f"no worker reported for {worker_timeout:.0f} s (hung?)"
                    break
                continue
            if ready[0] is reports_call:  # never blocks: the call is done
                reports_call, next_poll = None, time.monotonic() + 1.0
                reports = ray.get(ready[0])
                for report in reports:
                    state.step_counts[report.rank] = max(int(state.step_counts[report.rank]),
                                                         report.worker_steps)
                    state.report(report)
                if reports:
                    last_message = time.monotonic()
                continue
            last_message = time.monotonic()
            with deferred_interrupts():  # a result read is handled before a signal stops us
                rank = pending.pop(ready[0])
                try:
                    result = ray.get(ready[0])
                except ray.exceptions.RayError as exc:
                    failure = state.worker_error(rank, f"{type(exc).__name__}: {exc}")
                    break
                state.step_counts[rank] = result.worker_steps
                state.handle(result)
            stopped_mid_episode |= not result.complete
            if state.checkpoint_due():
                _pull(server, state, worker_timeout)
                state.save_checkpoint(bool(pending))  # W = 1: an episode boundary
            if result.complete and ray.get(server.global_steps.remote(),
                                           timeout=worker_timeout) < limit:
                pending[actors[rank].run_episode.remote(limit)] = rank
    except KeyboardInterrupt as exc:
        failure = interruption_message(exc)
    except ray.exceptions.RayError as exc:  # a call to the server (worker results are above)
        failure = f"the parameter server died or hangs ({type(exc).__name__})"
    except BaseException as exc:
        error = exc
    finally:
        for a in actors:
            ray.kill(a)

    def save() -> Path:
        try:
            _pull(server, state, worker_timeout)
        except ray.exceptions.RayError as exc:  # includes GetTimeoutError
            last = state.last_checkpoint or "none"
            raise WorkerError(f"the parameter server died or hangs ({type(exc).__name__}); no "
                              f"checkpoint saved (the last one: {last}); continue with "
                              "--resume") from exc
        finally:
            ray.kill(server)
        return state.save_checkpoint(stopped_mid_episode or failure is not None or
                                     error is not None or bool(pending))

    if server is None:  # failed before the server existed: nothing to save
        raise error if error is not None else WorkerError(failure or "no server")
    state.finish(error, failure, save)
