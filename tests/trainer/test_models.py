"""AgentsModel: shapes, batched per-agent independence, state handling, replay == acting."""

import pytest
import torch

from trainers.models import MODEL_KINDS, AgentsModel, ModelConfig
from trainers.models.layers import AgentConv2d, AgentCore, AgentLinear
from trainers.models.synthetic import random_rollout

torch.set_num_threads(1)
N, A, OBS = 3, 5, (6, 6, 3)
SMALL = {"fc_sizes": (8, 8), "hidden_size": 12, "conv_channels": 2, "vocab_size": 4,
         "message_embedding": 6}


def make(kind="a3c", core="lstm", n=N, seed=0, **kw):
    return AgentsModel(ModelConfig(kind=kind, core=core, **{**SMALL, **kw}), n, A, OBS, seed=seed)


def random_obs(e, n=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (e, n, *OBS), generator=g, dtype=torch.uint8)


@pytest.mark.parametrize("core", ["lstm", "ff"])
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_act_and_loss_shapes(kind, core):
    model = make(kind, core)
    rollout = random_rollout(model, n_steps=4, n_envs=2, seed=1)
    out = model.act(rollout.obs[0], model.initial_state(2), rollout.visible[0],
                    torch.Generator().manual_seed(0))
    assert out.actions.shape == (2, N) and out.actions.dtype == torch.int64
    assert out.probs.shape == (2, N, A)
    torch.testing.assert_close(out.probs.sum(-1), torch.ones(2, N))
    assert out.values.shape == (2, N) and out.influence.shape == (2, N)
    assert out.influence_pairs.shape == (2, N, N)
    assert torch.isnan(out.influence_pairs.diagonal(dim1=1, dim2=2)).all()
    if kind == "communication":
        assert out.messages.shape == (2, N) and out.message_probs.shape == (2, N, 4)
    loss = model.loss(rollout, beta=0.5)
    loss.total.backward()
    assert loss.total.dim() == 0 and torch.isfinite(loss.total)
    assert all(v.dim() == 0 and not v.requires_grad for v in loss.terms.values())
    assert loss.outputs["probs"].shape == (4, 2, N, A)
    for name, p in model.named_parameters():
        assert p.shape[0] == N, name
        assert p.grad is not None, name


def test_influence_pairs_defined_where_model_defines_them():
    out_a3c = make("a3c").act(random_obs(2), make("a3c").initial_state(2))
    assert torch.isnan(out_a3c.influence_pairs).all() and (out_a3c.influence == 0).all()
    model = make("influence", n=4, influencers=(0, 2))
    out = model.act(random_obs(2, 4), model.initial_state(2))
    defined = ~torch.isnan(out.influence_pairs[0])
    expected = torch.zeros(4, 4, dtype=torch.bool)
    expected[[0, 0, 2, 2], [1, 3, 1, 3]] = True
    assert torch.equal(defined, expected)
    # communication: no previous message at an episode's first step -> NaN
    comm = make("communication")
    out = comm.act(random_obs(2), comm.initial_state(2))
    assert torch.isnan(out.influence_pairs).all()
    out = comm.act(random_obs(2, seed=1), out.state)
    assert (~torch.isnan(out.influence_pairs)).sum() == 2 * N * (N - 1)


@pytest.mark.parametrize("kind", ["a3c", "visible_actions", "communication", "moa"])
def test_agents_are_independent(kind):
    """Changing agent 0's parameters changes agent 0's outputs and never agent 1's."""
    model = make(kind)
    obs = random_obs(3)
    state = model.initial_state(3)
    g = torch.Generator().manual_seed(0)
    state = model.act(obs, state, torch.ones(3, N, N, dtype=torch.bool), g).state
    before = model.act(obs, state, None if kind != "moa" else torch.ones(3, N, N, dtype=bool),
                       torch.Generator().manual_seed(1))
    noise = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in model.parameters():
            p[0].add_(0.5 * torch.randn(p[0].shape, generator=noise))
    after = model.act(obs, state, None if kind != "moa" else torch.ones(3, N, N, dtype=bool),
                      torch.Generator().manual_seed(1))
    torch.testing.assert_close(after.probs[:, 1:], before.probs[:, 1:])
    torch.testing.assert_close(after.values[:, 1:], before.values[:, 1:])
    assert not torch.allclose(after.probs[:, 0], before.probs[:, 0])


