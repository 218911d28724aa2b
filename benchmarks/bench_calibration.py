"""Calibration of network inference on null models of learning agents' logs, and its power.

For each null class of ``tests/analysis/null_models.py`` (shared drift across episodes, shared
trend within episodes, common driver, unequal episode lengths, few episodes, skewed
marginals) the script draws ``--datasets`` datasets and counts false edges over the class's
null pairs (ordered pairs without influence):

- **multivariate**: :func:`infoflow.multivariate.multivariate_te` with its defaults except
  lags (1, 2), max_history 2 and ``--permutations`` surrogates (alpha 0.05, FDR over targets);
- **bivariate (auto)**: :func:`infoflow.significance.network_inference`, measure TE, lags
  (1, 2), defaults otherwise (``surrogates="auto"``, max over lags, BH-FDR over pairs);
- **bivariate (old auto)**: the same with the surrogate design the old ``"auto"`` chose:
  uniform episode shuffles with >= 10 episodes, else circular shifts.

The false-positive rate (FPR) is the fraction of (dataset, null pair) tests with a false
edge, with a Clopper-Pearson 95% interval (:meth:`scipy.stats.binomtest(...).proportion_ci`);
the target is FPR <= alpha + 0.02. Tests of one dataset share its data, so the table also
gives the fraction of datasets with at least one false edge. A second table runs the
multivariate method with other settings (context variables, block size, surrogate design)
on every class, and a third the detection rate of one planted copy coupling 0 -> 1 (lag 1,
copy probability 0.05, 0.1, 0.2) for each method and each of those settings.

Usage::

    python benchmarks/bench_calibration.py                 # Markdown to stdout
    python benchmarks/bench_calibration.py --datasets 100 --power-datasets 50 > /tmp/c.md
    python benchmarks/bench_calibration.py --classes shared_drift --options default,block=5
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _machine import machine_description
from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analysis"))
import null_models as nm  # noqa: E402  (tests/analysis/null_models.py)

from infoflow.multivariate import multivariate_te  # noqa: E402
from infoflow.significance import network_inference  # noqa: E402

ALPHA = 0.05
TOLERANCE = 0.02
LAGS = (1, 2)
MAX_HISTORY = 2
STRENGTHS = (0.05, 0.1, 0.2)
POWER_EPISODES, POWER_STEPS = 20, 100

#: Settings of the multivariate method tried on every class (label -> keyword arguments).
OPTIONS: dict[str, dict] = {
    "default": {},  # blocks of 2 neighbouring episodes
    "block=3": {"block": 3},
    "block=5": {"block": 5},
    "context=phase": {"context": ("phase",)},
    "context=episode": {"context": ("episode",)},
    "circular": {"surrogates": "circular"},
    "circular+bins=8": {"surrogates": "circular", "context_bins": 8},
}

#: A method: (actions, seed, permutations) -> (significant bool [source, target], design).
Method = Callable[[np.ndarray, int, int], tuple[np.ndarray, str]]


def multivariate_edges(actions: np.ndarray, seed: int, permutations: int,
                       **options) -> tuple[np.ndarray, str]:
    """Significant edges of :func:`multivariate_te`, bool [source, target], and the
    surrogate design it used."""
    kwargs = {"lags": LAGS, "max_history": MAX_HISTORY, "permutations": permutations,
              "alpha": ALPHA, "seed": seed, **options}
    try:
        res = multivariate_te(actions, **kwargs)
    except ValueError as err:  # no target kept a source: no edge (a build raised here)
        if "empty sequence" not in str(err):
            raise
        return np.zeros((actions.shape[2],) * 2, dtype=bool), "?"
    return res.significant.values, res.attrs["surrogates"]


def option(label: str) -> Method:
    """The multivariate method with the settings ``OPTIONS[label]``."""
    return lambda a, s, p: multivariate_edges(a, s, p, **OPTIONS[label])


def old_auto_design(actions: np.ndarray) -> str:
    """The surrogate design the old ``surrogates="auto"`` chose: episode shuffles with at
    least 10 non-empty episodes, else circular shifts."""
    n = int((actions[:, 0, 0] >= 0).sum())
    return "episodes" if n >= 10 else "circular"


def bivariate_edges(actions: np.ndarray, seed: int, permutations: int,
                    surrogates: str = "auto") -> tuple[np.ndarray, str]:
    """Significant pairs of :func:`network_inference` (TE, any lag), bool [source, target],
    and the surrogate design used."""
    if surrogates == "old":
        surrogates = old_auto_design(actions)
    res = network_inference(actions, measure="te", lags=LAGS, permutations=permutations,
                            alpha=ALPHA, surrogates=surrogates, seed=seed)
    return res.significant.any("lag").values, res.attrs["surrogates"]


METHODS: dict[str, Method] = {
    "multivariate": multivariate_edges,
    "bivariate (auto)": bivariate_edges,
    "bivariate (old auto)": lambda a, s, p: bivariate_edges(a, s, p, "old"),
}


def datasets(name: str, n: int, seed: int = 2024, **sizes) -> list[nm.NullData]:
    """``n`` datasets of null class ``name``, dataset i from Generator([seed, class, i])."""
    k = list(nm.NULL_CLASSES).index(name)
    gen = nm.NULL_CLASSES[name]
    return [gen(np.random.default_rng([seed, k, i]), **sizes) for i in range(n)]


def count_edges(data: list[nm.NullData], method: Method, permutations: int,
                pairs: str = "null_pairs") -> dict:
    """Edges found over each dataset's ``pairs``: tests, hits, datasets with a hit, seconds."""
    t0 = time.perf_counter()
    hits = tests = any_hit = 0
    designs: set[str] = set()
    for i, d in enumerate(data):
        sig, design = method(d.actions, i, permutations)
        designs.add(design)
        found = [bool(sig[s, t]) for s, t in getattr(d, pairs)]
        hits += sum(found)
        tests += len(found)
        any_hit += any(found)
    return {"k": hits, "n": tests, "any": any_hit, "datasets": len(data),
            "seconds": time.perf_counter() - t0, "design": "/".join(sorted(designs))}


