"""``infoflow analyze RUN_OR_STORE``: every measure on a trajectory store, written to a folder.

Thin: parse the options, call :func:`infoflow.analysis.analyze`, write the results, graphs and
plots, print the edges and the paper's metrics. Everything is computed before anything is
written, and the files are written to a temporary folder next to ``--out`` and then moved in
(each replacing its namesake), so a failure leaves no half set of outputs; outputs of an
earlier run that this one did not write are then removed (see :func:`write_atomically`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from cli.options import seed_option

GRAPH_FILES = ("graph.graphml", "graph.gexf", "graph.json", "graph.png")
OUTPUT_FILES = ("analysis.nc", *GRAPH_FILES, "te_by_lag.png", "mi_by_lag.png",
                "influence_over_time.png", "kl_vs_te_mi.png", "comparison.txt")
"""Every file ``infoflow analyze`` may write; those a run does not write are removed from
``--out`` (left from an earlier run), other files there are never touched."""


def parse_measures(ctx: click.Context, param: click.Parameter, value: str | None):
    """``te,mi,kl,comm`` -> tuple of names (None: the default set); the names are checked by
    :func:`infoflow.analysis.check_parameters`."""
    if value is None:
        return None
    return tuple(v.strip().lower() for v in value.split(",") if v.strip())


def parse_lags(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    """``1-3`` or ``1,2,5`` (or a mix, ``1-3,5``) -> sorted tuple of ints."""
    lags: set[int] = set()
    try:
        for part in value.split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                lags.update(range(lo, hi + 1))
            else:
                lags.add(int(part))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a list of lags such as 1-3 or 1,2,5",
                                 ctx, param) from None
    return tuple(sorted(lags))


def render_graph_files(g, directory: Path) -> list[Path]:
    """Write ``g`` as graph.graphml, graph.gexf, graph.json and graph.png into ``directory``."""
    from infoflow.graph import write_graph
    from infoflow.plots import plot_graph

    paths = [write_graph(g, directory / name) for name in GRAPH_FILES[:3]]
    return [*paths, plot_graph(g, directory / GRAPH_FILES[3])]


def edges_heading(g, note: str = "") -> str:
    """The line above the edge table: the graph's measure and how its edges were chosen."""
    measure = g.graph.get("measure", "weight")
    if "threshold" in g.graph:
        return f"edges ({measure} above {g.graph['threshold']:.4g}{note}):"
    return f"edges ({measure} significant at alpha {g.graph.get('alpha')}):"


