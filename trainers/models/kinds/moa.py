"""Model of other agents (MOA, paper section 6): influence through predicted actions.

A second stream on the shared conv features: its own FC stack and core; its input also holds
all N agents' actions at t (one-hot). Agent k's stream predicts a_j(t+1) for its N-1 others j
(ordered by `others[k]`), trained by cross-entropy. The influence of a_k(t) on a_j(t+1) swaps k's
own action in its MOA input for every counterfactual (one batched pass) and marginalises with
k's policy; it counts only when j is inside k's view at t. The action head learns from
alpha * e + beta(t) * c.

Next to the MOA's accuracy the learner logs two baselines on the same targets: each agent's
most frequent action of the episode so far, and its previous action. An MOA that does not beat
them has learned nothing about the others beyond habit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from trainers.losses import moa_cross_entropy
from trainers.models.encoder import AgentMLP
from trainers.models.influence import counterfactual_influence, one_hot_slots, slot_rows
from trainers.models.kinds.base import ExtraLoss, ModelKind, Replay
from trainers.models.layers import (
    AgentCore,
    AgentLinear,
    agent_major_linear,
    others_index,
    to_agent_last,
)
from trainers.models.network import ActingStep, AgentsNetwork
from trainers.models.rollout import Rollout

__all__ = ["MOA", "MOAStream", "moa_targets", "baseline_predictions"]


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
        """Core output ``[B, N, *extra, H]`` -> logits ``[B, N, *extra, N-1, A]``."""
        y = to_agent_last(out, self.head)
        return y.reshape(*y.shape[:-1], self.n_agents - 1, self.n_actions)

    def step_with_influence(self, pre: Tensor, actions: Tensor, policy_logp: Tensor,
                            state: dict[str, Tensor], visible: Tensor,
                            kind: str) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        """MOA step plus the influence of each agent's action on its others' next actions.

        pre [B, N, G] (from `pre` with the actual actions), actions int [B, N], policy_logp
        [B, N, A] log pi_k, state: MOA state before the step, visible bool [B, N, N].
        Returns pairs [B, N(source k), N(target j)] (D in nats where j is in k's view, NaN where
        it is not and on the diagonal), the new MOA state and the MOA core's output [B, N, H]
        (the step with the actual actions).
        """
        n, a = self.n_agents, self.n_actions
        off = self.mlp.out_features
        rows = slot_rows(self.core.input_rows(off, off + n * a), n)  # [N, N(slot), A, G]
        agent = torch.arange(n, device=pre.device)
        own = rows[agent, agent].unsqueeze(1)  # [N, 1, A, G] rows of each agent's own action
        cstate = self.core_state(state)
        base = self.core.gates(pre, cstate)  # [B, N, G]
        out, new = self.core.activate(base, cstate)  # the step with the actual actions
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
        return pairs, new_state, out


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


def baseline_predictions(actions: Tensor, counts0: Tensor, done: Tensor) -> tuple[Tensor, Tensor]:
    """The two habit baselines of a prediction of a_j(t+1) made at t, for every agent j.

    actions int [T, E, N]; counts0 [E, N, A] each agent's action counts of the episode before
    step 0; done bool [T, E]. Returns (most frequent action of the episode up to and including t,
    ties to the lowest action; the action at t), both int [T, E, N].
    """
    hot = nn.functional.one_hot(actions.clamp(min=0), counts0.shape[-1]).to(counts0.dtype)
    counts, frequent = counts0, []
    for t in range(actions.shape[0]):
        counts = counts + hot[t]
        frequent.append(counts.argmax(-1))
        counts = counts * (~done[t]).to(counts.dtype).view(-1, 1, 1)
    return torch.stack(frequent), actions


class MOA(ModelKind):
    """A model of other agents beside the policy; influence through its predictions."""

    name = "moa"
    min_agents = 2
    computes_influence = True
    loss_names = ("moa",)
    needs_visible = True
    learns_from_influence = True
    divergences = ("kl", "jsd")  # PMI needs the influencee's taken action, only predicted here

    def build(self, net: AgentsNetwork, generator: torch.Generator) -> None:
        cfg = self.cfg
        net.add_module("moa", MOAStream(self.n_agents, self.n_actions, net.torso.out_features,
                                        cfg.fc_sizes, cfg.hidden_size, cfg.core, generator))

    def streams(self, net: AgentsNetwork) -> list[AgentMLP]:
        return [net.moa.mlp]

    def initial_state(self, net: AgentsNetwork, n_envs: int,
                      device: torch.device | str) -> dict[str, Tensor]:
        state = net.moa.initial_state(n_envs, device)
        state["moa_counts"] = torch.zeros(n_envs, self.n_agents, self.n_actions, device=device)
        return state

    def after_act(self, net: AgentsNetwork, step: ActingStep) -> None:
        pre = net.moa.pre(step.streams[0], step.actions)  # [E, N, G]
        step.pairs, moa_state, step.extras["moa_out"] = net.moa.step_with_influence(
            pre, step.actions, step.logp, step.state, step.visible, self.cfg.divergence)
        step.new_state.update(moa_state)
        hot = one_hot_slots(step.actions.unsqueeze(-1), self.n_actions)  # [E, N, A]
        step.new_state["moa_counts"] = step.state["moa_counts"] + hot

    def replay_cores(self, net: AgentsNetwork, streams: list[Tensor],
                     rollout: Rollout) -> list[tuple[AgentCore, Tensor, dict[str, Tensor]]]:
        """The MOA core, replayed with the policy core (one LSTM cell of 2N agents)."""
        pre = net.moa.core.input_proj_agent_major(
            net.moa.inputs(streams[0], rollout.actions.flatten(0, 1)))  # [N, T*E, G]
        return [(net.moa.core, pre, net.moa.core_state(rollout.state))]

    def loss_terms(self, net: AgentsNetwork, replay: Replay) -> ExtraLoss:
        """Cross-entropy of the predictions; accuracy next to the habit baselines'."""
        cfg, r = self.cfg, replay.rollout
        t_len, n_envs, n = r.actions.shape
        moa_logits = agent_major_linear(replay.extra_outs[0], net.moa.head)
        moa_logits = moa_logits.view(n, t_len, n_envs, n - 1, -1).permute(1, 2, 0, 3, 4)
        targets, mask = moa_targets(r.actions, r.done, r.visible, net.others, r.next_actions,
                                    r.next_visible, cfg.moa_visible_only)  # [T, E, N, N-1]
        ce, accuracy = moa_cross_entropy(moa_logits, targets, mask)  # [N], scalar
        frequent, last = baseline_predictions(r.actions, r.state["moa_counts"], r.done)
        w = mask.to(ce.dtype)
        valid = w.sum().clamp(min=1.0)

        def hit_rate(guess: Tensor) -> Tensor:  # guess int [T, E, N] of each agent's a(t+1)
            return ((guess[:, :, net.others] == targets).to(ce.dtype) * w).sum() / valid

        return ExtraLoss(total=cfg.moa_loss_weight * ce.sum(),
                         terms={"moa": ce.sum(), "moa_accuracy": accuracy,
                                "moa_baseline_frequent": hit_rate(frequent),
                                "moa_baseline_previous": hit_rate(last)},
                         outputs={"moa_probs": moa_logits.detach().softmax(-1)})
