"""Reproduction of the paper's model comparison (Jaques et al. 2019, Table 4): run, collect, report.

Three steps, each resumable, so that the runs can span several sessions:

1. ``run``: one ``infoflow experiment`` of Harvest and Cleanup, 5 agents, A3C vs basic influence
   vs MOA influence, seeds 0-2, the same budget per run (default 10M agent steps, 2 workers);
   started again, it resumes (``infoflow experiment --resume``). Runs go seed by seed.
2. ``collect EXP...``: for every finished run, plays evaluation episodes with its final policy
   (``infoflow evaluate``, 8 episodes, seed 1), analyses them twice (the defaults of
   ``infoflow analyze``: multivariate TE, lagged MI, KL, communication metrics; and bivariate
   TE, which gives every pair a value) and copies what the report needs, a few hundred kB per
   run, to ``docs/reproduction/data/runs/<run>/``: ``metrics.csv``, ``config.toml``,
   ``evaluation.json`` (returns and the paper's metrics), ``pairs.csv`` (per ordered pair: KL
   influence, lagged MI at lag 1, bivariate and multivariate TE, p-values).
3. ``report``: ``docs/reproduction.md`` and its figures from the collected data only (no run
   directory needed): learning curves with 95 % bands, the Table-4-style table with the
   paper's values beside it, the influence reward's size relative to the environment
   reward, the paper's metrics on evaluation episodes, and the per-pair relation of KL
   influence, lagged MI and TE.

Usage::

    python benchmarks/reproduction.py run --out experiments/repro        # hours; resumable
    python benchmarks/reproduction.py collect experiments/repro
    python benchmarks/reproduction.py report
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "reproduction" / "data"
REPORT = ROOT / "docs" / "reproduction.md"
GAMES = ("harvest", "cleanup")
MODELS = {"a3c": "A3C baseline", "influence": "Influence - basic",
          "moa_influence": "Influence - MOA"}
PRESETS = [f"{g}_{m}" for g in GAMES for m in MODELS]
PAPER_TABLE_4 = {  # final collective reward, supplement 10.5.5 (../shared/PAPER_FACTS.md)
    "cleanup": {"a3c": 89, "influence": 190, "moa_influence": 392},
    "harvest": {"a3c": 485, "influence": 1073, "moa_influence": 588},
}
PAPER_STEPS = 300_000_000  # the paper's curves run to about 3e8 agent steps
LAST_FRACTION = 0.1


# ---------------------------------------------------------------------------------------------
# 1. run
# ---------------------------------------------------------------------------------------------


def run(out: Path, seeds: str, steps: str, workers: int) -> int:
    """Start or resume the experiment; returns its exit status."""
    cmd = [sys.executable, "-m", "cli.main", "experiment", "--out", str(out)]
    if (out / "experiment.toml").is_file():
        cmd.append("--resume")
    else:
        for preset in PRESETS:
            cmd += ["-p", preset]
        cmd += ["--seeds", seeds, "--steps", steps, "--workers", str(workers)]
    print(" ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


# ---------------------------------------------------------------------------------------------
# 2. collect
# ---------------------------------------------------------------------------------------------


def _pairs(default, bivariate) -> list[dict]:
    """Per ordered pair: KL (nats), MI at lag 1, bivariate TE at its best lag and multivariate
    TE (bits), with p-values; from two analysis results of the same episodes."""
    from infoflow.analysis import compare_measures

    mv = compare_measures(default)
    bi = compare_measures(bivariate)
    rows = []
    for s in default["source"].values:
        for t in default["target"].values:
            if s == t:
                continue

            def get(ds, name, s=s, t=t):
                if name not in ds.data_vars:
                    return math.nan
                value = ds[name].sel(source=s, target=t).item()
                return float(value) if isinstance(value, (int, float, np.floating,
                                                          np.integer, bool)) else value
            rows.append({"source": str(s), "target": str(t), "kl": get(mv, "kl"),
                         "mi_lag1": get(mv, "mi_lag1"),
                         "mi_lag1_p": get(mv, "mi_lag1_p_value"),
                         "te_bivariate": get(bi, "te"), "te_bivariate_lag": get(bi, "te_lag"),
                         "te_bivariate_p": get(bi, "te_p_value"),
                         "te_multivariate": get(mv, "te"),
                         "te_multivariate_lags": get(mv, "te_lag")})
    return rows


def collect_run(run_dir: Path, data: Path, episodes: int) -> bool:
    """Evaluate and analyse one finished run; copy its compact data. False if not finished."""
    from infoflow import analysis
    from infoflow.trajectory import open_trajectories
    from trainers.a3c.evaluate import evaluate_checkpoint
    from trainers.config import load_config
    from trainers.experiment import run_status

    budget = load_config(run_dir / "config.toml").trainer.total_steps
    status, done = run_status(run_dir, budget)
    if status != "done":
        print(f"{run_dir.name}: {status} ({done:,} of {budget:,} agent steps), skipped")
        return False
    target = data / "runs" / run_dir.name
    if (target / "pairs.csv").is_file():
        print(f"{run_dir.name}: collected already")
        return True
    store = run_dir / f"evaluation-{done}.zarr"
    if not store.exists():
        evaluate_checkpoint(run_dir, episodes=episodes, out=store)
    ds = open_trajectories(store)
    default = analysis.analyze(ds, seed=0)
    bivariate = analysis.analyze(ds, measures=("te",), method="bivariate", seed=0)
    tmp = data / f".{run_dir.name}.tmp"  # outside runs/: a half-written copy is never a run
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("metrics.csv", "config.toml"):
        shutil.copy2(run_dir / name, tmp / name)
    returns = default["return"].values if "return" in default.data_vars else []
    record = {"run": run_dir.name, "agent_steps": done, "episodes": int(ds.sizes["episode"]),
              "returns": [float(r) for r in returns],
              "metrics": dict(analysis.paper_metrics(default)),
              "notes": str(default.attrs.get("notes", ""))}
    (tmp / "evaluation.json").write_text(json.dumps(record, indent=1) + "\n")
    rows = _pairs(default, bivariate)
    with open(tmp / "pairs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    print(f"{run_dir.name}: collected ({done:,} agent steps, {record['episodes']} evaluation "
          "episodes)")
    return True


def collect(experiments: list[Path], data: Path, episodes: int) -> None:
    for exp in experiments:
        for run_dir in sorted((exp / "runs").iterdir()):
            if run_dir.is_dir():
                collect_run(run_dir, data, episodes)


# ---------------------------------------------------------------------------------------------
# 3. report
# ---------------------------------------------------------------------------------------------


def _game_model(label: str) -> tuple[str, str]:
    game, model = label.split("_", 1)
    return game, model


def _fmt(value: float) -> str:
    """Three significant digits (:func:`infoflow._text.format_number`); "-" for NaN."""
    from infoflow._text import format_number

    return format_number(float(value), digits=3) if math.isfinite(value) else "-"


def _fmt_ci(mean: float, low: float, high: float, digits: int = 1) -> str:
    if not math.isfinite(mean):
        return "-"
    if not math.isfinite(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _last(run, name: str) -> float:
    """Mean of a metrics column over the last LAST_FRACTION of the run's agent steps."""
    values = run.columns.get(name)
    if values is None or run.steps.size == 0:
        return math.nan
    tail = run.steps >= (1 - LAST_FRACTION) * run.budget
    finite = values[tail & np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _evaluation(data: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((data / "runs").glob("*/evaluation.json")):
        out[path.parent.name] = json.loads(path.read_text())
    return out


def _read_pairs(data: Path) -> list[dict]:
    rows = []
    for path in sorted((data / "runs").glob("*/pairs.csv")):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                r["run"] = path.parent.name
                rows.append(r)
    return rows


def _floats(rows: list[dict], name: str) -> np.ndarray:
    out = []
    for r in rows:
        try:
            out.append(float(r[name]))
        except (TypeError, ValueError):
            out.append(math.nan)
    return np.array(out)


def relation_figure(pairs: list[dict], path: Path) -> dict[str, float]:
    """Scatter of the logged influence (KL, or PMI, whose expectation is the KL and whose
    pair means can fall below 0) against lagged MI and bivariate TE per pair (influence
    runs); Spearman correlations, pooled over runs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy.stats import spearmanr

    kl = _floats(pairs, "kl")
    stats: dict[str, float] = {"pairs": float(np.isfinite(kl).sum())}
    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    for i, (name, label) in enumerate((("mi_lag1", "lagged MI at lag 1 (bit)"),
                                       ("te_bivariate", "bivariate TE at its best lag (bit)"))):
        y = _floats(pairs, name)
        ok = np.isfinite(kl) & np.isfinite(y)
        ax = fig.add_subplot(1, 2, i + 1)
        edges = ok & np.isfinite(_floats(pairs, "te_multivariate"))
        ax.scatter(kl[ok & ~edges], y[ok & ~edges], s=14, label="no multivariate TE edge")
        ax.scatter(kl[edges], y[edges], s=30, marker="^", label="multivariate TE edge")
        ax.set_xlabel("mean logged influence of the pair (nat; KL, or PMI whose mean is KL)")
        ax.set_ylabel(label)
        if ok.sum() > 2:
            rho = float(spearmanr(kl[ok], y[ok]).statistic)
            stats[f"rho_{name}"] = rho
            ax.set_title(f"Spearman rho = {rho:.2f} ({int(ok.sum())} pairs)")
        ax.legend(fontsize=7)
    fig.savefig(path, format="png", dpi=100)
    edges = np.isfinite(_floats(pairs, "te_multivariate")) & np.isfinite(kl)
    stats["edges"] = float(edges.sum())
    if edges.any() and (np.isfinite(kl) & ~edges).any():
        stats["kl_edge_median"] = float(np.median(kl[edges]))
        stats["kl_other_median"] = float(np.nanmedian(kl[~edges]))
    return stats


def report(data: Path, out: Path) -> None:
    """Write ``out`` (markdown) and its figures, in the folder ``out`` without its suffix."""
    from infoflow.compare import (
        CURVE_METRICS,
        final_table,
        find_runs,
        learning_curves,
        overlaps,
    )
    from infoflow.plots import plot_learning_curves

    runs = find_runs([data])
    evaluation = _evaluation(data)
    pairs = _read_pairs(data)
    figures = out.with_suffix("")
    figures.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Reproduction of the paper's model comparison",
        "",
        "Generated by `python benchmarks/reproduction.py report` from the data that "
        "`python benchmarks/reproduction.py collect` copied out of the experiment folders "
        "(`docs/reproduction/data/runs/<run>/`). Do not edit by hand.",
        "",
    ]
    budgets = sorted({r.budget for r in runs})
    seeds = sorted({r.seed for r in runs})
    lines += [f"Runs: {len(runs)} (budget {', '.join(f'{b:,}' for b in budgets)} agent steps "
              f"per run, seeds {', '.join(map(str, seeds))}); the paper trained for about "
              f"{PAPER_STEPS:,} agent steps, so every number here is early in the paper's "
              "curves. The presets' curricula and learning-rate annealing were scaled to the "
              "budget (`trainer.scale_curriculum`).", ""]
    for game in GAMES:
        game_runs = [r for r in runs if _game_model(r.label)[0] == game]
        if not game_runs:
            continue
        title = game.capitalize()
        lines += [f"## {title}", ""]
        curves = {m: learning_curves([r for r in game_runs], m) for m in CURVE_METRICS}
        png = figures / f"{game}_curves.png"
        plot_learning_curves(curves, png)
        lines += [f"![{title} learning curves]({png.relative_to(out.parent).as_posix()})", ""]
        table = final_table(game_runs, last_fraction=LAST_FRACTION)
        lines += [f"Final collective return (mean over the last {LAST_FRACTION:.0%} of each "
                  "run's agent steps; mean and 95 % t-interval across seeds) beside the "
                  "paper's Table 4 (after about 3e8 steps):", "",
                  "| model | ours | seeds | budget | paper (Table 4) |", "|---|---|---|---|---|"]
        for row in table:
            _, model = _game_model(row["label"])
            paper = PAPER_TABLE_4[game].get(model, "-")
            lines.append(f"| {MODELS.get(model, model)} | "
                         f"{_fmt_ci(row['mean'], row['low'], row['high'])} | {row['seeds']} | "
                         f"{row['budget']:,} | {paper} |")
        lines += ["", *[f"- {s}" for s in overlaps(table)], ""]
        ours = {_game_model(r["label"])[1]: r["mean"] for r in table}
        paper_order = sorted(PAPER_TABLE_4[game], key=PAPER_TABLE_4[game].get, reverse=True)
        our_order = sorted(ours, key=lambda m: ours[m], reverse=True)
        lines += [f"Ordering by mean: ours {' > '.join(MODELS.get(m, m) for m in our_order)}; "
                  f"paper {' > '.join(MODELS[m] for m in paper_order)}.", ""]
        # influence reward relative to the environment reward
        lines += ["Size of the influence reward in the last 10 % of training (per agent-step, "
                  "means across seeds): beta(t), the mean influence reward c, and beta * c "
                  "against the mean environment reward e:", "",
                  "| model | beta | c | beta * c | e | beta * c / e |", "|---|---|---|---|---|---|"]
        for label in sorted({r.label for r in game_runs}):
            group = [r for r in game_runs if r.label == label]
            beta = np.nanmean([_last(r, "beta") for r in group])
            c = np.nanmean([_last(r, "train_influence_reward") for r in group])
            e = np.nanmean([_last(r, "extrinsic_reward") for r in group])
            bc = beta * c if np.isfinite(beta) and np.isfinite(c) else math.nan
            ratio = bc / e if np.isfinite(bc) and e else math.nan
            lines.append(f"| {MODELS.get(_game_model(label)[1], label)} | "
                         + " | ".join(_fmt(v) for v in (beta, c, bc, e, ratio)) + " |")
        lines.append("")
        # the paper's metrics on evaluation episodes
        metric_names = ("collective return (mean per episode)",
                        "equality, 1 - Gini (mean per episode)",
                        "max IC action/action (bits)",
                        "max IC action/action, influential moments (bits)",
                        "mean KL influence over pairs (as logged, nats)",
                        "mean KL sparsity over pairs (fraction of steps above mean)")
        short = ("collective return", "equality", "max IC a/a (bit)",
                 "max IC a/a, infl. moments (bit)", "mean KL (nat)", "KL sparsity")
        counts = sorted({evaluation[r.path.name].get("episodes") for r in game_runs
                         if r.path.name in evaluation})
        lines += ["The paper's metrics on evaluation episodes of each final policy "
                  f"({', '.join(map(str, counts))} episodes per seed; mean across seeds):", "",
                  "| model | " + " | ".join(short) + " |",
                  "|---|" + "---|" * len(short)]
        for label in sorted({r.label for r in game_runs}):
            names = [r.path.name for r in game_runs if r.label == label]
            cells = []
            for name in metric_names:
                vals = [evaluation[n]["metrics"].get(name, math.nan) for n in names
                        if n in evaluation]
                vals = [v for v in vals if v is not None and math.isfinite(v)]
                cells.append(_fmt(np.mean(vals)) if vals else "-")
            lines.append(f"| {MODELS.get(_game_model(label)[1], label)} | "
                         + " | ".join(cells) + " |")
        lines.append("")
    influence_pairs = [p for p in pairs if "influence" in p["run"]]
    if influence_pairs:
        png = figures / "kl_mi_te.png"
        stats = relation_figure(influence_pairs, png)
        lines += ["## Causal influence, lagged MI and TE per pair", "",
                  f"![KL vs MI vs TE]({png.relative_to(out.parent).as_posix()})", "",
                  f"Pairs of the influence runs' evaluation episodes, pooled over runs: "
                  f"{int(stats['pairs'])} pairs with logged influence. Spearman rank "
                  f"correlation of the pair's mean logged influence with its lagged MI at lag "
                  f"1: {_fmt(stats.get('rho_mi_lag1', math.nan))}; with its bivariate TE: "
                  f"{_fmt(stats.get('rho_te_bivariate', math.nan))} (a description, not a "
                  "test: pairs of one run share its episodes). Multivariate TE edges: "
                  f"{int(stats['edges'])}" + (
                      f"; median influence of their pairs {stats['kl_edge_median']:.3g} nat vs "
                      f"{stats['kl_other_median']:.3g} for the other pairs."
                      if "kl_edge_median" in stats else "."), ""]
    conclusion = data / "conclusion.md"
    if conclusion.is_file():
        lines += ["## Conclusion", "", conclusion.read_text().strip(), ""]
    lines += ["## Commands", "", "```bash",
              "python benchmarks/reproduction.py run --out experiments/repro   # resumable",
              "python benchmarks/reproduction.py collect experiments/repro",
              "python benchmarks/reproduction.py report", "```", ""]
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p_run = sub.add_parser("run", help="start or resume the experiment")
    p_run.add_argument("--out", type=Path, default=ROOT / "experiments" / "repro")
    p_run.add_argument("--seeds", default="0-2")
    p_run.add_argument("--steps", default="1e7")
    p_run.add_argument("--workers", type=int, default=2)
    p_collect = sub.add_parser("collect", help="evaluate finished runs, copy their data")
    p_collect.add_argument("experiments", type=Path, nargs="+")
    p_collect.add_argument("--data", type=Path, default=DATA)
    p_collect.add_argument("--episodes", type=int, default=8)
    p_report = sub.add_parser("report", help="write docs/reproduction.md")
    p_report.add_argument("--data", type=Path, default=DATA)
    p_report.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    if args.step == "run":
        sys.exit(run(args.out, args.seeds, args.steps, args.workers))
    if args.step == "collect":
        collect(args.experiments, args.data, args.episodes)
    else:
        report(args.data, args.out)


if __name__ == "__main__":
    main()
