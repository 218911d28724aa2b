"""Record any PettingZoo ``ParallelEnv`` played by a user's policy as infoflow trajectories.

:func:`record` plays ``episodes`` episodes and returns (and, with ``out``, writes to zarr) a
dataset in the trajectory schema (:mod:`infoflow.trajectory`) that ``infoflow analyze`` reads:

- ``action`` [episode, step, agent]: the action each agent took; ``-1`` once an agent has left
  (PettingZoo agents can terminate or be truncated at different steps) and after the episode;
- ``reward`` [episode, step, agent]: the reward of that step (NaN where the agent was gone);
- ``message`` [episode, step, agent], when the policy also returns messages (symbols);
- one variable per key of ``variables(env)``, called after every step: a number gives
  [episode, step], a per-agent mapping gives [episode, step, agent] (positions, counters, ...:
  ``infoflow analyze --condition NAME`` can condition on an [episode, step] one);
- ``length`` [episode]: the steps of each episode (until every agent has left, or
  ``max_steps``), and ``agent_length`` [episode, agent]: the steps each agent played.

The policy is any callable, from any framework: it receives the observations of the agents
still playing (a dict: agent name -> numpy observation) and returns their actions (a dict:
agent name -> int), or a pair ``(actions, messages)`` of such dicts. Action spaces must be
discrete (``gymnasium.spaces.Discrete``); anything else is refused with one line.
No torch: this lives in the analysis layer.

Examples
--------
>>> from mpe2 import simple_spread_v3                                   # doctest: +SKIP
>>> env = simple_spread_v3.parallel_env(N=3, max_cycles=25)             # doctest: +SKIP
>>> rng = np.random.default_rng(0)                                      # doctest: +SKIP
>>> ds = record(env, lambda obs: {a: int(rng.integers(5)) for a in obs},
...             episodes=4, out="spread.zarr")                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from infoflow.trajectory.build import from_arrays
from infoflow.trajectory.schema import PAD

__all__ = ["record", "Policy"]

Policy = Callable[[dict[str, np.ndarray]], Mapping[str, int] | tuple[Mapping, Mapping]]
"""observations of the live agents -> their actions, or (actions, messages)."""

MAX_CELLS = 200_000_000
"""Largest episodes x steps x agents a recording may hold in memory (about 0.4 GB of actions
and 0.8 GB of rewards)."""


def _n_actions(env, agents: list[str]) -> int:
    """The common size of the agents' Discrete action spaces; ValueError otherwise."""
    sizes = []
    for agent in agents:
        space = env.action_space(agent)
        n = getattr(space, "n", None)
        if type(space).__name__ != "Discrete" or n is None:
            raise ValueError(f"agent {agent!r} has a {type(space).__name__} action space; "
                             "infoflow.record needs discrete actions (gymnasium.spaces."
                             "Discrete), e.g. continuous_actions=False in MPE environments")
        sizes.append(int(n))
    return max(sizes)


