"""Extrinsic reward variants for comparison (SPEC 2 extras): prosocial and inequity aversion.

Prosocial: r_k = e_k + eta * sum_{i != k} e_i (paper's best eta = 0.85).
Inequity aversion (Hughes et al. 2018, "Inequity aversion improves cooperation in intertemporal
social dilemmas", NeurIPS): with smoothed rewards s_j(t) = gamma*lambda * s_j(t-1) + e_j(t),

    r_i = e_i - alpha/(N-1) sum_{j!=i} max(s_j - s_i, 0) - beta/(N-1) sum_{j!=i} max(s_i - s_j, 0),

alpha = 5 (envy), beta = 0.05 (guilt). The smoothing decay gamma*lambda defaults to
0.99 * 0.975 (`ModelConfig.ia_smoothing`; lambda = 0.975 is our choice, the paper leaves it a
hyperparameter). The trace restarts at 0 at each episode.
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainers.models.config import ModelConfig

__all__ = ["prosocial", "inequity_aversion", "reward_shaper", "EnvReward", "Prosocial",
           "InequityAversion", "SHAPERS"]


def prosocial(rewards: Tensor, eta: float) -> Tensor:
    """rewards [..., N] -> e_k + eta * sum_{i != k} e_i, [..., N].

    >>> prosocial(torch.tensor([1.0, 0.0, 2.0]), 0.5).tolist()
    [2.0, 1.5, 2.5]
    """
    return rewards + eta * (rewards.sum(-1, keepdim=True) - rewards)


def inequity_aversion(rewards: Tensor, smoothed: Tensor, alpha: float, beta: float) -> Tensor:
    """Inequity-averse rewards [..., N] from rewards e and smoothed rewards s, both [..., N].

    >>> inequity_aversion(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0]), 5.0, 0.05).tolist()
    [0.949999988079071, -5.0]
    """
    n = rewards.shape[-1]
    if n < 2:
        return rewards.clone()
    diff = smoothed.unsqueeze(-2) - smoothed.unsqueeze(-1)  # [..., i, j] = s_j - s_i
    envy = diff.clamp(min=0).sum(-1)
    guilt = (-diff).clamp(min=0).sum(-1)
    return rewards - (alpha * envy + beta * guilt) / (n - 1)


class EnvReward:
    """The environment's rewards unchanged; the protocol of every reward shaping.

    ``shaped = shaper(rewards[E, N], done[E])``; `done` marks envs whose episode ended at this
    step (a stateful shaping restarts there).
    """

    name = "env"

    def __init__(self, cfg: ModelConfig, n_envs: int, n_agents: int,
                 device: torch.device | str = "cpu") -> None:
        self.cfg, self.shape = cfg, (n_envs, n_agents)

    def __call__(self, rewards: Tensor, done: Tensor | None = None) -> Tensor:
        if tuple(rewards.shape) != self.shape:
            raise ValueError(f"rewards has shape {tuple(rewards.shape)}, expected "
                             f"{self.shape} [E, N]")
        return self.shape_rewards(rewards, done)

    def shape_rewards(self, rewards: Tensor, done: Tensor | None) -> Tensor:
        return rewards


class Prosocial(EnvReward):
    """Each agent also gets eta times the others' rewards (`prosocial`)."""

    name = "prosocial"

    def shape_rewards(self, rewards: Tensor, done: Tensor | None) -> Tensor:
        return prosocial(rewards, self.cfg.prosocial_eta)


class InequityAversion(EnvReward):
    """Envy and guilt on smoothed rewards (`inequity_aversion`); the trace restarts per episode."""

    name = "inequity_aversion"

    def __init__(self, cfg: ModelConfig, n_envs: int, n_agents: int,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(cfg, n_envs, n_agents, device)
        self.trace = torch.zeros(n_envs, n_agents, device=device)  # [E, N] smoothed rewards

    def shape_rewards(self, rewards: Tensor, done: Tensor | None) -> Tensor:
        cfg = self.cfg
        self.trace = cfg.ia_smoothing * self.trace + rewards
        shaped = inequity_aversion(rewards, self.trace, cfg.ia_alpha, cfg.ia_beta)
        if done is not None:
            self.trace = self.trace * (~done.to(self.trace.device)).to(self.trace.dtype)[:, None]
        return shaped


SHAPERS = {cls.name: cls for cls in (EnvReward, Prosocial, InequityAversion)}


def reward_shaper(cfg: ModelConfig, n_envs: int, n_agents: int,
                 device: torch.device | str = "cpu") -> EnvReward:
    """The reward shaping chosen by ``cfg.reward`` for E env copies of N agents."""
    return SHAPERS[cfg.reward](cfg, n_envs, n_agents, device)
