"""``infoflow train``: train agents with A3C from a preset or a config file (SPEC 3, 8)."""

from __future__ import annotations

from pathlib import Path

import click

# named options -> the config field they set
_NAMED = {
    "game": "env.game",
    "n_envs": "env.n_envs",
    "map_path": "env.map",
    "model": "model.kind",
    "core": "model.core",
    "beta": "trainer.beta",
    "steps": "trainer.total_steps",
    "workers": "trainer.workers",
    "seed": "trainer.seed",
    "backend": "trainer.backend",
    "ray_address": "trainer.ray_address",
}
_RESUMABLE = {"steps", "workers", "backend", "ray_address"}


class _Steps(click.ParamType):
    """A positive count of agent steps: ``2000000``, ``2_000_000`` or ``2e6``."""

    name = "STEPS"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            number = float(str(value).replace("_", ""))
        except ValueError:
            number = float("nan")
        if not number.is_integer() or number < 1:
            self.fail(f"{value!r} is not a positive whole number of agent steps (e.g. 2e6)",
                      param, ctx)
        return int(number)


_STEPS = _Steps()


class TrainFailed(click.ClickException):
    """Training stopped because of a failure (a worker died); exit status 1."""

    exit_code = 1


def _overrides(named: dict, sets: tuple[str, ...]) -> list[str]:
    items = []
    for key, value in named.items():
        if value is not None:
            text = str(value) if not isinstance(value, str) else value
            items.append(f"{_NAMED[key]}={text}")
    return items + list(sets)


