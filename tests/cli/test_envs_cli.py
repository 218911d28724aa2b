"""``infoflow envs`` and ``infoflow render`` through click's CliRunner."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from PIL import Image

from cli.main import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def gif_frames(path):
    """(frame count, total duration in ms, (width, height)) of a GIF file."""
    with Image.open(path) as im:
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
        return im.n_frames, sum(durations), im.size


@pytest.mark.parametrize("command", ["envs", "render"])
def test_help(runner, command):
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {command}" in result.output


def test_render_help_names_every_option(runner):
    result = runner.invoke(cli, ["render", "--help"])
    for option in ("--map", "--steps", "--out", "--seed", "--scale", "--fps"):
        assert option in result.output


def test_envs_table(runner):
    result = runner.invoke(cli, ["envs"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:5] == ["game", "agents", "map", "horizon", "actions"]
    assert set(lines[1]) == {"-", " "}
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert list(rows) == ["cleanup", "harvest", "box_trapped"]
    # game, agents, rows, "x", cols, horizon, n_actions, names...
    assert rows["cleanup"][1:7] == ["5", "25", "x", "18", "1000", "9"]
    assert rows["harvest"][1:7] == ["5", "16", "x", "38", "1000", "8"]
    assert rows["box_trapped"][1:7] == ["2", "9", "x", "9", "100", "8"]
    assert rows["cleanup"][7:] == [
        "step_left", "step_right", "step_forward", "step_backward", "stay",
        "turn_clockwise", "turn_counterclockwise", "fire", "clean",
    ]  # fmt: skip
    assert rows["harvest"][-1] == "fire"
    assert rows["box_trapped"][-1] == "open_box"


@pytest.mark.parametrize(
    ("game", "size"), [("cleanup", (18 * 2, 25 * 2)), ("box_trapped", (9 * 2, 9 * 2))]
)
def test_render_writes_a_gif_of_steps_plus_one_frames(runner, tmp_path, game, size):
    out = tmp_path / "movie.gif"
    args = ["render", game, "--steps", "12", "--out", str(out), "--scale", "2", "--fps", "20"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"wrote {out} ({game}, 12 steps, 13 frames, {size[0]}x{size[1]} px)"
    )
    n_frames, duration_ms, image_size = gif_frames(out)
    # pillow stores a frame identical to the previous one as a longer duration
    assert 2 <= n_frames <= 13
    assert duration_ms == 13 * 50
    assert image_size == size


def test_render_goes_on_past_the_horizon_and_is_reproducible(runner, tmp_path):
    a, b = tmp_path / "a.gif", tmp_path / "b.gif"
    for out in (a, b):
        args = ["render", "box_trapped", "--steps", "130", "--out", str(out), "--seed", "4"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "130 steps, 131 frames" in result.output
    assert a.read_bytes() == b.read_bytes()
    assert gif_frames(a)[1] == 131 * 100


def test_render_default_out_is_game_gif_in_the_current_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["render", "harvest", "--steps", "2", "--scale", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote harvest.gif (harvest, 2 steps, 3 frames, 38x16 px)")
    assert (tmp_path / "harvest.gif").is_file()


def test_render_on_a_user_map(runner, tmp_path):
    game_map = tmp_path / "tiny.txt"
    game_map.write_text("@@@@@@\n@PA P@\n@ AA @\n@P  P@\n@@@@@@\n")
    out = tmp_path / "tiny.gif"
    args = ["render", "harvest", "--map", str(game_map), "--steps", "3", "--out", str(out)]
    result = runner.invoke(cli, args)
    # the default harvest config has 5 agents but the map has only 4 spawn points
    assert result.exit_code == 2
    assert "tiny.txt: 4 spawn points 'P' for 5 agents" in result.output
    assert not out.exists()
    game_map.write_text("@@@@@@\n@PA P@\n@ AAP@\n@P  P@\n@@@@@@\n")
    result = runner.invoke(cli, args + ["--scale", "1"])
    assert result.exit_code == 0, result.output
    assert gif_frames(out)[2] == (6, 5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["render", "chess"],
            "Invalid value for GAME: unknown game 'chess'; "
            "choose one of: cleanup, harvest, box_trapped",
        ),
        (["render", "cleanup", "--steps", "0"], "Invalid value for '--steps'"),
        (["render", "cleanup", "--scale", "0"], "Invalid value for '--scale'"),
        (["render", "cleanup", "--steps", "5001"], "5001 is not in the range 1<=x<=5000"),
        (["render", "cleanup", "--out", "no/dir/x.gif"], "folder 'no/dir' does not exist"),
        (["render", "cleanup", "--out", "x.png"], "'x.png' does not end in .gif"),
        (["render", "cleanup", "--map", "no_such_map.txt"], "'no_such_map.txt' does not exist"),
    ],
)
def test_render_bad_arguments_exit_2(runner, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@@@@\n@PP@\n@P@\n@@@@\n", "bad.txt line 3, column 4: the row ends after 3 columns"),
        ("@@@@\n@PP@\n@PP@@\n@@@@\n", "bad.txt line 3, column 5: extra character '@'"),
        ("@@@@@\n@PPQ@\n@PP @\n@@@@@\n", "bad.txt line 2, column 4: unknown character 'Q'"),
        ("@@@@@\n@PP  \n@PPP@\n@@@@@\n", "bad.txt line 2, column 5: border cell is ' '"),
        (b"GIF89a\x01\x00\xff\n", "bad.txt: not a text map (not UTF-8: byte 0xff at offset 8)"),
        (
            "@@@@@@@@\n@@@@ P @\n@@T@ A @\n@@@@ P @\n@@@@@@@@\n",
            "bad.txt line 3, column 3: the box around spawn point 'T' has no box wall 'X'",
        ),
    ],
)
def test_render_bad_map_is_one_line_exit_2_and_writes_nothing(runner, tmp_path, text, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "never.gif"
    game = "box_trapped" if "spawn point 'T'" in message else "harvest"
    result = runner.invoke(cli, ["render", game, "--map", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}")
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
