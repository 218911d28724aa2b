"""Experiments: a grid of presets x ``--set`` values x seeds, run as ordinary run directories.

An experiment folder holds::

    EXP/
      experiment.toml   the grid (presets, seeds, budget, workers, fixed and varied settings)
      README            the time and command line of every start or resume
      runs/<name>/      one run directory per cell: <preset>[-<field>=<value>...]-s<seed>

:func:`plan` expands the grid into :class:`RunSpec` cells; :func:`run_experiment` plays them one
after another, each as its own ``infoflow train`` process (a failed or killed run cannot take
the experiment's memory or state with it), and is resumable as a whole: a finished run (its
newest checkpoint at the budget) is skipped, a started one continues with ``--resume``, the
rest start. The child process dies with the experiment (Linux ``PR_SET_PDEATHSIG``), and
Ctrl-C, SIGTERM or SIGHUP to the experiment is passed on to the run, which checkpoints and
stops; ``--resume`` continues from there.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trainers.a3c.supervision import kill_with_parent

__all__ = ["ExperimentSpec", "RunSpec", "plan", "run_status", "run_experiment",
           "write_spec", "read_spec", "SPEC_NAME"]

SPEC_NAME = "experiment.toml"
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]")


@dataclass
class ExperimentSpec:
    """The grid of an experiment (what ``experiment.toml`` holds)."""

    presets: list[str]
    seeds: list[int]
    steps: int
    """Agent steps per run (``--steps`` of every run)."""
    workers: int = 1
    backend: str = "processes"
    sets: list[str] = field(default_factory=list)
    """``section.field=value`` overrides of every run."""
    grid: dict[str, list[str]] = field(default_factory=dict)
    """``section.field`` -> values: one run per combination (and preset, and seed)."""


@dataclass
class RunSpec:
    """One cell of the grid."""

    name: str
    """The run directory's name under ``runs/``."""
    preset: str
    seed: int
    sets: list[str]
    """Every override of this run: the experiment's, the grid cell's, the seed."""
    label: str
    """The run's group across seeds (its name without the seed)."""


def plan(spec: ExperimentSpec) -> list[RunSpec]:
    """Every run of ``spec``: seeds (outer), presets, grid combinations (inner).

    Seeds go outermost so that an experiment stopped half-way has every model at its first
    seeds: comparable, with fewer seeds, rather than some models complete and others absent.

    Examples
    --------
    >>> spec = ExperimentSpec(["a", "b"], [0, 1], 100, grid={"trainer.beta": ["0.1", "0.2"]})
    >>> [r.name for r in plan(spec)][:3]
    ['a-trainer.beta=0.1-s0', 'a-trainer.beta=0.2-s0', 'b-trainer.beta=0.1-s0']
    >>> len(plan(spec))
    8
    """
    keys = list(spec.grid)
    cells = list(itertools.product(*(spec.grid[k] for k in keys))) if keys else [()]
    runs = []
    for seed, preset, cell in itertools.product(spec.seeds, spec.presets, cells):
        varied = [f"{k}={v}" for k, v in zip(keys, cell, strict=True)]
        label = "-".join([preset, *(_NAME_UNSAFE.sub("_", v) for v in varied)])
        runs.append(RunSpec(f"{label}-s{seed}", preset, seed,
                            [*spec.sets, *varied, f"trainer.seed={seed}"], label))
    return runs


def write_spec(folder: Path, spec: ExperimentSpec) -> Path:
    """Write ``experiment.toml`` into ``folder`` (created) atomically."""
    folder.mkdir(parents=True, exist_ok=True)

    def toml_list(values: Sequence[Any]) -> str:
        return "[" + ", ".join(_toml_value(v) for v in values) + "]"

    lines = ["# infoflow experiment: the grid; `infoflow experiment --resume --out <this folder>`",
             "[experiment]", f"presets = {toml_list(spec.presets)}",
             f"seeds = {toml_list(spec.seeds)}", f"steps = {spec.steps}",
             f"workers = {spec.workers}", f"backend = {_toml_value(spec.backend)}",
             f"sets = {toml_list(spec.sets)}", "", "[grid]"]
    lines += [f"{_toml_value(k)} = {toml_list(v)}" for k, v in spec.grid.items()]
    path = folder / SPEC_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return str(v)


def read_spec(folder: Path) -> ExperimentSpec:
    """The spec in ``folder/experiment.toml``; a clear error when there is none."""
    path = Path(folder) / SPEC_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{str(folder)!r} holds no experiment ({SPEC_NAME} missing); "
                                "check --out, or start one with --preset and --seeds")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        ex = data["experiment"]
        return ExperimentSpec(
            presets=[str(p) for p in ex["presets"]], seeds=[int(s) for s in ex["seeds"]],
            steps=int(ex["steps"]), workers=int(ex.get("workers", 1)),
            backend=str(ex.get("backend", "processes")), sets=[str(s) for s in ex["sets"]],
            grid={str(k): [str(v) for v in vs] for k, vs in data.get("grid", {}).items()})
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError,
            UnicodeDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is not a valid experiment file ({exc}); restore it "
                         "or start a new experiment") from None


