"""Learning curves and final returns across seeds, with 95 % confidence intervals.

Reads training run directories (``metrics.csv`` and ``config.toml``, as ``infoflow train``
writes them) or experiment folders (their ``runs/``); needs neither torch nor the trainer.
Runs are grouped by *label*: the run directory's name without its trailing ``-s<seed>``
(``harvest_influence-s2`` -> ``harvest_influence``; ``infoflow experiment`` names runs so).

- :func:`learning_curves`: each run's metric averaged in bins of agent steps, then mean and a
  t-interval across the seeds of a label, per bin;
- :func:`final_table`: the paper's Table 4 quantity, the final collective return: per seed the
  mean over the episodes in the last ``last_fraction`` of the run's agent steps, then mean and
  95 % t-interval across seeds, with the seed count and the budget;
- :func:`overlaps`: which labels' intervals overlap (their ordering is then not established).

Intervals are Student-t intervals, mean ± t(0.975, n-1) · s / √n over the n seeds (undefined,
NaN, for one seed).
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["RunLog", "find_runs", "confidence_interval", "learning_curves", "final_table",
           "overlaps", "format_table", "write_table_csv", "CURVE_METRICS"]

CURVE_METRICS = ("collective_return", "equality", "return_x_equality", "influence_reward",
                 "beta", "moa_accuracy", "box_opened")
"""Curves drawn when the runs log them (``return_x_equality``: collective return times
equality per episode, the paper's Fig. 16 quantity; ``box_opened``: Box trapped, the share of
env copies where the box was opened in the episode)."""

_SEED_SUFFIX = re.compile(r"-s\d+$")


@dataclass
class RunLog:
    """One run's metrics."""

    path: Path
    label: str
    seed: int
    budget: int
    """``trainer.total_steps`` of the run's config."""
    steps: np.ndarray
    """int64 [rows]: agent steps at each episode row of ``metrics.csv``."""
    columns: dict[str, np.ndarray]
    """float64 [rows] per metric (NaN where empty)."""


def _read_run(path: Path) -> RunLog:
    config = path / "config.toml"
    metrics = path / "metrics.csv"
    if not config.is_file() or not metrics.is_file():
        raise FileNotFoundError(f"{str(path)!r} is not a training run (config.toml and "
                                "metrics.csv expected); give run directories or experiment "
                                "folders")
    try:
        trainer = tomllib.loads(config.read_text(encoding="utf-8")).get("trainer", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(config)!r} is not valid TOML ({exc})") from None
    with open(metrics, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("agent_steps", "").isdigit()]
    names = list(rows[0]) if rows else []

    def column(name: str) -> np.ndarray:
        out = np.full(len(rows), np.nan)
        for i, r in enumerate(rows):
            try:
                out[i] = float(r[name])
            except (TypeError, ValueError):
                pass
        return out

    columns = {n: column(n) for n in names if n not in ("agent_steps", "worker", "episode")}
    if "collective_return" in columns and "equality" in columns:
        columns["return_x_equality"] = columns["collective_return"] * columns["equality"]
    return RunLog(path, _SEED_SUFFIX.sub("", path.name), int(trainer.get("seed", 0)),
                  int(trainer.get("total_steps", 0)),
                  np.array([int(r["agent_steps"]) for r in rows], np.int64), columns)


def find_runs(paths: list[str | Path]) -> list[RunLog]:
    """The runs in ``paths``: run directories, or experiment folders (every run under
    ``runs/``). Raises FileNotFoundError naming a path that is neither."""
    runs = []
    for p in map(Path, paths):
        if (p / "runs").is_dir() and not (p / "metrics.csv").exists():
            found = sorted(d for d in (p / "runs").iterdir() if (d / "metrics.csv").is_file())
            if not found:
                raise FileNotFoundError(f"experiment {str(p)!r} has no run with metrics yet; "
                                        "run it first (infoflow experiment --resume)")
            runs += [_read_run(d) for d in found]
        else:
            runs.append(_read_run(p))
    return runs


