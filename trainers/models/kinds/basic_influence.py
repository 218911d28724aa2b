"""Basic social influence (paper section 6, Eq. 1): influencers act first, influencees see it.

The influencers (`ModelConfig.influencers`) choose their actions at t first; every influencee's
core input holds those actions (one-hot, one slot per influencer). The influence of influencer k
on influencee j is the divergence between j's policy given k's actual action and j's policy
marginalised over k's counterfactual actions under k's own policy (`counterfactual_influence`);
influencers learn from alpha * e + beta(t) * sum_j c_kj.
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainers.models.influence import counterfactual_influence, pairs_from_slots
from trainers.models.kinds.base import ModelKind
from trainers.models.network import ActingStep, AgentsNetwork, sample
from trainers.models.rollout import Rollout

__all__ = ["BasicInfluence"]


class BasicInfluence(ModelKind):
    """Influencers' current actions as one-hot slots of the influencees' core inputs."""

    name = "influence"
    min_agents = 2
    computes_influence = True
    learns_from_influence = True

    def __init__(self, cfg, n_agents: int, n_actions: int) -> None:
        super().__init__(cfg, n_agents, n_actions)
        self.influencers = cfg.influencer_indices(n_agents)

    def slots(self) -> tuple[int, int]:
        return len(self.influencers), self.n_actions

    def build(self, net: AgentsNetwork, generator: torch.Generator) -> None:
        influencee = torch.ones(self.n_agents, dtype=torch.bool)
        influencee[list(self.influencers)] = False
        net.register_buffer("influencers", torch.tensor(self.influencers, dtype=torch.long),
                            persistent=False)
        net.register_buffer("influencee", influencee, persistent=False)

    @staticmethod
    def influencer_slots(net: AgentsNetwork, actions: Tensor) -> Tensor:
        """Current actions int [..., N] -> influencees' slots [..., N, K] (-1 for influencers)."""
        src = actions[..., net.influencers].unsqueeze(-2)  # [..., 1, K]
        return torch.where(net.influencee.view(-1, 1), src, torch.full_like(src, -1))

    def act(self, net: AgentsNetwork, step: ActingStep) -> None:
        """Influencers act first (empty slots); the influencees act on their actions."""
        empty = torch.full((*step.z.shape[:2], net.n_slots), -1, dtype=torch.long,
                           device=step.z.device)
        out0, _ = net.core.step(net.core.input_proj(net.core_input(step.z, empty)),
                                step.core_state)
        logp0 = torch.log_softmax(net.heads(out0)[0], dim=-1)  # [E, N, A]
        first = sample(logp0, step.generator)  # [E, N]
        step.slots = self.influencer_slots(net, first)  # [E, N, K]
        net.policy_step(step)
        step.actions = torch.where(net.influencee, step.actions, first)
        vals = counterfactual_influence(
            net.counterfactual_logits(step), logp0[:, net.influencers].unsqueeze(1), step.slots,
            self.cfg.divergence,
            taken=step.actions.unsqueeze(-1).expand_as(step.slots))  # [E, N(target), K]
        step.pairs = pairs_from_slots(vals, net.influencers.view(1, 1, -1),
                                      net.influencee.view(1, -1, 1), self.n_agents)

    def influence_reward(self, pairs: Tensor) -> Tensor:
        """Influence exerted, plus (``influencee_reward``) the influence undergone."""
        reward = pairs.nansum(dim=2)
        if self.cfg.influencee_reward:
            reward = reward + pairs.nansum(dim=1)
        return reward

    def replay_slots(self, net: AgentsNetwork, rollout: Rollout) -> Tensor:
        return self.influencer_slots(net, rollout.actions)  # [T, E, N, K]
