"""Shared optimisers for A3C: RMSprop and Adam whose state lives in shared memory.

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
    """Base class: allocates the state eagerly so that it can be shared between processes."""

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


class SharedRMSprop(SharedOptimizer):
    """RMSprop (not centred, no momentum) with shared state.

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
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})
        self._init_state()

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                sq = state["square_avg"]
                sq.mul_(alpha).addcmul_(p.grad, p.grad, value=1.0 - alpha)
                p.addcdiv_(p.grad, sq.sqrt().add_(eps), value=-lr)
        return None


class SharedAdam(SharedOptimizer):
    """Adam with shared state (first and second moments, step count).

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
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})
        self._init_state()

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                t = float(state["step"])
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(b1).add_(p.grad, alpha=1.0 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1.0 - b2)
                step_size = lr / (1.0 - b1**t)
                denom = (v / (1.0 - b2**t)).sqrt_().add_(eps)
                p.addcdiv_(m, denom, value=-step_size)
        return None


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