def confidence_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the Student-t interval of the mean of ``values`` (NaNs dropped);
    low = high = NaN with fewer than 2 values.

    Examples
    --------
    >>> m, lo, hi = confidence_interval([1.0, 2.0, 3.0])
    >>> m, round(lo, 3), round(hi, 3)
    (2.0, -0.484, 4.484)
    """
    from scipy import stats

    x = np.asarray(values, np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def _by_label(runs: list[RunLog]) -> dict[str, list[RunLog]]:
    groups: dict[str, list[RunLog]] = {}
    for run in runs:
        groups.setdefault(run.label, []).append(run)
    return groups


def learning_curves(runs: list[RunLog], metric: str, n_bins: int = 40
                    ) -> dict[str, dict[str, np.ndarray]]:
    """Per label: ``steps`` (bin centres, agent steps), ``mean``, ``low``, ``high`` and ``n``
    (seeds with an episode in the bin), each [n_bins]; labels without the metric are left out.

    The bins split [0, the label's largest budget] evenly; a run's value in a bin is the mean
    of its episodes ending there.
    """
    curves = {}
    for label, group in _by_label(runs).items():
        group = [r for r in group if metric in r.columns and np.isfinite(r.columns[metric]).any()]
        if not group:
            continue
        top = max(max(r.budget, int(r.steps.max(initial=0))) for r in group)
        edges = np.linspace(0, top, n_bins + 1)
        per_run = np.full((len(group), n_bins), np.nan)            # [seeds, bins]
        for i, r in enumerate(group):
            which = np.clip(np.searchsorted(edges, r.steps, side="right") - 1, 0, n_bins - 1)
            for b in range(n_bins):
                vals = r.columns[metric][which == b]
                vals = vals[np.isfinite(vals)]
                if vals.size:
                    per_run[i, b] = vals.mean()
        stats = np.array([confidence_interval(per_run[:, b]) for b in range(n_bins)])
        curves[label] = {"steps": (edges[:-1] + edges[1:]) / 2, "mean": stats[:, 0],
                         "low": stats[:, 1], "high": stats[:, 2],
                         "n": np.isfinite(per_run).sum(0)}
    return curves


def final_table(runs: list[RunLog], metric: str = "collective_return",
                last_fraction: float = 0.1) -> list[dict]:
    """One row per label: ``label``, ``seeds``, ``mean``, ``low``, ``high`` (95 %),
    ``budget`` (the largest of its runs), ``per_seed`` (seed -> final value)."""
    table = []
    for label, group in _by_label(runs).items():
        finals = {}
        for r in group:
            if metric not in r.columns or r.steps.size == 0:
                continue
            end = int(r.steps.max())
            late = r.steps > end * (1.0 - last_fraction)  # episodes ending in the last share
            vals = r.columns[metric][late]
            if np.isfinite(vals).any():
                finals[r.seed] = float(np.nanmean(vals))
        mean, low, high = confidence_interval(list(finals.values()))
        table.append({"label": label, "seeds": len(finals), "mean": mean, "low": low,
                      "high": high, "budget": max(r.budget for r in group),
                      "per_seed": finals})
    return sorted(table, key=lambda row: -row["mean"] if math.isfinite(row["mean"]) else 0.0)


def overlaps(table: list[dict]) -> list[str]:
    """A sentence per pair of labels: whose interval lies above whose, or that they overlap."""
    lines = []
    for i, a in enumerate(table):
        for b in table[i + 1:]:
            if not all(math.isfinite(v) for v in (a["low"], a["high"], b["low"], b["high"])):
                lines.append(f"{a['label']} vs {b['label']}: no interval (fewer than 2 seeds)")
            elif a["low"] > b["high"]:
                lines.append(f"{a['label']} > {b['label']}: the 95 % intervals do not overlap")
            elif b["low"] > a["high"]:
                lines.append(f"{b['label']} > {a['label']}: the 95 % intervals do not overlap")
            else:
                lines.append(f"{a['label']} vs {b['label']}: the 95 % intervals overlap; "
                             "their ordering is not established by these seeds")
    return lines


def _number(value: float) -> str:
    """One decimal for returns, three for shares and other small values."""
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def format_table(table: list[dict], metric: str = "collective_return") -> str:
    """The table as Markdown (as in the paper's Table 4, with the interval, the seeds and each
    seed's own final value)."""
    lines = [f"| model | final {metric} (mean) | 95 % CI | seeds | budget (agent steps) | "
             "per seed |", "|---|---:|---|---:|---:|---|"]
    for row in table:
        ci = (f"[{_number(row['low'])}, {_number(row['high'])}]" if math.isfinite(row["low"])
              else "n/a (1 seed)")
        seeds = ", ".join(f"{seed}: {_number(v)}" for seed, v in sorted(row["per_seed"].items()))
        mean = _number(row["mean"]) if math.isfinite(row["mean"]) else "-"
        lines.append(f"| {row['label']} | {mean} | {ci} | {row['seeds']} | "
                     f"{row['budget']:,} | {seeds} |")
    return "\n".join(lines)


def write_table_csv(table: list[dict], path: str | Path) -> Path:
    """The table as CSV: label, seeds, mean, low, high, budget, then final value per seed."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "seeds", "mean", "ci95_low", "ci95_high", "budget",
                    "per_seed_final"])
        for row in table:
            per_seed = ";".join(f"{s}:{v!r}" for s, v in sorted(row["per_seed"].items()))
            w.writerow([row["label"], row["seeds"], repr(row["mean"]), repr(row["low"]),
                        repr(row["high"]), row["budget"], per_seed])
    return path
