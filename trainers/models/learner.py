"""The learner's side of the model: replay a rollout with gradients and build the loss terms.

The rollout is replayed from the recurrent state saved at its start: conv and FC layers run over
all T*E observations at once, only the core steps over T, and the state is reset with a
(1 - done[t]) mask after each step, exactly as during acting. The model kind supplies the core's
slot inputs, extra recurrent streams, the action head's reward and its extra loss terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from trainers.losses import n_step_returns, policy_value_entropy
from trainers.models.kinds.base import ModelKind, Replay
from trainers.models.layers import AgentCore, agent_major_linear
from trainers.models.network import AgentsNetwork
from trainers.models.rollout import LossOutput, Rollout

__all__ = ["rollout_loss", "unroll", "unroll_agent_major"]


def unroll(core: AgentCore, pre: Tensor, state: dict[str, Tensor], done: Tensor) -> Tensor:
    """Step `core` over pre [T, E, N, G] from `state`, state * (1 - done[t]) -> [T, E, N, H]."""
    t_len, n_envs = pre.shape[:2]
    if not core.recurrent:
        return core.step(pre.flatten(0, 1), state)[0].unflatten(0, (t_len, n_envs))
    keep = (~done).to(pre.dtype).view(t_len, n_envs, 1, 1)  # [T, E, 1, 1]
    ends = done[:-1].any(dim=1).tolist()  # mask only after steps where some episode ended
    outs = []
    for t, pre_t in enumerate(pre.unbind(0)):  # unbind: one gradient stack, not T zero-fills
        out, state = core.step(pre_t, state)  # out [E, N, H]
        outs.append(out)
        if t < t_len - 1 and ends[t]:
            state = {k: v * keep[t] for k, v in state.items()}
    return torch.stack(outs)  # [T, E, N, H]


def unroll_agent_major(cores: Sequence[AgentCore], pres: Sequence[Tensor],
                       states: Sequence[dict[str, Tensor]], done: Tensor) -> list[Tensor]:
    """`unroll` of several cores of one kind and width together, agent-major (the fast path).

    pres[i] [N_i, T, E, G] agent-major pre-activations of core i, states[i] its start state
    {h, c: [E, N_i, H]}. LSTM cores are stacked along the agent axis and stepped as one batched
    cell of sum(N_i) agents (policy and MOA streams: one step per t instead of two), each step one
    ``baddbmm`` (pre + h @ W_hh) on contiguous [M, E, .] blocks. Returns outputs [N_i, T, E, H];
    the values of `unroll` up to rounding, moved agent-first.
    """
    if not cores[0].recurrent:
        return [core.activate(pre, {})[0] for core, pre in zip(cores, pres, strict=True)]
    t_len, n_envs = pres[0].shape[1:3]
    cat = (lambda xs: xs[0]) if len(cores) == 1 else (lambda xs: torch.cat(xs, dim=0))
    pre = cat(list(pres))  # [M, T, E, G]
    rec = cat([core.rec for core in cores])  # [M, H, G]
    state = {k: cat([s[k].transpose(0, 1) for s in states]) for k in ("h", "c")}  # [M, E, H]
    keep = (~done).to(pre.dtype).view(t_len, 1, n_envs, 1)  # [T, 1, E, 1]
    ends = done[:-1].any(dim=1).tolist()  # mask only after steps where some episode ended
    outs = []
    for t, pre_t in enumerate(pre.unbind(1)):  # unbind: one gradient stack, not T zero-fills
        out, state = cores[0].activate(torch.baddbmm(pre_t, state["h"], rec), state)  # [M, E, H]
        outs.append(out)
        if t < t_len - 1 and ends[t]:
            state = {k: v * keep[t] for k, v in state.items()}
    out = torch.stack(outs, dim=1)  # [M, T, E, H]
    return list(out.split([core.n_agents for core in cores], dim=0))


def _check(rollout: Rollout, net: AgentsNetwork, kind: ModelKind) -> None:
    t_len, n_envs = rollout.actions.shape[:2]
    n = net.n_agents
    want = {"obs": (t_len, n_envs, n, *net.obs_shape), "actions": (t_len, n_envs, n),
            "rewards": (t_len, n_envs, n), "influence": (t_len, n_envs, n),
            "visible": (t_len, n_envs, n, n), "done": (t_len, n_envs),
            "truncated": (t_len, n_envs), "bootstrap_value": (n_envs, n),
            **kind.rollout_fields(t_len, n_envs)}
    for name, shape in want.items():
        x = getattr(rollout, name)
        if x is None:
            raise ValueError(f"Rollout.{name} is None; the {kind.name!r} model needs it {shape}")
        if tuple(x.shape) != shape:
            raise ValueError(f"Rollout.{name} has shape {tuple(x.shape)}, expected {shape}")


def rollout_loss(net: AgentsNetwork, kind: ModelKind, rollout: Rollout,
                 beta: float = 0.0) -> LossOutput:
    """A3C loss of one rollout for every agent (sum over agents of per-agent means over T, E).

    The action head learns from ``kind.action_reward`` (e, or alpha*e + beta*c); the kind adds
    its own terms (`ModelKind.loss_terms`). Logged terms: policy, value, entropy,
    extrinsic_reward and influence_reward (means per agent-step), return, and the kind's; all
    detached.
    """
    _check(rollout, net, kind)
    cfg = net.cfg
    t_len, n_envs, n = rollout.actions.shape
    done, state0 = rollout.done, rollout.state
    z, *streams = net.encode(rollout.obs.flatten(0, 1), kind.streams(net))  # [T*E, N, fc] each
    slots = kind.replay_slots(net, rollout)  # [T, E, N, S] or None
    slots = None if slots is None else slots.flatten(0, 1)  # [T*E, N, S]
    # agent-major from here: [N, T, E, ...] keeps every per-agent matmul on contiguous blocks
    pre = net.core.input_proj_agent_major(net.core_input(z, slots))  # [N, T*E, G]
    cores, pres, states = [net.core], [pre.view(n, t_len, n_envs, -1)], [net.core_state(state0)]
    for core, core_pre, core_state in kind.replay_cores(net, streams, rollout):
        cores.append(core)
        pres.append(core_pre.view(n, t_len, n_envs, -1))
        states.append(core_state)
    out, *extra_outs = unroll_agent_major(cores, pres, states, done)  # [N, T, E, H] each
    logits = agent_major_linear(out, net.policy_head).permute(1, 2, 0, 3)  # [T, E, N, A]
    values = agent_major_linear(out, net.value_head).squeeze(-1).permute(1, 2, 0)  # [T, E, N]

    e, c = rollout.rewards, rollout.influence
    returns = n_step_returns(kind.action_reward(e, c, beta), rollout.bootstrap_value, done,
                             rollout.truncated, cfg.gamma, rollout.final_values)
    pv = policy_value_entropy(logits, rollout.actions, values, returns)  # each [N]
    total = (pv["policy"] + cfg.value_coef * pv["value"] - cfg.entropy_coef * pv["entropy"]).sum()
    terms = {"policy": pv["policy"].sum(), "value": pv["value"].sum(),
             "entropy": pv["entropy"].mean(), "extrinsic_reward": e.mean(),
             "influence_reward": c.mean(), "return": returns.mean()}
    outputs = {"probs": logits.detach().softmax(-1), "values": values.detach()}
    extra = kind.loss_terms(net, Replay(rollout=rollout, out=out, extra_outs=extra_outs,
                                        streams=streams, beta=beta))
    terms.update(extra.terms)
    outputs.update(extra.outputs)
    return LossOutput(total=total + extra.total, terms={k: v.detach() for k, v in terms.items()},
                      outputs=outputs)
