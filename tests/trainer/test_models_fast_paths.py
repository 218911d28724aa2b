"""Fast paths of the model against the straightforward computation they replace.

Acting: `AgentCore.counterfactual` (fused kernel on the CPU) == `activate(counterfactual_pre(...))`.
Learning: `unroll_agent_major` (agent-major, policy and MOA cores stacked) == `unroll` per core,
and the whole loss (values and every parameter's gradient) == a reference replay written with the
per-core unroll and agent-second heads.
"""

import pytest
import torch

from trainers.losses import moa_cross_entropy, n_step_returns, policy_value_entropy
from trainers.models import MODEL_KINDS, AgentsModel, ModelConfig
from trainers.models.influence import counterfactual_pre
from trainers.models.kinds.base import previous
from trainers.models.kinds.moa import MOA, moa_targets
from trainers.models.layers import AgentCore, AgentLinear, agent_major_linear, to_agent_last
from trainers.models.learner import unroll, unroll_agent_major
from trainers.models.synthetic import random_rollout

torch.set_num_threads(1)
N, A, OBS = 3, 5, (6, 6, 3)
SMALL = {"fc_sizes": (8, 8), "hidden_size": 12, "conv_channels": 2, "vocab_size": 4,
         "message_embedding": 6}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # fused kernel; torch path
@pytest.mark.parametrize("kind", ["lstm", "ff"])
def test_counterfactual_matches_activate_of_counterfactual_pre(kind, dtype):
    g = torch.Generator().manual_seed(0)
    b, n, s, v, d_in, hid = 5, 3, 2, 4, 3, 6
    core = AgentCore(n, d_in + s * v, hid, kind, g).to(dtype)
    head = AgentLinear(n, hid, 7, g).to(dtype)
    state = {"h": torch.randn(b, n, hid, generator=g, dtype=dtype),
             "c": torch.randn(b, n, hid, generator=g, dtype=dtype)}
    state = state if kind == "lstm" else {}
    actual = torch.randint(-1, v, (b, n, s), generator=g)  # -1: an empty slot
    pre = torch.randn(b, n, core.inp.out_features, generator=g, dtype=dtype)
    rows = core.input_rows(d_in, d_in + s * v).reshape(n, s, v, -1).detach()  # [N, S, V, G]
    with torch.no_grad():
        base = core.gates(pre, state)
        ref_out, _ = core.activate(counterfactual_pre(base, rows, actual), state)
        ref = to_agent_last(ref_out, head)  # [B, N, S, V, 7]
        out = core.counterfactual(base, rows, actual, state, head)
    assert out.shape == (b, n, s, v, 7) and out.dtype == dtype
    torch.testing.assert_close(out, ref, atol=2e-6, rtol=2e-6)


@pytest.mark.parametrize("kind", ["lstm", "ff"])
@pytest.mark.parametrize("n_cores", [1, 2])
def test_unroll_agent_major_matches_unroll_with_gradients(kind, n_cores):
    g = torch.Generator().manual_seed(1)
    t_len, e, n, d_in, hid = 5, 3, 2, 4, 6
    cores = [AgentCore(n, d_in, hid, kind, g) for _ in range(n_cores)]
    pres = [torch.randn(t_len, e, n, cores[0].inp.out_features, generator=g, requires_grad=True)
            for _ in cores]
    states = [{k: torch.randn(e, n, hid, generator=g, requires_grad=True) for k in ("h", "c")}
              if kind == "lstm" else {} for _ in cores]
    done = torch.zeros(t_len, e, dtype=torch.bool)
    done[1, 0] = done[3, 2] = done[4, 1] = True
    ref = [unroll(core, pre, st, done) for core, pre, st in zip(cores, pres, states, strict=True)]
    out = unroll_agent_major(cores, [p.permute(2, 0, 1, 3) for p in pres], states, done)
    for o, r in zip(out, ref, strict=True):
        torch.testing.assert_close(o.permute(1, 2, 0, 3), r)
    weights = [torch.randn(r.shape, generator=g) for r in ref]
    leaves = [*pres, *[x for st in states for x in st.values()],
              *[p for core in cores for p in core.parameters()]]
    grads_ref = torch.autograd.grad(sum((r * w).sum() for r, w in zip(ref, weights, strict=True)),
                                    leaves, allow_unused=True)
    grads = torch.autograd.grad(sum((o.permute(1, 2, 0, 3) * w).sum()
                                    for o, w in zip(out, weights, strict=True)),
                                leaves, allow_unused=True)
    for gr, gf in zip(grads_ref, grads, strict=True):
        if gr is None:
            assert gf is None or not gf.any()
        else:
            torch.testing.assert_close(gf, gr)


