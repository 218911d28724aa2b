"""Figures of analysis results, written to PNG files.

Matplotlib is imported inside each function (the analysis layer imports without it) and used
through its object-oriented API with the Agg canvas, so no global backend is changed.

* :func:`plot_graph`: the influence graph, edge width by strength;
* :func:`plot_influence_over_time`: mean logged influence per episode for each pair;
* :func:`plot_lag_heatmaps`: a (source x target) heat map of a lagged measure per lag;
* :func:`plot_comparison`: scatter of the KL influence against lagged MI and TE per pair;
* :func:`plot_learning_curves`: training metrics across seeds with 95 % bands
  (:mod:`infoflow.compare`).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import xarray as xr

__all__ = ["plot_graph", "plot_influence_over_time", "plot_lag_heatmaps", "plot_comparison",
           "plot_learning_curves"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    fig.savefig(path, format="png")
    return path


def plot_graph(g: nx.DiGraph, path: str | Path, weight: str = "weight",
               title: str | None = None) -> Path:
    """Draw an influence graph on a circle; edge width grows with ``weight``.

    Parameters
    ----------
    g : networkx.DiGraph
        From :func:`infoflow.graph.influence_graph`.
    path : str or Path
        PNG file to write.
    weight : str
        Edge attribute giving the strength (default the chosen measure's value).
    title : str, optional
        Figure title; default names the graph's measure.

    Returns
    -------
    Path
        ``path``.
    """
    fig = _figure(5, 5)
    ax = fig.add_subplot()
    ax.set_axis_off()
    pos = nx.circular_layout(g) if len(g) else {}
    strength = np.array([float(d.get(weight, 1.0)) for _, _, d in g.edges(data=True)])
    widths = 1.0 + 5.0 * strength / strength.max() if strength.size and strength.max() > 0 \
        else np.ones(strength.size)
    colors = ["tab:orange" if d.get("influencer") else "tab:blue" for _, d in g.nodes(data=True)]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colors, node_size=500)
    nx.draw_networkx_edges(g, pos, ax=ax, width=list(widths), arrows=True, arrowsize=15,
                           node_size=500, edge_color="0.35", connectionstyle="arc3,rad=0.1")
    # names outside the circle, so that long agent names are not clipped by their node
    label_pos = {node: 1.25 * np.asarray(xy) for node, xy in pos.items()}
    nx.draw_networkx_labels(g, label_pos, ax=ax, font_size=9)
    ax.margins(0.25)
    ax.set_title(title or f"influence graph ({g.graph.get('measure', weight)})")
    return _save(fig, path)


def plot_influence_over_time(results: xr.Dataset, path: str | Path) -> Path:
    """Mean logged influence per episode, one line per pair that is ever defined.

    Parameters
    ----------
    results : xr.Dataset
        With ``kl_episode_mean(episode, source, target)``.
    path : str or Path
        PNG file to write.
    """
    if "kl_episode_mean" not in results.data_vars:
        raise ValueError("results have no 'kl_episode_mean'; run analyze with measure 'kl'")
    series = results["kl_episode_mean"].transpose("episode", "source", "target")
    fig = _figure(7, 4)
    ax = fig.add_subplot()
    episodes = np.arange(series.sizes["episode"])
    for s in series["source"].values:
        for t in series["target"].values:
            y = series.sel(source=s, target=t).values
            if s != t and np.isfinite(y).any():
                ax.plot(episodes, y, label=f"{s} → {t}")
    ax.set_xlabel("episode")
    ax.set_ylabel(f"mean influence ({results['kl_episode_mean'].attrs.get('units', 'nat')})")
    if ax.lines:
        ax.legend(fontsize=7, ncol=2)
    ax.set_title("counterfactual influence over time")
    return _save(fig, path)


def plot_lag_heatmaps(results: xr.Dataset, path: str | Path, measure: str = "te") -> Path:
    """One (source x target) heat map of ``measure`` per lag; significant cells get a star.

    Parameters
    ----------
    results : xr.Dataset
        With ``<measure>(source, target, lag)`` (bits) and optionally ``<measure>_significant``.
    path : str or Path
        PNG file to write.
    measure : str
        ``"te"`` or ``"mi"``.
    """
    if measure not in results.data_vars or "lag" not in results[measure].dims:
        raise ValueError(f"results have no lagged {measure!r}; run analyze with it")
    da = results[measure].transpose("lag", "source", "target")
    sig_name = f"{measure}_significant"
    sig = results[sig_name].transpose("lag", "source", "target").values \
        if sig_name in results.data_vars else np.zeros(da.shape, bool)
    lags = da["lag"].values
    fig = _figure(3.2 * len(lags) + 1.0, 3.4)
    vmax = float(np.nanmax(da.values)) if np.isfinite(da.values).any() else 1.0
    names = [str(n) for n in da["source"].values]
    image = None
    for i, lag in enumerate(lags):
        ax = fig.add_subplot(1, len(lags), i + 1)
        image = ax.imshow(da.values[i], vmin=0.0, vmax=max(vmax, 1e-12), cmap="viridis")
        for s, t in zip(*np.nonzero(sig[i]), strict=True):
            ax.text(t, s, "*", ha="center", va="center", color="white", fontsize=14)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names if i == 0 else [], fontsize=7)
        ax.set_title(f"lag {lag}")
        ax.set_xlabel("target")
        if i == 0:
            ax.set_ylabel("source")
    fig.colorbar(image, ax=fig.axes, label=f"{measure} (bit)")
    return _save(fig, path)


def plot_comparison(table: xr.Dataset, path: str | Path) -> Path:
    """Scatter of the KL influence (x) against lagged MI at lag 1 and TE at its best lag.

    Parameters
    ----------
    table : xr.Dataset
        From :func:`infoflow.analysis.compare_measures`, with ``kl`` and ``mi_lag1`` or ``te``.
    path : str or Path
        PNG file to write.
    """
    ys = [c for c in ("te", "mi_lag1") if c in table.data_vars]
    if "kl" not in table.data_vars or not ys:
        raise ValueError("the comparison needs 'kl' and 'te' or 'mi_lag1'; run analyze with "
                         "kl and te or mi")
    fig = _figure(4.0 * len(ys), 4.0)
    x = table["kl"].values.ravel()
    labels = [f"{s}→{t}" for s in table["source"].values for t in table["target"].values]
    for i, name in enumerate(ys):
        ax = fig.add_subplot(1, len(ys), i + 1)
        y = table[name].transpose("source", "target").values.ravel()
        ok = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[ok], y[ok])
        if ok.any():  # label the pairs that stand out (above a tenth of either maximum)
            big = ok & ((x > 0.1 * x[ok].max()) | (y > 0.1 * y[ok].max()))
            for j in np.nonzero(big)[0]:
                ax.annotate(labels[j], (x[j], y[j]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xlabel("mean KL influence (nat)")
        ax.set_ylabel(f"{name} (bit)")
        ax.set_title(f"KL influence vs {name}")
    return _save(fig, path)


def plot_learning_curves(curves: dict[str, dict[str, dict[str, np.ndarray]]],
                         path: str | Path) -> Path:
    """One panel per metric: each label's mean across seeds and its 95 % band.

    Parameters
    ----------
    curves : dict
        metric -> :func:`infoflow.compare.learning_curves` of that metric.
    path : str or Path
        PNG file to write.
    """
    metrics = [m for m, by_label in curves.items() if by_label]
    if not metrics:
        raise ValueError("no curve to draw: the runs' metrics.csv have none of the metrics")
    cols = min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    fig = _figure(4.2 * cols, 3.2 * rows + 0.6)
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        for label, c in curves[metric].items():
            ok = np.isfinite(c["mean"])
            line, = ax.plot(c["steps"][ok], c["mean"][ok], label=label)
            band = ok & np.isfinite(c["low"])
            ax.fill_between(c["steps"][band], c["low"][band], c["high"][band],
                            color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("agent steps")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4),
               fontsize=8)
    return _save(fig, path)
