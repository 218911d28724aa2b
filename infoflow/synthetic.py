"""Synthetic multi-agent action data with planted, known structure (for tests and benchmarks).

:func:`coupled_actions` plants directed, lagged couplings between agents' actions (and
optionally from messages to actions); :func:`independent_actions` is the null model. Both
return trajectory datasets (:mod:`infoflow.trajectory`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import xarray as xr

from infoflow.trajectory import PAD, from_arrays

__all__ = ["coupled_actions", "independent_actions", "copy_kl"]

Seed = int | np.random.Generator | None
Coupling = tuple[int, int, int, float]  # (source, target, lag, strength)


def copy_kl(strength: float | np.ndarray, n_symbols: int) -> float | np.ndarray:
    """KL divergence (nats) of a copy channel's output given its input vs its marginal.

    With probability ``strength`` the output copies a uniform input over ``n_symbols``
    symbols, otherwise it is an independent uniform draw. Given the input ``x``,
    ``p(y = x) = s + (1 - s)/A`` and ``p(y = z) = (1 - s)/A`` for ``z != x``; the marginal is
    uniform, so ``D_KL = p_hit ln(A p_hit) + (A - 1) p_miss ln(A p_miss)``, which is also the
    mutual information between input and output.

    Parameters
    ----------
    strength : float or array
        Copy probability ``s`` in [0, 1].
    n_symbols : int
        Alphabet size ``A``.

    Returns
    -------
    float or array
        In nats; 0 for ``s = 0`` and ``ln A`` for ``s = 1``.

    Examples
    --------
    >>> round(float(copy_kl(1.0, 4)), 6) == round(float(np.log(4)), 6)
    True
    >>> float(copy_kl(0.0, 4))
    0.0
    """
    s = np.asarray(strength, dtype=float)
    hit = s + (1 - s) / n_symbols
    miss = (1 - s) / n_symbols
    with np.errstate(divide="ignore", invalid="ignore"):
        miss_term = np.where(miss > 0, (n_symbols - 1) * miss * np.log(n_symbols * miss), 0.0)
    return hit * np.log(n_symbols * hit) + miss_term


def _lengths(rng: np.random.Generator, n_episodes: int, n_steps: int,
             min_length: int | None) -> np.ndarray:
    if min_length is None:
        return np.full(n_episodes, n_steps, dtype=np.int32)
    return rng.integers(min_length, n_steps + 1, n_episodes).astype(np.int32)


def _pad(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Set steps at or after each episode's length to -1. values: [episode, step, agent]."""
    ended = np.arange(values.shape[1]) >= lengths[:, None]  # [episode, step]
    values[ended] = PAD
    return values


def _check_sizes(n_agents: int, n_symbols: int, n_episodes: int, n_steps: int,
                 min_length: int | None) -> None:
    sizes = {"n_agents": n_agents, "n_symbols": n_symbols, "n_episodes": n_episodes,
             "n_steps": n_steps}
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} is {value}; pass an int >= 1")
    if n_symbols > 32767:
        raise ValueError(f"n_symbols is {n_symbols}; actions are int16, pass at most 32767")
    if min_length is not None and not 0 <= min_length <= n_steps:
        raise ValueError(f"min_length is {min_length}; pass a value in [0, n_steps={n_steps}] "
                         "or None for full-length episodes")


