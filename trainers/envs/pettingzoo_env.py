"""PettingZoo ``ParallelEnv`` adapter over one copy of a batched game (SPEC 1.5).

The batched engine steps ``E`` copies in lockstep with arrays; this adapter wraps an
engine built with ``n_envs=1`` and speaks the PettingZoo parallel API: dictionaries
keyed by agent name, gymnasium spaces, agents removed once their episode is truncated.

Example
-------
>>> from trainers.envs.pettingzoo_env import parallel_env
>>> env = parallel_env("harvest", seed=0, horizon=3)
>>> obs, infos = env.reset(seed=1)
>>> env.agents == env.possible_agents
True
>>> while env.agents:
...     actions = {a: env.action_space(a).sample() for a in env.agents}
...     obs, rewards, terminations, truncations, infos = env.step(actions)
>>> truncations["agent_0"], env.agents
(True, [])
"""

from __future__ import annotations

import dataclasses
import operator
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

from .config import GAME_CONFIGS
from .engine import GAME_NAMES, make_env

__all__ = ["SSDParallelEnv", "parallel_env"]

RENDER_MODES = ("rgb_array",)
_INFO_NAMES = {"positions": "position", "facings": "facing"}  # engine key -> per-agent key


class SSDParallelEnv(ParallelEnv):
    """One copy of a batched game seen through the PettingZoo parallel API.

    Parameters
    ----------
    engine
        A batched game from :func:`trainers.envs.make_env` built with ``n_envs=1``.
    game
        The game's name, used for ``metadata["name"]``; default ``engine.game``.
    render_mode
        ``"rgb_array"`` to let :meth:`render` return frames, or ``None``.
    render_scale
        Pixels per map cell in rendered frames.

    Attributes
    ----------
    state_space : gymnasium.spaces.Box
        uint8 ``(rows, cols, 3)``: the full map at one pixel per cell (:meth:`state`).
    possible_agents : list of str
        The engine's ``agent_names``.
    agents : list of str
        Agents still in the episode: all of them after :meth:`reset`, none after the
        step on which the episode is truncated (at the engine's ``horizon``).

    Notes
    -----
    Episodes never terminate, they are truncated after ``horizon`` steps, as in the
    engine. Observations and infos are views of the engine's fresh per-step arrays, so
    they stay valid after later steps.
    """

    metadata: dict[str, Any] = {
        "name": "infoflow_ssd_v0",
        "render_modes": list(RENDER_MODES),
        "is_parallelizable": True,
        "render_fps": 8,
    }

    def __init__(
        self,
        engine: Any,
        game: str | None = None,
        render_mode: str | None = None,
        render_scale: int = 8,
    ) -> None:
        if engine.n_envs != 1:
            raise ValueError(
                f"the PettingZoo adapter wraps one env copy but the engine has "
                f"n_envs={engine.n_envs}; build it with make_env(..., n_envs=1)"
            )
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"unknown render_mode {render_mode!r}; use one of {list(RENDER_MODES)} or None"
            )
        if int(render_scale) < 1:
            raise ValueError(f"render_scale must be a positive integer, got {render_scale}")
        self.engine = engine
        game = game if game is not None else getattr(engine, "game", "ssd")
        self.game = game
        self.render_mode = render_mode
        self.render_scale = int(render_scale)
        self.metadata = {**type(self).metadata, "name": f"infoflow_{game}_v0"}
        self.possible_agents: list[str] = list(engine.agent_names)
        self.agents: list[str] = []
        # one space object per agent, returned as is on every call (the API requires it)
        self.observation_spaces = {
            a: spaces.Box(0, 255, shape=tuple(engine.obs_shape), dtype=np.uint8)
            for a in self.possible_agents
        }
        self.action_spaces = {a: spaces.Discrete(engine.n_actions) for a in self.possible_agents}
        self.state_space = spaces.Box(0, 255, shape=(*engine.map.shape, 3), dtype=np.uint8)
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._actions = np.full((1, len(self.possible_agents)), 4, dtype=np.int64)  # [E=1, N]
        self.num_moves = 0

    # -- spaces ---------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Box:
        """The ``uint8`` box of one agent's egocentric RGB view, shape ``obs_shape``."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        """The agent's discrete actions (SPEC 1.1 indices; ``n_actions`` of them)."""
        return self.action_spaces[agent]

    # -- episode ----------------------------------------------------------------------------
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start an episode.

        Parameters
        ----------
        seed
            Reseed the game's random stream; ``None`` continues the current stream.
        options
            Accepted for API compatibility; unused.

        Returns
        -------
        observations : dict of str to ndarray
            uint8 ``obs_shape`` view per agent.
        infos : dict of str to dict
            Each agent's starting state, as in :meth:`step` (``fired`` False, ``hits`` 0).
        """
        obs = self.engine.reset(seed=seed)  # [1, N, H, W, 3]
        self.agents = list(self.possible_agents)
        self.num_moves = 0
        observations = {a: obs[0, i] for a, i in self._index.items()}
        return observations, self._agent_infos(self.engine.info(), self.agents)

    def step(
        self, actions: dict[str, int]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Advance the game one step with every live agent's action.

        Parameters
        ----------
        actions
            Action index per live agent; every live agent must have one.

        Returns
        -------
        observations, rewards, terminations, truncations, infos
            Dictionaries keyed by the agents live before this step. Rewards are floats
            (by default: apple +1, firing −1, −50 per hit). ``infos[agent]`` holds the
            engine's per-agent state (``position`` (row, col), ``facing``, ``visible``
            bool [N], ``fired``, ``hits``) and the game's counters (``apples``, ...).
        """
        if not self.agents:
            raise ValueError("the episode is over (all agents were truncated); call reset() first")
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise ValueError(
                f"actions given for agents not in the episode: {sorted(unknown)}; "
                f"live agents are {self.agents}"
            )
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(
                f"no action for live agents {missing}; give one per agent in env.agents"
            )
        n_actions = self.engine.n_actions
        codes = {}
        for agent in self.agents:
            action = actions[agent]
            try:
                code = operator.index(action)
            except TypeError:
                raise ValueError(
                    f"action {action!r} of {agent} is not an integer; give an action index"
                ) from None
            if not 0 <= code < n_actions:
                raise ValueError(
                    f"action {action!r} of {agent} is out of range; use 0..{n_actions - 1}"
                )
            codes[agent] = code
        for agent, code in codes.items():
            self._actions[0, self._index[agent]] = code

        obs, rewards, info = self.engine.step(self._actions)  # [1, N, H, W, 3], [1, N], dict
        self.num_moves += 1
        truncated = bool(np.asarray(info["truncated"]).any())
        live = self.agents
        observations = {a: obs[0, self._index[a]] for a in live}
        reward_dict = {a: float(rewards[0, self._index[a]]) for a in live}
        terminations = dict.fromkeys(live, False)
        truncations = dict.fromkeys(live, truncated)
        infos = self._agent_infos(info, live)
        if truncated:
            self.agents = []
        return observations, reward_dict, terminations, truncations, infos

    def _agent_infos(self, info: dict[str, Any], live: list[str]) -> dict[str, dict[str, Any]]:
        """Split the engine's batched ``info`` of copy 0 into one dictionary per live agent.

        Arrays ``[E, N]`` give each agent a Python scalar, arrays ``[E, N, ...]`` a row
        (``position`` int16 [2], ``visible`` bool [N]); arrays ``[E]`` (game counters)
        are shared by all agents. Plural names become singular (``positions`` -> ``position``).
        """
        n = len(self.possible_agents)
        shared: dict[str, Any] = {}
        rows: dict[str, Any] = {}  # name -> list or array indexed by agent
        for key, value in info.items():
            if key == "truncated" or not isinstance(value, np.ndarray):
                continue
            name = _INFO_NAMES.get(key, key)
            if value.ndim >= 2 and value.shape[1] == n:
                rows[name] = value[0].tolist() if value.ndim == 2 else value[0]
            elif value.ndim == 1:
                shared[name] = value[0].item()
        index = self._index
        return {a: {**{k: v[index[a]] for k, v in rows.items()}, **shared} for a in live}

    # -- views of the whole map --------------------------------------------------------
    def render(self) -> np.ndarray | None:
        """Full-map RGB frame, uint8 ``[rows * scale, cols * scale, 3]``, with beams.

        Returns ``None`` (with a warning) when the env was made without a render mode.
        """
        if self.render_mode is None:
            gymnasium.logger.warn(
                "render() called without a render mode; make the env with render_mode='rgb_array'"
            )
            return None
        return self.engine.render(index=0, scale=self.render_scale)

    def state(self) -> np.ndarray:
        """Global state: the full-map RGB frame at one pixel per cell, uint8 ``[rows, cols, 3]``."""
        return self.engine.render(index=0, scale=1)

    def close(self) -> None:
        """Nothing to release (no window, no subprocess)."""


