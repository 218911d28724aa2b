"""Throughput of the batched games: agent-steps per second, one process (SPEC 9).

For each game and batch size ``E`` the script builds ``make_env(game, n_envs=E)``, warms
it up (JIT compilation, caches), then steps it with uniformly random actions for a fixed
wall-clock budget and reports env-steps/s (``E`` copies advanced by one step count ``E``)
and agent-steps/s (times the number of agents). Actions are drawn before timing, as a
pool of ``[P, E, N]`` arrays cycled through, so action sampling is not timed. Episode
resets at the horizon are timed (they are part of running the game).

Usage::

    python benchmarks/bench_env.py                       # 3 s per cell, E = 1, 16, 64, 256
    python benchmarks/bench_env.py --seconds 1 --batch-sizes 1,64 --pettingzoo --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import numpy as np
from _machine import machine_description

from trainers.envs import make_env
from trainers.envs.pettingzoo_env import parallel_env

GAMES = ("cleanup", "harvest")
N_AGENTS = 5
ACTION_POOL = 64  # pre-drawn action arrays cycled through while timing


def _make(game: str, n_envs: int, seed: int):
    """Build the game with 5 agents (the default maps' agent count is set by the config)."""
    env = make_env(game, n_envs=n_envs, seed=seed)
    if env.n_agents != N_AGENTS:
        raise SystemExit(f"{game} has {env.n_agents} agents by default, the benchmark wants 5")
    return env


def _action_pool(env, seed: int) -> np.ndarray:
    """Uniform random actions, int64 [P, E, N], drawn once before timing."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, env.n_actions, size=(ACTION_POOL, env.n_envs, env.n_agents))


def _run(env, pool: np.ndarray, n_steps: int, start: int = 0) -> int:
    """Step ``env`` ``n_steps`` times, resetting at the horizon; return the next pool index."""
    i = start
    for _ in range(n_steps):
        _, _, info = env.step(pool[i % ACTION_POOL])
        if info["truncated"]:
            env.reset()
        i += 1
    return i


def time_cell(game: str, n_envs: int, seconds: float, seed: int = 0) -> tuple[float, float]:
    """Measure one (game, batch size) cell.

    Returns
    -------
    env_steps_per_s, agent_steps_per_s : float
    """
    env = _make(game, n_envs, seed)
    pool = _action_pool(env, seed)
    env.reset(seed=seed)
    # warm-up: compile and touch every code path, including a reset
    i = _run(env, pool, 20)
    warm_end = time.perf_counter() + min(0.5, seconds / 4)
    while time.perf_counter() < warm_end:
        i = _run(env, pool, 10, i)
    # timed: whole chunks of steps until the budget is spent
    steps = 0
    chunk = max(1, 2048 // n_envs)
    t0 = time.perf_counter()
    while True:
        i = _run(env, pool, chunk, i)
        steps += chunk
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    env_steps = steps * n_envs / elapsed
    return env_steps, env_steps * env.n_agents


def time_pettingzoo(game: str, seconds: float, seed: int = 0) -> tuple[float, float]:
    """Measure the PettingZoo adapter (one env copy, dict actions pre-built).

    Returns
    -------
    env_steps_per_s, agent_steps_per_s : float
    """
    env = parallel_env(game, seed=seed)
    names = env.possible_agents
    pool = [
        {a: int(x) for a, x in zip(names, row[0], strict=True)}
        for row in _action_pool(env.engine, seed)
    ]
    env.reset(seed=seed)

    def run(n_steps: int, i: int) -> int:
        for _ in range(n_steps):
            if not env.agents:
                env.reset()
            env.step(pool[i % ACTION_POOL])
            i += 1
        return i

    i = run(50, 0)
    steps, chunk = 0, 256
    t0 = time.perf_counter()
    while True:
        i = run(chunk, i)
        steps += chunk
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    return steps / elapsed, steps * len(names) / elapsed


def profile_cell(game: str, n_envs: int, seconds: float, seed: int = 0, top: int = 15) -> str:
    """cProfile of stepping one cell for about ``seconds``; the ``top`` entries by own time."""
    env = _make(game, n_envs, seed)
    pool = _action_pool(env, seed)
    env.reset(seed=seed)
    i = _run(env, pool, 20)
    profiler = cProfile.Profile()
    t_end = time.perf_counter() + seconds
    profiler.enable()
    while time.perf_counter() < t_end:
        i = _run(env, pool, 10, i)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed wall budget per cell")
    parser.add_argument(
        "--batch-sizes", default="1,16,64,256", help="comma-separated env copies per batch"
    )
    parser.add_argument("--games", default=",".join(GAMES), help="comma-separated games")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pettingzoo",
        action="store_true",
        help="also time the PettingZoo adapter (one copy, dict actions)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile top-15 of the best batch size per game"
    )
    args = parser.parse_args(argv)
    try:
        batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    except ValueError:
        parser.error(
            f"--batch-sizes must be integers separated by commas, got {args.batch_sizes!r}"
        )
    if not batch_sizes or min(batch_sizes) < 1:
        parser.error("--batch-sizes needs at least one positive integer")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    games = [g.strip() for g in args.games.split(",") if g.strip()]

    print(machine_description())
    print(f"random actions pre-drawn (not timed); {args.seconds:g} s per cell after warm-up\n")
    print("| game | batch | env-steps/s | agent-steps/s |")
    print("|---|---:|---:|---:|")
    best: dict[str, tuple[float, int]] = {}
    for game in games:
        for n_envs in batch_sizes:
            env_rate, agent_rate = time_cell(game, n_envs, args.seconds, args.seed)
            print(f"| {game} | {n_envs} | {env_rate:,.0f} | {agent_rate:,.0f} |", flush=True)
            if agent_rate > best.get(game, (0.0, 0))[0]:
                best[game] = (agent_rate, n_envs)
    if args.pettingzoo:
        for game in games:
            env_rate, agent_rate = time_pettingzoo(game, args.seconds, args.seed)
            print(f"| {game} (PettingZoo) | 1 | {env_rate:,.0f} | {agent_rate:,.0f} |", flush=True)
    if args.profile:
        for game, (_, n_envs) in best.items():
            print(f"\n## profile: {game}, batch {n_envs}\n")
            print(profile_cell(game, n_envs, args.seconds, args.seed))


if __name__ == "__main__":
    main()
