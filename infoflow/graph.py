"""Influence graphs from analysis results (SPEC 7).

:func:`influence_graph` turns a results Dataset (from :func:`infoflow.analysis.analyze`, or
anything with the same variables, e.g. read back from ``analysis.nc``) into a
:class:`networkx.DiGraph`: one node per agent, an edge k -> j for each significant relation
(or each value above a threshold). :func:`write_graph` / :func:`read_graph` round-trip GraphML,
GEXF and node-link JSON; :func:`graphs_by_window` builds one graph per window of episodes.

Results variables used (all optional except the chosen measure):

* ``te``, ``mi`` (source, target, lag) with ``<m>_p_value`` and ``<m>_significant``, and
  (source, target) ``<m>_edge_p_value`` and ``<m>_best_lag`` where the results come from the
  pair-level test (``lag_test="max"``): an edge then carries its best lag and edge p-value;
* ``te`` over (source, target) from the multivariate method, with ``te_p_value``,
  ``te_significant`` and ``te_selected`` (source, target, lag): an edge carries its TE
  conditional on the target's other sources and past, its p-value, and as ``te_lag`` the
  selected lags as text (``"1,3"``); nodes carry ``ais`` (active information storage, bits);
* ``kl_mean``, ``kl_sparsity``, ``ic_action``, ``ic_symbol`` (source, target) and their
  ``*_influential`` variants;
* ``return``, ``influencer``, ``role``, ``consistency`` (agent) as node attributes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import numpy as np
import xarray as xr

from infoflow._text import format_table

__all__ = ["best_lag", "influence_graph", "default_graph_measure", "write_graph", "read_graph",
           "graphs_by_window", "format_edges", "GRAPH_FORMATS", "GRAPH_MEASURE_ORDER"]

GRAPH_FORMATS = (".graphml", ".gexf", ".json")
"""File suffixes :func:`write_graph` and :func:`read_graph` understand."""

_LAGGED = ("te", "mi")
_PAIR_ATTRS = {  # results variable -> edge attribute
    "kl_mean": "kl", "kl_sparsity": "kl_sparsity",
    "ic_action": "ic_action", "ic_symbol": "ic_symbol",
    "ic_action_influential": "ic_action_influential",
    "ic_symbol_influential": "ic_symbol_influential",
}
_NODE_ATTRS = ("return", "influencer", "role", "consistency", "ais")
_MEASURE_ALIASES = {"kl": "kl_mean"}


def _builtin(value):
    """A numpy scalar as the matching Python builtin (GraphML/GEXF writers need builtins)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode()
    return value


def _pair_var(results: xr.Dataset, name: str) -> np.ndarray | None:
    """``results[name]`` as an array [source, target], or None if absent."""
    if name not in results.data_vars:
        return None
    return np.asarray(results[name].transpose("source", "target").values)


def _significance(results: xr.Dataset, measure: str, alpha: float | None) -> np.ndarray | None:
    """bool array like ``results[measure]``: stored flags, or BH-FDR at ``alpha`` if given.

    With ``<measure>_edge_p_value`` and ``<measure>_best_lag`` (pair-level test), ``alpha``
    re-tests the pairs' edge p-values and flags each significant pair at its best lag.
    """
    if alpha is not None:
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), not {alpha}")
        from infoflow.significance import fdr_bh

        edge_p = _pair_var(results, f"{measure}_edge_p_value")
        best = _pair_var(results, f"{measure}_best_lag")
        if edge_p is not None and best is not None and "lag" in results[measure].dims:
            lags = np.asarray(results["lag"].values)
            sig = fdr_bh(edge_p, alpha=alpha)[..., None] & (lags == best[..., None])
            return np.asarray(xr.DataArray(sig, dims=("source", "target", "lag"))
                              .transpose(*results[measure].dims).values, dtype=bool)
        name = f"{measure}_p_value"
        if name not in results.data_vars:
            raise ValueError(
                f"results have no '{name}' to test at alpha={alpha}; pass threshold= instead"
            )
        p = results[name].transpose(*results[measure].dims).values
        return np.asarray(fdr_bh(p, alpha=alpha), dtype=bool)
    name = f"{measure}_significant"
    if name in results.data_vars:
        return np.asarray(results[name].transpose(*results[measure].dims).values, dtype=bool)
    return None


