"""Cost of trajectory logging at the default rate (SPEC 3, "Logging rate").

Trains the same model twice (Cleanup, 5 agents, W workers x E copies, the game's full horizon):
with the default logging config (every 4th episode of each worker, one env copy, policies in
every 4th logged episode) and with logging off (``logging.episode_every = 0``), and reports the
time logging adds per step and the store's growth per hour of training. SPEC: under 10 % of
training time, about 1 GB per hour or less.

Usage::

    python benchmarks/bench_logging.py                    # MOA influence (logs everything)
    python benchmarks/bench_logging.py --model a3c --steps 2000000
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from _machine import machine_description
from bench_train import MODELS, measure


def store_bytes(run: str) -> int:
    """Bytes on disk of the run's trajectory store (0 when there is none)."""
    store = Path(run) / "trajectories.zarr"
    return sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) if store.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(MODELS), default="moa")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-envs", type=int, default=32, help="env copies per worker")
    parser.add_argument("--rollout", type=int, default=20, help="rollout length")
    parser.add_argument("--horizon", type=int, default=1000, help="episode length")
    parser.add_argument("--steps", type=int, default=3_200_000, help="agent steps per run")
    parser.add_argument("--backend", choices=["processes"], default="processes")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    sizes: list[int] = []
    logged, _ = measure(args.model, args, inspect=lambda run: sizes.append(store_bytes(run)))
    silent, _ = measure(args.model, args, extra=("logging.episode_every=0",))
    hours = args.steps / logged / 3600.0  # wall time of the logged run, about
    print(f"# bench_logging: Cleanup, 5 agents, {args.workers} workers x {args.n_envs} env "
          f"copies, horizon {args.horizon}, {MODELS[args.model][0]}, {args.steps:,} agent steps")
    print(machine_description([f"torch {torch.__version__}",
                               f"load average {load:.1f} before the runs"]))
    print()
    print("| logging | agent-steps/s | time per step vs no logging | store (MB) | store per "
          "hour of training (GB) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| off | {silent:,.0f} | - | - | - |")
    print(f"| default (every 4th episode, 1 copy) | {logged:,.0f} | "
          f"{100 * (silent / logged - 1):+.1f} % | {sizes[0] / 1e6:.1f} | "
          f"{sizes[0] / 1e9 / hours:.2f} |")


if __name__ == "__main__":
    main()