def independent_actions(
    n_agents: int = 5,
    n_symbols: int = 8,
    n_episodes: int = 10,
    n_steps: int = 1000,
    seed: Seed = 0,
    p: Sequence[float] | np.ndarray | None = None,
    min_length: int | None = None,
    agents: Sequence[str] | None = None,
) -> xr.Dataset:
    """I.i.d. actions, independent across agents and steps: the null model.

    Parameters
    ----------
    n_agents, n_symbols, n_episodes, n_steps : int
        Agents, action alphabet size (stored as ``n_actions``), episodes, steps per episode.
    seed : int, numpy.random.Generator or None
        Random source.
    p : array, shape [choice] or [agent, choice], optional
        Action probabilities (shared or per agent). Default uniform.
    min_length : int, optional
        If given, each episode's length is uniform in ``[min_length, n_steps]`` and later
        steps are padded with -1. Default: every episode is ``n_steps`` long.
    agents : sequence of str, optional
        Agent names.

    Returns
    -------
    xarray.Dataset
        In the trajectory schema; attributes ``env = "synthetic"``,
        ``model = "independent_actions"``.

    Examples
    --------
    >>> ds = independent_actions(n_agents=2, n_symbols=3, n_episodes=1, n_steps=4, seed=1)
    >>> ds["action"].shape, ds.attrs["n_actions"]
    ((1, 4, 2), 3)
    """
    _check_sizes(n_agents, n_symbols, n_episodes, n_steps, min_length)
    rng = np.random.default_rng(seed)
    if p is None:
        actions = rng.integers(0, n_symbols, (n_episodes, n_steps, n_agents), dtype=np.int16)
    else:
        prob = np.broadcast_to(np.asarray(p, dtype=float), (n_agents, n_symbols)) \
            if np.ndim(p) in (1, 2) and np.shape(p)[-1] == n_symbols else None
        if prob is None or (prob < 0).any() or not np.allclose(prob.sum(axis=1), 1):
            raise ValueError(
                f"p must be probabilities of shape ({n_symbols},) or ({n_agents}, {n_symbols}) "
                "summing to 1 over the last axis"
            )
        cdf = np.cumsum(prob, axis=1)  # [agent, choice]
        u = rng.random((n_episodes, n_steps, n_agents))  # [episode, step, agent]
        actions = np.empty(u.shape, dtype=np.int16)
        for k in range(n_agents):  # inverse CDF per agent (a handful of agents)
            actions[:, :, k] = np.minimum(
                np.searchsorted(cdf[k], u[:, :, k], side="right"), n_symbols - 1
            )
    lengths = _lengths(rng, n_episodes, n_steps, min_length)
    return from_arrays(
        _pad(actions, lengths), lengths=lengths, agents=agents, n_actions=n_symbols,
        env="synthetic", model="independent_actions",
        seed=seed if isinstance(seed, int) else None,
        title="synthetic independent actions",
    )


def _check_edges(edges: Sequence, n_agents: int, n_steps: int, what: str) -> list[tuple]:
    checked = []
    for edge in edges:
        if len(edge) != 4:
            raise ValueError(f"{what} {edge!r} must be (source, target, lag, strength)")
        src, tgt, lag, strength = int(edge[0]), int(edge[1]), int(edge[2]), float(edge[3])
        if not (0 <= src < n_agents and 0 <= tgt < n_agents):
            raise ValueError(
                f"{what} {edge!r} names an agent outside 0..{n_agents - 1}; use agent indices"
            )
        if not 0 <= lag < n_steps:
            raise ValueError(f"{what} {edge!r} has lag {lag}; pass a lag in [0, n_steps)")
        if not 0.0 <= strength <= 1.0:
            raise ValueError(
                f"{what} {edge!r} has strength {strength}; pass a probability in [0, 1]"
            )
        checked.append((src, tgt, lag, strength))
    return checked


def _target_order(edges: list[tuple], n_agents: int, lag_zero_only: bool) -> list[int] | None:
    """Agents in an order where each target comes after its sources, or None if cyclic."""
    deps = {j: set() for j in range(n_agents)}
    for src, tgt, lag, _ in edges:
        if not lag_zero_only or lag == 0:
            deps[tgt].add(src)
    order, done = [], set()
    while len(order) < n_agents:
        ready = [j for j in range(n_agents) if j not in done and deps[j] <= done]
        if not ready:
            return None
        order.extend(ready)
        done.update(ready)
    return order


_RULE = (
    "each agent draws its action uniformly at random; for each coupling (source, target, lag, "
    "strength), with probability strength the target's action at t is f(source's action at "
    "t - lag) instead; couplings into one target are tried in order (action couplings before "
    "message couplings) and the first that fires decides; a coupling is inactive at t < lag"
)


def _tables(edges: list[tuple], n_symbols: int, n_message_symbols: int, function: str,
            rng: np.random.Generator) -> list[np.ndarray]:
    """Map of each coupling from the source's symbols to the target's action."""
    tables = []
    for kind, *_ in edges:
        width = n_symbols if kind == "action" else n_message_symbols
        codes = np.arange(width) % n_symbols  # messages beyond the action set wrap around
        if function == "permute":
            codes = rng.permutation(n_symbols)[codes]
        tables.append(codes.astype(np.int16))
    return tables


def _effective_strength(edges: list[tuple], into: list[int], n_steps: int) -> dict[int, np.ndarray]:
    """Probability that coupling i decides its target's action at step tau, per i: [step]."""
    tau = np.arange(n_steps)
    result = {}
    for pos, i in enumerate(into):
        lag, strength = edges[i][3], edges[i][4]
        q = np.where(tau >= lag, strength, 0.0)
        for earlier in into[:pos]:
            q = q * np.where(tau >= edges[earlier][3], 1.0 - edges[earlier][4], 1.0)
        result[i] = q
    return result