def best_lag(results: xr.Dataset, measure: str = "te", alpha: float | None = None,
             significant_first: bool = True) -> xr.Dataset:
    """Reduce a lagged measure to one value per pair: the largest value over lags.

    Parameters
    ----------
    results : xr.Dataset
        With ``<measure>(source, target, lag)`` and optionally ``<measure>_p_value`` and
        ``<measure>_significant``.
    measure : str
        ``"te"`` or ``"mi"`` (any lagged variable).
    alpha : float, optional
        Recompute significance by Benjamini-Hochberg FDR at this level from the p-values;
        default: use the stored ``<measure>_significant``.
    significant_first : bool
        Choose the largest value among significant lags when there is one (default); if
        False, the largest value over all lags.

    Returns
    -------
    xr.Dataset
        (source, target): ``value`` (bits), ``lag`` (int, 0 where every lag is NaN),
        ``p_value`` and ``significant`` (where available). Where some lag is significant, the
        largest significant value is chosen (``significant_first``), else the largest value.
        Results of the pair-level test (with ``<measure>_best_lag``) give the stored best lag
        (the largest value, where every significant flag lies) and, as ``p_value``, the
        pair's ``<measure>_edge_p_value``.
    """
    if measure not in results.data_vars or "lag" not in results[measure].dims:
        raise ValueError(f"results have no lagged variable {measure!r}; run analyze with it")
    da = results[measure].transpose("source", "target", "lag")
    v = np.asarray(da.values, dtype=np.float64)  # [S, R, L]
    sig = _significance(results, measure, alpha)
    if sig is not None:
        sig = np.asarray(xr.DataArray(sig, dims=results[measure].dims)
                         .transpose("source", "target", "lag").values)
    allowed = np.ones_like(v, dtype=bool)
    if sig is not None and significant_first:
        allowed = sig | ~sig.any(-1, keepdims=True)
    score = np.where(allowed & np.isfinite(v), v, -np.inf)
    idx = score.argmax(axis=-1)[..., None]  # [S, R, 1]
    undefined = ~np.isfinite(v).any(axis=-1)
    lags = np.asarray(da["lag"].values)
    stored = _pair_var(results, f"{measure}_best_lag")
    if stored is not None:  # pair-level test: its best lag, where it is one of the lags
        match = lags == stored[..., None]  # [S, R, L]
        idx = np.where(match.any(-1, keepdims=True), match.argmax(-1)[..., None], idx)
    out = {
        "value": (("source", "target"), np.where(undefined, np.nan,
                                                 np.take_along_axis(v, idx, -1)[..., 0])),
        "lag": (("source", "target"), np.where(undefined, 0, lags[idx[..., 0]]).astype(np.int32)),
    }
    p_name = f"{measure}_p_value"
    edge_p = _pair_var(results, f"{measure}_edge_p_value")
    if edge_p is not None:
        out["p_value"] = (("source", "target"), np.where(undefined, np.nan, edge_p))
    elif p_name in results.data_vars:
        p = np.asarray(results[p_name].transpose("source", "target", "lag").values, float)
        out["p_value"] = (("source", "target"),
                          np.where(undefined, np.nan, np.take_along_axis(p, idx, -1)[..., 0]))
    if sig is not None:
        out["significant"] = (("source", "target"), sig.any(axis=-1) & ~undefined)
    return xr.Dataset(out, coords={"source": da["source"].values, "target": da["target"].values})


