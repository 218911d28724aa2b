"""Prosocial and inequity-aversion rewards on hand-worked cases."""

import pytest
import torch

from trainers.models import ModelConfig, inequity_aversion, prosocial, reward_shaper


def test_prosocial_hand_case():
    r = torch.tensor([[1.0, 0.0, 3.0]])
    assert prosocial(r, 0.85).tolist()[0] == pytest.approx([1 + 0.85 * 3, 0.85 * 4, 3 + 0.85])
    assert torch.equal(prosocial(r, 0.0), r)


def test_inequity_aversion_hand_case():
    e = torch.tensor([0.0, 1.0, 4.0])
    # agent 0: envy (1 + 4) / 2 -> -5 * 2.5; agent 1: envy 3/2, guilt 1/2; agent 2: guilt (4 + 3)/2
    want = [0.0 - 5 * 2.5, 1.0 - 5 * 1.5 - 0.05 * 0.5, 4.0 - 0.05 * 3.5]
    assert inequity_aversion(e, e, 5.0, 0.05).tolist() == pytest.approx(want)
    equal = torch.tensor([2.0, 2.0, 2.0])
    assert torch.equal(inequity_aversion(equal, equal, 5.0, 0.05), equal)
    assert torch.equal(inequity_aversion(torch.tensor([3.0]), torch.tensor([3.0]), 5, 1),
                       torch.tensor([3.0]))


def test_shaper_smooths_and_resets_at_episode_end():
    cfg = ModelConfig(reward="inequity_aversion", ia_smoothing=0.5)
    shaper = reward_shaper(cfg, n_envs=2, n_agents=2)
    step1 = shaper(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([False, False]))
    assert step1[0].tolist() == pytest.approx([1.0 - 0.05, -5.0])
    # step 2, env 0: trace (1.5, 0) -> agent 1 envies 1.5; ends after this step in env 0
    step2 = shaper(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([True, False]))
    assert step2[0].tolist() == pytest.approx([1.0 - 0.05 * 1.5, -5.0 * 1.5])
    assert shaper.trace[0].tolist() == [0.0, 0.0]
    assert (step2[1] == 0).all()


def test_shaper_env_and_prosocial():
    r = torch.tensor([[1.0, 2.0]])
    assert torch.equal(reward_shaper(ModelConfig(), 1, 2)(r), r)
    pro = reward_shaper(ModelConfig(reward="prosocial", prosocial_eta=0.5), 1, 2)(r)
    assert pro.tolist()[0] == pytest.approx([2.0, 2.5])
    with pytest.raises(ValueError, match="rewards has shape"):
        reward_shaper(ModelConfig(), 2, 2)(r)
