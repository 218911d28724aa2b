"""The agents' models (SPEC 2): encoder, cores, influence, communication, MOA and rewards."""

from trainers.models.config import CORES, DIVERGENCES, MODEL_KINDS, REWARD_KINDS, ModelConfig
from trainers.models.influence import counterfactual_influence, divergence
from trainers.models.policy import AgentsModel
from trainers.models.rewards import RewardShaper, inequity_aversion, prosocial
from trainers.models.rollout import ActOutput, LossOutput, Rollout

__all__ = ["CORES", "DIVERGENCES", "MODEL_KINDS", "REWARD_KINDS", "ModelConfig", "AgentsModel",
           "ActOutput", "LossOutput", "Rollout", "RewardShaper", "prosocial", "inequity_aversion",
           "counterfactual_influence", "divergence"]
