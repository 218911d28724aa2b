"""What a run builds from its config: the agents' model, the shared optimiser, and the two
facts of the model kind the trajectory store records (shared by the trainer, its backends and
evaluation)."""

from __future__ import annotations

from trainers.a3c.shared_optim import SharedOptimizer, make_optimizer
from trainers.config import TrainConfig

__all__ = ["build_model", "build_optimizer", "influence_divergence", "n_symbols"]


def build_model(cfg: TrainConfig, n_agents: int, n_actions: int, obs_shape: tuple[int, ...]):
    """The agents' model of ``cfg.model``, initialised from ``cfg.trainer.seed``."""
    from trainers.models import AgentsModel

    return AgentsModel(cfg.model, n_agents=n_agents, n_actions=n_actions,
                       obs_shape=tuple(obs_shape), seed=cfg.trainer.seed)


def build_optimizer(cfg: TrainConfig, params) -> SharedOptimizer:
    """The shared optimiser of ``cfg.trainer`` over ``params``."""
    tr = cfg.trainer
    return make_optimizer(params, tr.optimizer, tr.lr_init, rmsprop_alpha=tr.rmsprop_alpha,
                          rmsprop_eps=tr.rmsprop_eps, adam_betas=(tr.adam_beta1, tr.adam_beta2),
                          adam_eps=tr.adam_eps)


def influence_divergence(cfg: TrainConfig) -> str | None:
    """What the logged ``influence`` holds (kl, jsd, pmi); None without an influence reward."""
    from trainers.models import kind_class

    kind = kind_class(cfg.model.kind)
    return kind.pair_measure(cfg.model) if kind.computes_influence else None


def n_symbols(cfg: TrainConfig) -> int:
    """Message vocabulary size logged in the store (0 without communication)."""
    from trainers.models import kind_class

    return kind_class(cfg.model.kind).message_symbols(cfg.model)
