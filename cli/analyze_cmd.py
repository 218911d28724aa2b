"""``infoflow analyze RUN_OR_STORE``: every measure on a trajectory store, written to a folder.

Thin: parse the options, call :func:`infoflow.analysis.analyze`, write the results, graphs and
plots, print the edges and the paper's metrics. Everything is computed before anything is
written, and the files are written to a temporary folder next to ``--out`` and then moved in
(each replacing its namesake), so a failure leaves no half set of outputs; outputs of an
earlier run that this one did not write are then removed (see :func:`write_atomically`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import click

from cli.options import seed_option

MAX_LAGS = 32  # infoflow.analysis.MAX_LAGS, repeated so that --help needs no numpy import

GRAPH_FILES = ("graph.graphml", "graph.gexf", "graph.json", "graph.png")
OUTPUT_FILES = ("analysis.nc", *GRAPH_FILES, "te_by_lag.png", "mi_by_lag.png",
                "influence_over_time.png", "kl_vs_te_mi.png", "comparison.txt", "report.html")
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
                if hi - lo >= MAX_LAGS:
                    raise click.BadParameter(f"{value!r} holds {hi - lo + 1} lags; pass at most "
                                             f"{MAX_LAGS} (e.g. 1-3)", ctx, param)
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


@contextlib.contextmanager
def output_lock(out: Path):
    """Hold an exclusive lock on ``out`` (a ``.<name>.lock`` file beside it) while analysing
    into it; a second ``infoflow analyze`` on the same ``--out`` gets a clear error instead of
    silently overwriting. The OS drops the lock when the process ends, however it ends."""
    import fcntl

    lock_path = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    except OSError as exc:
        raise click.ClickException(f"cannot write --out {out} ({exc.strerror}: "
                                   f"{exc.filename}); pass a writable --out folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.ClickException(f"another 'infoflow analyze' is writing to {out}; wait "
                                       "for it to finish or pass another --out") from None
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)  # still locked: no other run can be inside
    finally:
        os.close(fd)


def run_dir_of(path: Path) -> Path | None:
    """The training run a store belongs to (the run directory itself, or the folder holding
    its ``trajectories.zarr``), or None."""
    for folder in (path, path.resolve().parent):
        if folder.is_dir() and (folder / "config.toml").is_file() and \
                (folder / "metrics.csv").is_file():
            return folder
    return None


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
@click.option("--method", type=click.Choice(["multivariate", "bivariate"]),
              default="multivariate", show_default=True,
              help="TE network inference: multivariate selects each target's sources "
                   "conditioning on the other agents (chains and common drivers give no false "
                   "edge); bivariate tests each pair on its own.")
@click.option("--history", default=None, type=int,
              help="Multivariate: largest target-past lag considered (default 3; selected per "
                   "agent). Bivariate: target history length k (default 1).")
@click.option("--permutations", default=500, show_default=True, type=int,
              help="Surrogates drawn per test (multivariate: per omnibus and edge test).")
@click.option("--selection-permutations", default=200, show_default=True, type=int,
              help="Multivariate: surrogates per inclusion and pruning test of the greedy "
                   "selection (IDTxl's default; raised to what --alpha needs, at most "
                   "--permutations).")
@click.option("--alpha", default=0.05, show_default=True, type=float,
              help="Significance level (Benjamini-Hochberg FDR over all tests).")
@click.option("--lag-test", type=click.Choice(["max", "each"]), default="max",
              show_default=True,
              help="max: one test per pair on the maximum over lags, edge reported at its best "
                   "lag (FDR over pairs); each: one test per pair and lag (FDR over all).")
@click.option("--surrogates", type=click.Choice(["auto", "blocks", "episodes", "circular"]),
              default="auto", show_default=True,
              help="Permutation surrogates: blocks re-pairs source episodes only with nearby "
                   "episodes (keeps drift across and trends within episodes); episodes with "
                   "any episode (stationary data); circular shifts the source within its "
                   "episode; auto takes blocks, or circular with a note when blocks give too "
                   "few distinct surrogates.")
@click.option("--block", default=2, show_default=True, type=int,
              help="Consecutive episodes per block of the blocks surrogates (larger blocks: "
                   "more power on slowly drifting logs, false edges on fast drift).")
@click.option("--condition", default="", metavar="LIST",
              help="Context every multivariate test conditions on: phase, episode, or logged "
                   "(episode, step) variables such as apples,waste.")
@seed_option
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder. [default: RUN/analysis, or 'analysis' beside the store]")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write report.html: the graph, tables, figures, notes (and the run's "
              "learning curves and config) on one self-contained page.")
def analyze(run_or_store: Path, measures, lags, method, history, permutations,
            selection_permutations, alpha, lag_test, surrogates, block, condition, seed, out,
            report) -> None:
    """Measure who influences whom in a run directory or trajectory store.

    RUN_OR_STORE is a run directory holding trajectories.zarr, a zarr store, or a netCDF
    file in the trajectory schema. Writes analysis.nc, graph.graphml, graph.gexf,
    graph.json, graph.png, plots (TE/MI heat maps by lag, influence over time, KL vs
    TE/MI scatter) and report.html (all of it on one self-contained page) to --out,
    replacing the files of an earlier analysis there, and prints the graph's edges, the
    paper's metrics and the KL vs MI vs TE table.

    The graph is drawn from TE if computed, else MI (significant pairs), else from the KL
    influence or the instantaneous coordination, with an edge where a pair's value is above
    the mean over pairs (re-draw it with 'infoflow graph').
    """
    from cli.preload import start_preload
    from infoflow import analysis
    from infoflow.graph import default_graph_measure, format_edges, influence_graph
    from infoflow.plots import plot_comparison, plot_influence_over_time, plot_lag_heatmaps
    from infoflow.report import write_report
    from infoflow.trajectory import open_trajectories

    condition = tuple(c.strip() for c in condition.split(",") if c.strip())
    analysis.check_parameters(analysis.DEFAULT_MEASURES if measures is None else measures,
                              lags, history, permutations, alpha, lag_test, surrogates, method,
                              block, selection_permutations)
    out = out if out is not None else default_out(run_or_store)
    check_out(out)
    ds = open_trajectories(run_or_store)
    with output_lock(out):
        preload = start_preload()
        try:
            results = analysis.analyze(ds, measures=measures, lags=lags, history=history,
                                       permutations=permutations, alpha=alpha, seed=seed,
                                       store=str(run_or_store), lag_test=lag_test,
                                       surrogates=surrogates, method=method,
                                       condition=condition, block=block,
                                       selection_permutations=selection_permutations)
        finally:
            preload.join()  # never leave the interpreter with an import half done
        measure, threshold = default_graph_measure(results)
        g = influence_graph(results, measure, threshold=threshold)
        comparison = None
        if "kl_mean" in results and ("te" in results or "mi" in results):
            comparison = analysis.compare_measures(results)

        def write(tmp: Path) -> None:
            analysis.write_results(results, tmp / "analysis.nc")
            render_graph_files(g, tmp)
            for m in ("te", "mi"):  # bivariate (lagged) results only
                if m in results.data_vars and "lag" in results[m].dims:
                    plot_lag_heatmaps(results, tmp / f"{m}_by_lag.png", m)
            if "kl_episode_mean" in results.data_vars:
                plot_influence_over_time(results, tmp / "influence_over_time.png")
            if comparison is not None:
                plot_comparison(comparison, tmp / "kl_vs_te_mi.png")
                (tmp / "comparison.txt").write_text(analysis.format_pairs(comparison) + "\n")
            if report:
                write_report(tmp, run_dir=run_dir_of(run_or_store))

        names = write_atomically(out, write, OUTPUT_FILES)
        if results.attrs.get("notes"):
            click.echo(f"note: {results.attrs['notes']}")
        if "drift_across" in results.data_vars:
            from infoflow.stationarity import format_stationarity

            click.echo(format_stationarity(results))
        click.echo(edges_heading(g, ", its mean over pairs"))
        click.echo(format_edges(g))
        summary = analysis.format_summary(results)
        if summary:
            click.echo(f"\npaper metrics:\n{summary}")
        if comparison is not None:
            click.echo(f"\nKL influence vs MI vs TE per pair:\n{analysis.format_pairs(comparison)}")
        click.echo(f"\nwrote {', '.join(names)} to {out}")
