"""``infoflow report``: one self-contained HTML page of an analysis."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file [default: report.html in the analysis folder].")
def report(path: Path, out: Path | None) -> None:
    """Write report.html for PATH: an analysis folder, a run directory or a store.

    A run or store that has no analysis yet is analysed first with the defaults (as
    `infoflow analyze PATH`, which writes the report too). The page embeds its figures and
    has no script: it opens from disk in any browser, offline.

    \b
    Example:
      infoflow report runs/quickstart
    """
    from cli.analyze_cmd import analyze, default_out, run_dir_of
    from infoflow.report import REPORT_NAME, write_report

    if (path / "analysis.nc").is_file():
        folder = path
        run_dir = run_dir_of(path.parent)
    else:
        folder = default_out(path)
        run_dir = run_dir_of(path)
        if not (folder / "analysis.nc").is_file():
            click.echo(f"no analysis of {path} yet: analysing it with the defaults", err=True)
            analyze.main([str(path)], standalone_mode=False)
            return  # analyze wrote the report beside its results
    written = write_report(folder, out=out if out is not None else folder / REPORT_NAME,
                           run_dir=run_dir)
    click.echo(f"wrote {written}")
