"""The batched social-dilemma environment: E copies of one game stepped together (SPEC 1).

>>> env = make_env("harvest", n_envs=2, seed=0)
>>> obs = env.reset()
>>> obs.shape, obs.dtype
((2, 5, 15, 15, 3), dtype('uint8'))
>>> obs, rewards, info = env.step(np.full((2, 5), 4))
>>> rewards.shape, info["visible"].shape
((2, 5), (2, 5, 5))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import kernels as K
from .actions import CLEAN, FIRE, OPEN_BOX
from .config import ACTION_NAMES, GAME_CONFIGS, GameConfig, check_config
from .maps import (
    T_APPLE,
    T_BOX,
    T_FLOOR,
    T_RIVER,
    T_WALL,
    T_WASTE,
    GameMap,
    compile_map,
    default_map_path,
    load_map,
    parse_map,
)
from .rng import seed_streams
from .view import (
    BEAM_COLOURS,
    TILE_COLOURS,
    agent_colours,
    rebuild_images,
    render_frame,
    visibility,
    write_obs,
)

__all__ = ["GAME_NAMES", "SocialDilemmaEnv", "make_env"]

GAME_NAMES: tuple[str, ...] = tuple(GAME_CONFIGS)  # ("cleanup", "harvest", "box_trapped")
_GAME_ID = {"cleanup": K.CLEANUP, "harvest": K.HARVEST, "box_trapped": K.BOX_TRAPPED}


def _resolve_map(game: str, source: str | Path | None, n_agents: int) -> GameMap:
    if source is None:
        return load_map(default_map_path(game), game, n_agents)
    if isinstance(source, str) and "\n" in source:
        return parse_map(source, game, n_agents)
    return load_map(source, game, n_agents)


def _rules(game: str, config: GameConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's view of the config: Harvest neighbour offsets int [K, 2] and the
    integer and float rule vectors (slots ``kernels.I_*`` and ``kernels.F_*``)."""
    radius2 = float(getattr(config, "regrowth_radius", 2.0)) ** 2
    span = int(np.floor(np.sqrt(radius2)))
    dr, dc = np.mgrid[-span:span + 1, -span:span + 1]
    near = (dr**2 + dc**2 <= radius2) & ((dr != 0) | (dc != 0))
    nbr = np.stack([dr[near], dc[near]], axis=1).astype(np.int64)  # [K, 2]
    ip = np.zeros(7, np.int64)
    ip[K.I_GAME] = _GAME_ID[game]
    ip[K.I_BEAM_LEN] = config.beam_length
    ip[K.I_RADIUS] = config.view_radius
    ip[K.I_DRAW_BEAMS] = int(config.draw_beams)
    ip[K.I_OPEN_ADJ] = int(getattr(config, "open_needs_adjacency", False))
    ip[K.I_DELAY] = getattr(config, "regrowth_delay", 0)
    fp = np.zeros(K.F_P0 + 4, np.float64)
    fp[K.F_FIRE_COST] = config.fire_cost
    fp[K.F_HIT] = config.hit_penalty
    fp[K.F_APPLE] = config.apple_reward
    fp[K.F_BUMP] = config.wall_bump_cost
    fp[K.F_DEPLETION] = getattr(config, "depletion_threshold", 0.4)
    fp[K.F_RESTORATION] = getattr(config, "restoration_threshold", 0.0)
    fp[K.F_RESPAWN] = getattr(config, "apple_respawn", 0.0)
    fp[K.F_WASTE_SPAWN] = getattr(config, "waste_spawn", 0.0)
    fp[K.F_P0:] = getattr(config, "regrowth_probs", (0.0, 0.0, 0.0, 0.0))
    return nbr, ip, fp


