"""The MOA's habit baselines: most frequent action of the episode so far, previous action."""

import torch

from trainers.models import AgentsModel, ModelConfig
from trainers.models.kinds.moa import baseline_predictions
from trainers.models.synthetic import random_rollout


def test_baselines_by_hand():
    # one env, two agents, four steps; the episode ends after step 1
    actions = torch.tensor([[[2, 0]], [[1, 0]], [[1, 3]], [[0, 3]]])  # [T=4, E=1, N=2]
    counts0 = torch.zeros(1, 2, 4)
    counts0[0, 0, 1] = 2.0  # agent 0 did action 1 twice before this rollout
    done = torch.tensor([[False], [True], [False], [False]])
    frequent, previous = baseline_predictions(actions, counts0, done)
    # agent 0: counts {1: 2} + 2 -> 1; + 1 -> 1 (3 vs 1); reset; 1 -> 1; {1, 0} tie -> 0
    assert frequent[:, 0, 0].tolist() == [1, 1, 1, 0]
    # agent 1: 0; 0; reset; 3; 3
    assert frequent[:, 0, 1].tolist() == [0, 0, 3, 3]
    assert torch.equal(previous, actions)


def test_moa_logs_its_accuracy_next_to_the_baselines():
    model = AgentsModel(ModelConfig(kind="moa", hidden_size=8, fc_sizes=(8,)), 3, 4, (5, 5, 3))
    rollout = random_rollout(model, n_steps=6, n_envs=2, done_at=(3,), truncate=False)
    # the acting state counts each agent's actions of the episode (reset at episode ends)
    assert rollout.state["moa_counts"].sum() == 0
    terms = model.loss(rollout, beta=0.1).terms
    for name in ("moa_accuracy", "moa_baseline_frequent", "moa_baseline_previous"):
        assert 0.0 <= float(terms[name]) <= 1.0
    # a random policy's next action is unrelated to its current one: about 1/4 either way
    assert 0.0 < float(terms["moa_baseline_previous"]) < 0.7


def test_acting_counts_each_agents_actions_of_the_episode():
    model = AgentsModel(ModelConfig(kind="moa", hidden_size=8, fc_sizes=(8,)), 3, 4, (5, 5, 3))
    g = torch.Generator().manual_seed(1)
    obs = torch.randint(0, 256, (2, 3, 5, 5, 3), generator=g, dtype=torch.uint8)
    vis = torch.ones(2, 3, 3, dtype=torch.bool)
    first = model.act(obs, model.initial_state(2), vis, g)
    second = model.act(obs, first.state, vis, g)
    hot = torch.nn.functional.one_hot
    want = (hot(first.actions, 4) + hot(second.actions, 4)).float()
    assert torch.equal(second.state["moa_counts"], want)
    reset = model.reset_state(second.state, torch.tensor([True, False]))
    assert reset["moa_counts"][0].sum() == 0 and torch.equal(reset["moa_counts"][1], want[1])
