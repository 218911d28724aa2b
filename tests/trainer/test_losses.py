"""n-step returns, A3C/MOA loss terms, and which heads see the influence reward."""

import dataclasses
import math

import pytest
import torch

from trainers.losses import moa_cross_entropy, n_step_returns, policy_value_entropy
from trainers.models import AgentsModel, ModelConfig, Rollout
from trainers.models.synthetic import random_rollout

torch.set_num_threads(1)
N, A, OBS = 3, 4, (5, 5, 3)
SMALL = {"fc_sizes": (8, 8), "hidden_size": 12, "conv_channels": 2, "vocab_size": 3,
         "message_embedding": 5}
R = torch.tensor([1.0, 2.0, 3.0, 4.0])
NO = torch.zeros(4, dtype=torch.bool)


def flags(*steps):
    f = NO.clone()
    f[list(steps)] = True
    return f


def make(kind, **kw):
    return AgentsModel(ModelConfig(kind=kind, **{**SMALL, **kw}), N, A, OBS, seed=2)


@pytest.mark.parametrize(("done", "truncated", "final", "want"), [
    (NO, NO, None, [3.75, 5.5, 7.0, 8.0]),                      # bootstrap 8 at the end
    (flags(1), NO, None, [2.0, 2.0, 7.0, 8.0]),                 # terminated after step 1
    (flags(3), flags(3), None, [3.75, 5.5, 7.0, 8.0]),          # truncated at the last step
    (flags(3), NO, None, [3.25, 4.5, 5.0, 4.0]),                # terminated at the last step
    (flags(1), flags(1), [0.0, 10.0, 0.0, 0.0], [4.5, 7.0, 7.0, 8.0]),  # truncated, V(final)=10
])
def test_n_step_returns_hand_worked(done, truncated, final, want):
    final = None if final is None else torch.tensor(final)
    got = n_step_returns(R, torch.tensor(8.0), done, truncated, 0.5, final)
    assert got.tolist() == pytest.approx(want)


def test_n_step_returns_broadcast_and_errors():
    rewards = R.view(4, 1, 1).expand(4, 2, 3)  # [T, E, N]
    got = n_step_returns(rewards, torch.full((2, 3), 8.0), flags(1).view(4, 1).expand(4, 2),
                         NO.view(4, 1).expand(4, 2), 0.5)
    assert got[:, 1, 2].tolist() == pytest.approx([2.0, 2.0, 7.0, 8.0])
    with pytest.raises(ValueError, match="final_values"):
        n_step_returns(R, torch.tensor(0.0), flags(1), flags(1), 0.9)
    with pytest.raises(ValueError, match="truncated is True where done is False"):
        n_step_returns(R, torch.tensor(0.0), NO, flags(3), 0.9)
    with pytest.raises(ValueError, match="bootstrap has shape"):
        n_step_returns(R, torch.zeros(2), NO, NO, 0.9)
    with pytest.raises(ValueError, match="done has shape"):
        n_step_returns(R, torch.tensor(0.0), NO[:3], NO, 0.9)


def test_policy_value_entropy_hand_values():
    logits = torch.zeros(2, 1, 1, 4)  # uniform over 4 actions
    returns = torch.tensor([3.0, 1.0]).view(2, 1, 1)
    values = torch.tensor([1.0, 1.0]).view(2, 1, 1)
    terms = policy_value_entropy(logits, torch.zeros(2, 1, 1, dtype=torch.long), values, returns)
    assert terms["entropy"].item() == pytest.approx(math.log(4))
    assert terms["policy"].item() == pytest.approx(math.log(4) * 1.0)  # -log(1/4) * mean(2, 0)
    assert terms["value"].item() == pytest.approx(0.5 * (4.0 + 0.0) / 2)
    with pytest.raises(ValueError, match="returns has shape"):
        policy_value_entropy(logits, torch.zeros(2, 1, 1, dtype=torch.long), values, returns[0])


