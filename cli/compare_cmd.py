"""``infoflow compare``: learning curves and final returns of runs across seeds."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for curves.png, final.csv and final.md [default: PATH/compare for "
              "one experiment folder, else ./compare].")
@click.option("--last", "last_fraction", type=click.FloatRange(0.0, 1.0, min_open=True),
              default=0.1, show_default=True,
              help="Share of each run's agent steps whose episodes make its final return.")
@click.option("--bins", type=click.IntRange(2, 1000), default=40, show_default=True,
              help="Points of each learning curve.")
@click.option("--metric", default="collective_return", show_default=True, metavar="COLUMN",
              help="metrics.csv column of the final table (e.g. box_opened, equality).")
def compare(paths, out, last_fraction, bins, metric) -> None:
    """Compare runs across seeds: curves with 95 % bands and a Table-4-style table.

    PATHS are run directories or experiment folders. Runs are grouped by their directory name
    without the trailing -s<seed>; each group's final collective return (or --metric) is the
    mean over the episodes of the last --last of each run, then mean and 95 % t-interval
    across seeds.

    \b
    Examples:
      infoflow compare experiments/harvest
      infoflow compare experiments/box --metric box_opened --last 0.2
    """
    from infoflow.compare import (
        CURVE_METRICS,
        final_table,
        find_runs,
        format_table,
        learning_curves,
        overlaps,
        write_table_csv,
    )
    from infoflow.plots import plot_learning_curves

    runs = find_runs(list(paths))
    if out is None:
        single = len(paths) == 1 and (paths[0] / "runs").is_dir()
        out = paths[0] / "compare" if single else Path("compare")
    logged = sorted({name for r in runs for name in r.columns})
    if runs and metric not in logged:
        raise ValueError(f"no run logs {metric!r}; choose a metrics.csv column: "
                         f"{', '.join(logged)}")
    table = final_table(runs, metric=metric, last_fraction=last_fraction)
    if all(row["seeds"] == 0 for row in table):
        raise ValueError("no run has a finished episode yet (metrics.csv is empty); train "
                         "longer, then compare")
    out.mkdir(parents=True, exist_ok=True)
    text = format_table(table, metric)
    statements = overlaps(table)
    (out / "final.md").write_text(text + "\n\n" + "\n".join(f"- {s}" for s in statements)
                                  + "\n", encoding="utf-8")
    write_table_csv(table, out / "final.csv")
    curves = {m: learning_curves(runs, m, n_bins=bins) for m in CURVE_METRICS}
    plot_learning_curves(curves, out / "curves.png")
    labels = sorted({r.label for r in runs})
    click.echo(f"{len(runs)} runs in {len(labels)} groups ({', '.join(labels)})")
    click.echo(text)
    for line in statements:
        click.echo(f"- {line}")
    click.echo(f"written: {out / 'curves.png'}, {out / 'final.csv'}, {out / 'final.md'}")