def parallel_env(
    game: str = "cleanup",
    *,
    seed: int = 0,
    config: Any = None,
    map_path: str | Path | None = None,
    render_mode: str | None = None,
    render_scale: int = 8,
    **overrides: Any,
) -> SSDParallelEnv:
    """Make a PettingZoo parallel env of one game.

    Parameters
    ----------
    game
        One of :data:`trainers.envs.GAME_NAMES`.
    seed
        Seed of the game's random stream until ``reset(seed=...)`` reseeds it.
    config
        The game's config dataclass; ``None`` takes the defaults.
    map_path
        ASCII map file to play on instead of the game's default map.
    render_mode
        ``"rgb_array"`` or ``None``.
    render_scale
        Pixels per map cell in rendered frames.
    **overrides
        Fields of the game's config to change, e.g. ``horizon=100``.

    Returns
    -------
    SSDParallelEnv

    Raises
    ------
    ValueError
        Unknown game, unknown config field, bad map file or render mode.
    """
    if overrides:
        config = _with_overrides(game, config, overrides)
    engine = make_env(game, n_envs=1, seed=seed, config=config, map_path=map_path)
    return SSDParallelEnv(engine, game=game, render_mode=render_mode, render_scale=render_scale)


def _with_overrides(game: str, config: Any, overrides: dict[str, Any]) -> Any:
    """Return ``config`` (or the game's default config) with fields replaced."""
    if config is None:
        if game not in GAME_CONFIGS:
            raise ValueError(f"unknown game {game!r}; choose one of {GAME_NAMES}")
        config = GAME_CONFIGS[game]()
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            f"unknown {type(config).__name__} fields {unknown}; valid fields are {sorted(fields)}"
        )
    return dataclasses.replace(config, **overrides)
