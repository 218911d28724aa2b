"""Helpers for the game tests: tiny hand-drawn maps and views decoded to text."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.envs import GAME_CONFIGS, make_env
from trainers.envs.view import BEAM_COLOURS, TILE_COLOURS, agent_colours

# tile code -> character used in expected pictures
_TILE_CHARS = " @AHRSX"


def _decode(pixels: np.ndarray, n_agents: int = 10) -> list[str]:
    """RGB cells [h, w, 3] -> rows of characters: tiles as in the map legend,
    agents as digits, '*' fire beam, '~' clean beam, '.' outside the map."""
    table = {(0, 0, 0): "."}
    for code, ch in enumerate(_TILE_CHARS):
        table[tuple(int(v) for v in TILE_COLOURS[code])] = ch
    table[tuple(int(v) for v in BEAM_COLOURS[1])] = "*"
    table[tuple(int(v) for v in BEAM_COLOURS[2])] = "~"
    for k, col in enumerate(agent_colours(n_agents)):
        table[tuple(int(v) for v in col)] = str(k)
    return ["".join(table[tuple(int(v) for v in px)] for px in row) for row in pixels]


@pytest.fixture
def tiny_env():
    """Factory: an env of ``game`` on the map ``text`` with config overrides."""

    def build(game: str, text: str, n_envs: int = 1, seed: int = 0, **overrides):
        config = GAME_CONFIGS[game](map=text, **overrides)
        return make_env(game, n_envs=n_envs, seed=seed, config=config)

    return build


@pytest.fixture
def decode():
    """Decode a view [V, V, 3] or a scale-1 frame [H, W, 3] to rows of characters."""
    return _decode
