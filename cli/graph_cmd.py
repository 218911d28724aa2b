"""``infoflow graph ANALYSIS_NC``: re-export the influence graph of saved analysis results.

Reads ``analysis.nc`` (written by ``infoflow analyze``), builds the graph with another
measure, significance level or threshold, and writes graph.graphml, graph.gexf, graph.json
and graph.png (all or nothing, replacing those of an earlier graph; other files stay).
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.analyze_cmd import (
    GRAPH_FILES,
    check_out,
    edges_heading,
    render_graph_files,
    write_atomically,
)


@click.command()
@click.argument("analysis_nc", type=click.Path(path_type=Path))
@click.option("--measure", default=None,
              help="Measure deciding the edges: te, mi, kl, ic_action, ic_symbol. [default: as "
                   "'infoflow analyze' draws it: te, else mi, else kl or ic above its mean]")
@click.option("--alpha", type=float, default=None,
              help="Re-test the p-values with FDR at this level. [default: as analysed]")
@click.option("--threshold", type=float, default=None,
              help="Draw edges where the value exceeds this (bits; nats for kl), ignoring "
                   "p-values. Needed for kl and ic_*.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder. [default: the folder of ANALYSIS_NC]")
def graph(analysis_nc: Path, measure: str | None, alpha: float | None, threshold: float | None,
          out: Path | None) -> None:
    """Rebuild and export the influence graph from ANALYSIS_NC."""
    from infoflow.analysis import read_results
    from infoflow.graph import default_graph_measure, format_edges, influence_graph

    out = out if out is not None else analysis_nc.resolve().parent
    check_out(out)
    results = read_results(analysis_nc)
    if measure is None:
        measure, default_threshold = default_graph_measure(results)
        if threshold is None and alpha is None:
            threshold = default_threshold
    g = influence_graph(results, measure.strip().lower(), alpha=alpha, threshold=threshold)
    names = write_atomically(out, lambda tmp: render_graph_files(g, tmp), GRAPH_FILES)
    if (out / "report.html").is_file() and (out / "analysis.nc").is_file():
        from cli.analyze_cmd import run_dir_of
        from infoflow.report import write_report

        write_report(out, run_dir=run_dir_of(out.parent))  # shows the new graph
        names.append("report.html")
    click.echo(edges_heading(g))
    click.echo(format_edges(g))
    click.echo(f"wrote {', '.join(names)} to {out}")
