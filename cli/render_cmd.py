"""``infoflow render``: a GIF of uniformly random agents playing a game."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from cli.options import seed_option

MAX_STEPS = 5000  # frames are held in memory before writing: ~0.5 GB at scale 8
MAX_SCALE = 64  # pixels per map cell
MAX_FRAME_GB = 2.0  # (steps + 1) frames of rows*scale x cols*scale x 3 bytes, held in memory


@click.command(short_help="Save a GIF of random agents playing a game.")
@click.argument("game")
@click.option(
    "--map",
    "map_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="ASCII map file to play on (default: the game's shipped map).",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1, max=MAX_STEPS),
    default=100,
    show_default=True,
    help="Steps to play; the GIF has steps + 1 frames (the start, then one per step).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="GIF file to write [default: GAME.gif in the current folder].",
)
@seed_option
@click.option(
    "--scale",
    type=click.IntRange(min=1, max=MAX_SCALE),
    default=8,
    show_default=True,
    help=f"Pixels per map cell, at most {MAX_SCALE}. The frames are held in memory: "
    f"(steps + 1) x rows x cols x scale^2 x 3 bytes must stay under {MAX_FRAME_GB:g} GB.",
)
@click.option(
    "--fps",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Frames per second of the GIF.",
)
def render(
    game: str,
    map_path: Path | None,
    steps: int,
    out: Path | None,
    seed: int,
    scale: int,
    fps: float,
) -> None:
    """Play GAME with uniformly random agents and save the full map as an animated GIF.

    GAME is one of the names `infoflow envs` lists. An episode that reaches its
    horizon starts again, so --steps may exceed the horizon. Identical consecutive
    frames are stored once with a longer duration (the GIF still lasts
    (steps + 1) / fps seconds).

    \b
    Example:
      infoflow render cleanup --steps 200 --seed 1 --out cleanup.gif
    """
    import numpy as np

    from trainers.envs import GAME_NAMES, make_env, write_gif

    if game not in GAME_NAMES:
        raise click.BadParameter(
            f"unknown game {game!r}; choose one of: {', '.join(GAME_NAMES)}",
            param_hint="GAME",
        )
    out = Path(f"{game}.gif") if out is None else out
    if out.suffix.lower() != ".gif":
        raise click.BadParameter(
            f"{str(out)!r} does not end in .gif; name a .gif file", param_hint="--out"
        )
    if not out.parent.is_dir():
        raise click.BadParameter(
            f"folder {str(out.parent)!r} does not exist; create it or choose another --out",
            param_hint="--out",
        )
    env = make_env(game, n_envs=1, seed=seed, map_path=map_path)  # checks the map first
    rows, cols = env.map.shape
    frame_gb = (steps + 1) * rows * scale * cols * scale * 3 / 1e9
    if frame_gb > MAX_FRAME_GB:
        raise click.BadParameter(
            f"{steps + 1} frames of {cols * scale}x{rows * scale} px need {frame_gb:.1f} GB of "
            f"memory, more than the {MAX_FRAME_GB:g} GB allowed; lower --scale or --steps",
            param_hint="--scale",
        )
    try:  # the GIF is written beside --out and renamed once whole; this checks the folder
        fd, name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=".tmp.gif", dir=out.parent)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot write to folder {str(out.parent)!r} ({exc.strerror}); choose a writable "
            "folder",
            param_hint="--out",
        ) from None
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would make it (mkstemp: 0600)
    try:
        rng = np.random.default_rng(seed)
        env.reset()
        frames = [env.render(index=0, scale=scale)]  # [rows * scale, cols * scale, 3] each
        for _ in range(steps):
            actions = rng.integers(0, env.n_actions, size=(1, env.n_agents))  # [E=1, N]
            _, _, info = env.step(actions)
            frames.append(env.render(index=0, scale=scale))
            if info["truncated"]:
                env.reset()
        write_gif(frames, tmp, fps=fps)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    height, width = frames[0].shape[:2]
    click.echo(f"wrote {out} ({game}, {steps} steps, {len(frames)} frames, {width}x{height} px)")
