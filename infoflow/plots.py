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


def _figure(width: float, height: float, layout: str | None = "constrained"):
    """A figure (inches) on the Agg canvas; ``layout=None`` leaves placement to the caller
    (constrained layout costs about 0.1 s per axes at draw time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout=layout)
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
    from matplotlib.patches import Circle, FancyArrowPatch

    nodes = list(g)
    longest = max((len(str(n)) for n in nodes), default=0)
    # data units: the circle has radius 1; names (9 pt, about 0.07 in a glyph) sit outside
    lim = 1.35 + 0.07 * longest * 3.0 / 4.0
    fig = _figure(5, 5, layout=None)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    angle = 2 * np.pi * np.arange(len(nodes)) / max(len(nodes), 1)
    pos = {node: (float(np.cos(a)), float(np.sin(a))) for node, a in zip(nodes, angle,
                                                                           strict=True)}
    # width by the magnitude of the strength (PMI-based values can be negative), NaN thinnest
    strength = np.abs(np.array([float(d.get(weight, 1.0)) for _, _, d in g.edges(data=True)]))
    strength = np.nan_to_num(strength, nan=0.0, posinf=0.0)
    top = strength.max(initial=0.0)
    widths = 1.0 + 5.0 * strength / top if top > 0 else np.ones(strength.size)
    radius = 0.13
    for node, d in g.nodes(data=True):
        ax.add_patch(Circle(pos[node], radius, zorder=2,
                            color="tab:orange" if d.get("influencer") else "tab:blue"))
        # names outside the circle, aligned away from it so that no name covers a node
        x, y = pos[node]
        ax.text((1 + 1.4 * radius) * x, (1 + 1.4 * radius) * y, str(node), fontsize=9,
                ha="left" if x > 0.2 else "right" if x < -0.2 else "center",
                va="bottom" if y > 0.2 else "top" if y < -0.2 else "center")
    points = 72 * 5 * 0.9 / (2 * lim)  # points per data unit: the axes are 4.5 in tall
    for (s, t), width in zip(g.edges(), widths, strict=True):
        if s == t:
            continue  # a self-loop has no direction to draw (influence_graph makes none)
        ax.add_patch(FancyArrowPatch(pos[s], pos[t], arrowstyle="-|>", mutation_scale=15,
                                     connectionstyle="arc3,rad=0.1", linewidth=width,
                                     color="0.35", shrinkA=radius * points,
                                     shrinkB=radius * points, zorder=1))
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
    names = [str(n) for n in da["source"].values]
    # placed by hand (inches): room for the longest agent name below and left of the maps
    label = 0.35 + 0.07 * max(len(n) for n in names)  # 7-point text, about 0.07 in a glyph
    panel, gap, bar = 2.6, 0.25, 0.9
    width = label + len(lags) * (panel + gap) + bar
    height = panel + label + 0.45
    fig = _figure(width, height, layout=None)
    vmax = float(np.nanmax(da.values)) if np.isfinite(da.values).any() else 1.0
    image = None
    for i, lag in enumerate(lags):
        left = label + i * (panel + gap)
        ax = fig.add_axes((left / width, label / height, panel / width, panel / height))
        image = ax.imshow(da.values[i], vmin=0.0, vmax=max(vmax, 1e-12), cmap="viridis")
        for s, t in zip(*np.nonzero(sig[i]), strict=True):
            ax.text(t, s, "*", ha="center", va="center", color="white", fontsize=14)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names if i == 0 else [], fontsize=7)
        ax.set_title(f"lag {lag}", fontsize=10)
        ax.set_xlabel("target", fontsize=8)
        if i == 0:
            ax.set_ylabel("source", fontsize=8)
    left = label + len(lags) * (panel + gap)
    cax = fig.add_axes((left / width, label / height, 0.15 / width, panel / height))
    fig.colorbar(image, cax=cax, label=f"{measure} (bit)")
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
    # one colour per label in every panel (a panel may lack some labels, e.g. MOA accuracy)
    labels = list(dict.fromkeys(label for m in metrics for label in curves[m]))
    colour = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    handles = {}
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        for label, c in curves[metric].items():
            ok = np.isfinite(c["mean"])
            handles[label], = ax.plot(c["steps"][ok], c["mean"][ok], label=label,
                                      color=colour[label])
            band = ok & np.isfinite(c["low"])
            ax.fill_between(c["steps"][band], c["low"][band], c["high"][band],
                            color=colour[label], alpha=0.2, linewidth=0)
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("agent steps")
    fig.legend([handles[label] for label in labels], labels, loc="outside lower center",
               ncols=min(len(labels), 4), fontsize=8)
    return _save(fig, path)