def check_out(out: Path) -> None:
    """Raise NotADirectoryError if ``out`` exists and is not a folder."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; pass a folder")


def write_atomically(out: Path, write, known: tuple[str, ...]) -> list[str]:
    """Call ``write(tmp_dir)`` in a fresh folder beside ``out``; on success move its files in.

    Each file replaces its namesake in ``out`` atomically (``os.replace``); then the files
    named in ``known`` (what the command can write) that this run did not write are removed,
    so no output of an earlier run is left beside the new ones. Other files in ``out`` are
    never touched. On failure ``out`` is left as it was. Returns the names written.
    """
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        write(tmp)
        names = sorted(f.name for f in tmp.iterdir())
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.replace(tmp / name, out / name)
        for name in sorted(set(known) - set(names)):
            if (out / name).is_file():
                (out / name).unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return names


def default_out(path: Path) -> Path:
    """<run>/analysis for a run directory, else an ``analysis`` folder beside the store."""
    from infoflow.trajectory import RUN_STORE_NAME

    if path.is_dir() and (path / RUN_STORE_NAME).exists():
        return path / "analysis"
    return path.resolve().parent / "analysis"


@click.command()
@click.argument("run_or_store", type=click.Path(path_type=Path))
@click.option("--measures", default=None, callback=parse_measures, metavar="LIST",
              help="Comma-separated measures among te, mi, kl, comm. [default: te,mi,kl,comm; "
                   "kl only where influence is logged]")
@click.option("--lags", default="1-3", show_default=True, callback=parse_lags, metavar="LAGS",
              help="Lags in steps, as a range (1-3) or a list (1,2,5).")
@click.option("--history", default=1, show_default=True, type=int,
              help="Target history length k of transfer entropy.")
@click.option("--permutations", default=1000, show_default=True, type=int,
              help="Surrogates drawn per test.")
@click.option("--alpha", default=0.05, show_default=True, type=float,
              help="Significance level (Benjamini-Hochberg FDR over all tests).")
@click.option("--lag-test", type=click.Choice(["max", "each"]), default="max",
              show_default=True,
              help="max: one test per pair on the maximum over lags, edge reported at its best "
                   "lag (FDR over pairs); each: one test per pair and lag (FDR over all).")
@click.option("--surrogates", type=click.Choice(["auto", "episodes", "circular"]),
              default="auto", show_default=True,
              help="Permutation surrogates: episodes re-pairs the source's episodes with the "
                   "target's, circular shifts the source within each episode; auto takes "
                   "episodes from 10 episodes on, else circular.")
@seed_option
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder. [default: RUN/analysis, or 'analysis' beside the store]")
def analyze(run_or_store: Path, measures, lags, history, permutations, alpha, lag_test,
            surrogates, seed, out) -> None:
    """Measure who influences whom in a run directory or trajectory store.

    RUN_OR_STORE is a run directory holding trajectories.zarr, a zarr store, or a netCDF
    file in the trajectory schema. Writes analysis.nc, graph.graphml, graph.gexf,
    graph.json, graph.png and plots (TE/MI heat maps by lag, influence over time, KL vs
    TE/MI scatter) to --out, replacing the files of an earlier analysis there, and prints
    the graph's edges, the paper's metrics and the KL vs MI vs TE table.

    The graph is drawn from TE if computed, else MI (significant pairs), else from the KL
    influence or the instantaneous coordination, with an edge where a pair's value is above
    the mean over pairs (re-draw it with 'infoflow graph').
    """
    from infoflow import analysis
    from infoflow.graph import default_graph_measure, format_edges, influence_graph
    from infoflow.plots import plot_comparison, plot_influence_over_time, plot_lag_heatmaps
    from infoflow.trajectory import open_trajectories

    analysis.check_parameters(analysis.DEFAULT_MEASURES if measures is None else measures,
                              lags, history, permutations, alpha, lag_test, surrogates)
    out = out if out is not None else default_out(run_or_store)
    check_out(out)
    ds = open_trajectories(run_or_store)
    results = analysis.analyze(ds, measures=measures, lags=lags, history=history,
                               permutations=permutations, alpha=alpha, seed=seed,
                               store=str(run_or_store), lag_test=lag_test,
                               surrogates=surrogates)
    measure, threshold = default_graph_measure(results)
    g = influence_graph(results, measure, threshold=threshold)
    comparison = None
    if "kl_mean" in results and ("te" in results or "mi" in results):
        comparison = analysis.compare_measures(results)

    def write(tmp: Path) -> None:
        analysis.write_results(results, tmp / "analysis.nc")
        render_graph_files(g, tmp)
        for m in ("te", "mi"):
            if m in results.data_vars:
                plot_lag_heatmaps(results, tmp / f"{m}_by_lag.png", m)
        if "kl_episode_mean" in results.data_vars:
            plot_influence_over_time(results, tmp / "influence_over_time.png")
        if comparison is not None:
            plot_comparison(comparison, tmp / "kl_vs_te_mi.png")
            (tmp / "comparison.txt").write_text(analysis.format_pairs(comparison) + "\n")

    names = write_atomically(out, write, OUTPUT_FILES)
    if results.attrs.get("notes"):
        click.echo(f"note: {results.attrs['notes']}")
    click.echo(edges_heading(g, ", its mean over pairs"))
    click.echo(format_edges(g))
    summary = analysis.format_summary(results)
    if summary:
        click.echo(f"\npaper metrics:\n{summary}")
    if comparison is not None:
        click.echo(f"\nKL influence vs MI vs TE per pair:\n{analysis.format_pairs(comparison)}")
    click.echo(f"\nwrote {', '.join(names)} to {out}")
