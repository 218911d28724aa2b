"""``infoflow evaluate``: run a trained policy, log every episode, optionally write a GIF."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("evaluate")
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.option("--episodes", "-n", type=click.IntRange(min=1), default=8, show_default=True,
              help="Episodes to run (played as parallel env copies).")
@click.option("--out", "-o", type=click.Path(path_type=Path),
              help="Trajectory store to write [default: <run>/evaluation-<steps>.zarr].")
@click.option("--video", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.gif",
              help="Write the first episode (env copy 0) as an animated GIF.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the evaluation episodes.")
@click.option("--batch", type=click.IntRange(min=1), default=32, show_default=True,
              help="Most env copies stepped together.")
def evaluate(checkpoint: Path, episodes: int, out: Path | None, video: Path | None, seed: int,
             batch: int) -> None:
    """Run the policy of CHECKPOINT (a checkpoint file or a run directory) without learning.

    Every episode is logged to a trajectory store (actions, rewards, influence, policies, ...)
    that `infoflow analyze` reads; a summary of the returns is printed.

    \b
    Example:
      infoflow evaluate runs/quick --episodes 16 --video quick.gif
    """
    from trainers.a3c.evaluate import evaluate_checkpoint

    if video is not None and video.suffix.lower() != ".gif":
        raise click.BadParameter(f"{video}: give a file name ending in .gif", param_hint="--video")
    result = evaluate_checkpoint(checkpoint, episodes=episodes, out=out, video=video, seed=seed,
                                 batch=batch)
    click.echo(f"{result['episodes']} episodes of {result['model']} on {result['game']} "
               f"(checkpoint at {result['agent_steps']:,} agent steps)")
    click.echo("| agent | mean return |")
    click.echo("|---|---|")
    for name, value in zip(result["agents"], result["returns"], strict=True):
        click.echo(f"| {name} | {value:.2f} |")
    click.echo(f"collective return {result['collective_return']:.2f}, equality "
               f"{result['equality']:.3f}, influence reward {result['influence_reward']:.3g}")
    click.echo(f"trajectories: {result['store']}")
    if video is not None:
        click.echo(f"video: {video}")