def _command_line(ctx: click.Context, out: Path) -> list[str]:
    """The command that reproduces this invocation (for the run's README)."""
    argv = ["infoflow", "train"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value in (None, False, ()) or not isinstance(param, click.Option):
            continue
        flag = max(param.opts, key=len)
        if param.name == "out":
            value = out
        if param.is_flag:
            argv.append(flag)
        elif param.multiple:
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    if "--out" not in argv:
        argv += ["--out", str(out)]
    return argv


@click.command("train")
@click.option("--preset", "-p", metavar="NAME", help="A shipped preset, e.g. quickstart, "
              "cleanup_moa_influence (see --list-presets).")
@click.option("--config", "-c", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="A TOML config file (e.g. a run's config.toml).")
@click.option("--set", "-s", "sets", multiple=True, metavar="SECTION.FIELD=VALUE",
              help="Override any config field; repeatable (e.g. -s env.config.horizon=100).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory [default: runs/<preset>-s<seed>].")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its newest checkpoint.")
@click.option("--steps", type=_STEPS, help="Training budget in agent steps "
              "(trainer.total_steps); 5e7 and 50_000_000 work too.")
@click.option("--workers", type=int, help="Worker processes; 1 = deterministic, 0 = one per core; "
              "more than the cores needs --backend ray or -s trainer.allow_oversubscribe=true.")
@click.option("--backend", type=click.Choice(["processes", "ray"]),
              help="Where workers run (trainer.backend): processes on this machine, or Ray "
              "actors (pip install -e '.[ray]').")
@click.option("--ray-address", metavar="ADDRESS", help="Ray cluster to join, e.g. auto "
              "(trainer.ray_address; with --backend ray).")
@click.option("--seed", type=int, help="Random seed (trainer.seed).")
@click.option("--game", type=click.Choice(["cleanup", "harvest", "box_trapped"]),
              help="Game (env.game).")
@click.option("--n-envs", type=int, help="Env copies per worker (env.n_envs).")
@click.option("--map", "map_path", type=click.Path(dir_okay=False), help="Map file (env.map).")
@click.option("--model", metavar="KIND",
              help="Model kind (model.kind), e.g. a3c, influence, communication, moa; an "
              "unknown name lists the registered kinds.")
@click.option("--core", type=click.Choice(["lstm", "ff"]), help="Recurrent core (model.core).")
@click.option("--beta", type=float, help="Influence weight (trainer.beta).")
@click.option("--list-presets", is_flag=True, help="List the presets and exit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def train(preset, config_file, sets, out, resume, steps, workers, backend, ray_address, seed,
          game, n_envs, map_path, model, core, beta, list_presets, quiet) -> None:
    """Train agents with A3C; write checkpoints, metrics and trajectories to a run directory.

    \b
    Examples:
      infoflow train --preset quickstart --out runs/quick
      infoflow train -p cleanup_moa_influence --steps 5e7 --workers 2 -s logging.episode_every=8
      infoflow train --out runs/quick --resume --steps 2000000
    """
    from trainers.config import list_presets as presets_list
    from trainers.config import load_config
    from trainers.limits import check_resources, check_resume_budget, check_writable
    from trainers.rundir import RunDir, load_checkpoint

    if list_presets:
        click.echo("\n".join(presets_list()))
        return
    named = {"steps": steps, "workers": workers, "backend": backend, "ray_address": ray_address,
             "seed": seed, "game": game, "n_envs": n_envs, "map_path": map_path, "model": model,
             "core": core, "beta": beta}
    if resume:
        if out is None:
            raise click.UsageError("--resume needs --out RUN_DIRECTORY (the run to continue)")
        changed = [k for k, v in named.items() if v is not None and k not in _RESUMABLE]
        if preset or config_file or sets or changed:
            raise click.UsageError("with --resume the run's config.toml is used; only --steps, "
                                   "--workers, --backend and --ray-address may change")
        if not (out / "config.toml").is_file():
            raise FileNotFoundError(f"{str(out)!r} holds no run (no config.toml); check --out, "
                                    "or start a new run without --resume")
        cfg = load_config(out / "config.toml", overrides=_overrides(named, ()))
        newest = RunDir.check(out, resume=True)
        done = int(load_checkpoint(newest)["agent_steps"]) if newest is not None else 0
        check_resume_budget(done, cfg.trainer.total_steps, out)
    else:
        if preset is None and config_file is None:
            raise click.UsageError("give --preset NAME or --config FILE "
                                   f"(presets: {', '.join(presets_list())})")
        cfg = load_config(config_file, preset=preset, overrides=_overrides(named, sets))
        if out is None:
            name = preset or config_file.stem
            out = Path("runs") / f"{name}-s{cfg.trainer.seed}"
        RunDir.check(out)
    # every limit before any work or any file (one line, exit 2): the run directory can be
    # written, workers fit the cores, no absurd value, the map, the memory the run needs
    check_writable(out, resume=resume)
    check_resources(cfg)

    from trainers.a3c import WorkerError
    from trainers.a3c import train as run_training
    from trainers.config import resolve_workers
    from trainers.schedules import curriculum, curriculum_note

    if not quiet:  # at once: compiling and spawning can take a while before the first episode
        click.echo(f"infoflow train: {cfg.model.kind} on {cfg.env.game}, "
                   f"{resolve_workers(cfg)} worker(s) x {cfg.env.n_envs} env copies, to "
                   f"{cfg.trainer.total_steps:,} agent steps in {out}; starting workers (the "
                   "progress bar appears with the first rollouts)", err=True)
    note = curriculum_note(cfg.trainer)  # a shortened run's curriculum: scaled (said unless
    if note is not None and (not quiet or curriculum(cfg.trainer)[2] == 1.0):  # quiet) or not
        click.echo(f"infoflow train: {note}", err=True)
    bar = None
    returns: dict[str, str] = {}  # the last episode's collective return, the running one's

    def progress(row: dict) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:  # made on the first report, once the run has started
            from tqdm import tqdm

            bar = tqdm(total=cfg.trainer.total_steps, unit=" steps", unit_scale=True,
                       dynamic_ncols=True, desc="train", mininterval=0.5,
                       bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                  "[{elapsed}<{remaining}{postfix}]")  # one rate: ours
        if row["kind"] == "episode":
            returns["last episode"] = f"{row['collective_return']:.1f}"
        else:  # the running episode so far, until an episode has ended
            returns["so far"] = f"{row['collective_return']:.1f} @ step {row['episode_step']}"
        shown = ({"return": returns["last episode"]} if "last episode" in returns else
                 {"return so far": returns["so far"]})
        bar.set_postfix({"steps/s": f"{row['steps_per_s']:,.0f}", **shown,
                         "beta": f"{row['beta']:.3g}"}, refresh=False)
        bar.update(max(0, min(int(row["agent_steps"]), cfg.trainer.total_steps) - bar.n))

    try:
        summary = run_training(cfg, out, resume=resume, progress=progress,
                               argv=_command_line(click.get_current_context(), out))
    except WorkerError as exc:
        raise TrainFailed(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    last = summary.last_stats
    returns = (f"; last collective return {last['collective_return']:.1f}"
               if "collective_return" in last else "; no episode ended")
    click.echo(f"trained to {summary.agent_steps:,} agent steps in {summary.seconds:.0f} s "
               f"({summary.steps_per_s:,.0f} steps/s over this run){returns}")
    ckpt = summary.checkpoint.name if summary.checkpoint else "-"
    click.echo(f"run directory: {out}  (checkpoint {ckpt})")
    click.echo(f"analyse with:  infoflow analyze {out}")
