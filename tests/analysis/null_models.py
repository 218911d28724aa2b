"""Null models for calibrating network inference on logs of learning agents (plain numpy).

Each generator takes an explicit :class:`numpy.random.Generator` and returns a
:class:`NullData`: int64 actions ``[episode, step, agent]`` (-1 = padding after an episode's
end), the ordered pairs ``(source, target)`` with NO influence (a significant edge there is a
false positive) and the planted pairs (none for the independent classes).

Agents act like learners' logs, not like i.i.d. noise: every agent is *sticky* (with
probability ``stick`` it repeats its previous action, else it draws a fresh one from its
current marginal), and the marginal itself may move with the episode index (learning) or with
the step within the episode (a shared trend, e.g. resources deplete). The stationary marginal of
a sticky agent equals the marginal it draws from.

Null classes (:data:`NULL_CLASSES`):

``shared_drift``
    Independent agents whose probability of action 0 rises from 0.1 to 0.7 across the
    episodes (20 x 300 steps), the same for all agents; sticky within episodes.
``shared_trend``
    Few, long episodes (3 x 1000 steps); the probability of action 0 rises from 0.1 to 0.7
    through every episode, the same for all agents.
``common_driver``
    A (agent 0, sticky) is copied into B (1) and C (2) at lag 1; null pairs B -> C, C -> B.
``unequal_lengths``
    Independent sticky agents, episode lengths uniform in 40..400.
``few_episodes``
    Independent sticky agents, 2 episodes x 600 steps.
``skewed_marginals``
    Independent sticky agents, one action with probability 0.9.

:func:`planted_copy` is the power model: one copy coupling 0 -> 1 at lag 1 with copy
probability ``strength`` on stationary data.

The benchmark ``benchmarks/bench_calibration.py`` imports this module by path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["NullData", "NULL_CLASSES", "shared_drift", "shared_trend", "common_driver",
           "unequal_lengths", "few_episodes", "skewed_marginals", "planted_copy"]

Pair = tuple[int, int]


@dataclass(frozen=True)
class NullData:
    """One synthetic dataset.

    Attributes
    ----------
    actions : int64 [episode, step, agent]
        Actions 0 .. n_symbols - 1; -1 after an episode's end.
    null_pairs : tuple of (source, target)
        Ordered pairs without influence (tests of these count false positives).
    true_pairs : tuple of (source, target)
        Planted couplings.
    """

    actions: np.ndarray
    null_pairs: tuple[Pair, ...]
    true_pairs: tuple[Pair, ...] = field(default=())


def _all_pairs(n_agents: int) -> tuple[Pair, ...]:
    return tuple((i, j) for i in range(n_agents) for j in range(n_agents) if i != j)


def _rising(p_first: float, p_last: float, n: int, n_symbols: int,
            curve: str = "linear") -> np.ndarray:
    """Marginals [n, symbol]: p(action 0) moves from ``p_first`` to ``p_last``, the rest is
    shared evenly by the other actions. ``curve``: ``"linear"``, or ``"saturating"`` (a
    learning curve: 1 - exp(-5 x), 80% of the change in the first third)."""
    x = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    if curve == "saturating":
        x = (1.0 - np.exp(-5.0 * x)) / (1.0 - np.exp(-5.0))
    elif curve != "linear":
        raise ValueError(f"curve is {curve!r}; pass 'linear' or 'saturating'")
    p0 = p_first + (p_last - p_first) * x
    rest = (1.0 - p0)[:, None] / (n_symbols - 1)
    return np.concatenate([p0[:, None], np.repeat(rest, n_symbols - 1, axis=1)], axis=1)


def _draw(rng: np.random.Generator, cdf: np.ndarray) -> np.ndarray:
    """One symbol per leading index from cumulative probabilities ``cdf`` [..., symbol]."""
    u = rng.random(cdf.shape[:-1])
    return np.minimum((u[..., None] >= cdf).sum(-1), cdf.shape[-1] - 1)


def _sticky(rng: np.random.Generator, probs: np.ndarray, stick: float, n_agents: int,
            copies: tuple[tuple[int, int, float], ...] = ()) -> np.ndarray:
    """Sticky agents: int64 [episode, step, agent].

    ``probs`` [episode, step, symbol] is every agent's marginal at each step. At step t an
    agent repeats its action of t - 1 with probability ``stick`` (never at t = 0), else draws
    from ``probs``. A coupling ``(source, target, s)`` in ``copies`` (sources before targets)
    overrides this: with probability ``s`` the target's action at t is the source's at t - 1.
    """
    n_episodes, n_steps, _ = probs.shape
    cdf = np.cumsum(probs, axis=-1)
    out = np.empty((n_episodes, n_steps, n_agents), dtype=np.int64)
    for t in range(n_steps):
        fresh = _draw(rng, np.broadcast_to(cdf[:, t, None, :], (n_episodes, n_agents,
                                                                 cdf.shape[-1])))
        if t > 0:
            keep = rng.random((n_episodes, n_agents)) < stick
            fresh = np.where(keep, out[:, t - 1], fresh)
            for src, tgt, s in copies:
                hit = rng.random(n_episodes) < s
                fresh[:, tgt] = np.where(hit, out[:, t - 1, src], fresh[:, tgt])
        out[:, t] = fresh
    return out


def _pad(actions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    actions[np.arange(actions.shape[1])[None, :] >= lengths[:, None]] = -1
    return actions


def shared_drift(rng: np.random.Generator, n_episodes: int = 20, n_steps: int = 300,
                 n_agents: int = 3, n_symbols: int = 4, p_first: float = 0.1,
                 p_last: float = 0.7, stick: float = 0.5, curve: str = "linear") -> NullData:
    """Independent agents sharing a drift across episodes (learning): p(action 0) rises
    linearly from ``p_first`` in the first episode to ``p_last`` in the last, for every agent.

    Examples
    --------
    >>> d = shared_drift(np.random.default_rng(0), n_episodes=4, n_steps=5)
    >>> d.actions.shape, len(d.null_pairs)
    ((4, 5, 3), 6)
    """
    marg = _rising(p_first, p_last, n_episodes, n_symbols, curve)  # [episode, symbol]
    probs = np.broadcast_to(marg[:, None, :], (n_episodes, n_steps, n_symbols))
    return NullData(_sticky(rng, probs, stick, n_agents), _all_pairs(n_agents))


def shared_trend(rng: np.random.Generator, n_episodes: int = 3, n_steps: int = 1000,
                 n_agents: int = 3, n_symbols: int = 4, p_first: float = 0.1,
                 p_last: float = 0.7, stick: float = 0.5, curve: str = "linear") -> NullData:
    """Independent agents sharing a trend within episodes: p(action 0) rises linearly from
    ``p_first`` at step 0 to ``p_last`` at the last step of every episode, for every agent."""
    marg = _rising(p_first, p_last, n_steps, n_symbols, curve)  # [step, symbol]
    probs = np.broadcast_to(marg[None], (n_episodes, n_steps, n_symbols))
    return NullData(_sticky(rng, probs, stick, n_agents), _all_pairs(n_agents))


def common_driver(rng: np.random.Generator, n_episodes: int = 20, n_steps: int = 200,
                  n_symbols: int = 4, strength: float = 0.5, stick: float = 0.8) -> NullData:
    """A (agent 0) drives B (1) and C (2): each copies A's action of t - 1 with probability
    ``strength``. All three are sticky (A's actions are autocorrelated, so B's past predicts
    C's present unless A's past is conditioned on). Null pairs: B -> C and C -> B."""
    probs = np.full((n_episodes, n_steps, n_symbols), 1.0 / n_symbols)
    acts = _sticky(rng, probs, stick, 3, copies=((0, 1, strength), (0, 2, strength)))
    return NullData(acts, ((1, 2), (2, 1)), ((0, 1), (0, 2)))


def unequal_lengths(rng: np.random.Generator, n_episodes: int = 20, min_length: int = 40,
                    max_length: int = 400, n_agents: int = 3, n_symbols: int = 4,
                    stick: float = 0.5) -> NullData:
    """Independent sticky agents, uniform marginals, episode lengths uniform in
    ``[min_length, max_length]`` (padding -1)."""
    probs = np.full((n_episodes, max_length, n_symbols), 1.0 / n_symbols)
    acts = _sticky(rng, probs, stick, n_agents)
    lengths = rng.integers(min_length, max_length + 1, n_episodes)
    return NullData(_pad(acts, lengths), _all_pairs(n_agents))


def few_episodes(rng: np.random.Generator, n_episodes: int = 2, n_steps: int = 600,
                 n_agents: int = 3, n_symbols: int = 4, stick: float = 0.5) -> NullData:
    """Independent sticky agents with uniform marginals in a few long episodes."""
    probs = np.full((n_episodes, n_steps, n_symbols), 1.0 / n_symbols)
    return NullData(_sticky(rng, probs, stick, n_agents), _all_pairs(n_agents))


def skewed_marginals(rng: np.random.Generator, n_episodes: int = 20, n_steps: int = 200,
                     n_agents: int = 3, n_symbols: int = 4, p_major: float = 0.9,
                     stick: float = 0.5) -> NullData:
    """Independent sticky agents whose action 0 has probability ``p_major`` (the other
    actions share the rest): sparse count tables."""
    marg = np.full(n_symbols, (1.0 - p_major) / (n_symbols - 1))
    marg[0] = p_major
    probs = np.broadcast_to(marg, (n_episodes, n_steps, n_symbols))
    return NullData(_sticky(rng, probs, stick, n_agents), _all_pairs(n_agents))


def planted_copy(rng: np.random.Generator, strength: float, n_episodes: int = 20,
                 n_steps: int = 200, n_agents: int = 3, n_symbols: int = 4,
                 stick: float = 0.5) -> NullData:
    """Power model: stationary sticky agents (uniform marginals); agent 1 copies agent 0's
    action of t - 1 with probability ``strength`` (else its own sticky rule). True pair
    (0, 1); every other ordered pair is null (agent 2 is independent, and agent 1's past adds
    nothing to agent 0's own).

    Examples
    --------
    >>> d = planted_copy(np.random.default_rng(0), 1.0, n_episodes=2, n_steps=6)
    >>> bool((d.actions[:, 1:, 1] == d.actions[:, :-1, 0]).all())
    True
    """
    probs = np.full((n_episodes, n_steps, n_symbols), 1.0 / n_symbols)
    acts = _sticky(rng, probs, stick, n_agents, copies=((0, 1, strength),))
    nulls = tuple(p for p in _all_pairs(n_agents) if p != (0, 1))
    return NullData(acts, nulls, ((0, 1),))


#: Null class name -> generator (called as ``generator(rng)`` with the defaults above).
NULL_CLASSES: dict[str, Callable[[np.random.Generator], NullData]] = {
    "shared_drift": shared_drift,
    "shared_trend": shared_trend,
    "common_driver": common_driver,
    "unequal_lengths": unequal_lengths,
    "few_episodes": few_episodes,
    "skewed_marginals": skewed_marginals,
}
