"""Visible actions baseline (paper section 6.1): agents see the others' previous actions.

Each agent's core input also holds the N-1 other agents' actions of step t-1 (one-hot; empty at
an episode's first step). No influence reward: the ablation that shows whether seeing actions
alone explains the influence models' gains.
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainers.models.kinds.base import ModelKind, previous
from trainers.models.network import ActingStep, AgentsNetwork
from trainers.models.rollout import Rollout

__all__ = ["VisibleActions"]


class VisibleActions(ModelKind):
    """Others' previous actions as N-1 one-hot slots of the core input."""

    name = "visible_actions"
    min_agents = 1

    def slots(self) -> tuple[int, int]:
        return self.n_agents - 1, self.n_actions

    def initial_state(self, net: AgentsNetwork, n_envs: int,
                      device: torch.device | str) -> dict[str, Tensor]:
        return {"prev_action": torch.full((n_envs, self.n_agents), -1, dtype=torch.long,
                                          device=device)}

    def acting_slots(self, net: AgentsNetwork, step: ActingStep) -> Tensor:
        return step.state["prev_action"][:, net.others]  # [E, N, N-1]

    def after_act(self, net: AgentsNetwork, step: ActingStep) -> None:
        step.new_state["prev_action"] = step.actions

    def replay_slots(self, net: AgentsNetwork, rollout: Rollout) -> Tensor:
        return previous(rollout.actions, rollout.state["prev_action"],
                        rollout.done)[..., net.others]  # [T, E, N, N-1]
