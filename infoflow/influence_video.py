"""Influence seen in an episode: arrows on video frames and a timeline of local influence.

- :func:`influence_threshold`: the default bar for an "influential moment" of a pair: the 90th
  percentile of the episode's defined pair values, so arrows mark about one step in ten
  (the paper finds influence sparse: an agent's influence exceeds its mean in under 10 % of
  steps, PAPER_FACTS "Sparsity");
- :func:`draw_influence_arrows`: on each frame, an arrow from agent k to agent j at every step
  where ``influence[t, k, j]`` is above the threshold, with a legend strip under the map;
- :func:`plot_influence_timeline`: local influence per pair over the episode, influential
  moments marked.

Frames are the map as rendered (uint8 [H * scale, W * scale, 3], cell (row, col) at pixels
``[row * scale, (row + 1) * scale)``); frame ``t`` shows the state in which the actions of step
``t`` are chosen. No torch: any recorder that logs positions and influence can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["influence_threshold", "draw_influence_arrows", "plot_influence_timeline",
           "LEGEND_HEIGHT"]

LEGEND_HEIGHT = 14
"""Pixels of the legend strip added under each frame."""

ARROW_COLOUR = (255, 40, 200)


def influence_threshold(influence: np.ndarray, quantile: float = 0.9) -> float:
    """The ``quantile`` of the finite off-diagonal values of ``influence`` [T, N, N].

    Examples
    --------
    >>> x = np.full((10, 2, 2), np.nan); x[:, 0, 1] = np.arange(10)  # NaN: undefined
    >>> round(influence_threshold(x), 6)
    8.1
    """
    x = np.asarray(influence, np.float64)
    off = ~np.eye(x.shape[1], dtype=bool)
    values = x[:, off]
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("the episode has no finite influence value; log influence (an "
                         "influence model) to draw it")
    return float(np.quantile(values, quantile))


def draw_influence_arrows(frames: Sequence[np.ndarray], positions: np.ndarray,
                          influence: np.ndarray, scale: int, threshold: float,
                          unit: str = "nats") -> list[np.ndarray]:
    """Frames with arrows k -> j where ``influence[t, k, j] > threshold``, and a legend.

    Parameters
    ----------
    frames : sequence of uint8 [H * scale, W * scale, 3]
        Frame ``t`` shows the state of step ``t`` (extra frames, such as the final state,
        get no arrow).
    positions : int [T, N, 2]
        (row, col) of each agent at each step; negative where unknown.
    influence : float [T, N, N]
        ``influence[t, k, j]``: k's action's influence on j at step t (NaN where undefined).
    scale : int
        Pixels per cell of the frames.
    threshold : float
        Arrows where the influence is strictly above it.
    unit : str
        Unit named in the legend.

    Returns
    -------
    list of uint8 [H * scale + LEGEND_HEIGHT, W * scale, 3]
    """
    from PIL import Image, ImageDraw

    positions = np.asarray(positions)
    influence = np.asarray(influence, np.float64)
    T = influence.shape[0]
    out = []
    for t, frame in enumerate(frames):
        h, w = frame.shape[:2]
        image = Image.new("RGB", (w, h + LEGEND_HEIGHT), (255, 255, 255))
        image.paste(Image.fromarray(frame), (0, 0))
        draw = ImageDraw.Draw(image)
        if t < T:
            above = np.argwhere(np.nan_to_num(influence[t], nan=-np.inf) > threshold)
            for k, j in above:
                if k == j or (positions[t, k] < 0).any() or (positions[t, j] < 0).any():
                    continue
                start = (positions[t, k][::-1] + 0.5) * scale   # (x, y) of the cell centres
                end = (positions[t, j][::-1] + 0.5) * scale
                _arrow(draw, start, end, max(1, scale // 4), scale)
        draw.text((2, h + 1), f"arrow k->j: influence of k on j > {threshold:.3g} {unit}",
                  fill=(0, 0, 0))
        out.append(np.asarray(image))
    return out


def _arrow(draw, start: np.ndarray, end: np.ndarray, width: int, scale: int) -> None:
    vec = end - start
    length = float(np.hypot(*vec))
    if length == 0:
        return
    unit = vec / length
    tip = end - unit * scale * 0.35                           # stop at the target's cell edge
    draw.line([tuple(start), tuple(tip)], fill=ARROW_COLOUR, width=width)
    side = np.array([-unit[1], unit[0]])
    head = scale * 0.35
    base = tip - unit * head
    draw.polygon([tuple(tip), tuple(base + side * head / 2), tuple(base - side * head / 2)],
                 fill=ARROW_COLOUR)


def plot_influence_timeline(influence: np.ndarray, agents: Sequence[str], threshold: float,
                            path: str | Path, unit: str = "nats") -> Path:
    """Local influence of every pair over an episode [T, N, N]; steps above ``threshold``
    marked; a PNG file."""
    from infoflow.plots import _figure, _save

    influence = np.asarray(influence, np.float64)
    fig = _figure(9.0, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    steps = np.arange(influence.shape[0])
    for k, source in enumerate(agents):
        for j, target in enumerate(agents):
            y = influence[:, k, j]
            if k == j or not np.isfinite(y).any():
                continue
            line, = ax.plot(steps, y, linewidth=0.8, label=f"{source}→{target}")
            hot = np.nan_to_num(y, nan=-np.inf) > threshold
            ax.scatter(steps[hot], y[hot], s=14, color=line.get_color(), zorder=3)
    ax.axhline(threshold, color="black", linestyle="--", linewidth=0.8,
               label=f"threshold {threshold:.3g}")
    ax.set_xlabel("step")
    ax.set_ylabel(f"influence ({unit})")
    ax.set_title("local influence per pair; dots: influential moments")
    ax.legend(fontsize=7, ncols=3)
    return _save(fig, path)
