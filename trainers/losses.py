"""A3C return estimation and loss terms as pure functions on time-major tensors.

Conventions: time-major [T, E, N] (steps, env copies, agents). `done[t]` marks that the episode
ended after step t; `truncated[t]` that it ended by the time limit (a subset of done). A terminated
step bootstraps nothing; a truncated step bootstraps with the value of its final observation.
Per-agent terms are means over (T, E) returned per agent [N]: agents have separate parameters, so
summing the per-agent means gives every agent the gradient of its own mean loss.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["n_step_returns", "policy_value_entropy", "moa_cross_entropy"]


def _check(name: str, x: Tensor, shape: tuple[int, ...]) -> None:
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(x.shape)}, expected {tuple(shape)}")


def _expand(mask: Tensor, like: Tensor, name: str) -> Tensor:
    """Bool [T, E] (or the full shape) -> float broadcast to `like` [T, E, ...]."""
    if tuple(mask.shape) != tuple(like.shape[:mask.dim()]):
        raise ValueError(f"{name} has shape {tuple(mask.shape)}, expected a prefix of "
                         f"{tuple(like.shape)}")
    mask = mask.reshape(*mask.shape, *([1] * (like.dim() - mask.dim())))
    return mask.to(like.dtype).expand_as(like)


def n_step_returns(rewards: Tensor, bootstrap: Tensor, done: Tensor, truncated: Tensor,
                   gamma: float, final_values: Tensor | None = None) -> Tensor:
    """Discounted n-step returns G_t of one rollout, bootstrapped at its end.

    Parameters
    ----------
    rewards : float ``[T, *B]`` rewards of steps 0..T-1 (B e.g. (E, N)).
    bootstrap : float ``[*B]`` value of the observation after step T-1 (its final observation
        when the episode was truncated there). Ignored where step T-1 terminated.
    done, truncated : bool ``[T, *B']`` with B' a prefix of B (e.g. [T, E]); truncated implies done.
    gamma : discount per step.
    final_values : float ``[T, *B]`` value of each truncated step's final observation; required only
        when an episode is truncated before step T-1.

    Returns
    -------
    float ``[T, *B]`` with G_t = r_t + gamma * next_t, next_t = G_{t+1} if the episode continues,
    V(final obs) if truncated, 0 if terminated (and next_{T-1} = bootstrap unless terminated).

    Examples
    --------
    >>> r = torch.tensor([1.0, 1.0, 1.0]); f = torch.tensor([False, False, False])
    >>> n_step_returns(r, torch.tensor(10.0), f, f, 0.5).tolist()
    [3.0, 4.0, 6.0]
    """
    t_len = rewards.shape[0]
    _check("bootstrap", bootstrap, rewards.shape[1:])
    done_f, trunc_f = _expand(done, rewards, "done"), _expand(truncated, rewards, "truncated")
    if bool((trunc_f > done_f).any()):
        raise ValueError("truncated is True where done is False; truncated steps must be done")
    if final_values is None:
        if t_len > 1 and bool(trunc_f[:-1].any()):
            raise ValueError("an episode is truncated before the rollout's last step: pass "
                             "final_values, or end rollouts at episode ends")
        final_values = torch.zeros_like(rewards)
    else:
        _check("final_values", final_values, rewards.shape)
    returns = torch.empty_like(rewards)  # [T, *B]
    final = trunc_f * final_values
    final[-1] = trunc_f[-1] * bootstrap
    nxt = bootstrap
    for t in range(t_len - 1, -1, -1):
        nxt = rewards[t] + gamma * ((1.0 - done_f[t]) * nxt + final[t])
        returns[t] = nxt
    return returns


def policy_value_entropy(logits: Tensor, actions: Tensor, values: Tensor,
                         returns: Tensor) -> dict[str, Tensor]:
    """A3C terms per agent: logits [T, E, N, K], actions int, values, returns [T, E, N].

    Returns {"policy": -mean(log pi(a) * A), "value": mean 0.5 (G - V)^2, "entropy": mean H(pi)},
    each [N], with advantages A = G - V detached.
    """
    _check("actions", actions, logits.shape[:-1])
    _check("values", values, logits.shape[:-1])
    _check("returns", returns, logits.shape[:-1])
    logp = torch.log_softmax(logits, dim=-1)  # [T, E, N, K]
    taken = logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # [T, E, N]
    adv = (returns - values).detach()
    dims = tuple(range(values.dim() - 1))
    return {"policy": -(taken * adv).mean(dims),
            "value": 0.5 * (returns - values).pow(2).mean(dims),
            "entropy": -(logp.exp() * logp).sum(-1).mean(dims)}


def moa_cross_entropy(logits: Tensor, targets: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Cross-entropy of the MOA's predictions over the valid entries, per predicting agent.

    logits [T, E, N, M, A] (agent n's prediction of its M others' next actions), targets int
    [T, E, N, M], mask bool [T, E, N, M]. Returns (loss [N], accuracy: scalar, detached).
    """
    _check("targets", targets, logits.shape[:-1])
    _check("mask", mask, logits.shape[:-1])
    ce = torch.nn.functional.cross_entropy(logits.flatten(0, -2), targets.clamp(min=0).flatten(),
                                           reduction="none").view_as(targets)  # [T, E, N, M]
    w = mask.to(ce.dtype)
    count = w.sum(dim=(0, 1, 3)).clamp(min=1.0)  # [N]
    loss = (ce * w).sum(dim=(0, 1, 3)) / count
    with torch.no_grad():
        hit = (logits.argmax(-1) == targets).to(ce.dtype) * w
        accuracy = hit.sum() / w.sum().clamp(min=1.0)
    return loss, accuracy
