"""Influential communication (paper Eq. 2): the message head and the pairing of message influence.

Every agent emits a discrete message m_k(t) in 0..V-1 from a message head on its core output
(hidden ReLU layer of `message_embedding` units, then message logits and its own value head). At
t+1 every other agent receives it one-hot in its core input. The influence of m_k(t-1) on j's
action at t is computed at t by swapping the slot of k in j's input for every symbol and
marginalising with k's message policy at t-1 (kept in the recurrent state).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from trainers.models.layers import AgentLinear, agent_major_linear, to_agent_last

__all__ = ["MessageHead", "pairs_from_slots"]


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
        """The same on agent-major core outputs [N, *B, H] -> ([N, *B, V], [N, *B])."""
        z = torch.relu(agent_major_linear(out, self.embed))
        return agent_major_linear(z, self.logits), agent_major_linear(z, self.value).squeeze(-1)


def pairs_from_slots(vals: Tensor, sources: Tensor, valid: Tensor, n_agents: int) -> Tensor:
    """Scatter per-slot influence into pairs.

    vals [B, N(target), S] influence of slot s on target j; sources int [N, S] or [B, N, S] the
    source agent of each slot; valid bool broadcastable to vals. Returns [B, N(source), N(target)]
    with NaN where no valid slot maps to the pair.
    """
    b, n, s = vals.shape
    src = sources.expand(b, n, s)  # [B, N(target), S]
    out = torch.full((b, n_agents, n), float("nan"), device=vals.device)  # [B, N(src), N(tgt)]
    tgt = torch.arange(n, device=vals.device).view(1, n, 1).expand(b, n, s)
    bi = torch.arange(b, device=vals.device).view(b, 1, 1).expand(b, n, s)
    keep = valid.expand(b, n, s)
    out[bi[keep], src[keep], tgt[keep]] = vals[keep]
    return out
