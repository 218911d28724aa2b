"""ASCII maps: the legend, the validating loader and the compiled layout (SPEC 1.1).

A map is a rectangle of characters whose border is all walls.  ``parse_map``
checks a map text and names the line and column of the first fault;
``compile_map`` turns a checked map into the static arrays the engine uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "GameMap",
    "MapLayout",
    "compile_map",
    "default_map_path",
    "legend",
    "load_map",
    "parse_map",
]

# Tile codes of the dynamic grid (one uint8 per cell and env copy). The compiled kernels
# freeze these values; after changing them delete trainers/envs/__pycache__ (numba cache).
T_FLOOR, T_WALL, T_APPLE, T_WASTE, T_RIVER, T_STREAM, T_BOX = range(7)

_COMMON = {
    "@": "wall",
    " ": "floor",
    "P": "spawn point",
    "A": "apple",
    "S": "stream",
}
_EXTRA = {
    "cleanup": {"B": "orchard cell (apples spawn)", "H": "river with waste", "R": "clean river"},
    "harvest": {},
    "box_trapped": {"X": "box wall", "T": "spawn point inside the box"},
}
_INITIAL_TILE = {
    "@": T_WALL,
    " ": T_FLOOR,
    "P": T_FLOOR,
    "T": T_FLOOR,
    "A": T_APPLE,
    "B": T_FLOOR,
    "H": T_WASTE,
    "R": T_RIVER,
    "S": T_STREAM,
    "X": T_BOX,
}
_MAP_DIR = Path(__file__).resolve().parent / "maps"


def legend(game: str) -> dict[str, str]:
    """Characters allowed in a map of ``game`` and what they mean."""
    if game not in _EXTRA:
        raise ValueError(f"unknown game {game!r}; choose one of {tuple(_EXTRA)}")
    return {**_COMMON, **_EXTRA[game]}


def default_map_path(game: str) -> Path:
    """Path of the map shipped with ``game``."""
    legend(game)
    return _MAP_DIR / f"{game}.txt"


@dataclass(frozen=True)
class GameMap:
    """A validated map.

    Attributes
    ----------
    rows : tuple of str
        The map's lines, all of the same width.
    game : str
        Game whose legend the map follows.
    name : str
        Where the map came from (file name or ``"<string>"``), used in messages.
    """

    rows: tuple[str, ...]
    game: str
    name: str = "<string>"

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the map."""
        return len(self.rows), len(self.rows[0])

    @property
    def chars(self) -> np.ndarray:
        """The map as an array of single characters, shape [rows, cols]."""
        return np.array([list(r) for r in self.rows], dtype="<U1")

    def __str__(self) -> str:
        return "\n".join(self.rows)


def parse_map(text: str, game: str, n_agents: int, name: str = "<string>") -> GameMap:
    """Check a map text and return it as a :class:`GameMap`.

    Parameters
    ----------
    text : str
        The map, one line per row; empty lines at the start and end are ignored.
    game : str
        One of ``"cleanup"``, ``"harvest"``, ``"box_trapped"`` (decides the legend).
    n_agents : int
        Agents that need distinct spawn points.
    name : str
        Name used in error messages (e.g. the file name).

    Raises
    ------
    ValueError
        ``"<name> line L, column C: ..."`` for the first fault found: ragged rows,
        unknown characters, an open border, too few spawn points, a game-specific
        fault (Cleanup without river, Box trapped with an open box).
    """
    allowed = legend(game)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = 0
    while first < len(lines) and lines[first] == "":
        first += 1
    last = len(lines)
    while last > first and lines[last - 1] == "":
        last -= 1
    rows = lines[first:last]
    if not rows:
        raise ValueError(f"{name}: the map is empty; draw at least a 3 x 3 walled map")
    width = len(rows[0])
    for i, row in enumerate(rows):
        line = first + i + 1
        if len(row) != width:
            raise ValueError(
                f"{name} line {line}: {len(row)} columns, but line {first + 1} has {width}; "
                "every row must have the same width (pad with walls '@')"
            )
        for j, ch in enumerate(row):
            if ch not in allowed:
                shown = ", ".join(f"{c!r} {m}" for c, m in allowed.items())
                raise ValueError(
                    f"{name} line {line}, column {j + 1}: unknown character {ch!r} "
                    f"(legend for {game}: {shown})"
                )
    for i, row in enumerate(rows):
        edge = range(width) if i in (0, len(rows) - 1) else (0, width - 1)
        for j in edge:
            if row[j] != "@":
                raise ValueError(
                    f"{name} line {first + i + 1}, column {j + 1}: border cell is {row[j]!r}; "
                    "the map's outer rows and columns must all be walls '@'"
                )
    counts = {c: sum(r.count(c) for r in rows) for c in allowed}
    if game == "box_trapped":
        if counts["T"] < 1 or counts["P"] < max(n_agents - 1, 1):
            raise ValueError(
                f"{name}: box_trapped needs at least 1 spawn point 'T' inside the box and "
                f"{max(n_agents - 1, 1)} 'P' outside (found {counts['T']} and {counts['P']})"
            )
        _check_box_closed(rows, name, first)
    elif counts["P"] < n_agents:
        raise ValueError(
            f"{name}: {counts['P']} spawn points 'P' for {n_agents} agents; "
            "add spawn points to the map or use fewer agents"
        )
    if game == "cleanup" and counts["H"] + counts["R"] == 0:
        raise ValueError(
            f"{name}: a cleanup map needs river cells ('H' with waste or 'R' clean) "
            "to define the waste density"
        )
    return GameMap(rows=tuple(rows), game=game, name=name)


