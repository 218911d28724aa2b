"""Influence graphs from a hand-made results Dataset: exact edges, attributes, round trips."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import xarray as xr

from infoflow.graph import (
    best_lag,
    default_graph_measure,
    format_edges,
    influence_graph,
    read_graph,
    write_graph,
)
from infoflow.plots import plot_comparison, plot_graph, plot_influence_over_time, plot_lag_heatmaps

NAMES = ["a", "b", "c"]
NAN = np.nan


def make_results() -> xr.Dataset:
    """te over lags 1, 2: a->b significant at lag 2 only, b->c at lag 1 only."""
    te = np.array([  # [source, target, lag]
        [[NAN, NAN], [0.50, 0.30], [0.05, 0.01]],
        [[0.02, 0.04], [NAN, NAN], [0.40, 0.10]],
        [[0.20, 0.00], [0.01, 0.02], [NAN, NAN]],
    ])
    p = np.array([
        [[NAN, NAN], [0.20, 0.002], [0.5, 0.9]],
        [[0.8, 0.7], [NAN, NAN], [0.001, 0.3]],
        [[0.04, 0.9], [0.9, 0.8], [NAN, NAN]],
    ])
    sig = np.zeros_like(te, dtype=bool)
    sig[0, 1, 1] = sig[1, 2, 0] = True
    kl = np.array([[NAN, 0.7, NAN], [NAN, NAN, 0.1], [NAN, NAN, NAN]])
    return xr.Dataset(
        {
            "te": (("source", "target", "lag"), te),
            "te_p_value": (("source", "target", "lag"), p),
            "te_significant": (("source", "target", "lag"), sig),
            "mi": (("source", "target", "lag"), te / 2),
            "kl_mean": (("source", "target"), kl),
            "return": (("agent",), np.array([10.0, 20.0, 30.0])),
            "influencer": (("agent",), np.array([True, False, False])),
        },
        coords={"source": NAMES, "target": NAMES, "agent": NAMES, "lag": [1, 2]},
        attrs={"alpha": 0.05},
    )


def make_max_results() -> xr.Dataset:
    """make_results() as the pair-level test gives it: one edge p-value and best lag per pair,
    significance only at the best lag (a->b at lag 1 although lag 2's own p-value is smaller)."""
    res = make_results()
    edge_p = np.array([[NAN, 0.003, 0.6], [0.9, NAN, 0.001], [0.08, 0.9, NAN]])
    best = np.array([[-1, 1, 1], [2, -1, 1], [1, 2, -1]])  # argmax of te over lags
    sig = np.zeros(res["te"].shape, dtype=bool)
    sig[0, 1, 0] = sig[1, 2, 0] = True
    pair = ("source", "target")
    return res.assign(te_edge_p_value=(pair, edge_p), te_best_lag=(pair, best),
                      te_significant=(res["te"].dims, sig))


def test_pair_level_results_give_best_lag_and_edge_p_value() -> None:
    g = influence_graph(make_max_results(), "te")
    assert sorted(g.edges(data="te_lag")) == [("a", "b", 1), ("b", "c", 1)]
    assert g.edges["a", "b"]["weight"] == 0.50 and g.edges["a", "b"]["te_p_value"] == 0.003
    b = best_lag(make_max_results(), "te")
    assert b["lag"].sel(source="c", target="b").item() == 2  # the stored best lag
    assert b["p_value"].sel(source="b", target="c").item() == 0.001
    assert b["lag"].sel(source="a", target="a").item() == 0  # -1 stored: no lag


def test_alpha_retests_pair_level_edge_p_values() -> None:
    # BH over the 6 edge p-values: at 0.01 the thresholds 0.00167, 0.00333 pass 0.001 and
    # 0.003; at 0.008 (0.00133, 0.00267) only 0.001
    g = influence_graph(make_max_results(), "te", alpha=0.01)
    assert sorted(g.edges(data="te_lag")) == [("a", "b", 1), ("b", "c", 1)]
    g = influence_graph(make_max_results(), "te", alpha=0.008)
    assert sorted(g.edges(data="te_lag")) == [("b", "c", 1)]


def test_best_lag_prefers_significant_lag() -> None:
    b = best_lag(make_results(), "te")
    assert b["lag"].sel(source="a", target="b").item() == 2
    assert b["value"].sel(source="a", target="b").item() == 0.30
    assert b["p_value"].sel(source="a", target="b").item() == 0.002
    assert b["lag"].sel(source="a", target="a").item() == 0
    assert b["lag"].sel(source="c", target="a").item() == 1  # none significant: the max


def test_significant_edges_and_attributes() -> None:
    g = influence_graph(make_results(), "te")
    assert sorted(g.edges) == [("a", "b"), ("b", "c")]
    assert g.edges["a", "b"] == {
        "weight": 0.30, "te": 0.30, "te_lag": 2, "te_p_value": 0.002,
        "mi": 0.25, "mi_lag": 1, "kl": 0.7,
    }
    assert g.edges["b", "c"]["kl"] == 0.1
    assert g.nodes["a"] == {"return": 10.0, "influencer": True}
    assert g.graph == {"measure": "te", "alpha": 0.05}


def test_threshold_edges() -> None:
    g = influence_graph(make_results(), "te", threshold=0.15)
    assert sorted(g.edges) == [("a", "b"), ("b", "c"), ("c", "a")]
    assert g.edges["a", "b"]["te_lag"] == 1  # no significance: largest value
    assert g.graph["threshold"] == 0.15


def test_alpha_recomputes_fdr() -> None:
    # BH over 18 p-values at 0.05: 0.001 and 0.002 pass (<= 2/18 * 0.05), 0.04 does not
    g = influence_graph(make_results(), "te", alpha=0.05)
    assert sorted(g.edges) == [("a", "b"), ("b", "c")]
    g = influence_graph(make_results(), "te", alpha=0.0001)
    assert list(g.edges) == []


def test_kl_graph_needs_threshold() -> None:
    g = influence_graph(make_results(), "kl", threshold=0.5)
    assert list(g.edges) == [("a", "b")]
    assert g.edges["a", "b"]["weight"] == 0.7
    with pytest.raises(ValueError, match="has no p-values; pass a threshold"):
        influence_graph(make_results(), "kl")


def test_unknown_measure() -> None:
    with pytest.raises(ValueError, match="results have no measure 'foo'; choose one of"):
        influence_graph(make_results(), "foo")


def test_missing_coordinates() -> None:
    with pytest.raises(ValueError, match="results have no 'source' coordinate"):
        influence_graph(xr.Dataset({"te": ("x", [1.0])}))


@pytest.mark.parametrize("suffix", [".graphml", ".gexf", ".json"])
def test_round_trip(tmp_path, suffix) -> None:
    g = influence_graph(make_results(), "te")
    back = read_graph(write_graph(g, tmp_path / f"graph{suffix}"))
    assert sorted(back.nodes) == sorted(g.nodes)
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    assert {(s, t): d for s, t, d in back.edges(data=True)} == {
        (s, t): d for s, t, d in g.edges(data=True)
    }
    assert back.graph == g.graph or suffix == ".gexf"  # GEXF keeps no graph attributes
    assert isinstance(back, nx.DiGraph)


def test_unknown_format(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown graph format '.txt'"):
        write_graph(nx.DiGraph(), tmp_path / "g.txt")


def test_read_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no graph file at"):
        read_graph(tmp_path / "none.graphml")


def test_format_edges() -> None:
    lines = format_edges(influence_graph(make_results(), "te")).splitlines()
    assert lines == ["source  target  te   lag  p", "a       b       0.3  2    0.002",
                     "b       c       0.4  1    0.001"]
    assert format_edges(nx.DiGraph(measure="mi")) == "no edge (mi)"


def test_plots_write_png(tmp_path) -> None:
    results = make_results()
    paths = [plot_graph(influence_graph(results), tmp_path / "g.png"),
             plot_lag_heatmaps(results, tmp_path / "te.png", "te")]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("plot", "message"), [
    (lambda r, p: plot_lag_heatmaps(r, p, "mi_x"), "results have no lagged 'mi_x'"),
    (plot_influence_over_time, "results have no 'kl_episode_mean'; run analyze with measure"),
    (plot_comparison, "the comparison needs 'kl' and 'te' or 'mi_lag1'"),
])
def test_plots_name_missing_variables(tmp_path, plot, message) -> None:
    with pytest.raises(ValueError, match=message):
        plot(make_results(), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(("keep", "expected"), [
    (["te", "te_p_value", "mi", "kl_mean"], ("te", None)),
    (["mi", "mi_significant", "kl_mean"], ("mi", None)),
    (["mi", "kl_mean"], ("kl", pytest.approx(0.4))),  # mi without significance: skipped
    (["kl_mean", "ic_action"], ("kl", pytest.approx(0.4))),  # mean of the pairs 0.7, 0.1
    (["ic_action"], ("ic_action", pytest.approx(0.25))),
])
def test_default_graph_measure(keep, expected) -> None:
    res = make_results()
    ic = np.array([[NAN, 0.5, 0.0], [0.5, NAN, 0.0], [0.0, 0.5, NAN]])  # mean 0.25
    res["ic_action"] = (("source", "target"), ic)
    res["mi_significant"] = res["te_significant"]
    assert default_graph_measure(res[keep]) == expected
    measure, threshold = default_graph_measure(res[keep])
    g = influence_graph(res, measure, threshold=threshold)
    if measure == "kl":
        assert list(g.edges) == [("a", "b")]
    if measure == "ic_action":
        assert sorted(g.edges) == [("a", "b"), ("b", "a"), ("c", "b")]


def test_default_graph_measure_needs_a_measure() -> None:
    with pytest.raises(ValueError, match="results hold no measure to build a graph from"):
        default_graph_measure(make_results()[["return"]])
