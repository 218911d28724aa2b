"""Wall time of ``infoflow analyze`` with the defaults, in fresh processes and phase by phase.

The case of the issue: a 5-agent store, 8 actions, 10 episodes x 1000 steps with two planted
couplings, analysed with the default options (te, mi, kl where logged, comm; lags 1-3; 500
permutations). Target: under 3 s of wall time per ``infoflow analyze`` on 2 cores, cold start
(numba compile) excluded.

1. The numba cache is warmed first (``python -m infoflow._warmup``), unless ``--no-warm``.
2. ``--runs`` fresh processes ``python -m cli.main analyze STORE --out OUT``: wall time each,
   with the bare interpreter start and the command's imports as references.
3. ``--phase-runs`` fresh processes timing each phase of the command in order (the best of
   each is shown): imports, opening the store, numba's start-up and the background imports
   of :mod:`cli.preload`, ``analysis.analyze`` (first call: the computation, with scipy.stats
   and matplotlib imported alongside; a second call: the computation alone), writing
   ``analysis.nc`` and the graph files, each plot drawn for these results, and report.html.
4. With ``--compile``: one run with an empty numba cache (``NUMBA_CACHE_DIR``), the cold start.

Usage::

    python benchmarks/bench_analyze_cli.py
    python benchmarks/bench_analyze_cli.py --runs 5 --influence --compile
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COUPLINGS = ((0, 1, 1, 0.8), (2, 3, 2, 0.5))


def make_store(path: Path, influence: bool) -> Path:
    """Write the benchmark's store (zarr) with TrajectoryWriter."""
    from infoflow.synthetic import coupled_actions
    from infoflow.trajectory import TrajectoryWriter

    ds = coupled_actions(n_agents=5, n_symbols=8, n_episodes=10, n_steps=1000,
                         couplings=COUPLINGS, seed=0, influence=influence)
    with TrajectoryWriter(path, agents=[str(a) for a in ds["agent"].values],
                          n_actions=int(ds.attrs["n_actions"]), attrs=dict(ds.attrs)) as writer:
        writer.append(ds)
    return path


