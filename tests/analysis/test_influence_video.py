"""Influence in an episode: arrows exactly on the steps above the threshold, the timeline plot,
and `evaluate --video` with an influence model."""

import numpy as np
import pytest

from infoflow.influence_video import (
    ARROW_COLOUR,
    LEGEND_HEIGHT,
    draw_influence_arrows,
    influence_threshold,
    plot_influence_timeline,
)

SCALE = 8


def hand_made(T=6):
    """A 5 x 10 map, agent 0 at (2, 1), agent 1 at (2, 8); 0 -> 1 influence 0.5 at steps 1
    and 4 only, 0.01 elsewhere; NaN on the diagonal."""
    frames = [np.zeros((5 * SCALE, 10 * SCALE, 3), np.uint8) for _ in range(T + 1)]
    positions = np.tile(np.array([[2, 1], [2, 8]]), (T, 1, 1))       # [T, N, 2]
    influence = np.full((T, 2, 2), 0.01)
    influence[:, 0, 0] = influence[:, 1, 1] = np.nan
    influence[[1, 4], 0, 1] = 0.5
    return frames, positions, influence


def arrow_pixels(frame):
    return int(np.all(frame[:-LEGEND_HEIGHT] == ARROW_COLOUR, axis=-1).sum())


def test_arrows_appear_exactly_on_the_steps_above_the_threshold():
    frames, positions, influence = hand_made()
    out = draw_influence_arrows(frames, positions, influence, scale=SCALE, threshold=0.1)
    assert len(out) == len(frames)
    assert all(f.shape == (5 * SCALE + LEGEND_HEIGHT, 10 * SCALE, 3) for f in out)
    drawn = [t for t, f in enumerate(out) if arrow_pixels(f) > 0]
    assert drawn == [1, 4]
    row = 2 * SCALE + SCALE // 2  # the arrow runs along the agents' row, from 0 towards 1
    hot = np.flatnonzero(np.all(out[1][row] == ARROW_COLOUR, axis=-1))
    assert hot.min() <= 2 * SCALE and hot.max() >= 7 * SCALE
    assert (out[1][-LEGEND_HEIGHT:] < 128).any()  # the legend's text


def test_the_default_threshold_marks_about_one_step_in_ten():
    rng = np.random.default_rng(0)
    influence = rng.exponential(size=(500, 3, 3))
    bar = influence_threshold(influence)
    off = influence[:, ~np.eye(3, dtype=bool)]
    assert (off > bar).mean() == pytest.approx(0.1, abs=0.01)
    with pytest.raises(ValueError, match="no finite influence"):
        influence_threshold(np.full((4, 2, 2), np.nan))


def test_the_timeline_is_drawn(tmp_path):
    _, _, influence = hand_made()
    path = plot_influence_timeline(influence, ["a", "b"], 0.1, tmp_path / "t.png")
    assert path.stat().st_size > 1000


def test_evaluate_video_of_an_influence_model_has_arrows_and_a_timeline(tmp_path):
    from PIL import Image

    from trainers.a3c import train
    from trainers.a3c.evaluate import evaluate_checkpoint

    from ..trainer.test_a3c import EPISODE, tiny

    train(tiny(kind="influence", steps=EPISODE), tmp_path / "run", argv=["test"])
    evaluate_checkpoint(tmp_path / "run", episodes=1, out=tmp_path / "eval.zarr",
                        video=tmp_path / "ep.gif", arrow_threshold=0.0)
    gif = Image.open(tmp_path / "ep.gif")
    assert gif.size == (8 * SCALE, 5 * SCALE + LEGEND_HEIGHT)  # the tiny map + the legend
    arrows = 0
    for i in range(gif.n_frames):  # threshold 0: every step with influence has arrows
        gif.seek(i)
        rgb = np.asarray(gif.convert("RGB"), np.int16)
        arrows += int((np.abs(rgb - ARROW_COLOUR).sum(-1) < 30).sum() > 0)
    assert arrows >= gif.n_frames - 1
    assert (tmp_path / "ep-timeline.png").stat().st_size > 1000
