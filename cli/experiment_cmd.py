"""``infoflow experiment``: a grid of presets x settings x seeds, one run directory each."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli.train_cmd import _STEPS, TrainFailed


def _seeds(text: str) -> list[int]:
    """``0,1,2``, ``0-4`` or a mix (``0-2,7``)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a list of seeds (e.g. 0-4 or 0,1,2)",
                                 param_hint="--seeds") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise click.BadParameter(f"{text!r}: give distinct seeds >= 0 (e.g. 0-4)",
                                 param_hint="--seeds")
    return seeds


def _grid(items: tuple[str, ...]) -> dict[str, list[str]]:
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or "." not in key or not values.strip():
            raise click.BadParameter(f"{item!r}: write SECTION.FIELD=V1,V2 (e.g. "
                                     "trainer.beta=0.1,0.2)", param_hint="--grid")
        grid[key.strip()] = [v.strip() for v in values.split(",")]
    return grid


@click.command()
@click.option("--preset", "-p", "presets", multiple=True, metavar="NAME",
              help="A preset to run; repeatable (see infoflow train --list-presets).")
@click.option("--seeds", default="0-2", show_default=True, metavar="LIST",
              help="Seeds of every preset: 0-4, 0,1,2 or a mix.")
@click.option("--steps", type=_STEPS, help="Agent steps per run (the presets' curricula are "
              "scaled to it: trainer.scale_curriculum).")
@click.option("--set", "-s", "sets", multiple=True, metavar="SECTION.FIELD=VALUE",
              help="Override a field in every run; repeatable.")
@click.option("--grid", "-g", "grid", multiple=True, metavar="SECTION.FIELD=V1,V2",
              help="Vary a field: one run per value (and per preset and seed); repeatable.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Worker processes of each run.")
@click.option("--backend", type=click.Choice(["processes", "ray"]), default="processes",
              show_default=True, help="Where each run's workers run (trainer.backend).")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Experiment folder (experiment.toml, README, runs/).")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="N", help="Runs at a time (each with --workers workers); with --backend "
              "ray and -s trainer.ray_address=HOST:PORT, every run joins that cluster. Runs "
              "are then quiet, their output in OUT/logs/.")
@click.option("--resume", is_flag=True, help="Continue the experiment in --out: finished runs "
              "are skipped, started ones resumed, the rest started.")
@click.option("--dry-run", is_flag=True, help="List the runs and their state; train nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def experiment(presets, seeds, steps, sets, grid, workers, backend, parallel, out, resume,
               dry_run, quiet) -> None:
    """Run presets x settings x seeds as ordinary run directories under one folder.

    Runs go one after another (or --parallel N at a time), each an `infoflow train`
    process; the experiment is resumable as a whole (Ctrl-C or a kill, then --resume).
    Compare the results with `infoflow compare OUT`.

    \b
    Examples:
      infoflow experiment -p harvest_a3c -p harvest_influence --seeds 0-2 --steps 1e7 \\
          --workers 2 --out experiments/harvest
      infoflow experiment --resume --out experiments/harvest
      infoflow experiment -p harvest_a3c --seeds 0-7 --steps 1e7 --workers 4 \\
          --backend ray -s trainer.ray_address=HEAD:6379 --parallel 8 --out experiments/ray
    """
    from trainers.config import list_presets, load_config
    from trainers.experiment import (
        SPEC_NAME,
        ExperimentSpec,
        plan,
        read_spec,
        run_experiment,
        run_status,
        write_spec,
    )

    if resume:
        if presets or steps is not None or sets or grid:
            raise click.UsageError("with --resume the experiment's experiment.toml is used; "
                                   "give only --out (and --parallel, --quiet, --dry-run)")
        spec = read_spec(out)
    else:
        if not presets:
            raise click.UsageError(f"give --preset NAME (repeatable; presets: "
                                   f"{', '.join(list_presets())})")
        if (out / SPEC_NAME).exists():
            raise FileExistsError(f"{str(out)!r} already holds an experiment; pass --resume to "
                                  "continue it, or choose another --out")
        if steps is None:
            raise click.UsageError("give --steps: the budget of every run (e.g. 1e7)")
        spec = ExperimentSpec(list(presets), _seeds(seeds), steps, workers, backend,
                              list(sets), _grid(grid))
    runs = plan(spec)
    for run in runs:  # every config error before any run starts (one line, exit 2)
        load_config(preset=run.preset, overrides=[
            *run.sets, f"trainer.total_steps={spec.steps}", f"trainer.workers={spec.workers}",
            f"trainer.backend={spec.backend}"])
    if dry_run:
        for run in runs:
            state, done = run_status(out / "runs" / run.name, spec.steps)
            click.echo(f"{run.name}: {state} ({done:,} of {spec.steps:,} agent steps)")
        return
    if not resume:
        write_spec(out, spec)
    click.echo(f"infoflow experiment: {len(runs)} runs of {spec.steps:,} agent steps in {out}",
               err=True)
    try:
        failed = run_experiment(out, spec, lambda line: click.echo(line, err=True),
                                quiet=quiet, argv=["infoflow", *sys.argv[1:]],
                                parallel=parallel)
    except KeyboardInterrupt:
        raise TrainFailed(f"experiment interrupted; continue with: infoflow experiment "
                          f"--resume --out {out}") from None
    if failed:
        raise TrainFailed(f"{len(failed)} of {len(runs)} runs failed ({', '.join(failed)}); "
                          f"fix the cause, then: infoflow experiment --resume --out {out}")
    click.echo(f"experiment done: {len(runs)} runs in {out / 'runs'}; compare with: "
               f"infoflow compare {out}")
