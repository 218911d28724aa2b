"""The protocol every model kind implements: what it adds to the A3C agents' network.

A kind is one class (one file in this package plus one line in
`trainers.models.config.MODEL_KINDS`). The A3C code (`AgentsModel`, the learner, the workers)
asks the kind, never tests its name. The base class is plain A3C; a kind overrides only what it
changes:

- network: ``slots`` (one-hot inputs of the core), ``build`` (extra modules), ``streams``
  (extra feature stacks on the shared conv features), ``initial_state``;
- acting: ``act`` (default: the policy step with ``acting_slots``, then ``after_act``), and
  ``influence_reward`` (per-agent reward c from the influence pairs);
- learning: ``replay_slots``, ``replay_cores`` (extra recurrent streams replayed with the policy
  core), ``action_reward`` (what the action head learns from), ``loss_terms`` (extra loss terms,
  logged terms and outputs), ``rollout_fields`` (what a rollout must hold);
- logging: ``computes_influence`` and ``sends_messages`` (what the trajectory store holds).

See docs/extending.md for a worked example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import Tensor

from trainers.models.config import ModelConfig
from trainers.models.encoder import AgentMLP
from trainers.models.layers import AgentCore
from trainers.models.network import ActingStep, AgentsNetwork
from trainers.models.rollout import Rollout

__all__ = ["ModelKind", "Replay", "ExtraLoss"]


@dataclass
class Replay:
    """What the learner replayed of one rollout, for the kind's loss terms.

    Shapes: T steps, E env copies, N agents, H core width.
    """

    rollout: Rollout
    out: Tensor
    """[N, T, E, H] agent-major policy-core outputs (with gradients)."""
    extra_outs: list[Tensor]
    """agent-major outputs of the kind's `replay_cores`, in order."""
    streams: list[Tensor]
    """[T*E, N, fc] the kind's extra feature streams (`ModelKind.streams`)."""
    beta: float
    """influence weight beta(t) of this update."""


@dataclass
class ExtraLoss:
    """A kind's additions to the loss: ``total`` (with gradients), logged ``terms`` (scalars,
    means per agent-step or sums over agents as named), replayed ``outputs`` (detached)."""

    total: Tensor | float = 0.0
    terms: dict[str, Tensor] = field(default_factory=dict)
    outputs: dict[str, Tensor] = field(default_factory=dict)