def record(env, policy: Policy, episodes: int, out: str | Path | None = None,
           seed: int | None = 0, max_steps: int = 10_000,
           variables: Callable[[Any], Mapping[str, Any]] | None = None,
           n_symbols: int | None = None, title: str | None = None) -> xr.Dataset:
    """Play ``episodes`` episodes of ``env`` with ``policy``; the trajectories as a dataset.

    Parameters
    ----------
    env : pettingzoo.ParallelEnv
        Any parallel environment with discrete action spaces (its ``possible_agents`` are the
        dataset's agents).
    policy : callable
        ``policy(observations) -> actions`` or ``-> (actions, messages)``: dicts keyed by the
        live agents' names; actions are ints in ``0..n-1``, messages ints ``>= 0``.
    episodes : int
        Episodes to play (>= 1).
    out : str or Path, optional
        Also write the dataset to this zarr store (must not exist).
    seed : int or None
        ``env.reset(seed=seed + episode)``; None leaves the env's own seeding.
    max_steps : int
        Cut an episode after this many steps (environments without truncation).
    variables : callable, optional
        ``variables(env) -> {name: number or {agent: number}}``, called after each step.
    n_symbols : int, optional
        Message vocabulary size (default: the largest message + 1).
    title : str, optional
        The dataset's title (default: the env's name).

    Returns
    -------
    xarray.Dataset
        Validated trajectories (``infoflow.trajectory`` schema).
    """
    if episodes < 1 or max_steps < 1:
        raise ValueError(f"episodes ({episodes}) and max_steps ({max_steps}) must be >= 1")
    agents = list(env.possible_agents)
    n_actions = _n_actions(env, agents)
    if episodes * max_steps * len(agents) > MAX_CELLS:
        raise ValueError(f"{episodes} episodes x {max_steps} steps x {len(agents)} agents is "
                         f"more than infoflow.record holds ({MAX_CELLS:,} cells); record fewer "
                         "episodes per call or lower max_steps")
    if out is not None and Path(out).exists():
        raise FileExistsError(f"{str(out)!r} already exists; choose another out")
    index = {a: i for i, a in enumerate(agents)}
    played = [_play(env, policy, agents, index, None if seed is None else seed + e, max_steps,
                    variables) for e in range(episodes)]
    n_steps = max(len(p["action"]) for p in played)
    n = len(agents)

    def stack(key: str, fill, dtype) -> np.ndarray:
        out_arr = np.full((episodes, n_steps, n), fill, dtype)
        for e, p in enumerate(played):
            if p[key]:
                out_arr[e, :len(p[key])] = p[key]
        return out_arr

    actions = stack("action", PAD, np.int16)
    if (actions >= n_actions).any():
        raise ValueError(f"the policy returned an action outside 0..{n_actions - 1}; return "
                         "indices of the agents' Discrete action spaces")
    with_messages = any(p["message"] and (np.asarray(p["message"]) >= 0).any() for p in played)
    acted = actions != PAD                                                # [episode, step, agent]
    played_steps = np.where(acted.any(axis=1),                            # [episode, agent]
                            n_steps - np.argmax(acted[:, ::-1], axis=1), 0)
    ds = from_arrays(
        actions, lengths=[len(p["action"]) for p in played], agents=agents,
        agent_lengths=played_steps,
        rewards=stack("reward", np.nan, np.float32),
        messages=stack("message", PAD, np.int16) if with_messages else None,
        n_actions=n_actions, n_symbols=n_symbols,
        env=str(getattr(env, "metadata", {}).get("name", type(env).__name__)),
        title=title or f"infoflow.record of {getattr(env, 'metadata', {}).get('name', 'env')}",
        seed=seed)
    ds = _with_variables(ds, played, agents, n_steps)
    if out is not None:
        from infoflow.trajectory import TrajectoryWriter

        with TrajectoryWriter(out, agents=agents, n_actions=n_actions,
                              n_symbols=int(ds.attrs.get("n_symbols", 0)),
                              attrs=dict(ds.attrs)) as writer:
            writer.append(ds)
    return ds


def _play(env, policy: Policy, agents: list[str], index: dict[str, int], seed: int | None,
          max_steps: int, variables) -> dict[str, list]:
    """One episode: per step, rows of [agent] actions, rewards, messages and the variables."""
    obs, _ = env.reset(seed=seed)
    rec: dict[str, list] = {"action": [], "reward": [], "message": [], "vars": []}
    while env.agents and len(rec["action"]) < max_steps:
        live = {a: obs[a] for a in env.agents}
        chosen = policy(live)
        actions, messages = chosen if isinstance(chosen, tuple) else (chosen, {})
        missing = [a for a in live if a not in actions]
        if missing:
            raise ValueError(f"the policy returned no action for {missing}; return one for "
                             "every agent it is given")
        row_a = np.full(len(agents), PAD, np.int64)
        row_m = np.full(len(agents), PAD, np.int64)
        for a in live:
            row_a[index[a]] = int(actions[a])
            if a in messages:
                row_m[index[a]] = int(messages[a])
        if (row_a[[index[a] for a in live]] < 0).any():
            raise ValueError("the policy returned a negative action; return indices >= 0")
        obs, rewards, _, _, _ = env.step({a: int(actions[a]) for a in live})
        row_r = np.full(len(agents), np.nan)
        for a, r in rewards.items():
            row_r[index[a]] = float(r)
        rec["action"].append(row_a)
        rec["reward"].append(row_r)
        rec["message"].append(row_m)
        if variables is not None:
            rec["vars"].append(dict(variables(env)))
    return rec


def _with_variables(ds: xr.Dataset, played: list[dict], agents: list[str],
                    n_steps: int) -> xr.Dataset:
    """Add the user's per-step variables: [episode, step] or [episode, step, agent]."""
    names = sorted({k for p in played for row in p["vars"] for k in row})
    for name in names:
        if name in ds.variables:
            raise ValueError(f"variables() returned {name!r}, a name the schema uses; "
                             "rename it")
        per_agent = any(isinstance(row.get(name), Mapping) for p in played for row in p["vars"])
        shape = (len(played), n_steps) + ((len(agents),) if per_agent else ())
        values = np.full(shape, np.nan)
        for e, p in enumerate(played):
            for t, row in enumerate(p["vars"]):
                v = row.get(name)
                if v is None:
                    continue
                if per_agent:
                    for a, x in dict(v).items():
                        values[e, t, agents.index(a)] = float(x)
                else:
                    values[e, t] = float(v)
        dims = ("episode", "step", "agent") if per_agent else ("episode", "step")
        ds[name] = (dims, values)
    return ds