def _enclosed(rows: tuple[str, ...] | list[str], start: str) -> np.ndarray:
    """Cells reachable from the ``start`` characters without crossing '@' or 'X'."""
    grid = np.array([list(r) for r in rows], dtype="<U1")
    blocked = (grid == "@") | (grid == "X")
    seen = grid == start
    stack = list(zip(*np.nonzero(seen), strict=True))
    while stack:
        r, c = stack.pop()
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < grid.shape[0] and 0 <= cc < grid.shape[1]:
                if not blocked[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
    return seen


def _check_box_closed(rows: list[str], name: str, first: int) -> None:
    inside = _enclosed(rows, "T")
    for i, row in enumerate(rows):
        for j, ch in enumerate(row):
            if ch == "P" and inside[i, j]:
                raise ValueError(
                    f"{name} line {first + i + 1}, column {j + 1}: spawn point 'P' can be "
                    "reached from the box's 'T' cells; close the box with walls 'X'"
                )


def load_map(path: str | Path, game: str, n_agents: int) -> GameMap:
    """Read and check a map file (see :func:`parse_map`).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For any fault of the map, naming the file, line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"map file {str(path)!r} not found; give the path of a text map")
    return parse_map(path.read_text(encoding="utf-8"), game, n_agents, name=path.name)


@dataclass(frozen=True)
class MapLayout:
    """Static arrays the engine derives from a :class:`GameMap`.

    Attributes (H, W = map rows, columns)
    -------------------------------------
    tile : uint8 [H, W]       initial tile codes (T_FLOOR, T_WALL, ...)
    spawn : int32 [S]          flat indices of 'P' cells
    trapped_spawn : int32 [T]  flat indices of 'T' cells (box_trapped; else empty)
    grow : int32 [G]           flat indices of cells where apples can (re)grow
    grow_index : int32 [H, W]  position of a cell in ``grow``, -1 elsewhere
    river : int32 [R]          flat indices of river cells ('H' and 'R')
    box : int32 [X]            flat indices of box walls ('X')
    inside : bool [H, W]       cells inside the closed box
    box_adjacent : bool [H, W] cells orthogonally next to a box wall
    """

    tile: np.ndarray
    spawn: np.ndarray
    trapped_spawn: np.ndarray
    grow: np.ndarray
    grow_index: np.ndarray
    river: np.ndarray
    box: np.ndarray
    inside: np.ndarray
    box_adjacent: np.ndarray


def compile_map(game_map: GameMap) -> MapLayout:
    """Derive the engine's static arrays from a checked map."""
    grid = game_map.chars
    h, w = grid.shape
    tile = np.zeros((h, w), np.uint8)
    for ch, code in _INITIAL_TILE.items():
        tile[grid == ch] = code
    flat = grid.ravel()

    def where(*chars: str) -> np.ndarray:
        return np.flatnonzero(np.isin(flat, chars)).astype(np.int32)

    grow_chars = ("A", "B") if game_map.game == "cleanup" else ("A",)
    grow = where(*grow_chars)
    grow_index = np.full(h * w, -1, np.int32)
    grow_index[grow] = np.arange(grow.size, dtype=np.int32)
    box_mask = grid == "X"
    adjacent = np.zeros_like(box_mask)
    adjacent[1:] |= box_mask[:-1]
    adjacent[:-1] |= box_mask[1:]
    adjacent[:, 1:] |= box_mask[:, :-1]
    adjacent[:, :-1] |= box_mask[:, 1:]
    return MapLayout(
        tile=tile,
        spawn=where("P"),
        trapped_spawn=where("T"),
        grow=grow,
        grow_index=grow_index.reshape(h, w),
        river=where("H", "R"),
        box=where("X"),
        inside=_enclosed(game_map.rows, "T") if box_mask.any() else np.zeros((h, w), bool),
        box_adjacent=adjacent & ~box_mask,
    )