def rate(c: dict) -> str:
    """``k/n = rate [lo, hi]`` with the Clopper-Pearson 95% interval."""
    ci = binomtest(c["k"], c["n"]).proportion_ci()
    return f"{c['k']}/{c['n']} = {c['k'] / c['n']:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def verdict(c: dict) -> str:
    """pass (rate <= alpha + 0.02), FAIL (the whole interval above it) or borderline."""
    limit = ALPHA + TOLERANCE
    if c["k"] / c["n"] <= limit:
        return "pass"
    return "FAIL" if binomtest(c["k"], c["n"]).proportion_ci().low > limit else "borderline"


def describe(data: list[nm.NullData]) -> str:
    a = data[0].actions
    lengths = (a[..., 0] >= 0).sum(1)
    span = f"{lengths.min()}" if lengths.min() == lengths.max() else \
        f"{lengths.min()}-{lengths.max()}"
    return f"{a.shape[0]} ep x {span} steps, {a.shape[2]} agents"


def fpr_table(classes: list[str], n: int, permutations: int) -> dict[str, list]:
    print("## False-positive rate per null class\n")
    print(f"alpha = {ALPHA}, target FPR <= {ALPHA + TOLERANCE}; lags {LAGS}, multivariate "
          f"max_history {MAX_HISTORY}; {permutations} permutations; {n} datasets per class. "
          "Cells: false edges / null-pair tests = FPR [95% CI]; (datasets with any false "
          "edge); surrogate design used; seconds.\n")
    head = ["class", "data", *METHODS, "multivariate verdict"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    cache = {}
    for name in classes:
        data = datasets(name, n)
        cache[name] = data
        counts = [count_edges(data, method, permutations) for method in METHODS.values()]
        cells = [f"{rate(c)} ({c['any']}/{c['datasets']}); {c['design']}; "
                 f"{c['seconds']:.1f} s" for c in counts]
        print(f"| {name} | {describe(data)} | " + " | ".join(cells)
              + f" | {verdict(counts[0])} |", flush=True)
    print()
    return cache


def options_table(cache: dict[str, list], options: list[str], permutations: int) -> None:
    print("## Multivariate method with other settings, per null class\n")
    print("Same datasets as above. Cells: FPR [95% CI] (false edges / tests), verdict, "
          "surrogate design used, seconds. The 'circular' design adds the phase context "
          "(4 bins unless stated); 'blocks' falls back to it when the blocks give fewer "
          "distinct pairings than permutations.\n")
    for opt in options:
        print(f"- `{opt}`: `{OPTIONS[opt]}`")
    print("\n| class | " + " | ".join(options) + " |")
    print("|---|" + "---|" * len(options))
    for name, data in cache.items():
        cells = []
        for opt in options:
            c = count_edges(data, option(opt), permutations)
            cells.append(f"{c['k'] / c['n']:.3f} [{_ci(c)}] ({c['k']}/{c['n']}) "
                         f"{verdict(c)}; {c['design']}; {c['seconds']:.1f} s")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print()


def _ci(c: dict) -> str:
    ci = binomtest(c["k"], c["n"]).proportion_ci()
    return f"{ci.low:.3f}, {ci.high:.3f}"


#: Drift variants of the sensitivity table: (episodes, steps, stick, curve).
DRIFT_GRID = [(e, 300, stick, curve) for curve in ("linear", "saturating")
              for e in (10, 20, 40) for stick in (0.3, 0.5, 0.7)]


def drift_table(n: int, permutations: int, options: list[str]) -> None:
    print("## Shared drift across episodes: sensitivity to its size\n")
    print("p(action 0) rises from 0.1 to 0.7 over the episodes, linearly or along a learning "
          "curve ('saturating': 1 - exp(-5 x), 80% of the rise in the first third of the "
          f"episodes); 300 steps per episode; {n} datasets per row, 6 null pairs each. "
          "Cells: FPR (false edges / tests); * marks FPR > alpha + 0.02.\n")
    methods: dict[str, Method] = {"bivariate (old auto)": METHODS["bivariate (old auto)"],
                                  "bivariate (auto)": METHODS["bivariate (auto)"]}
    methods.update({f"multivariate {opt}": option(opt) for opt in options})
    print("| episodes | stick | curve | " + " | ".join(methods) + " | seconds |")
    print("|---|---|---|" + "---|" * (len(methods) + 1))
    for k, (episodes, steps, stick, curve) in enumerate(DRIFT_GRID):
        data = [nm.shared_drift(np.random.default_rng([11, k, i]), n_episodes=episodes,
                                n_steps=steps, stick=stick, curve=curve) for i in range(n)]
        cells, secs = [], 0.0
        for method in methods.values():
            c = count_edges(data, method, permutations)
            secs += c["seconds"]
            flag = "*" if c["k"] / c["n"] > ALPHA + TOLERANCE else ""
            cells.append(f"{c['k'] / c['n']:.3f}{flag} ({c['k']}/{c['n']})")
        print(f"| {episodes} | {stick} | {curve} | " + " | ".join(cells) + f" | {secs:.0f} |",
              flush=True)
    print()


def power_table(n: int, permutations: int, options: list[str]) -> None:
    print("## Power: one planted copy coupling 0 -> 1 at lag 1\n")
    print(f"Stationary sticky agents (3 agents, 4 symbols, stick 0.5, {POWER_EPISODES} "
          f"episodes x {POWER_STEPS} steps); agent 1 copies agent 0's previous action with "
          f"probability s. {n} datasets per s. Cells: datasets with the edge 0 -> 1 found / "
          "datasets = rate [95% CI]; FPR over the 5 other ordered pairs of all these datasets.\n")
    methods = dict(METHODS)
    methods.update({f"multivariate {opt}": option(opt) for opt in options if opt != "default"})
    print("| method | " + " | ".join(f"s = {s}" for s in STRENGTHS) + " | FPR (all s) | "
          "seconds |")
    print("|---|" + "---|" * (len(STRENGTHS) + 2))
    data = {s: [nm.planted_copy(np.random.default_rng([7, int(s * 1000), i]), s,
                                n_episodes=POWER_EPISODES, n_steps=POWER_STEPS)
                for i in range(n)] for s in STRENGTHS}
    for label, method in methods.items():
        cells, k, m, secs = [], 0, 0, 0.0
        for s in STRENGTHS:
            t0 = time.perf_counter()
            hit = {"k": 0, "n": 0}
            for i, d in enumerate(data[s]):
                sig, _ = method(d.actions, i, permutations)
                hit["k"] += int(sig[0, 1])
                hit["n"] += 1
                k += sum(int(sig[a, b]) for a, b in d.null_pairs)
                m += len(d.null_pairs)
            secs += time.perf_counter() - t0
            cells.append(rate(hit))
        print(f"| {label} | " + " | ".join(cells) + f" | {rate({'k': k, 'n': m})} | "
              f"{secs:.1f} |", flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100, help="datasets per null class")
    parser.add_argument("--power-datasets", type=int, default=50,
                        help="datasets per coupling strength (0: no power table)")
    parser.add_argument("--drift-datasets", type=int, default=30,
                        help="datasets per row of the drift sensitivity table (0: skip)")
    parser.add_argument("--permutations", type=int, default=200)
    parser.add_argument("--classes", default=",".join(nm.NULL_CLASSES),
                        help="comma-separated null classes")
    parser.add_argument("--options", default=",".join(OPTIONS),
                        help=f"multivariate settings to try: {', '.join(OPTIONS)}; 'none'")
    parser.add_argument("--drift-options", default="default,block=5,context=episode,circular",
                        help="multivariate settings of the drift sensitivity table")
    parser.add_argument("--power-options", default="default,block=5,context=episode,circular",
                        help="multivariate settings of the power table")
    args = parser.parse_args()
    classes = [c for c in args.classes.split(",") if c]
    for c in classes:
        if c not in nm.NULL_CLASSES:
            parser.error(f"unknown class {c!r}; choose among {', '.join(nm.NULL_CLASSES)}")
    lists = {}
    for key in ("options", "drift_options", "power_options"):
        value = getattr(args, key)
        lists[key] = [] if value == "none" else value.split(",")
        for opt in lists[key]:
            if opt not in OPTIONS:
                parser.error(f"unknown option {opt!r}; choose among {', '.join(OPTIONS)}")

    # warm-up (numba compilation) outside the timed cells
    warm = nm.few_episodes(np.random.default_rng(0), n_steps=100).actions
    for method in METHODS.values():
        method(warm, 0, 20)
    t0 = time.perf_counter()
    print("# Calibration of network inference on null models\n")
    print(f"_{machine_description()}_\n")
    cache = fpr_table(classes, args.datasets, args.permutations)
    if lists["options"]:
        options_table(cache, lists["options"], args.permutations)
    if args.drift_datasets > 0 and lists["drift_options"]:
        drift_table(args.drift_datasets, args.permutations, lists["drift_options"])
    if args.power_datasets > 0:
        power_table(args.power_datasets, args.permutations, lists["power_options"])
    print(f"Total: {time.perf_counter() - t0:.0f} s.")


if __name__ == "__main__":
    main()
