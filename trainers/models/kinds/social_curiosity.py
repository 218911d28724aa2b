"""Social curiosity: reward an agent for the others' actions its model of them did not predict.

A curiosity reward (the prediction error of a learned model, as in Pathak et al. 2017, ICML)
computed from the MOA of the paper's section 6: at step t agent k's MOA predicted the next
actions q_k(a_j(t+1)) of every other agent j; at t+1 it is rewarded with the surprisal
-log q_k(a_j(t+1)) of what j actually did, for each j that was in k's view when predicting. The
MOA keeps learning to predict (its cross-entropy loss), so the reward fades where behaviour is
predictable and stays where the others react to something new. The action head learns from
alpha * e + beta(t) * c as for influence, with the same curriculum.

This file is the worked example of docs/extending.md: one class, one registry line.
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainers.models.kinds.moa import MOA
from trainers.models.network import ActingStep, AgentsNetwork

__all__ = ["SocialCuriosity"]


class SocialCuriosity(MOA):
    """The MOA's surprisal at the others' actions as the intrinsic reward (nats)."""

    name = "social_curiosity"

    @classmethod
    def pair_measure(cls, cfg) -> str:
        return "surprisal"

    def initial_state(self, net: AgentsNetwork, n_envs: int,
                      device: torch.device | str) -> dict[str, Tensor]:
        state = super().initial_state(net, n_envs, device)
        n, a = self.n_agents, self.n_actions
        state["curiosity_logq"] = torch.zeros(n_envs, n, n - 1, a, device=device)
        state["curiosity_seen"] = torch.zeros(n_envs, n, n - 1, device=device)  # 0: no guess
        return state

    def after_act(self, net: AgentsNetwork, step: ActingStep) -> None:
        super().after_act(net, step)  # the MOA step; its influence pairs are replaced below
        others = net.others.expand(step.actions.shape[0], -1, -1)  # [E, N, N-1]
        actual = step.actions.gather(1, others.flatten(1)).view_as(others)  # a_j(t) per (k, j)
        logq = step.state["curiosity_logq"]  # [E, N, N-1, A] predicted at t-1
        surprisal = -logq.gather(-1, actual.unsqueeze(-1)).squeeze(-1)  # [E, N, N-1]
        surprisal = torch.where(step.state["curiosity_seen"] > 0, surprisal,
                                torch.full_like(surprisal, float("nan")))
        step.pairs = torch.full((*others.shape[:2], self.n_agents), float("nan"),
                                device=surprisal.device).scatter_(2, others, surprisal)
        prediction = net.moa.logits(step.extras["moa_out"])  # [E, N, N-1, A] of a_j(t+1)
        step.new_state["curiosity_logq"] = torch.log_softmax(prediction, dim=-1)
        step.new_state["curiosity_seen"] = step.visible.gather(2, others).to(logq.dtype)