def reference_loss(model, rollout, beta):
    """The loss written the straightforward way: per-core `unroll`, agent-second layers."""
    cfg, kind = model.cfg, model.kind
    t_len, n_envs, n = rollout.actions.shape
    done, state0 = rollout.done, rollout.state
    te = (t_len, n_envs)
    z, *z_moa = model.encode(rollout.obs.flatten(0, 1))
    slots = {"visible_actions": lambda: previous(rollout.actions, state0.get("prev_action"),
                                                 done)[..., model.others],
             "communication": lambda: previous(rollout.messages, state0.get("prev_message"),
                                               done)[..., model.others],
             "influence": lambda: model.variant.influencer_slots(model, rollout.actions)}.get(kind)
    slots = None if slots is None else slots().flatten(0, 1)
    pre = model.core.input_proj(model.core_input(z, slots)).unflatten(0, te)
    out = unroll(model.core, pre, model.core_state(state0), done)
    logits, values = model.heads(out.flatten(0, 1))
    logits, values = logits.unflatten(0, te), values.unflatten(0, te)
    e, c = rollout.rewards, rollout.influence
    reward = cfg.alpha * e + beta * c if model.variant.learns_from_influence else e
    returns = n_step_returns(reward, rollout.bootstrap_value, done, rollout.truncated, cfg.gamma)
    pv = policy_value_entropy(logits, rollout.actions, values, returns)
    total = (pv["policy"] + cfg.value_coef * pv["value"] - cfg.entropy_coef * pv["entropy"]).sum()
    if kind == "communication":
        msg_logits, msg_values = model.message_head(out.flatten(0, 1))
        msg_returns = n_step_returns(cfg.alpha * e + beta * c, rollout.bootstrap_message_value,
                                     done, rollout.truncated, cfg.gamma)
        mv = policy_value_entropy(msg_logits.unflatten(0, te), rollout.messages,
                                  msg_values.unflatten(0, te), msg_returns)
        total = total + cfg.message_loss_weight * (
            mv["policy"] + cfg.value_coef * mv["value"]
            - cfg.message_entropy_coef * mv["entropy"]).sum()
    if isinstance(model.variant, MOA):  # moa and the kinds built on it
        moa = model.moa
        mpre = moa.pre(z_moa[0], rollout.actions.flatten(0, 1)).unflatten(0, te)
        mout = unroll(moa.core, mpre, moa.core_state(state0), done)
        moa_logits = moa.logits(mout.flatten(0, 1)).unflatten(0, te)
        targets, mask = moa_targets(rollout.actions, done, rollout.visible, model.others,
                                    rollout.next_actions, rollout.next_visible,
                                    cfg.moa_visible_only)
        total = total + cfg.moa_loss_weight * moa_cross_entropy(moa_logits, targets, mask)[0].sum()
    return total


@pytest.mark.parametrize("core", ["lstm", "ff"])
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_loss_and_gradients_match_the_reference_replay(kind, core):
    model = AgentsModel(ModelConfig(kind=kind, core=core, **SMALL), N, A, OBS, seed=2)
    rollout = random_rollout(model, n_steps=6, n_envs=3, seed=4, done_at=(2,), truncate=False)
    params = list(model.parameters())
    total = model.loss(rollout, beta=0.3).total
    grads = torch.autograd.grad(total, params, allow_unused=True)
    ref_total = reference_loss(model, rollout, 0.3)
    ref_grads = torch.autograd.grad(ref_total, params, allow_unused=True)
    torch.testing.assert_close(total, ref_total)
    for p, gf, gr in zip(params, grads, ref_grads, strict=True):
        if gr is None:
            assert gf is None or not gf.any()
        else:
            torch.testing.assert_close(gf, gr, msg=lambda m, p=p: f"{tuple(p.shape)}: {m}")


def test_agent_major_linear_matches_the_layer():
    g = torch.Generator().manual_seed(3)
    model = AgentsModel(ModelConfig(**SMALL), N, A, OBS, seed=3)
    x = torch.randn(N, 2, 4, SMALL["hidden_size"], generator=g)  # [N, *B, H]
    ref = model.policy_head(x.movedim(0, -2)).movedim(-2, 0)
    torch.testing.assert_close(agent_major_linear(x, model.policy_head), ref)
