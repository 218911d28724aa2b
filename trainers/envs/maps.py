"""ASCII maps: the legend, the validating loader and the compiled layout (SPEC 1.1).

A map is a rectangle of characters whose border is all walls.  ``parse_map``
checks a map text and names the line and column of the first fault;
``compile_map`` turns a checked map into the static arrays the engine uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import GAME_CONFIGS

__all__ = [
    "GameMap",
    "MapLayout",
    "compile_map",
    "default_map_path",
    "legend",
    "load_map",
    "parse_map",
    "read_map_file",
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
        fault (Cleanup without river; Box trapped with an open box, a box without
        'X' walls, or one whose opening would not free the trapped agent).
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
        if len(row) < width:
            raise ValueError(
                f"{name} line {line}, column {len(row) + 1}: the row ends after {len(row)} "
                f"columns, but line {first + 1} has {width}; every row must have the same "
                "width (pad the row with walls '@')"
            )
        if len(row) > width:
            raise ValueError(
                f"{name} line {line}, column {width + 1}: extra character {row[width]!r}; "
                f"the row has {len(row)} columns, but line {first + 1} has {width}; every row "
                "must have the same width (remove the extra characters or widen the other rows)"
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
        _check_box(rows, name, first)
    elif counts["P"] < n_agents:
        fewer = ""
        if counts["P"] >= 1:
            cls = GAME_CONFIGS[game].__name__
            fewer = (
                f", or lower the config field n_agents to at most {counts['P']} "
                f"(e.g. {cls}(n_agents={counts['P']}), or n_agents = {counts['P']} under "
                "[env.config] in a run config)"
            )
        raise ValueError(
            f"{name}: {counts['P']} spawn points 'P' for {n_agents} agents; "
            f"add spawn points 'P' to the map{fewer}"
        )
    if game == "cleanup" and counts["H"] + counts["R"] == 0:
        raise ValueError(
            f"{name}: a cleanup map needs river cells ('H' with waste or 'R' clean) "
            "to define the waste density"
        )
    return GameMap(rows=tuple(rows), game=game, name=name)


def _enclosed(rows: tuple[str, ...] | list[str], start: str, walls: str = "@X") -> np.ndarray:
    """bool [H, W]: cells reachable from the ``start`` characters (included) by orthogonal
    steps that never enter a cell holding one of ``walls``."""
    grid = np.array([list(r) for r in rows], dtype="<U1")
    blocked = np.isin(grid, list(walls))
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


def _neighbours(mask: np.ndarray) -> np.ndarray:
    """bool [H, W]: cells orthogonally next to a True cell of ``mask``."""
    out = np.zeros_like(mask)
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _check_box(rows: list[str], name: str, first: int) -> None:
    """The box around the 'T' cells must be closed, have 'X' walls, and open to a 'P'."""
    grid = np.array([list(r) for r in rows], dtype="<U1")
    inside = _enclosed(rows, "T")
    for i, j in zip(*np.nonzero((grid == "P") & inside), strict=True):
        raise ValueError(
            f"{name} line {first + i + 1}, column {j + 1}: spawn point 'P' can be "
            "reached from the box's 'T' cells; close the box with walls 'X'"
        )
    ti, tj = (int(v[0]) for v in np.nonzero(grid == "T"))
    where = f"{name} line {first + ti + 1}, column {tj + 1}"
    if not (_neighbours(inside) & (grid == "X")).any():
        raise ValueError(
            f"{where}: the box around spawn point 'T' has no box wall 'X' (it is closed by "
            "'@' only), so it could never be opened; draw the walls between the box and the "
            "outside as 'X'"
        )
    if not (_enclosed(rows, "T", walls="@") & (grid == "P")).any():
        raise ValueError(
            f"{where}: opening the box (removing its 'X' walls) would not connect spawn point "
            "'T' to any spawn point 'P' outside; use 'X', not '@', for the walls between the "
            "box and the outside"
        )


def _display_name(path: Path) -> str:
    """The file's name for messages: printable, so that a message stays one line."""
    return path.name if path.name.isprintable() else repr(path.name)


def read_map_file(path: str | Path) -> str:
    r"""The text of map file ``path``, checked to be a non-empty UTF-8 text file.

    A byte-order mark is dropped, and the text always ends with a newline, so that it is
    never mistaken for a file path where a map may be given as a path or as its text
    (``env.map``, ``GameConfig.map``).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        ``"<file>: not a text map (not UTF-8: byte 0x.. at offset N); ..."`` for a binary or
        Latin-1 file (the offset counts bytes from 0), ``"<file>: the map file is empty; ..."``
        for a file without a character other than whitespace.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "bad.txt"
    ...     _ = path.write_bytes(b"@@@@\n@P\xe9@\n")
    ...     read_map_file(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: bad.txt: not a text map (not UTF-8: byte 0xe9 at offset 7); ... saved as UTF-8
    """
    path = Path(path)
    name = _display_name(path)
    if not path.is_file():
        raise FileNotFoundError(f"map file {str(path)!r} not found; give the path of a text map")
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerates a byte-order mark
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{name}: not a text map (not UTF-8: byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start}); give a plain-text file drawn with the legend characters "
            "(ASCII), one line per map row, saved as UTF-8"
        ) from None
    if not text.strip():
        raise ValueError(
            f"{name}: the map file is empty; draw at least a 3 x 3 walled map in it, one line "
            "per map row (or leave env.map empty for the game's shipped map)"
        )
    return text if text.endswith("\n") else text + "\n"


def load_map(path: str | Path, game: str, n_agents: int) -> GameMap:
    """Read and check a map file (see :func:`read_map_file` and :func:`parse_map`).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For any fault of the map, naming the file, line and column; for a file that
        is not UTF-8 text (``"<file>: not a text map (not UTF-8 ...)"``) or is empty.
    """
    path = Path(path)
    return parse_map(read_map_file(path), game, n_agents, name=_display_name(path))


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
    inside : bool [H, W]       cells inside the box (reachable from 'T' without crossing
    '@' or 'X'; an agent there cannot open the box)
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
    return MapLayout(
        tile=tile,
        spawn=where("P"),
        trapped_spawn=where("T"),
        grow=grow,
        grow_index=grow_index.reshape(h, w),
        river=where("H", "R"),
        box=where("X"),
        inside=_enclosed(game_map.rows, "T"),  # all False without 'T' cells
        box_adjacent=_neighbours(box_mask) & ~box_mask,
    )