def _pair_values(results: xr.Dataset, measure: str, alpha: float | None, by_value: bool
                 ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    """(value [S, R], significant [S, R] or None, edge attribute arrays) of ``measure``."""
    attrs: dict[str, np.ndarray] = {}
    value = sig = None
    for m in _LAGGED:
        if m in results.data_vars and "lag" not in results[m].dims:  # multivariate TE
            stored = float(results.attrs.get("alpha", 1.0))
            if m == measure and alpha is not None and alpha > stored:
                raise ValueError(f"multivariate {m} edges were selected at alpha {stored}; a "
                                 f"larger alpha ({alpha}) needs 'infoflow analyze --alpha "
                                 f"{alpha}'")
            attrs[m] = _pair_var(results, m)
            attrs[f"{m}_lag"] = _selected_lags(results, m)
            if f"{m}_p_value" in results.data_vars:
                attrs[f"{m}_p_value"] = _pair_var(results, f"{m}_p_value")
            if m == measure:  # a smaller alpha keeps the edges whose own p-value passes it
                value = np.asarray(attrs[m], dtype=float)
                sig = np.asarray(_pair_var(results, f"{m}_significant"), dtype=bool)
                if alpha is not None:
                    sig = sig & (np.nan_to_num(attrs[f"{m}_p_value"], nan=1.0) <= alpha)
        elif m in results.data_vars:
            chosen = m == measure
            b = best_lag(results, m, alpha if chosen else None, not (chosen and by_value))
            attrs[m], attrs[f"{m}_lag"] = b["value"].values, b["lag"].values
            if "p_value" in b:
                attrs[f"{m}_p_value"] = b["p_value"].values
            if m == measure:
                value = b["value"].values
                sig = b["significant"].values if "significant" in b else None
    for name, attr in _PAIR_ATTRS.items():
        if name in results.data_vars:
            attrs[attr] = results[name].transpose("source", "target").values
    if value is None:
        var = _MEASURE_ALIASES.get(measure, measure)
        if var not in results.data_vars or set(results[var].dims) != {"source", "target"}:
            known = [m for m in _LAGGED if m in results.data_vars] + [
                a for v, a in _PAIR_ATTRS.items() if v in results.data_vars]
            raise ValueError(
                f"results have no measure {measure!r}; choose one of {', '.join(known)}"
            )
        value = np.asarray(results[var].transpose("source", "target").values, float)
        sig = _significance(results, var, alpha) if f"{var}_p_value" in results else None
    return value, sig, attrs


def _selected_lags(results: xr.Dataset, measure: str) -> np.ndarray:
    """Object array [source, target] of the selected lags as text ("1,3"; "" for none)."""
    sel = results.get(f"{measure}_selected")
    n_s, n_t = results.sizes["source"], results.sizes["target"]
    out = np.full((n_s, n_t), "", dtype=object)
    if sel is None:
        return out
    mask = np.asarray(sel.transpose("source", "target", "lag").values, dtype=bool)
    lags = np.asarray(sel["lag"].values)
    for s, t in zip(*np.nonzero(mask.any(-1)), strict=True):
        out[s, t] = ",".join(str(int(u)) for u in lags[mask[s, t]])
    return out


GRAPH_MEASURE_ORDER = ("te", "mi", "kl", "ic_symbol", "ic_action")
"""Measures :func:`default_graph_measure` tries, in this order."""


def default_graph_measure(results: xr.Dataset) -> tuple[str, float | None]:
    """The measure (and threshold) a graph of ``results`` is drawn with when none is asked for.

    Lagged TE if computed (with its significance), else lagged MI: edges are then the
    significant pairs (threshold None). Else the first of ``kl`` (mean logged influence),
    ``ic_symbol``, ``ic_action`` (instantaneous coordination), which have no p-values, with
    the threshold the mean of its finite values over pairs k != j: an edge is a pair above
    the average pair, so such a graph shows the stronger relations rather than every pair.

    Returns
    -------
    (str, float or None)
        Measure name for :func:`influence_graph` and its ``threshold`` (None: significance).

    Raises
    ------
    ValueError
        If ``results`` hold none of these measures.

    Examples
    --------
    >>> r = xr.Dataset({"kl_mean": (("source", "target"), [[np.nan, 0.3], [0.1, np.nan]])},
    ...                coords={"source": ["a", "b"], "target": ["a", "b"]})
    >>> default_graph_measure(r)
    ('kl', 0.2)
    """
    for measure in GRAPH_MEASURE_ORDER:
        var = _MEASURE_ALIASES.get(measure, measure)
        if var not in results.data_vars:
            continue
        if measure in _LAGGED:
            if {f"{var}_significant", f"{var}_p_value"} & set(results.data_vars):
                return measure, None
            continue  # no significance to draw edges by
        values = np.asarray(results[var].transpose("source", "target").values, float)
        off = values[~np.eye(*values.shape, dtype=bool)]
        off = off[np.isfinite(off)]
        return measure, float(off.mean()) if off.size else 0.0
    raise ValueError("results hold no measure to build a graph from (te, mi, kl_mean, "
                     "ic_symbol or ic_action); run analyze with te, mi, kl or comm")


def influence_graph(results: xr.Dataset, measure: str = "te", alpha: float | None = None,
                    threshold: float | None = None) -> nx.DiGraph:
    """Directed graph of who influences whom.

    Parameters
    ----------
    results : xr.Dataset
        Analysis results with coordinates ``source``/``target`` (agent names).
    measure : str
        Measure deciding the edges: ``"te"`` (default), ``"mi"``, ``"kl"``, ``"ic_action"``...
    alpha : float, optional
        Re-test the measure's p-values with Benjamini-Hochberg FDR at this level; default:
        the significance stored in ``results`` (decided at analysis time).
    threshold : float, optional
        If given, an edge is drawn where the measure's value (bits; for lagged measures its
        maximum over lags) is above it, whatever the p-values. Required for measures without
        p-values (``kl``, ``ic_*``).

    Returns
    -------
    networkx.DiGraph
        Nodes: agent names, with ``return``, ``influencer``, ``role``, ``consistency`` where
        known. Edges k -> j (k != j), with ``weight`` (the measure's value) and every measure
        available: ``te``, ``te_lag``, ``te_p_value``, ``mi``, ``mi_lag``, ``mi_p_value``,
        ``kl``, ``kl_sparsity``, ``ic_action``, ``ic_symbol``. NaN attributes are left out.
        ``<m>_lag`` is the stored best lag and ``<m>_p_value`` the edge p-value where the
        results come from the pair-level test (``lag_test="max"``).
    """
    for dim in ("source", "target"):
        if dim not in results.coords:
            raise ValueError(f"results have no {dim!r} coordinate; pass an analyze() result")
    value, sig, attrs = _pair_values(results, measure, alpha, threshold is not None)
    if threshold is not None:
        edges = np.isfinite(value) & (value > threshold)
    elif sig is not None:
        edges = sig
    else:
        raise ValueError(f"measure {measure!r} has no p-values; pass a threshold")
    sources = [str(_builtin(s)) for s in results["source"].values]
    targets = [str(_builtin(t)) for t in results["target"].values]
    g = nx.DiGraph(measure=measure)
    if threshold is not None:
        g.graph["threshold"] = float(threshold)
    else:
        stored = results.attrs.get("alpha")
        if alpha is not None or stored is not None:
            g.graph["alpha"] = float(alpha if alpha is not None else stored)
    g.add_nodes_from(dict.fromkeys(sources + targets))
    for name in _NODE_ATTRS:
        if name in results.data_vars and results[name].dims == ("agent",):
            for agent, v in zip(results["agent"].values, results[name].values, strict=True):
                v = _builtin(v)
                if str(_builtin(agent)) in g and not (isinstance(v, float) and np.isnan(v)):
                    g.nodes[str(_builtin(agent))][name] = v
    for s, t in zip(*np.nonzero(edges), strict=True):
        if sources[s] == targets[t]:
            continue
        data = {"weight": float(value[s, t])}
        for attr, arr in attrs.items():
            v = _builtin(arr[s, t])
            if not (isinstance(v, float) and np.isnan(v)) and v != "":
                data[attr] = v
        g.add_edge(sources[s], targets[t], **data)
    return g


def format_edges(g: nx.DiGraph, digits: int = 4) -> str:
    """Plain-text table of the edges: source, target, value (``weight``), lag and p-value.

    The lag and p-value columns are those of the graph's measure (``g.graph["measure"]``),
    "-" where the measure has none.

    Examples
    --------
    >>> g = nx.DiGraph(measure="te")
    >>> g.add_edge("a", "b", weight=0.5, te_lag=2, te_p_value=0.001)
    >>> print(format_edges(g))
    source  target  te   lag  p
    a       b       0.5  2    0.001
    """
    m = g.graph.get("measure", "weight")
    rows = []
    for s, t, d in sorted(g.edges(data=True)):
        p = d.get(f"{m}_p_value")
        rows.append((s, t, float(d.get("weight", float("nan"))), d.get(f"{m}_lag", "-"),
                     "-" if p is None else float(p)))
    if not rows:
        return f"no edge ({m})"
    return format_table(rows, ("source", "target", m, "lag", "p"), digits=digits)


def write_graph(g: nx.DiGraph, path: str | Path) -> Path:
    """Write ``g`` as GraphML, GEXF or node-link JSON, chosen by the suffix of ``path``.

    Raises
    ------
    ValueError
        If the suffix is not one of :data:`GRAPH_FORMATS`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        nx.write_graphml(g, path)
    elif suffix == ".gexf":
        nx.write_gexf(g, path)
    elif suffix == ".json":
        path.write_text(json.dumps(nx.node_link_data(g, edges="edges"), indent=1))
    else:
        raise ValueError(f"unknown graph format {suffix!r}; use one of {GRAPH_FORMATS}")
    return path


def read_graph(path: str | Path) -> nx.DiGraph:
    """Read a graph written by :func:`write_graph` (the inverse, by suffix).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the suffix is not one of :data:`GRAPH_FORMATS`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no graph file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        g = nx.DiGraph(nx.read_graphml(path))
        for key in ("node_default", "edge_default"):  # added by the reader
            g.graph.pop(key, None)
        return g
    if suffix == ".gexf":
        g = nx.DiGraph(nx.read_gexf(path))
        for key in ("mode", "node_default", "edge_default"):  # added by the reader
            g.graph.pop(key, None)
        for node, data in g.nodes(data=True):  # GEXF adds a label equal to the id
            if data.get("label") == node:
                del data["label"]
        for _, _, data in g.edges(data=True):
            data.pop("id", None)
        return g
    if suffix == ".json":
        return nx.DiGraph(nx.node_link_graph(json.loads(path.read_text()), edges="edges"))
    raise ValueError(f"unknown graph format {suffix!r}; use one of {GRAPH_FORMATS}")


def graphs_by_window(ds: xr.Dataset, window: int, measure: str = "te",
                     lags: Sequence[int] = (1, 2, 3), history: int | None = None,
                     permutations: int = 500, alpha: float = 0.05,
                     threshold: float | None = None, seed: int = 0, lag_test: str = "max",
                     surrogates: str = "auto", method: str = "multivariate",
                     selection_permutations: int = 200
                     ) -> list[tuple[int, int, nx.DiGraph]]:
    """One influence graph per consecutive window of ``window`` episodes (training time).

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories (schema of :mod:`infoflow.trajectory`).
    window : int
        Episodes per window; the last window holds the remainder (it may be shorter).
    measure, lags, history, permutations, alpha, seed, lag_test, surrogates, method
        As in :func:`infoflow.analysis.analyze` (one measure).
    selection_permutations : int
        As in :func:`infoflow.analysis.analyze`.
    threshold : float, optional
        As in :func:`influence_graph`.

    Returns
    -------
    list of (start, stop, networkx.DiGraph)
        Episode positions ``[start, stop)`` of each window and its graph.
    """
    from infoflow.analysis import analyze

    n = ds.sizes.get("episode", 0)
    if window < 1:
        raise ValueError(f"window must be at least 1 episode, not {window}")
    if n == 0:
        raise ValueError("the trajectories hold no episode")
    graphs = []
    for start in range(0, n, window):
        stop = min(start + window, n)
        part = ds.isel(episode=slice(start, stop))
        res = analyze(part, measures=(measure,), lags=lags, history=history,
                      permutations=permutations, alpha=alpha, seed=seed, lag_test=lag_test,
                      surrogates=surrogates, method=method,
                      selection_permutations=selection_permutations)
        graphs.append((start, stop, influence_graph(res, measure, threshold=threshold)))
    return graphs
