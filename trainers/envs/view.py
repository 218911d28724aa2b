"""Pictures of the game: colours, egocentric observations and full-map frames.

Observations are cut from four rotated copies of a padded RGB image of each env
copy, one per facing, so that every agent's window is a contiguous block: row
``i`` of the window is one 3 (2r+1)-byte copy.  The images are kept up to date
incrementally by the step (only cells that changed are repainted).

For an agent at padded cell (pr, pc) (map cell + r) in a padded image P of
shape [Hp, Wp], the view cell (i, j) with a = i - r, b = j - r (a < 0 ahead,
b > 0 to the right) shows the map cell at offset
``-a * forward + b * right``.  The rotated images are
R0 = P, R1[i, j] = P[j, Wp-1-i], R2[i, j] = P[Hp-1-i, Wp-1-j],
R3[i, j] = P[Hp-1-j, i], and the window's top-left corner is
(pr-r, pc-r), (Wp-1-pc-r, pr-r), (Hp-1-pr-r, Wp-1-pc-r), (pc-r, Hp-1-pr-r).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numba as nb
import numpy as np

from .maps import T_BOX

__all__ = ["TILE_COLOURS", "agent_colours", "write_gif"]

#: RGB of each tile code (floor, wall, apple, waste, river, stream, box wall).
TILE_COLOURS = np.array(
    [
        [40, 40, 40],
        [150, 150, 150],
        [0, 200, 0],
        [100, 110, 40],
        [0, 90, 220],
        [90, 160, 230],
        [180, 90, 60],
    ],
    np.uint8,
)
#: RGB of beams: index 1 fire (penalty) beam, 2 clean beam (row 0 unused).
BEAM_COLOURS = np.array([[0, 0, 0], [255, 235, 90], [170, 255, 255]], np.uint8)
_AGENT_BASE = np.array(
    [
        [220, 50, 50],
        [220, 60, 220],
        [60, 220, 220],
        [250, 150, 30],
        [140, 80, 220],
        [255, 150, 180],
        [245, 245, 245],
        [0, 140, 140],
        [150, 150, 40],
        [120, 60, 20],
    ],
    np.uint8,
)


def agent_colours(n_agents: int) -> np.ndarray:
    """Colour of each agent, uint8 [n_agents, 3]; the same in every view.

    The first ten are fixed; more are drawn from a fixed-seed generator.
    """
    if n_agents <= len(_AGENT_BASE):
        return _AGENT_BASE[:n_agents].copy()
    extra = np.random.default_rng(20190601).integers(60, 256, (n_agents - len(_AGENT_BASE), 3))
    return np.concatenate([_AGENT_BASE, extra.astype(np.uint8)])


@nb.njit(cache=True, inline="always")
def paint_cell(img, e, r, c, tile, palette, radius):
    """Repaint map cell (r, c) of copy ``e`` (its tile colour) in the four rotated images."""
    hp = tile.shape[1] + 2 * radius
    wp = tile.shape[2] + 2 * radius
    pr = r + radius
    pc = c + radius
    t = tile[e, r, c]
    for ch in range(3):
        v = palette[t, ch]
        img[e, 0, pr, pc, ch] = v
        img[e, 1, wp - 1 - pc, pr, ch] = v
        img[e, 2, hp - 1 - pr, wp - 1 - pc, ch] = v
        img[e, 3, pc, hp - 1 - pr, ch] = v


@nb.njit(cache=True)
def rebuild_images(img, tile, palette, radius):
    """Repaint every copy's rotated tile images from scratch ([E, 4, S, S, 3])."""
    img[:] = 0
    for e in range(tile.shape[0]):
        for r in range(tile.shape[1]):
            for c in range(tile.shape[2]):
                paint_cell(img, e, r, c, tile, palette, radius)


@nb.njit(cache=True, inline="always")
def _to_view(f, dr, dc):
    """View offsets (a, b) (a < 0 ahead, b > 0 right) of map offset (dr, dc) for facing f."""
    if f == 0:
        return dr, dc
    if f == 1:
        return -dc, dr
    if f == 2:
        return -dr, -dc
    return dc, -dr


