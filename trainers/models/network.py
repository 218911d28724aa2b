"""The network every model kind shares (paper suppl. 10.4), N agents computed as one batch.

Per agent: conv features -> FC stack -> core (LSTM 128 or ff) -> policy and value heads. A model
kind (`trainers.models.kinds`) adds one-hot input slots to the core (others' actions, messages),
extra modules (message head, model of other agents) and its own acting and loss terms; this
module knows nothing about any kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from trainers.models.config import ModelConfig
from trainers.models.encoder import AgentMLP, ConvTorso, run_mlps
from trainers.models.influence import one_hot_slots, slot_rows
from trainers.models.layers import AgentCore, AgentLinear, others_index, to_agent_last

__all__ = ["AgentsNetwork", "ActingStep", "sample"]


def sample(logp: Tensor, generator: torch.Generator | None) -> Tensor:
    """Categorical samples from log-probabilities [B, N, K] -> int64 [B, N]."""
    flat = logp.exp().reshape(-1, logp.shape[-1])  # [B*N, K]
    return torch.multinomial(flat, 1, generator=generator).view(logp.shape[:-1])


def core_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The core's part of a model state ({h, c} for an LSTM, empty for ff)."""
    return {k: state[k] for k in ("h", "c") if k in state}


@dataclass
class ActingStep:
    """One acting step of all agents in E env copies, filled in as it is computed (no grad).

    The network fills the policy step (`AgentsNetwork.policy_step`); a model kind reads and adds
    what it needs (slots before, influence pairs and messages after).
    """

    z: Tensor
    """[E, N, fc] policy-stream features."""
    streams: list[Tensor]
    """the kind's extra feature streams on the same conv features (e.g. the MOA's) [E, N, fc]."""
    state: dict[str, Tensor]
    """recurrent state before the step (`AgentsModel.initial_state` / the previous step)."""
    visible: Tensor | None
    """bool [E, N, N]: visible[e, k, j] when j is inside k's view."""
    generator: torch.Generator | None
    slots: Tensor | None = None
    """int [E, N, S] one-hot slot values of the core input (-1 empty); None without slots."""
    gates: Tensor | None = None
    """[E, N, G] the core's gate pre-activations (recurrent part included)."""
    out: Tensor | None = None
    """[E, N, H] core output."""
    logp: Tensor | None = None
    """[E, N, A] log pi(a | s)."""
    values: Tensor | None = None
    """[E, N] value estimates."""
    actions: Tensor | None = None
    """int64 [E, N] sampled actions."""
    new_state: dict[str, Tensor] = field(default_factory=dict)
    """recurrent state after the step."""
    pairs: Tensor | None = None
    """[E, N(source), N(target)] influence in nats, NaN where undefined (kinds with influence)."""
    messages: Tensor | None = None
    message_logp: Tensor | None = None
    message_values: Tensor | None = None
    extras: dict[str, Tensor] = field(default_factory=dict)
    """values a kind keeps for its subclasses (e.g. the MOA core's output, ``moa_out``)."""

    @property
    def core_state(self) -> dict[str, Tensor]:
        """The core's part of the state ({h, c} for an LSTM, empty for ff)."""
        return core_state(self.state)