def test_layers_match_per_agent_reference():
    g = torch.Generator().manual_seed(0)
    lin = AgentLinear(3, 4, 5, g)
    x = torch.randn(2, 7, 3, 4, generator=g)
    ref = torch.stack([x[..., n, :] @ lin.weight[n] + lin.bias[n] for n in range(3)], dim=-2)
    torch.testing.assert_close(lin(x), ref)
    conv = AgentConv2d(3, 3, 2, 3, g)
    img = torch.randn(4, 3, 3, 6, 6, generator=g)
    ref = torch.stack([torch.nn.functional.conv2d(img[:, n], conv.weight[n], conv.bias[n])
                       for n in range(3)], dim=1)
    torch.testing.assert_close(conv(img.flatten(1, 2)), ref.flatten(1, 2))
    core = AgentCore(3, 4, 6, "lstm", g)
    cell = torch.nn.LSTMCell(4, 6)
    h, c = torch.randn(2, 3, 6, generator=g), torch.randn(2, 3, 6, generator=g)
    out, new = core.step(core.input_proj(x[0, :2]), {"h": h, "c": c})
    n = 1
    with torch.no_grad():
        ifgo = torch.cat([torch.arange(12), torch.arange(18, 24), torch.arange(12, 18)])
        cell.weight_ih.copy_(core.inp.weight[n].T[ifgo])  # ours: i, f, o, g; torch: i, f, g, o
        cell.weight_hh.copy_(core.rec[n].T[ifgo])
        cell.bias_ih.copy_(core.inp.bias[n][ifgo])
        cell.bias_hh.zero_()
    h_ref, c_ref = cell(x[0, :2, n], (h[:, n], c[:, n]))
    torch.testing.assert_close(out[:, n], h_ref)
    torch.testing.assert_close(new["c"][:, n], c_ref)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_replay_reproduces_acting(kind):
    """The learner's replay from the saved start state gives the policies seen while acting."""
    model = make(kind)
    rollout = random_rollout(model, n_steps=5, n_envs=2, seed=3, done_at=(1,), truncate=False)
    g = torch.Generator().manual_seed(3)
    # re-act along the rollout's actions to get the acting-time probabilities
    state, probs = rollout.state, []
    for t in range(5):
        out = model.act(rollout.obs[t], state, rollout.visible[t], g)
        probs.append(out.probs)
        # force the rollout's actions/messages into the state, as if they had been sampled
        state = dict(out.state)
        if "prev_action" in state:
            state["prev_action"] = rollout.actions[t]
        if "prev_message" in state:
            state["prev_message"] = rollout.messages[t]
        if rollout.done[t].any():
            state = model.reset_state(state, rollout.done[t])
    loss = model.loss(rollout)
    if kind != "influence":  # influencees' acting probs depend on sampled influencer actions
        torch.testing.assert_close(loss.outputs["probs"], torch.stack(probs))
    else:
        infl = model.influencers
        torch.testing.assert_close(loss.outputs["probs"][:, :, infl],
                                   torch.stack(probs)[:, :, infl])


def test_reset_state_masks_only_done_envs():
    model = make("communication")
    out = model.act(random_obs(3), model.initial_state(3))
    out = model.act(random_obs(3, seed=2), out.state)
    done = torch.tensor([False, True, False])
    state = model.reset_state(out.state, done)
    assert (state["h"][1] == 0).all() and (state["c"][1] == 0).all()
    assert (state["prev_message"][1] == -1).all()
    torch.testing.assert_close(state["h"][[0, 2]], out.state["h"][[0, 2]])
    assert torch.equal(state["prev_message"][[0, 2]], out.state["prev_message"][[0, 2]])


def test_acting_is_reproducible_with_a_generator():
    model = make("moa")
    vis = torch.ones(2, N, N, dtype=torch.bool)
    outs = [model.act(random_obs(2), model.initial_state(2), vis,
                      torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(outs[0].actions, outs[1].actions)
    assert torch.equal(make("moa", seed=3).torso.conv.weight, make("moa", seed=3).torso.conv.weight)


def test_per_agent_grad_clipping():
    model = make("a3c")
    loss = model.loss(random_rollout(model, n_steps=3, n_envs=2))
    loss.total.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.grad[0].mul_(1e4)
    norms = model.clip_grad_norm_(1.0)
    assert norms.shape == (N,) and norms[0] > 1.0
    after = torch.stack([p.grad.pow(2).flatten(1).sum(1) for p in model.parameters()]).sum(0)
    assert after[0].sqrt() == pytest.approx(1.0, rel=1e-4)
    torch.testing.assert_close(after[1:].sqrt(), norms[1:].clamp(max=1.0), rtol=1e-4, atol=0)


@pytest.mark.parametrize(("kw", "match"), [
    ({"kind": "ppo"}, "kind"), ({"core": "gru"}, "core"), ({"divergence": "tv"}, "divergence"),
    ({"fc_sizes": ()}, "fc_sizes"), ({"gamma": 1.5}, "gamma"), ({"vocab_size": 1}, "vocab_size"),
    ({"influence_clip": 0.0}, "influence_clip"), ({"entropy_coef": -1.0}, "entropy_coef"),
    ({"reward": "x"}, "reward"),
])
def test_config_errors_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kw)


def test_model_errors():
    with pytest.raises(ValueError, match="influencers"):
        AgentsModel(ModelConfig(kind="influence", influencers=3), 3, A, OBS)
    with pytest.raises(ValueError, match="influencers"):
        AgentsModel(ModelConfig(kind="influence", influencers=(0, 5)), 3, A, OBS)
    with pytest.raises(ValueError, match="conv_kernel"):
        AgentsModel(ModelConfig(conv_kernel=9), 3, A, OBS)
    with pytest.raises(ValueError, match="at least 2 agents"):
        AgentsModel(ModelConfig(kind="moa"), 1, A, OBS)
    with pytest.raises(ValueError, match="divergence='pmi' is not available for kind='moa'"):
        AgentsModel(ModelConfig(kind="moa", divergence="pmi"), 3, A, OBS)
    model = make("moa")
    with pytest.raises(ValueError, match="visible"):
        model.act(random_obs(1), model.initial_state(1))
    with pytest.raises(ValueError, match="obs has shape"):
        model.act(random_obs(1, n=2), model.initial_state(1))


def test_throughput_helper_runs():
    from trainers.models.synthetic import throughput

    act_rate, learn_rate = throughput(make("moa"), n_envs=2, n_steps=3, repeats=1)
    assert act_rate > 0 and learn_rate > 0