class ModelKind:
    """Plain A3C (paper's baseline); subclasses override what their model adds.

    Parameters
    ----------
    cfg : the model configuration.
    n_agents, n_actions : N agents, A actions.
    """

    name: ClassVar[str] = "a3c"
    min_agents: ClassVar[int] = 1
    """fewest agents the kind makes sense for (2 when it relates agents)."""
    computes_influence: ClassVar[bool] = False
    """`act` returns influence pairs; the store logs them as ``influence``."""
    sends_messages: ClassVar[bool] = False
    """agents emit messages (``ActOutput.messages``, logged with `message_symbols` symbols)."""
    divergences: ClassVar[tuple[str, ...]] = ("kl", "jsd", "pmi")
    """the influence divergences the kind supports (`ModelConfig.divergence`)."""
    needs_visible: ClassVar[bool] = False
    """`act` needs who sees whom (``visible``, the env's ``info['visible']``)."""
    loss_names: ClassVar[tuple[str, ...]] = ()
    """the kind's `loss_terms` that are losses (logged as ``loss_<name>`` in metrics.csv)."""
    learns_from_influence: ClassVar[bool] = False
    """the action head learns from alpha * e + beta(t) * c instead of e."""

    def __init__(self, cfg: ModelConfig, n_agents: int, n_actions: int) -> None:
        if n_agents < self.min_agents:
            raise ValueError(f"ModelConfig.kind={self.name!r} needs at least {self.min_agents} "
                             f"agents, got n_agents={n_agents}; use kind='a3c' for a single "
                             "agent")
        if self.computes_influence and cfg.divergence not in self.divergences:
            raise ValueError(f"ModelConfig.divergence={cfg.divergence!r} is not available for "
                             f"kind={self.name!r}; use one of {self.divergences}")
        self.cfg, self.n_agents, self.n_actions = cfg, n_agents, n_actions

    # ---- network --------------------------------------------------------------------------
    @classmethod
    def pair_measure(cls, cfg: ModelConfig) -> str:
        """What the influence pairs hold (the store's ``influence`` attribute ``divergence``)."""
        return cfg.divergence

    @classmethod
    def message_symbols(cls, cfg: ModelConfig) -> int:
        """Message vocabulary logged in the store (0 without messages)."""
        return cfg.vocab_size if cls.sends_messages else 0

    def slots(self) -> tuple[int, int]:
        """(count S, values per slot V) of the one-hot inputs the core gets beside its features."""
        return 0, 0

    def build(self, net: AgentsNetwork, generator: torch.Generator) -> None:
        """Add the kind's modules and buffers to ``net`` (``net.add_module``), drawing their
        initial weights from ``generator`` after the shared body's."""

    def streams(self, net: AgentsNetwork) -> list[AgentMLP]:
        """Extra FC stacks run on the shared conv features beside the policy stream."""
        return []

    def initial_state(self, net: AgentsNetwork, n_envs: int,
                      device: torch.device | str) -> dict[str, Tensor]:
        """The kind's part of the zero state of E env copies (integer entries: -1 = none)."""
        return {}

    # ---- acting ---------------------------------------------------------------------------
    def act(self, net: AgentsNetwork, step: ActingStep) -> None:
        """Fill ``step``: slots, the policy step, then the kind's additions."""
        step.slots = self.acting_slots(net, step)
        net.policy_step(step)
        self.after_act(net, step)

    def acting_slots(self, net: AgentsNetwork, step: ActingStep) -> Tensor | None:
        """int [E, N, S] slot values of this step's core input; None without slots."""
        return None

    def after_act(self, net: AgentsNetwork, step: ActingStep) -> None:
        """What the kind computes after the policy step (messages, influence, its state)."""

    def influence_reward(self, pairs: Tensor) -> Tensor:
        """Influence pairs [E, N(source), N(target)] -> each agent's reward c [E, N]: the
        influence it exerts, summed over targets."""
        return pairs.nansum(dim=2)

    # ---- learning -------------------------------------------------------------------------
    def rollout_fields(self, t_len: int, n_envs: int) -> dict[str, tuple[int, ...]]:
        """Optional `Rollout` fields the kind needs, with their shapes."""
        return {}

    def replay_slots(self, net: AgentsNetwork, rollout: Rollout) -> Tensor | None:
        """int [T, E, N, S] slot values of every replayed step; None without slots."""
        return None

    def replay_cores(self, net: AgentsNetwork, streams: list[Tensor],
                     rollout: Rollout) -> list[tuple[AgentCore, Tensor, dict[str, Tensor]]]:
        """Extra recurrent cores to replay with the policy core: (core, agent-major
        pre-activations [N, T*E, G], start state)."""
        return []

    def action_reward(self, rewards: Tensor, influence: Tensor, beta: float) -> Tensor:
        """What the action head learns from, [T, E, N]: the env reward e, or
        alpha * e + beta(t) * c when `learns_from_influence`."""
        if self.learns_from_influence:
            return self.cfg.alpha * rewards + beta * influence
        return rewards

    def loss_terms(self, net: AgentsNetwork, replay: Replay) -> ExtraLoss:
        """The kind's extra loss terms (none for A3C)."""
        return ExtraLoss()


def previous(values: Tensor, first: Tensor, done: Tensor) -> Tensor:
    """Values of the previous step: int [T, E, N] -> [T, E, N]; -1 after an episode's end.

    first int [E, N] is the previous value before step 0 (from the start state).
    """
    prev = torch.cat([first.unsqueeze(0), values[:-1]], dim=0)  # [T, E, N]
    ended = torch.cat([torch.zeros_like(done[:1]), done[:-1]], dim=0).unsqueeze(-1)  # [T, E, 1]
    return torch.where(ended, torch.full_like(prev, -1), prev)
