"""Shared optimisers for A3C: torch's RMSprop and Adam with their state in shared memory.

Every worker process holds an optimiser object over the *shared* parameters; because the
state tensors (running averages, step counts) are allocated up front and moved to shared
memory with :meth:`SharedOptimizer.share_memory`, all workers update the same statistics,
lock-free (Hogwild-style, Mnih et al. 2016). With one worker the update is exactly the
textbook one:

- RMSprop (non-centred): ``v <- a v + (1 - a) g^2``; ``p <- p - lr g / (sqrt(v) + eps)``.
- Adam: ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
  ``p <- p - lr m_hat / (sqrt(v_hat) + eps)`` with bias corrections ``1 - b^t``.

The state round-trips through ``state_dict()`` / ``load_state_dict()`` as plain tensors
(checkpoints load with ``weights_only=True``); call :meth:`share_memory` again after loading.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["SharedOptimizer", "SharedRMSprop", "SharedAdam", "make_optimizer"]


class SharedOptimizer(torch.optim.Optimizer):
    """Mixin for a torch optimiser whose state is allocated up front, so it can be shared.

    torch's optimisers create their state on the first step; here it is created at
    construction with exactly the tensors torch would create (zero ``step`` and moments), so
    :meth:`share_memory` can move it to shared memory before the workers start, and torch's
    own update (in place on those tensors) does the rest.
    """

    _state_names: tuple[str, ...] = ()

    def _init_state(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                for name in self._state_names:
                    state[name] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def share_memory(self) -> SharedOptimizer:
        """Move every state tensor to shared memory (before starting worker processes)."""
        for group in self.param_groups:
            for p in group["params"]:
                for value in self.state[p].values():
                    if torch.is_tensor(value):
                        value.share_memory_()
        return self

    def set_lr(self, lr: float) -> None:
        """Set the learning rate of every parameter group."""
        for group in self.param_groups:
            group["lr"] = lr


class SharedRMSprop(SharedOptimizer, torch.optim.RMSprop):
    """torch's RMSprop (not centred, no momentum) with shared state.

    Parameters
    ----------
    params : iterable of tensors
        The shared parameters.
    lr : float
        Learning rate.
    alpha : float
        Decay of the squared-gradient average.
    eps : float
        Added to the root of the average.
    """

    _state_names = ("square_avg",)

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, alpha: float = 0.99,
                 eps: float = 1e-5) -> None:
        if lr < 0 or not 0.0 <= alpha < 1.0 or eps <= 0:
            raise ValueError(f"RMSprop needs lr >= 0, 0 <= alpha < 1, eps > 0 (got {lr}, "
                             f"{alpha}, {eps})")
        torch.optim.RMSprop.__init__(self, params, lr=lr, alpha=alpha, eps=eps)
        self._init_state()


class SharedAdam(SharedOptimizer, torch.optim.Adam):
    """torch's Adam with shared state (first and second moments, step count).

    Parameters
    ----------
    params : iterable of tensors
        The shared parameters.
    lr : float
        Learning rate.
    betas : (float, float)
        Decays of the gradient and squared-gradient averages.
    eps : float
        Added to the root of the bias-corrected second moment.
    """

    _state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        if lr < 0 or not all(0.0 <= b < 1.0 for b in betas) or eps <= 0:
            raise ValueError(f"Adam needs lr >= 0, 0 <= betas < 1, eps > 0 (got {lr}, "
                             f"{betas}, {eps})")
        torch.optim.Adam.__init__(self, params, lr=lr, betas=tuple(betas), eps=eps)
        self._init_state()


def make_optimizer(params: Iterable[torch.Tensor], name: str, lr: float, *,
                   rmsprop_alpha: float = 0.99, rmsprop_eps: float = 1e-5,
                   adam_betas: tuple[float, float] = (0.9, 0.999),
                   adam_eps: float = 1e-8) -> SharedOptimizer:
    """The shared optimiser called ``name`` (``rmsprop`` or ``adam``)."""
    if name == "rmsprop":
        return SharedRMSprop(params, lr=lr, alpha=rmsprop_alpha, eps=rmsprop_eps)
    if name == "adam":
        return SharedAdam(params, lr=lr, betas=adam_betas, eps=adam_eps)
    raise ValueError(f"unknown optimizer {name!r}; set trainer.optimizer to 'rmsprop' or 'adam'")


