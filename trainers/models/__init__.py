"""The agents' models (SPEC 2): the shared network, the model kinds, influence and rewards."""

from trainers.models.config import CORES, DIVERGENCES, MODEL_KINDS, REWARD_KINDS, ModelConfig
from trainers.models.influence import counterfactual_influence, divergence
from trainers.models.kinds import kind_class
from trainers.models.kinds.base import ModelKind
from trainers.models.policy import AgentsModel
from trainers.models.rewards import inequity_aversion, prosocial, reward_shaper
from trainers.models.rollout import ActOutput, LossOutput, Rollout

__all__ = ["CORES", "DIVERGENCES", "MODEL_KINDS", "REWARD_KINDS", "ModelConfig", "AgentsModel",
           "ModelKind", "kind_class", "ActOutput", "LossOutput", "Rollout", "reward_shaper",
           "prosocial", "inequity_aversion", "counterfactual_influence", "divergence"]
