"""Box trapped (SPEC 1.4, paper suppl. 10.3): how often each preset's opener opens the box.

Trains ``box_trapped_influence`` and ``box_trapped_baseline`` for a few seeds (``workers = 1``,
deterministic per seed) and prints, per run, the fraction of episodes in which agent 0 opened
the box: at the start (first 10 % of episodes) and late (last 20 %), with the mean step of
opening and the late returns. The metrics row of every episode carries ``box_opened``, the
fraction of the worker's env copies opened in that episode, so every episode counts.

Paper: an influence agent opens the box in 88 % of trajectories, an A3C agent in 0 %.

Usage::

    python benchmarks/box_trapped_study.py                       # 3 seeds, 1M agent steps
    python benchmarks/box_trapped_study.py --seeds 0 1 --steps 5e5 --presets box_trapped_influence
    python benchmarks/box_trapped_study.py -s trainer.beta=100 -s model.policy_init_scale=4
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainers.a3c import train
from trainers.config import load_config

PRESETS = ("box_trapped_influence", "box_trapped_baseline")


def run(preset: str, seed: int, steps: int, out: Path,
        overrides: Sequence[str] = ()) -> dict[str, float]:
    """Train one preset for one seed; summary of its per-episode metrics rows."""
    cfg = load_config(preset=preset, overrides=[
        *overrides, "trainer.workers=1", f"trainer.seed={seed}",
        f"trainer.total_steps={steps}", "logging.episode_every=0",
        "logging.tensorboard=false", f"logging.checkpoint_every={steps}"])
    rows: list[dict] = []
    t0 = time.perf_counter()
    train(cfg, out, argv=["box_trapped_study"], progress=rows.append)
    seconds = time.perf_counter() - t0
    opened = np.array([float(r["box_opened"]) for r in rows])
    at = np.array([float(r["box_opened_at"]) for r in rows])
    n = len(rows)
    early, late = slice(0, max(1, n // 10)), slice(n - max(1, n // 5), n)

    def late_mean(key: str) -> float:
        return float(np.mean([float(r[key]) for r in rows[late]]))

    late_at = at[late][np.isfinite(at[late])]
    return {"episodes": n, "early": float(opened[early].mean()),
            "late": float(opened[late].mean()),
            "late_at": float(late_at.mean()) if late_at.size else math.nan,
            "return_0": late_mean("return_0"), "return_1": late_mean("return_1"),
            "influence": late_mean("influence_reward"), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=float, default=1_000_000,
                        help="agent steps per run (default 1e6)")
    parser.add_argument("-s", "--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.FIELD=VALUE",
                        help="override a config field of every run (repeatable)")
    args = parser.parse_args()
    steps = int(args.steps)
    print(f"Box trapped study: {steps:,} agent steps per run, workers = 1"
          + (f", overrides: {' '.join(args.overrides)}" if args.overrides else ""))
    print("opened = fraction of episodes in which the box was opened (first 10 % / last 20 % "
          "of episodes); at = mean step of opening (late); returns and influence reward "
          "per agent-step: late means")
    header = (f"{'preset':24} {'seed':>4} {'episodes':>8} {'opened early':>12} "
              f"{'opened late':>11} {'at':>5} {'return 0':>8} {'return 1':>8} "
              f"{'influence':>9} {'s':>5}")
    print(header)
    print("-" * len(header))
    late: dict[str, list[float]] = {p: [] for p in args.presets}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            for seed in args.seeds:
                r = run(preset, seed, steps, Path(tmp) / f"{preset}-s{seed}", args.overrides)
                late[preset].append(r["late"])
                print(f"{preset:24} {seed:>4} {r['episodes']:>8} {r['early']:>12.2f} "
                      f"{r['late']:>11.2f} {r['late_at']:>5.1f} {r['return_0']:>8.2f} "
                      f"{r['return_1']:>8.2f} {r['influence']:>9.2e} {r['seconds']:>5.0f}",
                      flush=True)
    for preset, values in late.items():
        print(f"{preset}: opened late in {np.mean(values):.0%} of episodes on average "
              f"(per seed: {', '.join(f'{v:.0%}' for v in values)})")


if __name__ == "__main__":
    main()
