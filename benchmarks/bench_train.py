"""Training throughput end to end (SPEC 9): Cleanup, 5 agents, W workers, agent-steps/s.

Everything a real run does is included: batched envs, acting, the influence computations,
learning (loss, backward, clip, shared-optimiser step), trajectory logging at the default
rate and metrics. For each model the rate is measured in steady state, between the first and
the last episode reported (worker start-up excluded).

On a shared machine the wall-clock rate depends on the other load; the CPU column divides the
steps by the CPU seconds the workers used (read from /proc on Linux) and multiplies by W: the rate
W dedicated cores would give (the trainer's main process, mostly idle, is left out).

Targets (2-core machine): A3C baseline >= 40,000 agent-steps/s; MOA influence >= 25,000;
influence adds at most 60 % to the baseline's time per step.

Usage::

    python benchmarks/bench_train.py                       # all four models, default sizes
    python benchmarks/bench_train.py --models a3c moa --steps 400000 --n-envs 16
    python benchmarks/bench_train.py --backend ray         # the Ray backend (needs the ray extra)

With ``--backend ray`` the workers are Ray actors, not children of this process: the CPU columns
are left empty.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable

import torch
from _machine import machine_description

from trainers.a3c import train
from trainers.config import load_config

MODELS = {
    "a3c": ("A3C baseline", ["model.kind=a3c"]),
    "influence": ("basic influence", ["model.kind=influence", "model.influencers=1",
                                      "trainer.beta=0.1"]),
    "communication": ("communication influence", ["model.kind=communication",
                                                  "trainer.beta=0.1"]),
    "moa": ("MOA influence", ["model.kind=moa", "model.moa_visible_only=true",
                              "trainer.beta=0.1"]),
}


def workers_cpu_seconds(seen: dict[int, float]) -> float:
    """CPU seconds (user + system) used so far by the worker processes (Linux /proc), or by this
    process when the run has no worker processes (``workers = 1``); NaN where unreadable.

    ``seen`` keeps each worker's last reading, so a worker that has exited still counts.
    """
    children = multiprocessing.active_children()
    if not children and not seen:
        return time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for proc in children:
        try:
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # fields 3.. of proc(5)
        except OSError:
            continue  # exited meanwhile: keep its last reading
        seen[proc.pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return sum(seen.values()) if seen else float("nan")


def measure(kind: str, args: argparse.Namespace, extra: tuple[str, ...] = (),
            inspect: Callable[[str], None] | None = None) -> tuple[float, float]:
    """Steady-state agent-steps/s of one short training run of model ``kind``: wall clock, and
    per worker CPU second times W. ``extra``: more config overrides; ``inspect`` is called
    with the run directory before it is deleted."""
    rows: list[tuple[float, int, float]] = []
    seen: dict[int, float] = {}
    overrides = [
        "env.game=cleanup", "env.config.n_agents=5", f"env.n_envs={args.n_envs}",
        f"env.config.horizon={args.horizon}", f"trainer.workers={args.workers}",
        f"trainer.rollout_length={args.rollout}", f"trainer.total_steps={args.steps}",
        "logging.tensorboard=false", f"trainer.backend={args.backend}", *MODELS[kind][1],
        *extra,
    ]
    cfg = load_config(overrides=overrides)
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, os.path.join(tmp, "run"), argv=["bench_train"],
              progress=lambda row: rows.append((time.perf_counter(), int(row["agent_steps"]),
                                                 workers_cpu_seconds(seen) if args.backend ==
                                                 "processes" else float("nan"))))
        if inspect is not None:
            inspect(os.path.join(tmp, "run"))
    if len(rows) < 2:
        raise SystemExit(f"{kind}: fewer than 2 episodes reported; raise --steps")
    (t0, s0, c0), (t1, s1, c1) = rows[0], rows[-1]
    return (s1 - s0) / (t1 - t0), (s1 - s0) / (c1 - c0) * args.workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-envs", type=int, default=32, help="env copies per worker")
    parser.add_argument("--rollout", type=int, default=20, help="rollout length")
    parser.add_argument("--horizon", type=int, default=250,
                        help="episode length (shorter than 1000 to report more often)")
    parser.add_argument("--steps", type=int, default=600_000, help="agent steps per model")
    parser.add_argument("--backend", choices=["processes", "ray"], default="processes")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    measured = {kind: measure(kind, args) for kind in args.models}
    rates = {kind: wall for kind, (wall, _) in measured.items()}
    cpu_rates = {kind: cpu for kind, (_, cpu) in measured.items()}
    base, cpu_base = rates.get("a3c"), cpu_rates.get("a3c")
    print(f"# bench_train: Cleanup, 5 agents, {args.workers} workers x {args.n_envs} env "
          f"copies, rollout {args.rollout}, horizon {args.horizon}, backend {args.backend}")
    print(machine_description([f"torch {torch.__version__}",
                               f"load average {load:.1f} before the runs"]))
    print()
    print("| model | agent-steps/s | time per step vs baseline | per CPU s x W | vs baseline "
          "(CPU) | target |")
    print("|---|---:|---:|---:|---:|---|")
    targets = {"a3c": ">= 40,000", "moa": ">= 25,000"}
    for kind, rate in rates.items():
        cpu = cpu_rates[kind]
        extra = f"{100 * (base / rate - 1):+.0f} %" if base and kind != "a3c" else "-"
        cpu_extra = f"{100 * (cpu_base / cpu - 1):+.0f} %" if cpu_base and kind != "a3c" else "-"
        target = targets.get(kind, "<= +60 %")
        cpu_cell = f"{cpu:,.0f}" if cpu == cpu else ""
        cpu_extra = cpu_extra if cpu == cpu else ""
        print(f"| {MODELS[kind][0]} | {rate:,.0f} | {extra} | {cpu_cell} | {cpu_extra} | "
              f"{target} |")


if __name__ == "__main__":
    main()