def coupled_actions(
    n_agents: int = 5,
    n_symbols: int = 8,
    n_episodes: int = 10,
    n_steps: int = 1000,
    couplings: Sequence[Coupling] = ((0, 1, 1, 0.8),),
    seed: Seed = 0,
    function: str = "copy",
    n_message_symbols: int = 0,
    message_couplings: Sequence[Coupling] = (),
    influence: bool = False,
    min_length: int | None = None,
    agents: Sequence[str] | None = None,
) -> xr.Dataset:
    """Actions with planted, lagged couplings between agents (and from messages to actions).

    Each agent's action at step t is its own uniform draw over ``n_symbols`` actions, except
    that for a planted coupling ``(source, target, lag, strength)``, with probability
    ``strength``, the target's action at t is ``f(source's action at t - lag)``, where ``f``
    is the identity (``function="copy"``) or a fixed random permutation of the actions drawn
    per coupling (``"permute"``). Rule for several couplings into one target (several
    sources, or one source at several lags): they are tried in the order given, action
    couplings before message couplings, and the first whose coin fires decides; coupling i
    thus decides with probability ``strength_i * prod(1 - strength_e)`` over the earlier
    couplings e. A coupling is inactive at steps t < lag. Chains and cycles are allowed (a
    source may itself be a target, also of itself); couplings with lag 0 must not form a
    cycle. Copying keeps actions uniform, so every agent's action marginal stays uniform.

    Parameters
    ----------
    n_agents, n_symbols, n_episodes, n_steps : int
        Agents, action alphabet size (stored as the ``n_actions`` attribute), episodes and
        steps per episode.
    couplings : sequence of (int, int, int, float)
        ``(source, target, lag, strength)``: agent indices, lag in steps (>= 0), and the
        copy probability in [0, 1].
    seed : int, numpy.random.Generator or None
        Random source; equal seeds give equal datasets.
    function : {"copy", "permute"}
        The map ``f`` of every coupling.
    n_message_symbols : int
        Vocabulary of messages; when > 0 every agent emits a uniform i.i.d. message each step
        (variable ``message``).
    message_couplings : sequence of (int, int, int, float)
        ``(speaker, listener, lag, strength)``: with probability ``strength`` the listener's
        action at t is ``f(speaker's message at t - lag mod n_symbols)``. ``(k, k, 0, s)``
        makes a consistent speaker; ``(k, j, 1, s)`` a message that predicts j's next action.
    influence : bool
        Add the variable ``influence[episode, step, source, target]``: the true counterfactual
        KL (nats) of the target's action at ``step + lag`` given the source's action at
        ``step``, against the target's marginal, summed over the direct action couplings
        from source to target: ``copy_kl(q, n_symbols)`` with q the coupling's deciding
        probability above. 0 for pairs without a coupling (indirect paths are not counted),
        NaN on the diagonal, after the episode's end, and where ``step + lag`` is past it.
        Exact when no message coupling with ``n_message_symbols`` not a multiple of
        ``n_symbols`` feeds the target.
    min_length : int, optional
        If given, each episode's length is uniform in ``[min_length, n_steps]`` and later
        steps are padded with -1.
    agents : sequence of str, optional
        Agent names.

    Returns
    -------
    xarray.Dataset
        In the trajectory schema; attributes ``env = "synthetic"``,
        ``model = "coupled_actions"``, ``couplings`` and ``message_couplings`` (JSON lists of
        ``{"source", "target", "lag", "strength", "map"}``) and ``coupling_rule`` (text).

    Raises
    ------
    ValueError
        For sizes below 1, couplings naming unknown agents, lags outside ``[0, n_steps)``,
        strengths outside [0, 1], an unknown ``function``, message couplings without
        messages, and cycles of lag-0 couplings.

    Examples
    --------
    A certain copy from agent 0 to agent 1 one step later:

    >>> ds = coupled_actions(n_agents=2, n_episodes=1, n_steps=5, couplings=[(0, 1, 1, 1.0)])
    >>> a = ds["action"].values[0]
    >>> bool((a[1:, 1] == a[:-1, 0]).all())
    True
    """
    _check_sizes(n_agents, n_symbols, n_episodes, n_steps, min_length)
    if function not in ("copy", "permute"):
        raise ValueError(f"function is {function!r}; pass 'copy' or 'permute'")
    if n_message_symbols < 0 or (message_couplings and n_message_symbols < 1):
        raise ValueError(
            f"n_message_symbols is {n_message_symbols}; pass a vocabulary size >= 1 to use "
            "message_couplings (0 means no messages)"
        )
    edges = [("action", *e) for e in _check_edges(couplings, n_agents, n_steps, "coupling")]
    edges += [("message", *e) for e in
              _check_edges(message_couplings, n_agents, n_steps, "message coupling")]
    action_edges = [e[1:] for e in edges if e[0] == "action"]
    rng = np.random.default_rng(seed)
    shape = (n_episodes, n_steps, n_agents)  # [episode, step, agent]
    actions = rng.integers(0, n_symbols, shape, dtype=np.int16)
    messages = (rng.integers(0, n_message_symbols, shape, dtype=np.int16)
                if n_message_symbols else None)
    tables = _tables(edges, n_symbols, n_message_symbols, function, rng)
    strength = np.array([e[4] for e in edges], dtype=np.float32)
    fired = rng.random((len(edges), n_episodes, n_steps), dtype=np.float32) \
        < strength[:, None, None]  # [edge, episode, step]
    into = {j: [i for i, e in enumerate(edges) if e[2] == j] for j in range(n_agents)}
    decider = np.full((n_agents, n_episodes, n_steps), -1, dtype=np.int32)
    for j, idx in into.items():
        if idx:
            f = fired[idx]  # [edge into j, episode, step]
            for pos, i in enumerate(idx):
                f[pos, :, :edges[i][3]] = False  # inactive before its lag
            decider[j] = np.where(f.any(axis=0), np.asarray(idx)[f.argmax(axis=0)], -1)

    def source_of(i: int) -> np.ndarray:
        kind, src = edges[i][0], edges[i][1]
        return (actions if kind == "action" else messages)[:, :, src]  # [episode, step]

    order = _target_order(action_edges, n_agents, lag_zero_only=False)
    if order is not None:  # acyclic: whole sequences at once, sources before targets
        for j in order:
            for i in into[j]:
                lag = edges[i][3]
                mask = decider[j] == i  # [episode, step]; False before the lag
                shifted = np.zeros((n_episodes, n_steps), dtype=np.int16)
                shifted[:, lag:] = tables[i][source_of(i)[:, :n_steps - lag]]
                actions[:, :, j][mask] = shifted[mask]
    else:  # cycles (lags >= 1) need the past to be final: step by step
        order = _target_order(action_edges, n_agents, lag_zero_only=True)
        if order is None:
            raise ValueError(
                "couplings with lag 0 form a cycle, so no agent could act first; give one of "
                "them a lag >= 1"
            )
        steps = [(j, i) for j in order for i in into[j]]
        for t in range(n_steps):
            for j, i in steps:
                lag = edges[i][3]
                if t >= lag:
                    mask = decider[j, :, t] == i  # [episode]
                    actions[mask, t, j] = tables[i][source_of(i)[mask, t - lag]]

    lengths = _lengths(rng, n_episodes, n_steps, min_length)
    actions = _pad(actions, lengths)
    if messages is not None:
        messages = _pad(messages, lengths)
    kl = _true_influence(edges, into, lengths, n_agents, n_symbols, n_steps) if influence \
        else None

    def describe(kind: str) -> str:
        return json.dumps([
            {"source": e[1], "target": e[2], "lag": e[3], "strength": e[4],
             "map": tables[i].tolist()}
            for i, e in enumerate(edges) if e[0] == kind
        ])

    return from_arrays(
        actions, lengths=lengths, agents=agents, messages=messages, influence=kl,
        n_actions=n_symbols, n_symbols=n_message_symbols,
        env="synthetic", model="coupled_actions", seed=seed if isinstance(seed, int) else None,
        title="synthetic coupled actions", couplings=describe("action"),
        message_couplings=describe("message"), coupling_rule=_RULE,
    )


def _true_influence(edges: list[tuple], into: dict[int, list[int]], lengths: np.ndarray,
                    n_agents: int, n_symbols: int, n_steps: int) -> np.ndarray:
    """KL influence of the direct action couplings: [episode, step, source, target], nats."""
    n_episodes = len(lengths)
    steps = np.arange(n_steps)
    kl = np.zeros((n_episodes, n_steps, n_agents, n_agents), dtype=np.float32)
    for j, idx in into.items():
        q = _effective_strength(edges, idx, n_steps)
        for i in idx:
            kind, src, _, lag, _ = edges[i]
            if kind != "action":
                continue
            per_step = np.full(n_steps, np.nan)  # influence of the source's action at t
            per_step[:n_steps - lag] = copy_kl(q[i][lag:], n_symbols)
            beyond = steps[None, :] + lag >= lengths[:, None]  # [episode, step]
            kl[:, :, src, j] += np.where(beyond, np.nan, per_step[None, :])
    diagonal = np.arange(n_agents)
    kl[:, :, diagonal, diagonal] = np.nan
    kl[steps[None, :] >= lengths[:, None]] = np.nan
    return kl
