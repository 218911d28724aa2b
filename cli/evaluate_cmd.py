"""``infoflow evaluate``: run a trained policy, log every episode, optionally write a GIF."""

from __future__ import annotations

from pathlib import Path

import click

# the limits, without importing torch (--help stays instant)
MAX_EPISODES = 10_000  # = trainers.a3c.evaluate.MAX_EPISODES
MAX_BATCH = 256  # = trainers.a3c.evaluate.MAX_BATCH


class EvaluationInterrupted(click.ClickException):
    """Ctrl-C, SIGTERM or SIGHUP stopped an evaluation; exit status 1."""

    exit_code = 1


class _Count(click.ParamType):
    """A whole number in 1..``most``: ``16``, ``1_000`` or ``1e3``; checked before any work."""

    name = "N"

    def __init__(self, most: int, what: str, advice: str) -> None:
        self.most, self.what, self.advice = most, what, advice

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).replace("_", ""))
            except ValueError:
                number = float("nan")
        if not number.is_integer() or number < 1:
            self.fail(f"{value!r} is not a positive whole number of {self.what}", param, ctx)
        if number > self.most:
            self.fail(f"{value} is more than {self.most:,} {self.what}, the most one "
                      f"evaluation allows; {self.advice}", param, ctx)
        return int(number)


_EPISODES = _Count(MAX_EPISODES, "episodes", "run several evaluations with different --seed")
_BATCH = _Count(MAX_BATCH, "env copies", f"give {MAX_BATCH} or fewer")


@click.command("evaluate")
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.option("--episodes", "-n", type=_EPISODES, default=8, show_default=True,
              help=f"Episodes to run (played as parallel env copies); at most {MAX_EPISODES:,}.")
@click.option("--out", "-o", type=click.Path(path_type=Path),
              help="Trajectory store to write [default: <run>/evaluation-<steps>.zarr]; it "
              "appears only once every episode is written.")
@click.option("--video", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.gif",
              help="Write the first episode (env copy 0) as an animated GIF; with an influence "
              "model, arrows mark influential moments and FILE-timeline.png plots them.")
@click.option("--arrow-threshold", type=click.FloatRange(min=0.0), metavar="NATS",
              help="Influence above which --video draws an arrow [default: the episode's "
              "90th percentile of pair values].")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the evaluation episodes.")
@click.option("--batch", type=_BATCH, default=32, show_default=True,
              help=f"Most env copies stepped together; at most {MAX_BATCH}.")
def evaluate(checkpoint: Path, episodes: int, out: Path | None, video: Path | None, seed: int,
             batch: int, arrow_threshold: float | None) -> None:
    """Run the policy of CHECKPOINT (a checkpoint file or a run directory) without learning.

    Every episode is logged to a trajectory store (actions, rewards, influence, policies, ...)
    that `infoflow analyze` reads; a summary of the returns is printed.

    \b
    Example:
      infoflow evaluate runs/quick --episodes 16 --video quick.gif
    """
    from trainers.a3c.evaluate import evaluate_checkpoint
    from trainers.a3c.supervision import interruption_message

    if video is not None and video.suffix.lower() != ".gif":
        raise click.BadParameter(f"{video}: give a file name ending in .gif", param_hint="--video")
    try:
        result = evaluate_checkpoint(checkpoint, episodes=episodes, out=out, video=video,
                                     seed=seed, batch=batch, arrow_threshold=arrow_threshold)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: the staged files are gone
        raise EvaluationInterrupted(f"evaluation {interruption_message(exc)}; nothing was "
                                    "written") from None
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