def run_status(run_dir: Path, steps: int) -> tuple[str, int]:
    """('new' | 'started' | 'done', agent steps done) of a run directory."""
    from trainers.rundir import RunDir, load_checkpoint

    if not (run_dir / "config.toml").is_file():
        return "new", 0
    newest = RunDir.check(run_dir, resume=True)
    done = int(load_checkpoint(newest)["agent_steps"]) if newest is not None else 0
    return ("done" if done >= steps else "started"), done


def train_command(spec: ExperimentSpec, run: RunSpec, run_dir: Path, resume: bool,
                  quiet: bool) -> list[str]:
    """The ``infoflow train`` command line of one run (a new start or ``--resume``)."""
    cmd = [sys.executable, "-m", "cli.main", "train", "--out", str(run_dir),
           "--steps", str(spec.steps), "--workers", str(spec.workers),
           "--backend", spec.backend]
    if resume:
        cmd.append("--resume")
    else:
        cmd += ["--preset", run.preset]
        for item in run.sets:
            cmd += ["--set", item]
    return cmd + (["--quiet"] if quiet else [])


def run_experiment(folder: Path, spec: ExperimentSpec, say: Callable[[str], None],
                   quiet: bool = False, argv: list[str] | None = None,
                   parallel: int = 1) -> list[str]:
    """Play every run of ``spec`` in ``folder`` that is not done, ``parallel`` at a time.

    With ``parallel = 1`` each run's output goes to the terminal; with more, runs are quiet
    and each writes its output to ``folder/logs/<run>.log``. Returns the
    names of runs that failed (the others go on). Raises KeyboardInterrupt after passing an
    interruption (SIGINT, SIGTERM, SIGHUP) on to every running run and waiting for them.
    """
    if parallel < 1:
        raise ValueError(f"parallel is {parallel}; run at least 1 run at a time")
    runs = plan(spec)
    with open(folder / "README", "a", encoding="utf-8") as f:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.write(f"{stamp}  {shlex.join(argv or sys.argv)}\n")
    root = Path(__file__).resolve().parents[1]
    todo = []
    for i, run in enumerate(runs, start=1):
        run_dir = folder / "runs" / run.name
        state, done = run_status(run_dir, spec.steps)
        head = f"[{i}/{len(runs)}] {run.name}"
        if state == "done":
            say(f"{head}: done ({done:,} agent steps)")
            continue
        note = "starting" if state == "new" else \
            f"resuming at {done:,} of {spec.steps:,} agent steps"
        cmd = train_command(spec, run, run_dir, resume=state == "started",
                            quiet=quiet or parallel > 1)
        todo.append((head, note, run.name, cmd))
    heads = {name: head for head, _, name, _ in todo}
    failed: list[str] = []
    with _Children(root) as children:
        while todo or children.running:
            while todo and len(children.running) < parallel and not children.received:
                head, note, name, cmd = todo.pop(0)
                log = None
                if parallel > 1:
                    (folder / "logs").mkdir(exist_ok=True)
                    log = folder / "logs" / f"{name}.log"
                    note += f" (output: logs/{log.name})"
                say(f"{head}: {note}")
                children.start(name, cmd, log)
            name, code = children.wait_any()
            if code != 0:
                failed.append(name)
                where = "above" if parallel == 1 else f"in logs/{name}.log"
                say(f"{heads[name]}: failed (see its message {where}); the experiment goes on")
            elif parallel > 1:
                say(f"{heads[name]}: finished")
    return failed


class _Children:
    """Runs as child processes, each in its own process group, so that a terminal's Ctrl-C
    reaches each once, through this process: SIGINT, SIGTERM and SIGHUP here are passed on to
    every running child (each checkpoints and stops), and KeyboardInterrupt is raised once
    they have all ended. Children die with this process (a SIGKILL here included)."""

    WANTED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.running: dict[str, subprocess.Popen] = {}
        self.received: list[int] = []
        self.previous: dict = {}

    def __enter__(self) -> _Children:
        self.previous = {s: signal.signal(s, self._forward) for s in self.WANTED}
        return self

    def __exit__(self, *exc) -> None:
        try:
            for child in self.running.values():  # an error here: stop the others too
                child.send_signal(signal.SIGTERM)
            for child in self.running.values():
                child.wait()
        finally:
            for s, handler in self.previous.items():
                signal.signal(s, handler)

    def _forward(self, signum: int, frame) -> None:
        self.received.append(signum)
        for child in self.running.values():
            child.send_signal(signum)

    def start(self, name: str, cmd: list[str], log: Path | None) -> None:
        out = open(log, "a", encoding="utf-8") if log is not None else None  # noqa: SIM115
        try:
            child = subprocess.Popen(
                cmd, cwd=self.cwd, preexec_fn=kill_with_parent, process_group=0,
                stdout=out, stderr=subprocess.STDOUT if out is not None else None)
        finally:
            if out is not None:
                out.close()  # the child holds its own copy
        self.running[name] = child
        if self.received:  # a signal that landed while it started: it must stop too
            child.send_signal(self.received[-1])

    def wait_any(self) -> tuple[str, int]:
        """Wait until a child ends: (its name, its exit status). KeyboardInterrupt once every
        child has ended after an interruption was passed on."""
        while True:
            if self.received and not self.running:
                raise KeyboardInterrupt
            for name, child in list(self.running.items()):
                code = child.poll()
                if code is not None:
                    del self.running[name]
                    if not self.received:
                        return name, code
            time.sleep(0.2)
