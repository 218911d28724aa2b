"""Influence rewards against brute-force loops over counterfactual actions and messages."""

import math

import numpy as np
import pytest
import torch

from trainers.models import AgentsModel, ModelConfig, counterfactual_influence, divergence
from trainers.models.layers import others_index

torch.set_num_threads(1)
A, OBS = 4, (5, 5, 3)
SMALL = {"fc_sizes": (8,), "hidden_size": 10, "conv_channels": 2, "vocab_size": 3,
         "message_embedding": 5}


@pytest.fixture(autouse=True)
def no_grad():
    with torch.no_grad():
        yield


def make(kind, n, div="kl", **kw):
    model = AgentsModel(ModelConfig(kind=kind, divergence=div, **{**SMALL, **kw}), n, A, OBS,
                        seed=1)
    with torch.no_grad():  # make policies and one-hot inputs matter, so influence is sizeable
        model.policy_head.weight.mul_(200.0)
        model.core.inp.weight[:, model.mlp.out_features:].mul_(4.0)
        if model.kind == "moa":
            model.moa.head.weight.mul_(20.0)
            model.moa.core.inp.weight[:, model.moa.mlp.out_features:].mul_(4.0)
    return model


def obs_batch(e, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (e, n, *OBS), generator=g, dtype=torch.uint8)


