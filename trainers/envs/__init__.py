"""Batched Sequential Social Dilemma games: Cleanup, Harvest and Box trapped (SPEC 1).

See docs/contracts.md ("trainers.envs") for the interface other parts rely on.
"""

from .config import (
    ACTION_NAMES,
    GAME_CONFIGS,
    BoxTrappedConfig,
    CleanupConfig,
    GameConfig,
    HarvestConfig,
)
from .engine import GAME_NAMES, SocialDilemmaEnv, make_env
from .maps import GameMap, default_map_path, legend, load_map, parse_map
from .rules import apple_spawn_probability, waste_spawn_probability
from .view import agent_colours, write_gif

__all__ = [
    "ACTION_NAMES",
    "GAME_CONFIGS",
    "GAME_NAMES",
    "BoxTrappedConfig",
    "CleanupConfig",
    "GameConfig",
    "GameMap",
    "HarvestConfig",
    "SocialDilemmaEnv",
    "agent_colours",
    "apple_spawn_probability",
    "default_map_path",
    "legend",
    "load_map",
    "make_env",
    "parse_map",
    "waste_spawn_probability",
    "write_gif",
]
