"""Asynchronous advantage actor-critic (A3C) for the agents' models (SPEC 3).

- :mod:`trainers.a3c.shared_optim`: RMSprop and Adam with state in shared memory;
- :mod:`trainers.a3c.worker`: one worker's loop over its batch of env copies;
- :mod:`trainers.a3c.trainer`: :func:`train`, W workers, logging, checkpoints, resume.
"""

from trainers.a3c.shared_optim import SharedAdam, SharedOptimizer, SharedRMSprop, make_optimizer
from trainers.a3c.trainer import (
    TrainingInterrupted,
    TrainSummary,
    WorkerError,
    build_model,
    train,
)
from trainers.a3c.worker import EpisodeResult, Worker

__all__ = ["SharedAdam", "SharedOptimizer", "SharedRMSprop", "make_optimizer", "TrainSummary",
           "WorkerError", "TrainingInterrupted", "build_model", "train", "EpisodeResult", "Worker"]
