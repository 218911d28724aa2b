"""Asynchronous advantage actor-critic (A3C) for the agents' models (SPEC 3).

- :mod:`trainers.a3c.shared_optim`: RMSprop and Adam with state in shared memory;
- :mod:`trainers.a3c.worker`: one worker's loop over its batch of env copies;
- :mod:`trainers.a3c.build`: the model and optimiser of a config;
- :mod:`trainers.a3c.run_state`: what a run's main process owns (checkpoints, metrics, store);
- :mod:`trainers.a3c.process_backend`, :mod:`trainers.a3c.ray_backend`: the workers as local
  processes or as Ray actors, side by side;
- :mod:`trainers.a3c.supervision`: signals and the process tree;
- :mod:`trainers.a3c.trainer`: :func:`train`, a whole run in a run directory.
"""

from trainers.a3c.build import build_model
from trainers.a3c.run_state import RunState, TrainingInterrupted, TrainSummary, WorkerError
from trainers.a3c.shared_optim import SharedAdam, SharedOptimizer, SharedRMSprop, make_optimizer
from trainers.a3c.trainer import train
from trainers.a3c.worker import EpisodeResult, RolloutReport, Worker

__all__ = ["SharedAdam", "SharedOptimizer", "SharedRMSprop", "make_optimizer", "TrainSummary",
           "WorkerError", "TrainingInterrupted", "build_model", "train", "EpisodeResult", "Worker",
           "RolloutReport", "RunState"]
