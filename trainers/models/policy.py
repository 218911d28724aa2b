"""The agents' model: the shared network plus one model kind (SPEC 2, paper suppl. 10.4).

`AgentsModel` is `trainers.models.network.AgentsNetwork` with the kind of `ModelConfig.kind`
(`trainers.models.kinds`): the kind decides the core's extra inputs, its extra modules, what is
computed while acting (influence, messages) and the extra loss terms. `act` is the no-grad
acting step with the influence rewards; `loss` replays a rollout with gradients
(`trainers.models.learner`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainers.models.config import ModelConfig
from trainers.models.kinds import kind_class
from trainers.models.kinds.base import ModelKind
from trainers.models.learner import rollout_loss
from trainers.models.network import ActingStep, AgentsNetwork
from trainers.models.rollout import ActOutput, LossOutput, Rollout

__all__ = ["AgentsModel"]


class AgentsModel(AgentsNetwork):
    """All agents' networks of one model kind; every parameter has a leading agent axis [N, ...].

    Parameters
    ----------
    cfg : ModelConfig.
    n_agents, n_actions : N agents, A actions.
    obs_shape : (H, W, 3) of each agent's view.
    seed : seed of the parameter initialisation (a private torch.Generator).

    Examples
    --------
    >>> model = AgentsModel(ModelConfig(kind="influence", hidden_size=8, fc_sizes=(8,)),
    ...                     n_agents=3, n_actions=4, obs_shape=(5, 5, 3))
    >>> model.variant.name, model.variant.computes_influence
    ('influence', True)
    >>> obs = torch.zeros(2, 3, 5, 5, 3, dtype=torch.uint8)  # [E, N, H, W, 3]
    >>> out = model.act(obs, model.initial_state(2))
    >>> tuple(out.actions.shape), tuple(out.influence_pairs.shape)
    ((2, 3), (2, 3, 3))
    """

    def __init__(self, cfg: ModelConfig, n_agents: int, n_actions: int,
                 obs_shape: tuple[int, int, int], seed: int = 0) -> None:
        cfg.validate()
        variant: ModelKind = kind_class(cfg.kind)(cfg, n_agents, n_actions)
        g = torch.Generator().manual_seed(seed)
        super().__init__(cfg, n_agents, n_actions, obs_shape, variant.slots(), g)
        variant.build(self, g)
        self.variant, self.kind = variant, variant.name

    def initial_state(self, n_envs: int, device: torch.device | str = "cpu") -> dict[str, Tensor]:
        """Zero recurrent state for E env copies (integer entries -1: none)."""
        state = self.core.initial_state(n_envs, device)  # h, c: [E, N, H]
        state.update(self.variant.initial_state(self, n_envs, device))
        return state

    def encode(self, obs: Tensor, streams=None) -> list[Tensor]:
        """uint8 views [B, N, H, W, 3] -> [B, N, fc] of the policy stream and the kind's streams."""
        return super().encode(obs, self.variant.streams(self) if streams is None else streams)

    @torch.no_grad()
    def act(self, obs: Tensor, state: dict[str, Tensor], visible: Tensor | None = None,
            generator: torch.Generator | None = None) -> ActOutput:
        """One acting step of all agents in all env copies (no gradients).

        obs uint8 [E, N, H, W, 3]; state from `initial_state` / the previous ActOutput (after
        `reset_state`); visible bool [E, N, N] (required by moa); generator on obs.device.
        """
        n_envs, n = obs.shape[0], self.n_agents
        if tuple(obs.shape[1:]) != (n, *self.obs_shape):
            raise ValueError(f"obs has shape {tuple(obs.shape)}, expected "
                             f"[E, {n}, {', '.join(map(str, self.obs_shape))}]")
        if self.variant.needs_visible and visible is None:
            raise ValueError(f"the {self.kind} model needs visible (bool [E, N, N], "
                             "info['visible'])")
        z, *streams = self.encode(obs)  # [E, N, fc] policy stream (and the kind's streams)
        step = ActingStep(z=z, streams=streams, state=state, visible=visible, generator=generator)
        self.variant.act(self, step)
        pairs = step.pairs if step.pairs is not None else \
            torch.full((n_envs, n, n), float("nan"), device=obs.device)  # [E, N(src), N(tgt)]
        influence = self.variant.influence_reward(pairs)  # [E, N]
        if self.cfg.influence_clip is not None:
            influence = influence.clamp(-self.cfg.influence_clip, self.cfg.influence_clip)
        return ActOutput(actions=step.actions, probs=step.logp.exp(), values=step.values,
                         influence_pairs=pairs, influence=influence, state=step.new_state,
                         messages=step.messages,
                         message_probs=None if step.message_logp is None
                         else step.message_logp.exp(),
                         message_values=step.message_values)

    def loss(self, rollout: Rollout, beta: float = 0.0) -> LossOutput:
        """Replay `rollout` from its start state with gradients; see trainers.models.learner."""
        return rollout_loss(self, self.variant, rollout, beta)
