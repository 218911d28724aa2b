"""Where a worker's updates go: the shared parameters behind one small interface (SPEC 3).

A :class:`~trainers.a3c.worker.Worker` computes (and clips) gradients on the model it acts with,
then hands them to its link, which applies them to the shared parameters and leaves the newest
values in the worker's model. Two links exist:

- :class:`SharedParameters`: parameters, optimiser state and step counters in the shared memory
  of one machine (W worker processes, or the trainer's own model when W = 1);
- :class:`trainers.a3c.ray_backend.RemoteParameters`: a parameter-server actor (Ray, any number
  of machines).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from trainers.a3c.shared_optim import SharedOptimizer

__all__ = ["ParameterLink", "SharedParameters"]


class ParameterLink(ABC):
    """A worker's connection to the shared parameters, optimiser and step counters."""

    @abstractmethod
    def global_steps(self) -> int:
        """Agent steps of all workers so far (what the schedules read)."""

    @abstractmethod
    def count(self, rank: int, n: int) -> int:
        """Add ``n`` agent steps done by worker ``rank``; returns that worker's total."""

    @abstractmethod
    def update(self, model: nn.Module, lr: float) -> None:
        """Apply ``model``'s gradients at learning rate ``lr`` to the shared parameters, then
        leave their newest values in ``model``."""


class SharedParameters(ParameterLink):
    """Shared-memory link: one machine, lock-free updates (Hogwild-style, Mnih et al. 2016).

    Parameters
    ----------
    model : nn.Module
        The shared parameters (in shared memory when W > 1).
    optimizer : SharedOptimizer
        The shared optimiser over ``model``'s parameters.
    step_counts : int64 tensor [W]
        Agent steps per worker (in shared memory when W > 1).
    """

    def __init__(self, model: nn.Module, optimizer: SharedOptimizer,
                 step_counts: torch.Tensor) -> None:
        self.model, self.optimizer, self.step_counts = model, optimizer, step_counts

    def global_steps(self) -> int:
        return int(self.step_counts.sum())

    def count(self, rank: int, n: int) -> int:
        self.step_counts[rank] += n
        return int(self.step_counts[rank])

    def update(self, model: nn.Module, lr: float) -> None:
        if model is not self.model:  # a worker process's local copy
            for shared_p, local_p in zip(self.model.parameters(), model.parameters(),
                                         strict=True):
                shared_p.grad = local_p.grad
        self.optimizer.set_lr(lr)
        self.optimizer.step()
        if model is not self.model:  # the next rollout acts with the newest values
            model.load_state_dict(self.model.state_dict())