@nb.njit(cache=True)
def write_obs(img, pos, facing, tile, agent_at, beam_at, beam_cells, beam_count, radius,
              agent_col, beam_col, draw_beams, out, hide_agent, box, palette):
    """Cut every agent's window into ``out`` uint8 [E, N, V, V, 3], V = 2r+1.

    The window is copied row by row from the rotated tile image of the agent's
    facing; this step's beams and then all agents are drawn over it.
    ``hide_agent`` >= 0 names an agent whose view shows closed box walls
    (flat indices ``box``) as floor.
    """
    n_envs, n_agents = pos.shape[0], pos.shape[1]
    h, w = tile.shape[1], tile.shape[2]
    hp = h + 2 * radius
    wp = w + 2 * radius
    v = 2 * radius + 1
    v3 = 3 * v
    flat_img = img.reshape(img.shape[0], 4, img.shape[2], img.shape[3] * 3)  # [E, 4, S, S*3]
    flat_out = out.reshape(n_envs, n_agents, v, v3)                          # [E, N, V, V*3]
    for e in range(n_envs):
        for k in range(n_agents):
            f = facing[e, k]
            r0 = pos[e, k, 0]
            c0 = pos[e, k, 1]
            pr = r0 + radius
            pc = c0 + radius
            if f == 0:
                y0, x0 = pr - radius, pc - radius
            elif f == 1:
                y0, x0 = wp - 1 - pc - radius, pr - radius
            elif f == 2:
                y0, x0 = hp - 1 - pr - radius, wp - 1 - pc - radius
            else:
                y0, x0 = pc - radius, hp - 1 - pr - radius
            for i in range(v):
                src = flat_img[e, f, y0 + i, 3 * x0:3 * x0 + v3]
                dst = flat_out[e, k, i]
                for q in range(v3):
                    dst[q] = src[q]
            if k == hide_agent:
                for cell in box:
                    r = cell // w
                    c = cell - r * w
                    dr, dc = r - r0, c - c0
                    if tile[e, r, c] == T_BOX and abs(dr) <= radius and abs(dc) <= radius:
                        a, b = _to_view(f, dr, dc)
                        for ch in range(3):
                            out[e, k, a + radius, b + radius, ch] = palette[0, ch]
            if draw_beams:
                for i in range(beam_count[e]):
                    cell = beam_cells[e, i]
                    r = cell // w
                    c = cell - r * w
                    dr, dc = r - r0, c - c0
                    if agent_at[e, r, c] < 0 and abs(dr) <= radius and abs(dc) <= radius:
                        a, b = _to_view(f, dr, dc)
                        kind = beam_at[e, r, c]
                        for ch in range(3):
                            out[e, k, a + radius, b + radius, ch] = beam_col[kind, ch]
            for j in range(n_agents):
                dr, dc = pos[e, j, 0] - r0, pos[e, j, 1] - c0
                if abs(dr) <= radius and abs(dc) <= radius:
                    a, b = _to_view(f, dr, dc)
                    for ch in range(3):
                        out[e, k, a + radius, b + radius, ch] = agent_col[j, ch]


@nb.njit(cache=True)
def visibility(pos, radius, out):
    """``out[e, k, j]`` = agent j inside agent k's window (bool [E, N, N]; diagonal True)."""
    for e in range(pos.shape[0]):
        for k in range(pos.shape[1]):
            for j in range(pos.shape[1]):
                out[e, k, j] = (abs(pos[e, j, 0] - pos[e, k, 0]) <= radius
                                and abs(pos[e, j, 1] - pos[e, k, 1]) <= radius)


def render_frame(tile: np.ndarray, agent_at: np.ndarray, beam_at: np.ndarray,
                 colours: np.ndarray, draw_beams: bool, scale: int) -> np.ndarray:
    """Full-map RGB frame of one copy, uint8 [H * scale, W * scale, 3].

    Parameters
    ----------
    tile, agent_at, beam_at : [H, W] arrays of one copy (tile codes, agent index or -1,
        beam kind 0/1/2).
    colours : uint8 [n_agents, 3]
    draw_beams : bool
    scale : int
        Pixels per cell (>= 1).
    """
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale = {scale!r}: give an int >= 1 (pixels per cell)")
    frame = TILE_COLOURS[tile]
    if draw_beams:
        frame = np.where((beam_at > 0)[..., None], BEAM_COLOURS[beam_at], frame)
    frame = np.where((agent_at >= 0)[..., None], colours[np.maximum(agent_at, 0)], frame)
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def write_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 10) -> Path:
    """Write RGB frames (uint8 [h, w, 3] each, same size) as an animated GIF.

    Parameters
    ----------
    frames : sequence of uint8 [h, w, 3]
    path : str or Path
        Output file; its folder must exist.
    fps : float
        Frames per second (> 0).

    Returns
    -------
    Path
        The written file.
    """
    from PIL import Image

    frames = list(frames)
    if not frames:
        raise ValueError("write_gif: no frames given; render at least one frame")
    if fps <= 0:
        raise ValueError(f"write_gif: fps = {fps}; give a positive frame rate")
    shape = frames[0].shape
    for i, f in enumerate(frames):
        if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3 or f.shape != shape:
            raise ValueError(
                f"write_gif: frame {i} has dtype {f.dtype} shape {f.shape}; every frame must "
                f"be uint8 of shape {shape} (as returned by env.render)"
            )
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"write_gif: folder {str(path.parent)!r} does not exist")
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:],
                   duration=max(1, round(1000 / fps)), loop=0)
    return path
