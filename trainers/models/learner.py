"""The learner's side of the model: replay a rollout with gradients and build the loss terms.

The rollout is replayed from the recurrent state saved at its start: conv and FC layers run over
all T*E observations at once, only the core steps over T, and the state is reset with a
(1 - done[t]) mask after each step, exactly as during acting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from trainers.losses import moa_cross_entropy, n_step_returns, policy_value_entropy
from trainers.models.layers import AgentCore, agent_major_linear
from trainers.models.moa import MOAStream, moa_targets
from trainers.models.rollout import LossOutput, Rollout

if TYPE_CHECKING:
    from trainers.models.policy import AgentsModel

__all__ = ["rollout_loss", "unroll", "unroll_agent_major", "previous"]


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


def previous(values: Tensor, first: Tensor, done: Tensor) -> Tensor:
    """Values of the previous step: int [T, E, N] -> [T, E, N]; -1 after an episode's end.

    first int [E, N] is the previous value before step 0 (from the start state).
    """
    prev = torch.cat([first.unsqueeze(0), values[:-1]], dim=0)  # [T, E, N]
    ended = torch.cat([torch.zeros_like(done[:1]), done[:-1]], dim=0).unsqueeze(-1)  # [T, E, 1]
    return torch.where(ended, torch.full_like(prev, -1), prev)


def _check(rollout: Rollout, model: AgentsModel) -> None:
    t_len, n_envs = rollout.actions.shape[:2]
    n = model.n_agents
    want = {"obs": (t_len, n_envs, n, *model.obs_shape), "actions": (t_len, n_envs, n),
            "rewards": (t_len, n_envs, n), "influence": (t_len, n_envs, n),
            "visible": (t_len, n_envs, n, n), "done": (t_len, n_envs),
            "truncated": (t_len, n_envs), "bootstrap_value": (n_envs, n)}
    if model.kind == "communication":
        want.update(messages=(t_len, n_envs, n), bootstrap_message_value=(n_envs, n))
    for name, shape in want.items():
        x = getattr(rollout, name)
        if x is None:
            raise ValueError(f"Rollout.{name} is None; the {model.kind!r} model needs it {shape}")
        if tuple(x.shape) != shape:
            raise ValueError(f"Rollout.{name} has shape {tuple(x.shape)}, expected {shape}")


def rollout_loss(model: AgentsModel, rollout: Rollout, beta: float = 0.0) -> LossOutput:
    """A3C loss of one rollout for every agent (sum over agents of per-agent means over T, E).

    Rewards: action head `alpha*e + beta*c` for influence/moa, `e` otherwise; communication's
    message head `alpha*e + beta*c`. Terms: policy, value, entropy (+ message_*, moa, moa_accuracy),
    extrinsic_reward and influence_reward (means per agent-step), all detached.
    """
    _check(rollout, model)
    cfg, kind = model.cfg, model.kind
    t_len, n_envs, n = rollout.actions.shape
    done, state0 = rollout.done, rollout.state
    z, *z_moa = model.encode(rollout.obs.flatten(0, 1))  # [T*E, N, fc] each stream
    if kind == "visible_actions":
        slots = previous(rollout.actions, state0["prev_action"], done)[..., model.others]
    elif kind == "communication":
        slots = previous(rollout.messages, state0["prev_message"], done)[..., model.others]
    elif kind == "influence":
        slots = model.influencer_slots(rollout.actions)  # [T, E, N, K]
    else:
        slots = None
    slots = None if slots is None else slots.flatten(0, 1)  # [T*E, N, S]
    # agent-major from here: [N, T, E, ...] keeps every per-agent matmul on contiguous blocks
    pre = model.core.input_proj_agent_major(model.core_input(z, slots))  # [N, T*E, G]
    cores, pres, states = [model.core], [pre.view(n, t_len, n_envs, -1)], [model.core_state(state0)]
    if kind == "moa":  # the MOA core steps together with the policy core (one cell of 2N agents)
        mpre = model.moa.core.input_proj_agent_major(
            model.moa.inputs(z_moa[0], rollout.actions.flatten(0, 1)))  # [N, T*E, G]
        cores.append(model.moa.core)
        pres.append(mpre.view(n, t_len, n_envs, -1))
        states.append(model.moa.core_state(state0))
    out, *mout = unroll_agent_major(cores, pres, states, done)  # [N, T, E, H] each
    logits = agent_major_linear(out, model.policy_head).permute(1, 2, 0, 3)  # [T, E, N, A]
    values = agent_major_linear(out, model.value_head).squeeze(-1).permute(1, 2, 0)  # [T, E, N]

    e, c = rollout.rewards, rollout.influence
    learns_influence = kind in ("influence", "moa")
    reward = cfg.alpha * e + beta * c if learns_influence else e
    returns = n_step_returns(reward, rollout.bootstrap_value, done, rollout.truncated, cfg.gamma,
                             rollout.final_values)
    pv = policy_value_entropy(logits, rollout.actions, values, returns)  # each [N]
    total = (pv["policy"] + cfg.value_coef * pv["value"] - cfg.entropy_coef * pv["entropy"]).sum()
    terms = {"policy": pv["policy"].sum(), "value": pv["value"].sum(),
             "entropy": pv["entropy"].mean(), "extrinsic_reward": e.mean(),
             "influence_reward": c.mean(), "return": returns.mean()}
    outputs = {"probs": logits.detach().softmax(-1), "values": values.detach()}

    if kind == "communication":
        msg_logits, msg_values = model.message_head.agent_major(out)  # [N, T, E, V], [N, T, E]
        msg_logits, msg_values = msg_logits.permute(1, 2, 0, 3), msg_values.permute(1, 2, 0)
        msg_returns = n_step_returns(cfg.alpha * e + beta * c, rollout.bootstrap_message_value,
                                     done, rollout.truncated, cfg.gamma,
                                     rollout.final_message_values)
        mv = policy_value_entropy(msg_logits, rollout.messages, msg_values, msg_returns)
        total = total + cfg.message_loss_weight * (
            mv["policy"] + cfg.value_coef * mv["value"]
            - cfg.message_entropy_coef * mv["entropy"]).sum()
        terms.update(message_policy=mv["policy"].sum(), message_value=mv["value"].sum(),
                     message_entropy=mv["entropy"].mean())
        outputs["message_probs"] = msg_logits.detach().softmax(-1)

    if kind == "moa":
        moa: MOAStream = model.moa
        moa_logits = agent_major_linear(mout[0], moa.head).view(n, t_len, n_envs, n - 1, -1)
        moa_logits = moa_logits.permute(1, 2, 0, 3, 4)  # [T, E, N, N-1, A]
        targets, mask = moa_targets(rollout.actions, done, rollout.visible, model.others,
                                    rollout.next_actions, rollout.next_visible,
                                    cfg.moa_visible_only)  # [T, E, N, N-1]
        ce, accuracy = moa_cross_entropy(moa_logits, targets, mask)  # [N], scalar
        total = total + cfg.moa_loss_weight * ce.sum()
        terms.update(moa=ce.sum(), moa_accuracy=accuracy)
        outputs["moa_probs"] = moa_logits.detach().softmax(-1)

    return LossOutput(total=total, terms={k: v.detach() for k, v in terms.items()},
                      outputs=outputs)