def wall(cmd: list[str], env: dict | None = None) -> float:
    """Wall time of one subprocess (its output discarded); raises if it fails."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def phases(store: str, out: str) -> list[tuple[str, float]]:
    """Each phase of ``infoflow analyze`` in this (fresh) process, in seconds, in order."""
    rows: list[tuple[str, float]] = []
    start = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal start
        now = time.perf_counter()
        rows.append((name, now - start))
        start = now

    import numpy  # noqa: F401

    mark("import numpy")
    import xarray  # noqa: F401

    mark("import xarray (pandas)")
    import numba  # noqa: F401

    mark("import numba")
    import networkx  # noqa: F401

    mark("import networkx")
    from cli.preload import start_preload
    from infoflow import analysis
    from infoflow.graph import default_graph_measure, influence_graph, write_graph
    from infoflow.plots import (
        plot_comparison,
        plot_graph,
        plot_influence_over_time,
        plot_lag_heatmaps,
    )
    from infoflow.report import write_report
    from infoflow.trajectory import open_trajectories

    mark("import infoflow (rest)")
    ds = open_trajectories(store)
    mark("open_trajectories")
    preload = start_preload()
    mark("numba start-up (start_kernels), preload thread started")
    results = analysis.analyze(ds)
    mark("analyze, 1st call (computation; scipy.stats, matplotlib imported alongside)")
    preload.join()
    mark("rest of the preload imports")
    results = analysis.analyze(ds)
    mark("analyze, 2nd call (computation only)")
    measure, threshold = default_graph_measure(results)
    g = influence_graph(results, measure, threshold=threshold)
    comparison = None
    if "kl_mean" in results and ("te" in results or "mi" in results):
        comparison = analysis.compare_measures(results)
    mark("graph and comparison table")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    analysis.write_results(results, folder / "analysis.nc")
    mark("write analysis.nc")
    for name in ("graph.graphml", "graph.gexf", "graph.json"):
        write_graph(g, folder / name)
    mark("write graph.graphml, .gexf, .json")
    plot_graph(g, folder / "graph.png")
    mark("plot graph.png (the first figure)")
    for m in ("te", "mi"):  # as the command: bivariate (lagged) results only
        if m in results.data_vars and "lag" in results[m].dims:
            plot_lag_heatmaps(results, folder / f"{m}_by_lag.png", m)
            mark(f"plot {m}_by_lag.png")
    if "kl_episode_mean" in results.data_vars:
        plot_influence_over_time(results, folder / "influence_over_time.png")
        mark("plot influence_over_time.png")
    if comparison is not None:
        plot_comparison(comparison, folder / "kl_vs_te_mi.png")
        mark("plot kl_vs_te_mi.png")
    write_report(folder)
    mark("write report.html")
    return rows


IMPORTS = ("from infoflow import analysis; "
           "from infoflow.graph import default_graph_measure, format_edges, influence_graph; "
           "from infoflow.plots import plot_comparison, plot_influence_over_time, "
           "plot_lag_heatmaps; from infoflow.trajectory import open_trajectories")


DEPENDENCIES = ("import numpy, xarray, zarr, numba, networkx, scipy.stats, matplotlib.figure, "
                "matplotlib.backends.backend_agg; from infoflow.measures import start_kernels; "
                "start_kernels()")
"""The floor of any ``analyze`` built on these libraries: importing them and numba's start-up."""


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh-process runs [3]")
    parser.add_argument("--phase-runs", type=int, default=1,
                        help="fresh processes timing the phases; the best of each is shown [1]")
    parser.add_argument("--influence", action="store_true",
                        help="log influence in the store (adds kl and its two plots)")
    parser.add_argument("--store", type=Path, default=None,
                        help="analyse this store instead of writing the synthetic one")
    parser.add_argument("--no-warm", action="store_true",
                        help="do not run python -m infoflow._warmup first")
    parser.add_argument("--compile", action="store_true",
                        help="also time one run with an empty numba cache (cold start)")
    parser.add_argument("--phases", nargs=2, metavar=("STORE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases:  # the child process of step 3
        print(json.dumps(phases(*args.phases)))
        return

    import numba
    from _machine import machine_description  # after the --phases branch: it imports numpy

    print(machine_description([f"numba {numba.__version__} "
                               f"({numba.config.NUMBA_NUM_THREADS} threads)"]))
    print(f"load average at start: {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        tmp = Path(tmp)
        store = args.store or make_store(tmp / "store.zarr", args.influence)
        if not args.no_warm:
            print(f"numba warm-up: {wall([sys.executable, '-m', 'infoflow._warmup', '-q']):.2f} s")
        cmd = [sys.executable, "-m", "cli.main", "analyze", str(store), "--out", str(tmp / "out")]
        runs = [wall(cmd) for _ in range(args.runs)]
        bare = min(wall([sys.executable, "-c", "pass"]) for _ in range(3))
        imports = min(wall([sys.executable, "-c", IMPORTS]) for _ in range(3))
        floor = min(wall([sys.executable, "-c", DEPENDENCIES]) for _ in range(3))
        print(f"\ninfoflow analyze {store.name} (defaults), fresh processes:")
        print(f"  wall per run: {', '.join(f'{t:.2f}' for t in runs)} s "
              f"(median {statistics.median(runs):.2f}, min {min(runs):.2f})")
        print(f"  of which interpreter start {bare:.2f} s, the command's imports "
              f"{imports - bare:.2f} s (best of 3)")
        print(f"  reference: importing every library the command uses and starting numba "
              f"takes {floor:.2f} s (best of 3); the command takes "
              f"{statistics.median(runs) / floor:.2f}x that")
        best: dict[str, float] = {}
        for _ in range(max(1, args.phase_runs)):
            child = subprocess.run([sys.executable, __file__, "--phases", str(store),
                                    str(tmp / "phases")], check=True, capture_output=True,
                                   text=True)
            for name, seconds in json.loads(child.stdout.strip().splitlines()[-1]):
                best[name] = min(seconds, best.get(name, float("inf")))
        rows = list(best.items())
        print(f"\nphases in a fresh process, best of {max(1, args.phase_runs)} (s):")
        for name, seconds in rows:
            print(f"  {seconds:7.3f}  {name}")
        computed_twice = sum(s for n, s in rows if n.startswith("analyze, 2nd"))
        print(f"  {sum(s for _, s in rows) - computed_twice:7.3f}  total of one command "
              "(without the 2nd analyze call)")
        if args.compile:
            env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba-cache")}
            print(f"\ncold start (empty numba cache): {wall(cmd, env):.2f} s")
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