def d_ref(p, q, kind, taken):
    """Reference divergence in float64 numpy."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if kind == "kl":
        return float(np.sum(p * np.log(p / q)))
    if kind == "jsd":
        m = 0.5 * (p + q)
        return 0.5 * float(np.sum(p * np.log(p / m)) + np.sum(q * np.log(q / m)))
    return float(np.log(p[taken] / q[taken]))


def warm_state(model, e, n, vis):
    g = torch.Generator().manual_seed(5)
    state = model.initial_state(e)
    for t in range(2):
        state = model.act(obs_batch(e, n, 10 + t), state, vis, g).state
    return state


def test_divergences_hand_values():
    p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.75])
    kl = 0.5 * math.log(2.0) + 0.5 * math.log(0.5 / 0.75)
    assert divergence(p.log(), q.log(), "kl").item() == pytest.approx(kl, rel=1e-5)
    disjoint = torch.tensor([1.0, 1e-30]).log(), torch.tensor([1e-30, 1.0]).log()
    assert divergence(*disjoint, "jsd").item() == pytest.approx(math.log(2.0), rel=1e-5)
    assert divergence(p.log(), q.log(), "pmi", torch.tensor(1)).item() == \
        pytest.approx(math.log(0.5 / 0.75), rel=1e-5)
    with pytest.raises(ValueError, match="taken"):
        divergence(p.log(), q.log(), "pmi")
    with pytest.raises(ValueError, match="unknown"):
        divergence(p.log(), q.log(), "tv")


def test_counterfactual_influence_small_table():
    # p(a_j | v) for v = 0, 1; source policy (0.5, 0.5): marginal (0.5, 0.5)
    cf = torch.tensor([[0.9, 0.1], [0.1, 0.9]]).log()
    src = torch.tensor([0.5, 0.5]).log()
    got = counterfactual_influence(cf, src, torch.tensor(0), "kl")
    assert got.item() == pytest.approx(0.9 * math.log(1.8) + 0.1 * math.log(0.2), rel=1e-5)
    same = torch.tensor([[0.3, 0.7], [0.3, 0.7]]).log()
    assert counterfactual_influence(same, src, torch.tensor(1), "kl").item() == 0.0


@pytest.mark.parametrize(("div", "core"), [("kl", "lstm"), ("jsd", "lstm"), ("pmi", "lstm"),
                                         ("kl", "ff")])
def test_basic_influence_matches_brute_force(div, core):
    n, e = 4, 3
    influencers = (0, 2)
    model = make("influence", n, div, influencers=influencers, influencee_reward=True, core=core)
    state = warm_state(model, e, n, None)
    obs = obs_batch(e, n, 99)
    out = model.act(obs, state, None, torch.Generator().manual_seed(3))
    z = model.mlp(model.torso(obs))  # [E, N, fc]
    got = out.influence_pairs
    for b in range(e):
        cs = {k: state[k][b:b + 1] for k in ("h", "c") if k in state}
        for j in (1, 3):
            for ki, k in enumerate(influencers):
                p_cf = []
                for alt in range(A):
                    slots = torch.full((1, n, len(influencers)), -1, dtype=torch.long)
                    slots[0, j] = out.actions[b, list(influencers)]
                    slots[0, j, ki] = alt
                    h, _ = model.core.step(model.core.input_proj(model.core_input(z[b:b + 1],
                                                                                  slots)), cs)
                    p_cf.append(torch.softmax(model.heads(h)[0][0, j], -1).double().numpy())
                pi_k = out.probs[b, k].double().numpy()
                marginal = sum(pi_k[a] * p_cf[a] for a in range(A))
                want = d_ref(p_cf[out.actions[b, k]], marginal, div, out.actions[b, j])
                assert got[b, k, j].item() == pytest.approx(want, rel=1e-3, abs=1e-6)
    assert abs(got[~torch.isnan(got)]).max() > 1e-3  # the test is not vacuous
    infl = torch.nan_to_num(got)
    torch.testing.assert_close(out.influence, infl.sum(2) + infl.sum(1))


@pytest.mark.parametrize("div", ["kl", "jsd", "pmi"])
def test_communication_influence_matches_brute_force(div):
    n, e, v = 3, 2, 3
    model = make("communication", n, div)
    state = warm_state(model, e, n, None)
    obs = obs_batch(e, n, 98)
    out = model.act(obs, state, None, torch.Generator().manual_seed(4))
    z = model.mlp(model.torso(obs))
    others = others_index(n)
    prev = state["prev_message"][:, others]  # [E, N, N-1]
    for b in range(e):
        cs = {k: state[k][b:b + 1] for k in ("h", "c")}
        for j in range(n):
            for s, k in enumerate(others[j].tolist()):
                p_cf = []
                for m in range(v):
                    slots = prev[b:b + 1].clone()
                    slots[0, j, s] = m
                    h, _ = model.core.step(model.core.input_proj(model.core_input(z[b:b + 1],
                                                                                  slots)), cs)
                    p_cf.append(torch.softmax(model.heads(h)[0][0, j], -1).double().numpy())
                pi_m = state["prev_message_logp"][b, k].exp().double().numpy()
                marginal = sum(pi_m[m] * p_cf[m] for m in range(v))
                want = d_ref(p_cf[prev[b, j, s]], marginal, div, out.actions[b, j])
                assert out.influence_pairs[b, k, j].item() == pytest.approx(want, rel=1e-3,
                                                                            abs=1e-6)
    assert torch.nan_to_num(out.influence_pairs).abs().max() > 1e-3


@pytest.mark.parametrize(("div", "core"), [("kl", "lstm"), ("jsd", "lstm"), ("kl", "ff")])
def test_moa_influence_matches_brute_force(div, core):
    n, e = 3, 3
    model = make("moa", n, div, core=core)
    vis = torch.rand(e, n, n, generator=torch.Generator().manual_seed(0)) < 0.5
    vis |= torch.eye(n, dtype=torch.bool)
    state = warm_state(model, e, n, vis)
    obs = obs_batch(e, n, 97)
    out = model.act(obs, state, vis, torch.Generator().manual_seed(5))
    zm = model.moa.mlp(model.torso(obs))  # [E, N, fc]
    others = others_index(n)
    for b in range(e):
        cs = {k[4:]: v[b:b + 1] for k, v in state.items() if k.startswith("moa_")}
        for k in range(n):
            p_cf = []
            for alt in range(A):
                acts = out.actions[b].clone()
                acts[k] = alt
                hot = torch.nn.functional.one_hot(acts, A).float().flatten()  # [N*A]
                x = torch.cat([zm[b:b + 1], hot.expand(1, n, -1)], dim=-1)
                h, _ = model.moa.core.step(model.moa.core.input_proj(x), cs)
                p_cf.append(torch.softmax(model.moa.logits(h)[0, k], -1).double().numpy())
            pi_k = out.probs[b, k].double().numpy()
            for s, j in enumerate(others[k].tolist()):
                cf_j = [p[s] for p in p_cf]
                marginal = sum(pi_k[a] * cf_j[a] for a in range(A))
                got = out.influence_pairs[b, k, j].item()
                if not vis[b, k, j]:  # j out of k's view: undefined
                    assert math.isnan(got)
                    continue
                want = d_ref(cf_j[out.actions[b, k]], marginal, div, None)
                assert got == pytest.approx(want, rel=1e-3, abs=1e-6)
    assert torch.nan_to_num(out.influence_pairs).abs().max() > 1e-3


@pytest.mark.parametrize("kind", ["influence", "communication", "moa"])
def test_zero_when_influencee_ignores_the_input(kind):
    n, e = 3, 4
    model = make(kind, n)
    vis = torch.ones(e, n, n, dtype=torch.bool)
    with torch.no_grad():
        if kind == "moa":  # zero the rows of each agent's own action in its MOA input
            off = model.moa.mlp.out_features
            for k in range(n):
                model.moa.core.inp.weight[k, off + k * A: off + (k + 1) * A] = 0.0
        else:
            model.core.inp.weight[:, model.mlp.out_features:] = 0.0
    state = warm_state(model, e, n, vis)
    out = model.act(obs_batch(e, n, 1), state, vis, torch.Generator().manual_seed(0))
    defined = ~torch.isnan(out.influence_pairs)
    assert defined.any()
    assert out.influence_pairs[defined].abs().max() < 1e-6
    assert out.influence.abs().max() < 1e-5


def test_moa_influence_undefined_out_of_view():
    n, e = 3, 4
    model = make("moa", n)
    blind = torch.eye(n, dtype=torch.bool).expand(e, n, n)
    state = warm_state(model, e, n, blind)
    out = model.act(obs_batch(e, n, 2), state, blind, torch.Generator().manual_seed(0))
    off = ~torch.eye(n, dtype=torch.bool).expand(e, n, n)
    assert out.influence_pairs[off].isnan().all() and (out.influence == 0).all()
    seen = model.act(obs_batch(e, n, 2), state, torch.ones(e, n, n, dtype=torch.bool),
                     torch.Generator().manual_seed(0))
    assert (seen.influence > 0).all()


def test_influence_clip():
    n, e = 3, 2
    model = make("moa", n, influence_clip=1e-4)
    vis = torch.ones(e, n, n, dtype=torch.bool)
    out = model.act(obs_batch(e, n, 3), warm_state(model, e, n, vis), vis,
                    torch.Generator().manual_seed(0))
    assert out.influence.max() <= 1e-4 + 1e-9
    assert torch.nan_to_num(out.influence_pairs).sum(2).max() > 1e-4
