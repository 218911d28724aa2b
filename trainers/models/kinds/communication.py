"""Influential communication (paper section 6, Eq. 2): messages that change the others' actions.

Every agent emits a discrete message m_k(t) in 0..V-1 from a message head on its core output
(hidden ReLU layer of `message_embedding` units, then message logits and its own value head). At
t+1 every other agent receives it one-hot in its core input. The influence of m_k(t-1) on j's
action at t is computed at t by swapping the slot of k in j's input for every symbol and
marginalising with k's message policy at t-1 (kept in the recurrent state). The action head
learns from e; the message head from alpha * e + beta(t) * c.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from trainers.losses import n_step_returns, policy_value_entropy
from trainers.models.influence import counterfactual_influence, pairs_from_slots
from trainers.models.kinds.base import ExtraLoss, ModelKind, Replay, previous
from trainers.models.layers import AgentLinear, agent_major_linear, to_agent_last
from trainers.models.network import ActingStep, AgentsNetwork, sample
from trainers.models.rollout import Rollout

__all__ = ["Communication", "MessageHead"]


class MessageHead(nn.Module):
    """Per-agent message policy and message value: core output [B, N, H] -> ([B, N, V], [B, N])."""

    def __init__(self, n_agents: int, hidden: int, embedding: int, vocab: int,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.embed = AgentLinear(n_agents, hidden, embedding, generator)
        self.logits = AgentLinear(n_agents, embedding, vocab, generator, gain=0.01)
        self.value = AgentLinear(n_agents, embedding, 1, generator)

    def forward(self, out: Tensor) -> tuple[Tensor, Tensor]:
        z = torch.relu(to_agent_last(out, self.embed))
        return to_agent_last(z, self.logits), to_agent_last(z, self.value).squeeze(-1)

    def agent_major(self, out: Tensor) -> tuple[Tensor, Tensor]:
        """The same on agent-major core outputs ``[N, *B, H]`` -> (``[N, *B, V]``, ``[N, *B]``)."""
        z = torch.relu(agent_major_linear(out, self.embed))
        return agent_major_linear(z, self.logits), agent_major_linear(z, self.value).squeeze(-1)


class Communication(ModelKind):
    """Others' previous messages as N-1 one-hot slots; a message head with its own value head."""

    name = "communication"
    min_agents = 2
    computes_influence = True
    loss_names = ("message_policy", "message_value")
    sends_messages = True

    def slots(self) -> tuple[int, int]:
        return self.n_agents - 1, self.cfg.vocab_size

    def build(self, net: AgentsNetwork, generator: torch.Generator) -> None:
        cfg = self.cfg
        net.add_module("message_head", MessageHead(self.n_agents, cfg.hidden_size,
                                                   cfg.message_embedding, cfg.vocab_size,
                                                   generator))

    def initial_state(self, net: AgentsNetwork, n_envs: int,
                      device: torch.device | str) -> dict[str, Tensor]:
        none = torch.full((n_envs, self.n_agents), -1, dtype=torch.long, device=device)
        return {"prev_message": none,
                "prev_message_logp": torch.zeros(n_envs, self.n_agents, self.cfg.vocab_size,
                                                 device=device)}  # [E, N, V]

    def acting_slots(self, net: AgentsNetwork, step: ActingStep) -> Tensor:
        return step.state["prev_message"][:, net.others]  # [E, N, N-1]

    def after_act(self, net: AgentsNetwork, step: ActingStep) -> None:
        msg_logits, step.message_values = net.message_head(step.out)
        step.message_logp = torch.log_softmax(msg_logits, dim=-1)  # [E, N, V]
        step.messages = sample(step.message_logp, step.generator)
        src_logp = step.state["prev_message_logp"][:, net.others]  # [E, N, N-1, V]
        vals = counterfactual_influence(net.counterfactual_logits(step), src_logp, step.slots,
                                        self.cfg.divergence,
                                        taken=step.actions.unsqueeze(-1).expand_as(step.slots))
        step.pairs = pairs_from_slots(vals, net.others.unsqueeze(0), step.slots >= 0,
                                      self.n_agents)
        step.new_state.update(prev_message=step.messages, prev_message_logp=step.message_logp)

    def rollout_fields(self, t_len: int, n_envs: int) -> dict[str, tuple[int, ...]]:
        n = self.n_agents
        return {"messages": (t_len, n_envs, n), "bootstrap_message_value": (n_envs, n)}

    def replay_slots(self, net: AgentsNetwork, rollout: Rollout) -> Tensor:
        return previous(rollout.messages, rollout.state["prev_message"],
                        rollout.done)[..., net.others]  # [T, E, N, N-1]

    def loss_terms(self, net: AgentsNetwork, replay: Replay) -> ExtraLoss:
        """The message head's A3C loss, learning from alpha * e + beta(t) * c."""
        cfg, r = self.cfg, replay.rollout
        msg_logits, msg_values = net.message_head.agent_major(replay.out)  # [N, T, E, V], [N, T, E]
        msg_logits, msg_values = msg_logits.permute(1, 2, 0, 3), msg_values.permute(1, 2, 0)
        returns = n_step_returns(cfg.alpha * r.rewards + replay.beta * r.influence,
                                 r.bootstrap_message_value, r.done, r.truncated, cfg.gamma,
                                 r.final_message_values)
        mv = policy_value_entropy(msg_logits, r.messages, msg_values, returns)
        total = cfg.message_loss_weight * (mv["policy"] + cfg.value_coef * mv["value"]
                                           - cfg.message_entropy_coef * mv["entropy"]).sum()
        return ExtraLoss(total=total,
                         terms={"message_policy": mv["policy"].sum(),
                                "message_value": mv["value"].sum(),
                                "message_entropy": mv["entropy"].mean()},
                         outputs={"message_probs": msg_logits.detach().softmax(-1)})