def test_moa_cross_entropy_mask_and_accuracy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]]).view(1, 1, 1, 2, 2)  # [T, E, N, M, A]
    targets = torch.tensor([0, 0]).view(1, 1, 1, 2)
    mask = torch.tensor([True, False]).view(1, 1, 1, 2)
    loss, acc = moa_cross_entropy(logits, targets, mask)
    assert loss.item() == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + 1)))
    assert acc.item() == 1.0
    loss, acc = moa_cross_entropy(logits, targets, torch.zeros_like(mask))
    assert loss.item() == 0.0 and acc.item() == 0.0


def test_moa_loss_decreases_and_reaches_its_parameters():
    model = make("moa", moa_visible_only=True)
    rollout = random_rollout(model, n_steps=6, n_envs=4, seed=0, done_at=(2,), truncate=False)
    params = list(model.moa.parameters())
    opt = torch.optim.Adam(params, lr=0.02)
    first = None
    for _ in range(25):
        opt.zero_grad()
        loss = model.loss(rollout)
        loss.total.backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
        first = loss.terms["moa"].item() if first is None else first
        opt.step()
    assert loss.terms["moa"].item() < 0.7 * first
    assert model.torso.conv.weight.grad is not None  # the shared conv learns from both streams


def with_random_influence(rollout):
    noise = 5 * torch.rand(rollout.rewards.shape, generator=torch.Generator().manual_seed(0))
    return dataclasses.replace(rollout, influence=noise)


def grads(model, rollout, beta):
    model.zero_grad()
    model.loss(rollout, beta=beta).total.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


def test_communication_action_policy_ignores_the_influence_reward():
    model = make("communication", alpha=0.5)
    rollout = random_rollout(model, n_steps=5, n_envs=3, seed=1)
    rollout = with_random_influence(rollout)
    g0, g1 = grads(model, rollout, 0.0), grads(model, rollout, 2.0)
    for name in ("policy_head.weight", "policy_head.bias", "value_head.weight"):
        torch.testing.assert_close(g0[name], g1[name], rtol=0, atol=0)
    for name in ("message_head.logits.weight", "message_head.value.weight"):
        assert not torch.allclose(g0[name], g1[name])


@pytest.mark.parametrize(("kind", "sees"), [("a3c", False), ("visible_actions", False),
                                            ("influence", True), ("moa", True)])
def test_which_action_policies_learn_from_influence(kind, sees):
    model = make(kind)
    rollout = random_rollout(model, n_steps=5, n_envs=3, seed=1)
    rollout = with_random_influence(rollout)
    g0, g1 = grads(model, rollout, 0.0), grads(model, rollout, 2.0)
    same = torch.equal(g0["policy_head.weight"], g1["policy_head.weight"])
    assert same != sees


@pytest.mark.parametrize("kind", ["a3c", "communication"])
def test_truncated_last_step_bootstraps(kind):
    model = make(kind)
    rollout = random_rollout(model, n_steps=4, n_envs=2, seed=4, done_at=(3,))
    loss = model.loss(rollout)
    big = dataclasses.replace(rollout, bootstrap_value=rollout.bootstrap_value + 100.0)
    assert model.loss(big).terms["return"] > loss.terms["return"] + 1.0
    terminated = dataclasses.replace(big, truncated=torch.zeros_like(big.truncated))
    assert model.loss(terminated).terms["return"] < loss.terms["return"] + 1.0


def test_rollout_errors():
    model = make("communication")
    rollout = random_rollout(model, n_steps=3, n_envs=2)
    with pytest.raises(ValueError, match="Rollout.messages is None"):
        model.loss(dataclasses.replace(rollout, messages=None))
    with pytest.raises(ValueError, match="Rollout.rewards has shape"):
        model.loss(dataclasses.replace(rollout, rewards=rollout.rewards[:, :1]))


