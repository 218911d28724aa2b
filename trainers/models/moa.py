"""Model of other agents (MOA, paper section 6): predicts every other agent's next action.

A second stream on the shared conv features: its own FC stack and core; its input also holds
all N agents' actions at t (one-hot). Agent k's stream predicts a_j(t+1) for its N-1 others j
(ordered by `others[k]`). The influence of a_k(t) on a_j(t+1) swaps k's own action in its MOA
input for every counterfactual (one batched pass) and marginalises with k's policy; it counts only
when j is inside k's view at t.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from trainers.models.encoder import AgentMLP
from trainers.models.influence import (
    counterfactual_influence,
    one_hot_slots,
    slot_rows,
)
from trainers.models.layers import AgentCore, AgentLinear, others_index, to_agent_last

__all__ = ["MOAStream", "others_index", "moa_targets"]


class MOAStream(nn.Module):
    """The MOA stream of all N agents, batched over agents."""

    def __init__(self, n_agents: int, n_actions: int, conv_features: int,
                 fc_sizes: tuple[int, ...], hidden: int, core: str,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.n_agents, self.n_actions = n_agents, n_actions
        self.mlp = AgentMLP(n_agents, conv_features, fc_sizes, generator)
        self.core = AgentCore(n_agents, self.mlp.out_features + n_agents * n_actions, hidden,
                              core, generator)
        self.head = AgentLinear(n_agents, hidden, (n_agents - 1) * n_actions, generator)
        self.register_buffer("others", others_index(n_agents), persistent=False)

    def initial_state(self, n_envs: int, device: torch.device | str) -> dict[str, Tensor]:
        return {f"moa_{k}": v for k, v in self.core.initial_state(n_envs, device).items()}

    @staticmethod
    def core_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
        return {k[4:]: v for k, v in state.items() if k.startswith("moa_")}

    def inputs(self, z: Tensor, actions: Tensor) -> Tensor:
        """MOA FC output z [B, N, fc] (`self.mlp` of the conv features) and all actions int [B, N]
        -> core inputs [B, N, fc + N*A]."""
        acts = one_hot_slots(actions, self.n_actions)  # [B, N*A]
        acts = acts.unsqueeze(1).expand(-1, self.n_agents, -1)  # [B, N, N*A]
        return torch.cat([z, acts], dim=-1)

    def pre(self, z: Tensor, actions: Tensor) -> Tensor:
        """As `inputs`, then the core's input projection -> pre-activations [B, N, G]."""
        return self.core.input_proj(self.inputs(z, actions))

    def logits(self, out: Tensor) -> Tensor:
        """Core output [B, N, *extra, H] -> logits [B, N, *extra, N-1, A]."""
        y = to_agent_last(out, self.head)
        return y.reshape(*y.shape[:-1], self.n_agents - 1, self.n_actions)

    def step_with_influence(self, pre: Tensor, actions: Tensor, policy_logp: Tensor,
                            state: dict[str, Tensor], visible: Tensor,
                            kind: str) -> tuple[Tensor, dict[str, Tensor]]:
        """MOA step plus the influence of each agent's action on its others' next actions.

        pre [B, N, G] (from `pre` with the actual actions), actions int [B, N], policy_logp
        [B, N, A] log pi_k, state: MOA state before the step, visible bool [B, N, N].
        Returns pairs [B, N(source k), N(target j)] (D in nats where j is in k's view, 0 where it
        is not, NaN on the diagonal) and the new MOA state (the step with the actual actions).
        """
        n, a = self.n_agents, self.n_actions
        off = self.mlp.out_features
        rows = slot_rows(self.core.input_rows(off, off + n * a), n)  # [N, N(slot), A, G]
        agent = torch.arange(n, device=pre.device)
        own = rows[agent, agent].unsqueeze(1)  # [N, 1, A, G] rows of each agent's own action
        cstate = self.core_state(state)
        base = self.core.gates(pre, cstate)  # [B, N, G]
        _, new = self.core.activate(base, cstate)  # the step with the actual actions
        new_state = {f"moa_{k}": v for k, v in new.items()}
        logits = self.core.counterfactual(base, own, actions.unsqueeze(-1), cstate,
                                          self.head)  # [B, N, 1, A(v~), (N-1) A]
        logits = logits.view(-1, n, a, n - 1, a)  # [B, N, A(v~), N-1, A]
        cf_logits = logits.transpose(2, 3)  # [B, N, N-1, A(v~), A]
        vals = counterfactual_influence(cf_logits, policy_logp.unsqueeze(2),
                                        actions.unsqueeze(-1), kind)  # [B, N, N-1]
        seen = visible.gather(2, self.others.unsqueeze(0).expand(vals.shape[0], -1, -1))
        pairs = torch.full((*vals.shape[:2], n), float("nan"), device=vals.device)  # [B, N, N]
        # j out of k's view: the influence is not defined (NaN), and contributes no reward
        vals = torch.where(seen, vals, torch.full_like(vals, float("nan")))
        pairs.scatter_(2, self.others.unsqueeze(0).expand_as(vals), vals)
        return pairs, new_state


def moa_targets(actions: Tensor, done: Tensor, visible: Tensor, others: Tensor,
                next_actions: Tensor | None, next_visible: Tensor | None,
                visible_only: bool) -> tuple[Tensor, Tensor]:
    """Targets and mask of the MOA predictions made at steps 0..T-1.

    actions int [T, E, N], done bool [T, E], visible bool [T, E, N, N], others [N, N-1].
    The prediction at t targets a_j(t+1); it is left out where the episode ended at t, at the
    last step when `next_actions` is None, and (visible_only) where j is outside the predictor's
    view at t+1. Returns targets int [T, E, N, N-1] and mask bool [T, E, N, N-1].
    """
    t_len, n_envs, n = actions.shape
    last = torch.full_like(actions[0], -1) if next_actions is None else next_actions
    nxt = torch.cat([actions[1:], last.unsqueeze(0)], dim=0)  # [T, E, N]
    targets = nxt[:, :, others]  # [T, E, N, N-1]
    mask = (targets >= 0) & ~done.view(t_len, n_envs, 1, 1)
    if visible_only:
        last_vis = torch.zeros_like(visible[0]) if next_visible is None else next_visible
        vis = torch.cat([visible[1:], last_vis.unsqueeze(0)], dim=0)  # [T, E, N, N]
        idx = others.view(1, 1, n, n - 1).expand(t_len, n_envs, -1, -1)
        mask = mask & vis.gather(3, idx)
    return targets, mask
