"""One self-contained HTML page of an analysis: ``report.html``.

:func:`write_report` reads an analysis folder (what ``infoflow analyze`` writes: ``analysis.nc``
and its PNG figures) and, when the trajectories came from a training run, the run directory
(``config.toml``, ``metrics.csv``), and writes one HTML file that needs no server and no
network: every figure is embedded as a base64 PNG, the style is inline, there is no script.
Sections: the analysis's notes and stationarity line, the influence graph, the per-pair table
(every ``(source, target)`` result: TE, its p-value and selected lags, MI, KL, coordination,
...), the per-agent table (AIS and its history lags, drift, returns), the paper's metrics, the
other figures, the run's learning curves and config, and the analysis settings.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["write_report", "render_report", "REPORT_NAME"]

REPORT_NAME = "report.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
tr.significant { background: #eef7ee; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { background: #fff8e1; padding: 0.5em 0.8em; border-left: 4px solid #f0c040; }
"""


def _fmt(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if not np.isfinite(x):
        return ""
    return f"{x:.4g}"


def _table(header: list[str], rows: list[list[str]], marks: list[bool] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = ' class="significant"' if marks and marks[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _pair_table(results: xr.Dataset) -> str:
    names = [n for n, v in results.data_vars.items() if v.dims == ("source", "target")]
    if not names:
        return "<p>No per-pair result.</p>"
    sources = [str(s) for s in results["source"].values]
    targets = [str(t) for t in results["target"].values]
    lags = None
    if "te_selected" in results.data_vars and "lag" in results["te_selected"].dims:
        lags = results["te_selected"].transpose("source", "target", "lag")
    significant = results.get("te_significant")
    if significant is not None and significant.dims != ("source", "target"):
        significant = None  # per lag (bivariate, --lag-test each): shown in the heat maps
    rows, marks = [], []
    for i, s in enumerate(sources):
        for j, t in enumerate(targets):
            if s == t:
                continue
            row = [html.escape(s), html.escape(t)]
            row += [_fmt(results[n].values[i, j]) for n in names]
            if lags is not None:
                chosen = lags["lag"].values[lags.values[i, j]]
                row.append(", ".join(str(int(x)) for x in chosen))
            rows.append(row)
            marks.append(bool(significant.values[i, j]) if significant is not None else False)
    header = ["source", "target", *names] + (["te lags selected"] if lags is not None else [])
    return _table(header, rows, marks)


def _agent_table(results: xr.Dataset) -> str:
    names = [n for n, v in results.data_vars.items() if v.dims == ("agent",)]
    if not names:
        return "<p>No per-agent result.</p>"
    hist = results["ais_history"] if "ais_history" in results.data_vars else None
    rows = []
    for i, a in enumerate(results["agent"].values):
        row = [html.escape(str(a))] + [_fmt(results[n].values[i]) for n in names]
        if hist is not None:
            chosen = hist["history_lag"].values[hist.values[i]]
            row.append(", ".join(str(int(x)) for x in chosen))
        rows.append(row)
    header = ["agent", *names] + (["ais history lags"] if hist is not None else [])
    return _table(header, rows)


def _metrics_table(results: xr.Dataset) -> str:
    rows = []
    for name, var in results.data_vars.items():
        if var.dims == ():
            rows.append([html.escape(name), _fmt(var.values)])
        elif var.dims == ("episode",):
            rows.append([html.escape(f"{name} (mean per episode)"),
                         _fmt(np.nanmean(var.values)) if np.isfinite(var.values).any() else ""])
    return _table(["metric", "value"], rows) if rows else "<p>No metric.</p>"


def _run_section(run_dir: Path) -> str:
    parts = ["<h2>Training run</h2>", f"<p>{html.escape(str(run_dir))}</p>"]
    if (run_dir / "metrics.csv").is_file():
        from infoflow.compare import CURVE_METRICS, find_runs, learning_curves
        from infoflow.plots import plot_learning_curves

        runs = find_runs([run_dir])
        curves = {m: learning_curves(runs, m) for m in CURVE_METRICS}
        if any(curves.values()) and runs[0].steps.size:
            with tempfile.TemporaryDirectory() as tmp:
                path = plot_learning_curves(curves, Path(tmp) / "curves.png")
                parts.append(_image(path, "learning curves"))
    if (run_dir / "config.toml").is_file():
        text = (run_dir / "config.toml").read_text(encoding="utf-8", errors="replace")
        parts.append(f"<details><summary>config.toml</summary><pre>{html.escape(text)}"
                     "</pre></details>")
    return "\n".join(parts)


def render_report(folder: str | Path, run_dir: str | Path | None = None) -> str:
    """The HTML text of the report of the analysis in ``folder`` (see the module docstring).

    Parameters
    ----------
    folder : str or Path
        An analysis folder (``analysis.nc`` and the figures ``infoflow analyze`` wrote).
    run_dir : str or Path, optional
        The training run the trajectories came from (learning curves and config).
    """
    from infoflow.analysis import read_results

    folder = Path(folder)
    results = read_results(folder / "analysis.nc")
    title = f"infoflow report: {results.attrs.get('source', folder)}"
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>infoflow {html.escape(str(results.attrs.get('infoflow_version', '')))}, "
             f"analysed {html.escape(str(results.attrs.get('created', '')))}</p>"]
    notes = [n for n in str(results.attrs.get("notes", "")).split("; ") if n.strip()]
    if "drift_across" in results.data_vars:
        from infoflow.stationarity import format_stationarity

        notes.insert(0, format_stationarity(results))
    if notes:
        parts.append("<h2>Notes and warnings</h2>" + "".join(
            f'<p class="note">{html.escape(n)}</p>' for n in notes))
    parts.append("<h2>Influence graph</h2>")
    if (folder / "graph.png").is_file():
        parts.append(_image(folder / "graph.png", "influence graph"))
    parts.append("<h2>Pairs</h2><p>Shaded rows: significant TE edges.</p>")
    parts.append(_pair_table(results))
    parts.append("<h2>Agents</h2>" + _agent_table(results))
    parts.append("<h2>The paper's metrics</h2>" + _metrics_table(results))
    figures = sorted(p for p in folder.glob("*.png") if p.name != "graph.png")
    if figures:
        parts.append("<h2>Figures</h2>" + "".join(
            f"<h3>{html.escape(p.stem)}</h3>{_image(p, p.stem)}" for p in figures))
    if run_dir is not None and Path(run_dir).is_dir():
        parts.append(_run_section(Path(run_dir)))
    settings = [[html.escape(k), html.escape(str(v))] for k, v in results.attrs.items()
                if k not in ("notes", "title", "Conventions")]
    parts.append("<h2>Analysis settings</h2>" + _table(["setting", "value"], settings))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def write_report(folder: str | Path, out: str | Path | None = None,
                 run_dir: str | Path | None = None) -> Path:
    """Write :func:`render_report` to ``out`` (default ``folder/report.html``), atomically."""
    path = Path(out) if out is not None else Path(folder) / REPORT_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(folder, run_dir), encoding="utf-8")
    os.replace(tmp, path)
    return path