def test_moa_targets_shift_and_masks():
    from trainers.models.kinds.moa import moa_targets
    from trainers.models.layers import others_index

    actions = torch.tensor([[[0, 1]], [[2, 3]], [[1, 1]]])  # [T=3, E=1, N=2]
    done = torch.tensor([[False], [True], [False]])  # episode ends after step 1
    visible = torch.ones(3, 1, 2, 2, dtype=torch.bool)
    visible[2, 0, 0, 1] = False  # at step 2 agent 0 does not see agent 1
    others = others_index(2)  # [[1], [0]]
    targets, mask = moa_targets(actions, done, visible, others, None, None, visible_only=False)
    assert targets[:, 0, :, 0].tolist() == [[3, 2], [1, 1], [-1, -1]]
    assert mask[:, 0, :, 0].tolist() == [[True, True], [False, False], [False, False]]
    nxt = torch.tensor([[2, 2]])
    nvis = torch.zeros(1, 2, 2, dtype=torch.bool)
    targets, mask = moa_targets(actions, done, visible, others, nxt, nvis, visible_only=True)
    assert targets[2, 0, :, 0].tolist() == [2, 2]
    # step 0 predicts step 1 (all visible); step 2 predicts step 3 (nobody visible)
    assert mask[:, 0, :, 0].tolist() == [[True, True], [False, False], [False, False]]
    _, mask = moa_targets(actions, done, visible, others, nxt, nvis, visible_only=False)
    assert mask[2, 0, :, 0].tolist() == [True, True]
    visible_step1 = visible.clone()
    visible_step1[1, 0, 1, 0] = False  # agent 1 loses sight of agent 0 at step 1
    _, mask = moa_targets(actions, done, visible_step1, others, nxt, nvis, visible_only=True)
    assert mask[0, 0, :, 0].tolist() == [True, False]


def bandit_rollout(model, g, n_steps=4, n_envs=8):
    """Rollout on random views where e = 1 for action 0 (and, in rewards, message 0 counts too)."""
    obs = torch.randint(0, 256, (n_steps + 1, n_envs, N, *OBS), generator=g, dtype=torch.uint8)
    visible = torch.ones(n_steps + 1, n_envs, N, N, dtype=torch.bool)
    state = start = model.initial_state(n_envs)
    acts, msgs, infl = [], [], []
    out = model.act(obs[0], state, visible[0], g)
    for t in range(n_steps):
        acts.append(out.actions)
        msgs.append(out.messages)
        infl.append(out.influence)
        out = model.act(obs[t + 1], out.state, visible[t + 1], g)
    actions = torch.stack(acts)
    rewards = (actions == 0).float()
    messages = torch.stack(msgs) if msgs[0] is not None else None
    if messages is not None:
        rewards = rewards + (messages == 0).float()
    return Rollout(obs=obs[:-1], actions=actions, rewards=rewards, influence=torch.stack(infl),
                   visible=visible[:-1], done=torch.zeros(n_steps, n_envs, dtype=torch.bool),
                   truncated=torch.zeros(n_steps, n_envs, dtype=torch.bool), state=start,
                   bootstrap_value=out.values, messages=messages,
                   bootstrap_message_value=out.message_values)


@pytest.mark.parametrize("kind", ["a3c", "communication"])
def test_policy_gradient_sign_on_a_bandit(kind):
    """Acting and learning together raise the probability of the rewarded action (and message)."""
    model = make(kind, core="ff", entropy_coef=0.0, message_loss_weight=1.0, alpha=1.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    g = torch.Generator().manual_seed(0)
    first = None
    for _ in range(30):
        loss = model.loss(bandit_rollout(model, g))
        opt.zero_grad()
        loss.total.backward()
        opt.step()
        p0 = loss.outputs["probs"][..., 0].mean().item()
        first = p0 if first is None else first
    assert p0 > first + 0.2
    if kind == "communication":
        assert loss.outputs["message_probs"][..., 0].mean().item() > 0.5
