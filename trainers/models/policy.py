"""The agents' model: N independent agents computed as one batch (SPEC 2, paper suppl. 10.4).

Per agent: conv features -> FC stack -> core (LSTM 128 or ff) -> policy and value heads, plus
the kind's extras: previous actions of the others (visible_actions), the influencers' current
actions (influence), the others' previous messages and a message head (communication), or a
model of other agents (moa). `act` is the no-grad acting step with the influence rewards;
`loss` (trainers.models.learner) replays a rollout with gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from trainers.models.communication import MessageHead, pairs_from_slots
from trainers.models.config import ModelConfig
from trainers.models.encoder import AgentMLP, ConvTorso, run_mlps
from trainers.models.influence import (
    counterfactual_influence,
    one_hot_slots,
    slot_rows,
)
from trainers.models.layers import AgentCore, AgentLinear, others_index, to_agent_last
from trainers.models.learner import rollout_loss
from trainers.models.moa import MOAStream
from trainers.models.rollout import ActOutput, LossOutput, Rollout

__all__ = ["AgentsModel"]


def sample(logp: Tensor, generator: torch.Generator | None) -> Tensor:
    """Categorical samples from log-probabilities [B, N, K] -> int64 [B, N]."""
    flat = logp.exp().reshape(-1, logp.shape[-1])  # [B*N, K]
    return torch.multinomial(flat, 1, generator=generator).view(logp.shape[:-1])


class AgentsModel(nn.Module):
    """All agents' networks; every parameter has a leading agent axis [N, ...].

    Parameters
    ----------
    cfg : ModelConfig.
    n_agents, n_actions : N agents, A actions.
    obs_shape : (H, W, 3) of each agent's view.
    seed : seed of the parameter initialisation (a private torch.Generator).
    """

    def __init__(self, cfg: ModelConfig, n_agents: int, n_actions: int,
                 obs_shape: tuple[int, int, int], seed: int = 0) -> None:
        super().__init__()
        cfg.validate()
        if cfg.kind in ("influence", "communication", "moa") and n_agents < 2:
            raise ValueError(f"ModelConfig.kind={cfg.kind!r} needs at least 2 agents, got "
                             f"n_agents={n_agents}; use kind='a3c' for a single agent")
        if n_agents < 1 or n_actions < 2:
            raise ValueError(f"n_agents={n_agents} must be >= 1 and n_actions={n_actions} >= 2")
        g = torch.Generator().manual_seed(seed)
        self.cfg, self.kind = cfg, cfg.kind
        self.n_agents, self.n_actions, self.obs_shape = n_agents, n_actions, tuple(obs_shape)
        n, a, v = n_agents, n_actions, cfg.vocab_size
        self.torso = ConvTorso(n, self.obs_shape, cfg.conv_channels, cfg.conv_kernel, g)
        self.mlp = AgentMLP(n, self.torso.out_features, cfg.fc_sizes, g)
        self.register_buffer("others", others_index(n), persistent=False)
        influencers = cfg.influencer_indices(n) if cfg.kind == "influence" else ()
        influencee = torch.ones(n, dtype=torch.bool)
        influencee[list(influencers)] = False
        self.register_buffer("influencers", torch.tensor(influencers, dtype=torch.long),
                             persistent=False)
        self.register_buffer("influencee", influencee, persistent=False)
        # one-hot slots of the core input: (count, values per slot)
        self.n_slots, self.slot_size = {"visible_actions": (n - 1, a),
                                        "influence": (len(influencers), a),
                                        "communication": (n - 1, v)}.get(cfg.kind, (0, 0))
        self.core = AgentCore(n, self.mlp.out_features + self.n_slots * self.slot_size,
                              cfg.hidden_size, cfg.core, g)
        self.policy_head = AgentLinear(n, cfg.hidden_size, a, g, gain=cfg.policy_init_scale)
        self.value_head = AgentLinear(n, cfg.hidden_size, 1, g)
        self.message_head = (MessageHead(n, cfg.hidden_size, cfg.message_embedding, v, g)
                             if cfg.kind == "communication" else None)
        self.moa = (MOAStream(n, a, self.torso.out_features, cfg.fc_sizes, cfg.hidden_size,
                              cfg.core, g) if cfg.kind == "moa" else None)

    # ---- state ---------------------------------------------------------------------------
    def initial_state(self, n_envs: int, device: torch.device | str = "cpu") -> dict[str, Tensor]:
        """Zero recurrent state for E env copies; previous actions/messages -1 (none)."""
        state = self.core.initial_state(n_envs, device)  # h, c: [E, N, H]
        none = torch.full((n_envs, self.n_agents), -1, dtype=torch.long, device=device)
        if self.kind == "visible_actions":
            state["prev_action"] = none
        if self.kind == "communication":
            state["prev_message"] = none.clone()
            state["prev_message_logp"] = torch.zeros(n_envs, self.n_agents, self.cfg.vocab_size,
                                                      device=device)  # [E, N, V]
        if self.moa is not None:
            state.update(self.moa.initial_state(n_envs, device))
        return state

    @staticmethod
    def reset_state(state: dict[str, Tensor], done: Tensor) -> dict[str, Tensor]:
        """Reset the envs whose episode ended: float state * (1 - done), integer state -> -1."""
        out = {}
        for key, x in state.items():
            d = done.to(x.device).view(-1, *([1] * (x.dim() - 1)))
            out[key] = (torch.where(d, torch.full_like(x, -1), x) if not x.is_floating_point()
                        else x * (~d).to(x.dtype))
        return out

    # ---- building blocks shared by act and the learner -----------------------------------
    def encode(self, obs: Tensor) -> list[Tensor]:
        """uint8 views [B, N, H, W, 3] -> FC outputs [B, N, fc] of the policy (and MOA) stream."""
        feats = self.torso(obs)  # [B, N, F] shared conv features
        return run_mlps(feats, [self.mlp] if self.moa is None else [self.mlp, self.moa.mlp])

    def core_input(self, z: Tensor, slots: Tensor | None) -> Tensor:
        """FC output [B, N, fc] and slot values int [B, N, S] (-1 empty) -> core input [B, N, D]."""
        if self.n_slots == 0:
            return z
        return torch.cat([z, one_hot_slots(slots, self.slot_size)], dim=-1)

    def influencer_slots(self, actions: Tensor) -> Tensor:
        """Current actions int [..., N] -> influencees' slots [..., N, K] (-1 for influencers)."""
        src = actions[..., self.influencers].unsqueeze(-2)  # [..., 1, K]
        return torch.where(self.influencee.view(-1, 1), src, torch.full_like(src, -1))

    def heads(self, out: Tensor) -> tuple[Tensor, Tensor]:
        """Core output [B, N, *extra, H] -> logits [B, N, *extra, A], values [B, N, *extra]."""
        return (to_agent_last(out, self.policy_head),
                to_agent_last(out, self.value_head).squeeze(-1))

    def core_state(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        return {k: state[k] for k in ("h", "c") if k in state}

    def counterfactual_logits(self, gates: Tensor, slots: Tensor,
                              cstate: dict[str, Tensor]) -> Tensor:
        """Action logits for every value of every slot, from the same core state.

        gates [B, N, G] the actual step's `AgentCore.gates`, slots int [B, N, S]
        -> [B, N, S, V, A].
        """
        off = self.mlp.out_features
        rows = slot_rows(self.core.input_rows(off, off + self.n_slots * self.slot_size),
                         self.n_slots)  # [N, S, V, G]
        return self.core.counterfactual(gates, rows, slots, cstate,
                                        self.policy_head)  # [B, N, S, V, A]

    # ---- acting --------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: Tensor, state: dict[str, Tensor], visible: Tensor | None = None,
            generator: torch.Generator | None = None) -> ActOutput:
        """One acting step of all agents in all env copies (no gradients).

        obs uint8 [E, N, H, W, 3]; state from `initial_state` / the previous ActOutput (after
        `reset_state`); visible bool [E, N, N] (required by moa); generator on obs.device.
        """
        n_envs, n = obs.shape[0], self.n_agents
        if tuple(obs.shape[1:]) != (n, *self.obs_shape):
            raise ValueError(f"obs has shape {tuple(obs.shape)}, expected "
                             f"[E, {n}, {', '.join(map(str, self.obs_shape))}]")
        if self.moa is not None and visible is None:
            raise ValueError("the moa model needs visible (bool [E, N, N], info['visible'])")
        z, *z_moa = self.encode(obs)  # [E, N, fc] policy stream (and MOA stream)
        cstate = self.core_state(state)
        kind, div = self.kind, self.cfg.divergence
        pairs = torch.full((n_envs, n, n), float("nan"), device=obs.device)  # [E, N(src), N(tgt)]
        new_state: dict[str, Tensor] = {}
        messages = message_logp = message_values = None
        if kind == "influence":
            empty = torch.full((n_envs, n, self.n_slots), -1, dtype=torch.long, device=obs.device)
            out0, _ = self.core.step(self.core.input_proj(self.core_input(z, empty)), cstate)
            logp0 = torch.log_softmax(self.heads(out0)[0], dim=-1)  # influencers act first
            first = sample(logp0, generator)  # [E, N]
            slots = self.influencer_slots(first)  # [E, N, K]
            gates = self.core.gates(self.core.input_proj(self.core_input(z, slots)), cstate)
            out, new_state = self.core.activate(gates, cstate)  # gates [E, N, G]
            logits, values = self.heads(out)
            logp = torch.log_softmax(logits, dim=-1)
            actions = torch.where(self.influencee, sample(logp, generator), first)
            cf_logits = self.counterfactual_logits(gates, slots, cstate)  # [E, N, K, A, A]
            vals = counterfactual_influence(
                cf_logits, logp0[:, self.influencers].unsqueeze(1), slots, div,
                taken=actions.unsqueeze(-1).expand_as(slots))  # [E, N(tgt), K]
            pairs = pairs_from_slots(vals, self.influencers.view(1, 1, -1),
                                     self.influencee.view(1, -1, 1), n)
        else:
            if kind == "visible_actions":
                slots = state["prev_action"][:, self.others]  # [E, N, N-1]
            elif kind == "communication":
                slots = state["prev_message"][:, self.others]  # [E, N, N-1]
            else:
                slots = None
            gates = self.core.gates(self.core.input_proj(self.core_input(z, slots)), cstate)
            out, new_state = self.core.activate(gates, cstate)  # gates [E, N, G], out [E, N, H]
            logits, values = self.heads(out)
            logp = torch.log_softmax(logits, dim=-1)  # [E, N, A]
            actions = sample(logp, generator)
            if kind == "visible_actions":
                new_state["prev_action"] = actions
            elif kind == "communication":
                msg_logits, message_values = self.message_head(out)
                message_logp = torch.log_softmax(msg_logits, dim=-1)  # [E, N, V]
                messages = sample(message_logp, generator)
                cf_logits = self.counterfactual_logits(gates, slots, cstate)  # [E, N, N-1, V, A]
                src_logp = state["prev_message_logp"][:, self.others]  # [E, N, N-1, V]
                vals = counterfactual_influence(cf_logits, src_logp, slots, div,
                                                taken=actions.unsqueeze(-1).expand_as(slots))
                pairs = pairs_from_slots(vals, self.others.unsqueeze(0), slots >= 0, n)
                new_state.update(prev_message=messages, prev_message_logp=message_logp)
            elif kind == "moa":
                mpre = self.moa.pre(z_moa[0], actions)  # [E, N, G]
                pairs, moa_state = self.moa.step_with_influence(mpre, actions, logp, state,
                                                                visible, div)
                new_state.update(moa_state)
        influence = pairs.nansum(dim=2)  # [E, N] sum over targets
        if kind == "influence" and self.cfg.influencee_reward:
            influence = influence + pairs.nansum(dim=1)  # influencees: influence undergone
        if self.cfg.influence_clip is not None:
            influence = influence.clamp(-self.cfg.influence_clip, self.cfg.influence_clip)
        return ActOutput(actions=actions, probs=logp.exp(), values=values, influence_pairs=pairs,
                         influence=influence, state=new_state, messages=messages,
                         message_probs=None if message_logp is None else message_logp.exp(),
                         message_values=message_values)

    # ---- learning ------------------------------------------------------------------------
    def loss(self, rollout: Rollout, beta: float = 0.0) -> LossOutput:
        """Replay `rollout` from its start state with gradients; see trainers.models.learner."""
        return rollout_loss(self, rollout, beta)

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