class SocialDilemmaEnv:
    """E independent copies of one grid game with N agents, stepped in lockstep.

    Parameters
    ----------
    config : CleanupConfig, HarvestConfig or BoxTrappedConfig
        The game and its rules (the type decides the game).
    n_envs : int
        Number of copies E (>= 1).
    seed : int
        Seed of the copies' random streams; copy e depends only on (seed, e).
    map_path : str or Path, optional
        Map file (or map text containing a newline); overrides ``config.map``.

    Notes
    -----
    The state lives in arrays with a leading env axis; ``step`` runs one compiled
    kernel over all copies (SPEC 1.1 step order) and cuts the observations from
    incrementally maintained rotated images.
    """

    def __init__(self, config: GameConfig, n_envs: int = 1, seed: int = 0,
                 map_path: str | Path | None = None) -> None:
        game = next((g for g, cls in GAME_CONFIGS.items() if type(config) is cls), None)
        if game is None:
            raise ValueError(
                f"config of type {type(config).__name__}: give one of "
                f"{', '.join(cls.__name__ for cls in GAME_CONFIGS.values())}"
            )
        check_config(config)
        if not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
            raise ValueError(f"n_envs = {n_envs!r}: give an int >= 1")
        self.game = game
        self.config = config
        self.n_envs = int(n_envs)
        self.n_agents = config.n_agents
        self.n_actions = CLEAN + 1 if game == "cleanup" else FIRE + 1
        names = ACTION_NAMES + ("clean",) if game == "cleanup" else ACTION_NAMES
        if game == "box_trapped":
            names = names[:OPEN_BOX] + ("open_box",)
        self.action_names: tuple[str, ...] = names
        self.agent_names: tuple[str, ...] = tuple(f"agent_{k}" for k in range(self.n_agents))
        self.horizon = config.horizon
        self.radius = config.view_radius
        v = 2 * self.radius + 1
        self.obs_shape = (v, v, 3)
        self.map = _resolve_map(game, map_path if map_path is not None else config.map,
                                self.n_agents)
        self._layout = lay = compile_map(self.map)
        self.trapped_agent = config.trapped_agent if game == "box_trapped" else -1
        self._colours = agent_colours(self.n_agents)
        e, n = self.n_envs, self.n_agents
        h, w = self.map.shape
        size = max(h, w) + 2 * self.radius
        beam_cap = 3 * config.beam_length * n
        # state, leading env axis
        self._pos = np.zeros((e, n, 2), np.int64)              # [E, N, (row, col)]
        self._facing = np.zeros((e, n), np.int64)              # [E, N]
        self._tile = np.zeros((e, h, w), np.uint8)             # [E, H, W] tile codes
        self._agent_at = np.full((e, h, w), -1, np.int8)       # [E, H, W] agent or -1
        self._beam_at = np.zeros((e, h, w), np.uint8)          # [E, H, W] 0 / 1 fire / 2 clean
        self._beam_cells = np.zeros((e, beam_cap), np.int64)   # [E, 3 L N] flat cells
        self._beam_count = np.zeros(e, np.int64)               # [E]
        self._apples = np.zeros(e, np.int64)                   # [E]
        self._waste = np.zeros(e, np.int64)                    # [E]
        self._box_open = np.zeros(e, np.bool_)                 # [E]
        self._opened_at = np.full(e, -1, np.int64)             # [E]
        self._fired = np.zeros((e, n), np.bool_)               # [E, N] last step
        self._hits = np.zeros((e, n), np.int16)                # [E, N] last step
        self._regrow_at = np.zeros((e, max(lay.grow.size, 1)), np.int64)  # [E, G]
        self._img = np.zeros((e, 4, size, size, 3), np.uint8)  # [E, facing, S, S, RGB]
        self._rng = seed_streams(seed, e)                      # [E] uint64
        self._nbr, self._ip, self._fp = _rules(game, config)
        # what the kernels read and write, in the order of K.STATE_FIELDS / K.LAYOUT_FIELDS
        # (the arrays are updated in place, never replaced)
        self._state = (self._pos, self._facing, self._tile, self._agent_at, self._beam_at,
                       self._beam_cells, self._beam_count, self._rng, self._apples,
                       self._waste, self._box_open, self._opened_at, self._regrow_at)
        self._kernel_layout = (lay.grow, lay.grow_index, lay.river, lay.box, lay.inside,
                               lay.box_adjacent, self._nbr)
        self._hide_agent = (
            self.trapped_agent if game == "box_trapped" and not config.trapped_sees_box else -1
        )
        self.t = 0
        self.reset()

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start a new episode in every copy.

        Parameters
        ----------
        seed : int, optional
            Re-seed every copy's stream; None continues the current streams.

        Returns
        -------
        obs : uint8 [E, N, V, V, 3]
        """
        if seed is not None:
            self._rng[:] = seed_streams(seed, self.n_envs)  # in place: self._state holds it
        lay = self._layout
        K.reset_kernel(self._state, lay.tile, lay.spawn, lay.trapped_spawn, self.trapped_agent)
        self._fired[:] = False
        self._hits[:] = 0
        self.t = 0
        self._repaint()
        return self._observe()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        """Advance every copy by one step.

        Parameters
        ----------
        actions : int array [E, N]
            Action codes 0..n_actions-1 (see ``action_names``).

        Returns
        -------
        obs : uint8 [E, N, V, V, 3]
        rewards : float32 [E, N]
        info : dict
            :meth:`info` after the step: positions, facings, visible, fired, hits,
            apples, waste (cleanup), box_open and box_opened_at (box_trapped),
            truncated, t (see docs/contracts.md).
        """
        if self.t >= self.horizon:
            raise ValueError(
                f"the episode ended after horizon = {self.horizon} steps; call reset() first"
            )
        a = np.asarray(actions)
        if a.shape != (self.n_envs, self.n_agents) or a.dtype.kind not in "iu":
            raise ValueError(
                f"actions of shape {a.shape} and dtype {a.dtype}: give ints of shape "
                f"(n_envs, n_agents) = ({self.n_envs}, {self.n_agents})"
            )
        if a.size and (a.min() < 0 or a.max() >= self.n_actions):
            raise ValueError(
                f"actions must lie in 0..{self.n_actions - 1} for {self.game} "
                f"(got {a.min()}..{a.max()})"
            )
        a = a.astype(np.int64, copy=False)
        rewards = np.empty((self.n_envs, self.n_agents), np.float32)  # [E, N]
        self._ip[K.I_T] = self.t
        K.step_kernel(a, self._state, self._kernel_layout, self._ip, self._fp, self._img,
                      TILE_COLOURS, rewards, self._fired, self._hits)
        self.t += 1
        return self._observe(), rewards, self.info()

    # ------------------------------------------------------------------ state
    @property
    def positions(self) -> np.ndarray:
        """(row, col) of every agent now, int16 [E, N, 2] (a copy)."""
        return self._pos.astype(np.int16)

    @property
    def facings(self) -> np.ndarray:
        """Facing of every agent now (0 up, 1 right, 2 down, 3 left), int8 [E, N] (a copy)."""
        return self._facing.astype(np.int8)

    def set_state(self, positions=None, facings=None, apples=None, waste=None,
                  box_open=None) -> np.ndarray:
        """Place agents, apples and waste exactly (for tests, demos and replays).

        Each argument is optional; None keeps the current value.

        Parameters
        ----------
        positions : int [N, 2] or [E, N, 2]
            (row, col) of each agent; distinct, walkable cells.
        facings : int [N] or [E, N]
            0 up, 1 right, 2 down, 3 left.
        apples : bool [H, W] or [E, H, W]
            Where apples are; only on apple-growing cells ('A', and 'B' in Cleanup).
        waste : bool [H, W] or [E, H, W]
            Cleanup: which river cells hold waste; the others are clean river.
        box_open : bool or bool [E]
            Box trapped: open (walls removed) or closed.

        Returns
        -------
        obs : uint8 [E, N, V, V, 3], the observations of the new state.
        """
        e, n = self.n_envs, self.n_agents
        h, w = self.map.shape
        lay = self._layout
        if box_open is not None:
            if self.game != "box_trapped":
                raise ValueError("box_open applies to box_trapped only")
            opened = np.broadcast_to(np.asarray(box_open, bool), (e,))
            cells = lay.box
            for flag, value in ((opened, T_FLOOR), (~opened, T_BOX)):
                idx = np.nonzero(flag)[0]
                self._tile.reshape(e, -1)[np.ix_(idx, cells)] = value
            self._opened_at[opened & ~self._box_open] = self.t
            self._opened_at[~opened] = -1
            self._box_open[:] = opened
        if positions is not None:
            pos = np.broadcast_to(np.asarray(positions), (e, n, 2)).astype(np.int64)
            if (pos < 0).any() or (pos[..., 0] >= h).any() or (pos[..., 1] >= w).any():
                raise ValueError(f"positions outside the {h} x {w} map")
            tiles = self._tile[np.arange(e)[:, None], pos[..., 0], pos[..., 1]]
            if np.isin(tiles, (T_WALL, T_BOX)).any():
                raise ValueError("positions on a wall; place agents on walkable cells")
            flat = pos[..., 0] * w + pos[..., 1]
            if (np.sort(flat, axis=1)[:, 1:] == np.sort(flat, axis=1)[:, :-1]).any():
                raise ValueError("two agents on one cell; give distinct positions")
            self._pos[:] = pos
            self._agent_at[:] = -1
            self._agent_at[np.arange(e)[:, None], pos[..., 0], pos[..., 1]] = np.arange(n)
        if facings is not None:
            fac = np.broadcast_to(np.asarray(facings), (e, n))
            if ((fac < 0) | (fac > 3)).any():
                raise ValueError("facings must be 0 up, 1 right, 2 down or 3 left")
            self._facing[:] = fac
        if apples is not None:
            mask = np.broadcast_to(np.asarray(apples, bool), (e, h, w))
            growable = lay.grow_index >= 0
            if (mask & ~growable).any():
                raise ValueError("apples outside apple cells; use cells marked 'A' (or 'B')")
            flat_tile = self._tile
            flat_tile[:, growable] = np.where(mask[:, growable], T_APPLE, T_FLOOR)
        if waste is not None:
            if self.game != "cleanup":
                raise ValueError("waste applies to cleanup only")
            mask = np.broadcast_to(np.asarray(waste, bool), (e, h, w))
            river = np.zeros(h * w, bool)
            river[lay.river] = True
            river = river.reshape(h, w)
            if (mask & ~river).any():
                raise ValueError("waste outside the river; use cells marked 'H' or 'R'")
            self._tile[:, river] = np.where(mask[:, river], T_WASTE, T_RIVER)
        self._apples[:] = (self._tile == T_APPLE).sum(axis=(1, 2))
        self._waste[:] = (self._tile == T_WASTE).sum(axis=(1, 2))
        self._repaint()
        return self._observe()

    # ------------------------------------------------------------------ pictures
    def render(self, index: int = 0, scale: int = 8) -> np.ndarray:
        """Full-map RGB frame of copy ``index``, uint8 [H * scale, W * scale, 3], with beams."""
        if not 0 <= index < self.n_envs:
            raise ValueError(f"index = {index}: give a copy in 0..{self.n_envs - 1}")
        return render_frame(self._tile[index], self._agent_at[index], self._beam_at[index],
                            self._colours, self.config.draw_beams, scale)

    def _repaint(self) -> None:
        rebuild_images(self._img, self._tile, TILE_COLOURS, self.radius)

    def _observe(self) -> np.ndarray:
        out = np.empty((self.n_envs, self.n_agents, *self.obs_shape), np.uint8)
        write_obs(self._img, self._pos, self._facing, self._tile, self._agent_at, self._beam_at,
                  self._beam_cells, self._beam_count, self.radius, self._colours, BEAM_COLOURS,
                  self.config.draw_beams, out, self._hide_agent, self._layout.box, TILE_COLOURS)
        return out

    def info(self) -> dict:
        """The current state as ``step`` reports it: the same keys, dtypes and shapes.

        Call it after :meth:`reset` (or :meth:`set_state`) to get positions, facings
        and ``visible`` before the first step. ``fired`` and ``hits`` describe the
        last step (all False / 0 right after ``reset``). Every array is a fresh copy.

        Returns
        -------
        dict
            ``positions`` int16 [E, N, 2], ``facings`` int8 [E, N], ``visible`` bool
            [E, N, N], ``fired`` bool [E, N], ``hits`` int16 [E, N], ``apples`` int32
            [E], ``waste`` int32 [E] (cleanup), ``box_open`` bool [E] and
            ``box_opened_at`` int32 [E] (box_trapped), ``truncated`` bool, ``t`` int.
        """
        visible = np.empty((self.n_envs, self.n_agents, self.n_agents), np.bool_)  # [E, N, N]
        visibility(self._pos, self.radius, visible)
        info = {
            "positions": self._pos.astype(np.int16),
            "facings": self._facing.astype(np.int8),
            "visible": visible,
            "fired": self._fired.copy(),
            "hits": self._hits.copy(),
            "apples": self._apples.astype(np.int32),
            "truncated": self.t >= self.horizon,
            "t": self.t,
        }
        if self.game == "cleanup":
            info["waste"] = self._waste.astype(np.int32)
        if self.game == "box_trapped":
            info["box_open"] = self._box_open.copy()
            info["box_opened_at"] = self._opened_at.astype(np.int32)
        return info

    def __repr__(self) -> str:
        return (f"SocialDilemmaEnv(game={self.game!r}, n_envs={self.n_envs}, "
                f"n_agents={self.n_agents}, map={self.map.name!r} {self.map.shape})")


def make_env(game: str, n_envs: int = 1, seed: int = 0, config: GameConfig | None = None,
             map_path: str | Path | None = None) -> SocialDilemmaEnv:
    """Build a batched game.

    Parameters
    ----------
    game : str
        One of :data:`GAME_NAMES`.
    n_envs : int
        Copies stepped together.
    seed : int
        Seed of the copies' random streams.
    config : dataclass, optional
        The game's config (``CleanupConfig`` etc.); None = SPEC defaults.
    map_path : str or Path, optional
        Map file overriding ``config.map``.
    """
    if game not in GAME_CONFIGS:
        raise ValueError(f"unknown game {game!r}; choose one of {GAME_NAMES}")
    if config is None:
        config = GAME_CONFIGS[game]()
    elif type(config) is not GAME_CONFIGS[game]:
        raise ValueError(
            f"config of type {type(config).__name__} does not fit game {game!r}; "
            f"give a {GAME_CONFIGS[game].__name__}"
        )
    return SocialDilemmaEnv(config, n_envs=n_envs, seed=seed, map_path=map_path)
