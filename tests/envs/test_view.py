"""Egocentric observations, visibility and rendering (SPEC 1.1, 1.5)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from trainers.envs import agent_colours, make_env, write_gif

STAY = 4
UP, EAST, DOWN, WEST = range(4)

# agent 0 stands at (2, 2); its 3 x 3 neighbourhood holds six different tiles
ROOM = """
@@@@@
@ARH@
@SP@@
@ HR@
@@@@@
"""


@pytest.mark.parametrize(
    "facing, expected",
    [
        (UP, ["ARH", "S0@", " HR"]),
        (EAST, ["H@R", "R0H", "AS "]),
        (DOWN, ["RH ", "@0S", "HRA"]),
        (WEST, [" SA", "H0R", "R@H"]),
    ],
)
def test_view_rotated_so_forward_is_up(tiny_env, decode, facing, expected):
    env = tiny_env("cleanup", ROOM, n_agents=1, view_radius=1)
    obs = env.set_state(positions=[[2, 2]], facings=[facing])
    assert obs.shape == (1, 1, 3, 3, 3) and obs.dtype == np.uint8
    assert decode(obs[0, 0]) == expected
    obs, _, _ = env.step(np.array([[STAY]]))
    assert decode(obs[0, 0]) == expected


@pytest.mark.parametrize(
    "facing, expected",
    [
        (UP, [".....", ".@@@@", ".@0RH", ".@S @", ".@ HR"]),
        (EAST, [".@H@R", ".@R H", ".@0S ", ".@@@@", "....."]),
        (DOWN, ["RH @.", "@ S@.", "HR0@.", "@@@@.", "....."]),
        (WEST, [".....", "@@@@.", " S0@.", "H R@.", "R@H@."]),
    ],
)
def test_outside_the_map_is_black(tiny_env, decode, facing, expected):
    env = tiny_env("cleanup", ROOM, n_agents=1, view_radius=2)
    obs = env.set_state(positions=[[1, 1]], facings=[facing], apples=np.zeros((5, 5), bool))
    view = decode(obs[0, 0])
    assert view == expected
    outside = np.array([list(row) for row in view]) == "."
    assert (obs[0, 0][outside] == 0).all()


def _reference_view(env, e, k):
    """The window by its definition: map offset -a * forward + b * right of view cell (a, b)."""
    frame = env.render(e, scale=1)
    r = env.radius
    pad = np.zeros((frame.shape[0] + 2 * r, frame.shape[1] + 2 * r, 3), np.uint8)
    pad[r:-r, r:-r] = frame
    row, col = env.positions[e, k]
    f = env.facings[e, k]
    fwd = [(-1, 0), (0, 1), (1, 0), (0, -1)][f]
    right = [(-1, 0), (0, 1), (1, 0), (0, -1)][(f + 1) % 4]
    view = np.zeros((2 * r + 1, 2 * r + 1, 3), np.uint8)
    for i in range(2 * r + 1):
        for j in range(2 * r + 1):
            a, b = i - r, j - r
            dr = -a * fwd[0] + b * right[0]
            dc = -a * fwd[1] + b * right[1]
            view[i, j] = pad[row + r + dr, col + r + dc]
    return view


def test_views_match_definition_over_random_play():
    env = make_env("cleanup", n_envs=3, seed=7)
    rng = np.random.default_rng(0)
    for _ in range(25):
        obs, _, _ = env.step(rng.integers(0, env.n_actions, (3, 5)))
        for e in range(3):
            for k in range(5):
                np.testing.assert_array_equal(obs[e, k], _reference_view(env, e, k))


@pytest.mark.parametrize("game", ["cleanup", "harvest", "box_trapped"])
def test_step_keeps_the_rotated_images_equal_to_a_full_repaint(game):
    from trainers.envs.view import TILE_COLOURS, rebuild_images

    env = make_env(game, n_envs=4, seed=3)
    rng = np.random.default_rng(1)
    fresh = np.empty_like(env._img)
    for t in range(min(env.horizon, 400)):
        actions = rng.integers(0, env.n_actions, (4, env.n_agents))
        if t % 7 == 0:  # bursts of beams (and box opening): many tiles change at once
            actions[:] = env.n_actions - 1
        env.step(actions)
        if t % 50 == 49:
            rebuild_images(fresh, env._tile, TILE_COLOURS, env.radius)
            np.testing.assert_array_equal(env._img, fresh, err_msg=f"step {t}")


def test_agents_have_own_colours_in_every_view(tiny_env, decode):
    text = "@@@@@@@\n@PPP  @\n@     @\n@@@@@@@"
    env = tiny_env("harvest", text, n_agents=3, view_radius=1)
    obs = env.set_state(positions=[[1, 1], [1, 2], [2, 3]], facings=[UP, DOWN, EAST])
    assert decode(obs[0, 0]) == ["@@@", "@01", "@  "]
    assert decode(obs[0, 1]) == ["2  ", " 10", "@@@"]
    assert decode(obs[0, 2]) == ["  @", " 2@", "1 @"]
    colours = agent_colours(3)
    np.testing.assert_array_equal(obs[0, 1, 1, 1], colours[1])  # itself, in the centre
    np.testing.assert_array_equal(obs[0, 0, 1, 2], colours[1])  # seen by agent 0
    np.testing.assert_array_equal(obs[0, 2, 2, 0], colours[1])  # seen by agent 2
    assert len({tuple(c) for c in agent_colours(12)}) == 12


def test_facing_of_others_is_not_visible(tiny_env):
    text = "@@@@@@\n@PP  @\n@    @\n@@@@@@"
    env = tiny_env("harvest", text, n_agents=2, view_radius=2)
    views = [env.set_state(positions=[[1, 1], [1, 2]], facings=[UP, f])[0, 0] for f in range(4)]
    for v in views[1:]:
        np.testing.assert_array_equal(v, views[0])


def test_visible_is_chebyshev_window(tiny_env):
    text = "@@@@@@@@\n@PPP   @\n@      @\n@      @\n@@@@@@@@"
    env = tiny_env("harvest", text, n_agents=3, view_radius=1)
    env.set_state(positions=[[1, 1], [2, 2], [3, 4]], facings=[UP, EAST, DOWN])
    _, _, info = env.step(np.full((1, 3), STAY))
    assert info["visible"][0].tolist() == [
        [True, True, False],
        [True, True, False],
        [False, False, True],
    ]
    assert info["visible"].dtype == bool


def test_beams_drawn_or_not(tiny_env, decode):
    text = "@@@@@\n@   @\n@   @\n@P  @\n@@@@@"
    for draw, mid in ((True, "***"), (False, "   ")):
        env = tiny_env("harvest", text, n_agents=1, view_radius=1, draw_beams=draw)
        env.set_state(positions=[[3, 2]], facings=[UP])
        obs, _, _ = env.step(np.array([[7]]))
        assert decode(obs[0, 0])[0] == mid
        frame_row = decode(env.render(0, scale=1))[2]
        assert frame_row == "@" + mid + "@"
        obs, _, _ = env.step(np.array([[STAY]]))  # beams last one step
        assert decode(obs[0, 0])[0] == "   "


def test_render_shape_and_scale(tiny_env, decode):
    env = tiny_env("cleanup", ROOM, n_agents=1)
    env.set_state(positions=[[2, 2]], facings=[UP])
    frame = env.render(0, scale=3)
    assert frame.shape == (15, 15, 3) and frame.dtype == np.uint8
    assert decode(env.render(0, scale=1)) == ["@@@@@", "@ARH@", "@S0@@", "@ HR@", "@@@@@"]
    np.testing.assert_array_equal(frame[6:9, 6:9], np.broadcast_to(agent_colours(1)[0], (3, 3, 3)))
    with pytest.raises(ValueError, match="scale"):
        env.render(0, scale=0)
    with pytest.raises(ValueError, match="index = 3"):
        env.render(3)


def test_write_gif_round_trip(tmp_path):
    env = make_env("harvest", n_envs=1, seed=0)
    frames = [env.render(0, scale=2)]
    for action in (7, STAY, 7):  # beams on, off, on: four different frames
        env.step(np.full((1, 5), action))
        frames.append(env.render(0, scale=2))
    path = write_gif(frames, tmp_path / "episode.gif", fps=5)
    with Image.open(path) as im:
        assert im.n_frames == 4
        assert im.size == (38 * 2, 16 * 2)
    with pytest.raises(ValueError, match="no frames"):
        write_gif([], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="frame 1"):
        write_gif([frames[0], frames[0][:4]], tmp_path / "x.gif")