class AgentsNetwork(nn.Module):
    """The shared body; every parameter has a leading agent axis [N, ...].

    Parameters
    ----------
    cfg : ModelConfig.
    n_agents, n_actions : N agents, A actions.
    obs_shape : (H, W, 3) of each agent's view.
    slots : (count S, values per slot V) of one-hot inputs the kind feeds to the core.
    generator : the parameter initialisation's generator (modules are drawn in order).
    """

    def __init__(self, cfg: ModelConfig, n_agents: int, n_actions: int,
                 obs_shape: tuple[int, int, int], slots: tuple[int, int],
                 generator: torch.Generator) -> None:
        super().__init__()
        if n_agents < 1 or n_actions < 2:
            raise ValueError(f"n_agents={n_agents} must be >= 1 and n_actions={n_actions} >= 2")
        g = generator
        self.cfg = cfg
        self.n_agents, self.n_actions, self.obs_shape = n_agents, n_actions, tuple(obs_shape)
        self.n_slots, self.slot_size = slots
        self.torso = ConvTorso(n_agents, self.obs_shape, cfg.conv_channels, cfg.conv_kernel, g)
        self.mlp = AgentMLP(n_agents, self.torso.out_features, cfg.fc_sizes, g)
        self.register_buffer("others", others_index(n_agents), persistent=False)
        self.core = AgentCore(n_agents, self.mlp.out_features + self.n_slots * self.slot_size,
                              cfg.hidden_size, cfg.core, g)
        self.policy_head = AgentLinear(n_agents, cfg.hidden_size, n_actions, g,
                                       gain=cfg.policy_init_scale)
        self.value_head = AgentLinear(n_agents, cfg.hidden_size, 1, g)

    @staticmethod
    def reset_state(state: dict[str, Tensor], done: Tensor) -> dict[str, Tensor]:
        """Reset the envs whose episode ended: float state * (1 - done), integer state -> -1."""
        out = {}
        for key, x in state.items():
            d = done.to(x.device).view(-1, *([1] * (x.dim() - 1)))
            out[key] = (torch.where(d, torch.full_like(x, -1), x) if not x.is_floating_point()
                        else x * (~d).to(x.dtype))
        return out

    def encode(self, obs: Tensor, streams: list[AgentMLP] | tuple = ()) -> list[Tensor]:
        """uint8 views [B, N, H, W, 3] -> FC outputs [B, N, fc] of the policy stream and of each
        extra stream (their first layers run as one matmul on the shared conv features)."""
        return run_mlps(self.torso(obs), [self.mlp, *streams])

    def core_input(self, z: Tensor, slots: Tensor | None) -> Tensor:
        """FC output [B, N, fc] and slot values int [B, N, S] (-1 empty) -> core input [B, N, D]."""
        if self.n_slots == 0:
            return z
        return torch.cat([z, one_hot_slots(slots, self.slot_size)], dim=-1)

    def heads(self, out: Tensor) -> tuple[Tensor, Tensor]:
        """Core output ``[B, N, *extra, H]`` -> logits ``[B, N, *extra, A]``, values
        ``[B, N, *extra]``."""
        return (to_agent_last(out, self.policy_head),
                to_agent_last(out, self.value_head).squeeze(-1))

    core_state = staticmethod(core_state)

    def policy_step(self, step: ActingStep) -> None:
        """The core and heads on ``step.slots``; fills gates, out, logp, values, actions (sampled
        with ``step.generator``) and the core's part of ``new_state``."""
        cstate = step.core_state
        step.gates = self.core.gates(self.core.input_proj(self.core_input(step.z, step.slots)),
                                     cstate)
        step.out, new = self.core.activate(step.gates, cstate)  # [E, N, H]
        logits, step.values = self.heads(step.out)
        step.logp = torch.log_softmax(logits, dim=-1)  # [E, N, A]
        step.actions = sample(step.logp, step.generator)
        step.new_state.update(new)

    def counterfactual_logits(self, step: ActingStep) -> Tensor:
        """Action logits for every value of every slot, from the step's core state.

        From ``step.gates`` [E, N, G] and ``step.slots`` int [E, N, S] -> [E, N, S, V, A]: entry
        [e, n, s, v] has slot s set to v and the other slots at their actual values (one batched
        pass; `AgentCore.counterfactual`). Logits, not log-probs: the divergences normalise
        them in float64 (`trainers.models.influence.counterfactual_influence`).
        """
        off = self.mlp.out_features
        rows = slot_rows(self.core.input_rows(off, off + self.n_slots * self.slot_size),
                         self.n_slots)  # [N, S, V, G]
        return self.core.counterfactual(step.gates, rows, step.slots, step.core_state,
                                        self.policy_head)

    @torch.no_grad()
    def clip_grad_norm_(self, max_norm: float) -> Tensor:
        """Clip each agent's gradient norm separately to `max_norm`; returns the norms [N]."""
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if not grads:
            return torch.zeros(self.n_agents, device=self.value_head.bias.device)
        norms = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0).sqrt()  # [N]
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))
        return norms

