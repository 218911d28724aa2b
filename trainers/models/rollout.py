"""Containers passed between the acting loop and the learner: ActOutput, Rollout, LossOutput.

Shapes: T rollout steps, E env copies, N agents, A actions, V message symbols, H x W view.
All tensors live on one device (the model's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

__all__ = ["ActOutput", "Rollout", "LossOutput"]


@dataclass
class ActOutput:
    """What `AgentsModel.act` returns for one step (all detached)."""

    actions: Tensor
    """int64 [E, N] sampled actions."""
    probs: Tensor
    """float [E, N, A] action-policy probabilities."""
    values: Tensor
    """float [E, N] value estimates of the action head."""
    influence_pairs: Tensor
    """float [E, N(source), N(target)] nats; NaN where undefined, 0 where MOA's target is unseen."""
    influence: Tensor
    """float [E, N] influence reward c of each agent (clipped when configured)."""
    state: dict[str, Tensor]
    """recurrent state after this step (hidden state, previous actions / messages)."""
    messages: Tensor | None = None
    """int64 [E, N] sampled messages (communication)."""
    message_probs: Tensor | None = None
    """float [E, N, V] message-policy probabilities (communication)."""
    message_values: Tensor | None = None
    """float [E, N] value estimates of the message head (communication)."""


@dataclass
class Rollout:
    """One worker's rollout, time-major, plus the recurrent state at its start.

    `done[t]`: the episode ended after step t (terminated or truncated); `truncated[t]`: it ended by
    the time limit. `bootstrap_value` is `ActOutput.values` of the observation after step T-1 with
    the state after step T-1 (before `reset_state`), i.e. the final observation when truncated.
    """

    obs: Tensor
    """uint8 [T, E, N, H, W, 3] observations the agents acted on."""
    actions: Tensor
    """int64 [T, E, N] actions taken."""
    rewards: Tensor
    """float [T, E, N] extrinsic rewards (after RewardShaper when one is used)."""
    influence: Tensor
    """float [T, E, N] influence rewards c (ActOutput.influence)."""
    visible: Tensor
    """bool [T, E, N, N] visible[t, e, k, j]: j inside k's view at step t."""
    done: Tensor
    """bool [T, E] episode ended after step t."""
    truncated: Tensor
    """bool [T, E] episode ended after step t by the time limit (implies done)."""
    state: dict[str, Tensor]
    """recurrent state before step 0 (as passed to act at step 0)."""
    bootstrap_value: Tensor
    """float [E, N] value of the observation after step T-1 (action head)."""
    messages: Tensor | None = None
    """int64 [T, E, N] messages sent (communication)."""
    bootstrap_message_value: Tensor | None = None
    """float [E, N] message-head value after step T-1 (communication)."""
    next_actions: Tensor | None = None
    """int64 [E, N] actions at step T (MOA targets of step T-1); None drops that term."""
    next_visible: Tensor | None = None
    """bool [E, N, N] visibility at step T (MOA visible-only mask of step T-1)."""
    final_values: Tensor | None = None
    """float [T, E, N] final-observation values where truncated before step T-1."""
    final_message_values: Tensor | None = None
    """float [T, E, N] as final_values, for the message head."""

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])


@dataclass
class LossOutput:
    """`total` carries gradients; `terms` holds detached scalars for logging; `outputs` the
    replayed (detached) probs [T, E, N, A], values [T, E, N] (+ message_probs, moa_probs
    [T, E, N, N-1, A])."""

    total: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)
    outputs: dict[str, Tensor] = field(default_factory=dict)
