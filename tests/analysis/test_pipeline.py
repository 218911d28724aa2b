"""The analysis pipeline on synthetic 5-agent data with planted couplings."""

from __future__ import annotations

import numpy as np
import pytest

from infoflow.analysis import (
    analyze,
    compare_measures,
    format_pairs,
    format_summary,
    paper_metrics,
    read_results,
    write_results,
)
from infoflow.graph import graphs_by_window, influence_graph
from infoflow.synthetic import coupled_actions, independent_actions
from infoflow.trajectory import from_arrays

PLANTED = ((0, 1, 1, 0.5), (2, 3, 2, 0.5), (0, 4, 1, 0.5))  # (source, target, lag, strength)
EDGES = [("agent_0", "agent_1", 1), ("agent_0", "agent_4", 1), ("agent_2", "agent_3", 2)]
# the multivariate method reports the selected lags of an edge as text
MV_EDGES = [(s, t, str(lag)) for s, t, lag in EDGES]


def planted(seed: int, **kwargs):
    return coupled_actions(n_agents=5, n_symbols=4, n_episodes=10, n_steps=200,
                           couplings=PLANTED, seed=seed, **kwargs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_te_graph_recovers_exactly_the_planted_edges(seed) -> None:
    # each inclusion test runs at alpha = 0.05 per target, so about 1 target in 20 without a
    # parent gets a chance edge (seed 3 of seeds 0-5 has one: 4 -> 1 at lag 2); these have none
    results = analyze(planted(seed), measures=("te",), permutations=500, seed=seed)
    g = influence_graph(results, "te")
    assert sorted(g.edges(data="te_lag")) == MV_EDGES


def test_all_measures_on_one_dataset() -> None:
    ds = planted(1, influence=True, n_message_symbols=4, message_couplings=((2, 2, 0, 0.8),))
    rewards = np.where(ds["action"].values >= 0, 1.0, np.nan).astype(np.float32)
    rewards[..., 0] = 0.0
    ds["reward"] = (("episode", "step", "agent"), rewards)
    results = analyze(ds, permutations=200, lags=(2, 1), method="bivariate")
    assert results.attrs["measures"] == "te,mi,kl,comm"
    assert list(results.attrs["lags"]) == [1, 2]
    assert results.attrs["notes"].startswith(  # 5 * 4 = 20 pair tests (lag_test "max")
        "with 200 permutations the smallest p-value, 1/201, is above alpha/20 (20 tests with "
        "lag_test max): a single true edge cannot pass the FDR correction; use at least 400 "
        "permutations")
    assert results.attrs["lag_test"] == "max"
    assert results["te_best_lag"].dims == ("source", "target")
    assert results["te_best_lag"].sel(source="agent_0", target="agent_1").item() == 1
    assert results["mi_edge_p_value"].sel(source="agent_2", target="agent_3").item() < 0.05
    assert results["te"].dims == ("source", "target", "lag")
    # the logged influence is the true KL of the planted copy channels, 0 elsewhere
    kl = results["kl_mean"].sel(source="agent_0")
    assert kl.sel(target="agent_1").item() == pytest.approx(kl.sel(target="agent_4").item())
    assert kl.sel(target="agent_2").item() == 0.0
    # speaker 2 says its own next action (copy 0.8): only it is consistent
    consistency = results["consistency"].values
    assert consistency.argmax() == 2 and consistency[2] > 0.5
    assert np.delete(consistency, 2).max() < 0.05
    # action/action coordination is the lag-1 MI of the planted lag-1 pairs
    assert results["ic_action"].sel(source="agent_0", target="agent_1").item() == pytest.approx(
        results["mi"].sel(source="agent_0", target="agent_1", lag=1).item())
    assert results["ic_action_max"].item() == pytest.approx(
        float(results["ic_action"].max()))
    assert "ic_action_influential" in results and "ic_symbol_influential_max" in results
    np.testing.assert_allclose(results["return"].values, [0.0, 200, 200, 200, 200])
    np.testing.assert_allclose(results["equality"].values, 1 - (4 * 200 * 2) / (2 * 5 * 800))
    # every agent has a defined (possibly 0) influence as a source: all influencers, no roles
    assert results["influencer"].values.all() and "role" not in results


@pytest.mark.parametrize(("lag_test", "permutations", "note"), [
    ("each", 1000, "above alpha/60 (60 tests with lag_test each)"),  # 5 * 4 pairs * 3 lags
    ("each", 1200, ""),
    ("max", 398, "above alpha/20 (20 tests with lag_test max)"),
    ("max", 400, ""),
])
def test_too_few_permutations_note_counts_the_tests(lag_test, permutations, note) -> None:
    results = analyze(planted(0), measures=("te",), permutations=permutations, lags=(1, 2, 3),
                      lag_test=lag_test, method="bivariate")
    if note:
        assert note in results.attrs["notes"]
    else:
        assert "smallest p-value" not in results.attrs["notes"]
    assert results.attrs["lag_test"] == lag_test
    assert ("te_best_lag" in results) == (lag_test == "max")
    assert sorted(influence_graph(results).edges(data="te_lag")) == EDGES


def test_results_round_trip_through_netcdf(tmp_path) -> None:
    results = analyze(planted(2, influence=True), measures=("te", "kl"), permutations=200)
    back = read_results(write_results(results, tmp_path / "analysis.nc"))
    assert set(back.data_vars) == set(results.data_vars)
    np.testing.assert_array_equal(back["te_significant"].values,
                                  results["te_significant"].values)
    g, g_back = influence_graph(results), influence_graph(back)
    assert sorted(g_back.edges(data=True)) == sorted(g.edges(data=True))
    assert dict(g_back.nodes(data=True)) == dict(g.nodes(data=True))
    assert back.attrs["measures"] == "te,kl"


def test_roles_from_influence_survive_netcdf(tmp_path) -> None:
    ds = planted(0, influence=True)
    ds["influence"][:, :, 1:] = np.nan  # only agent_0 is an influencer (basic influence model)
    results = analyze(ds, measures=("te", "kl"), permutations=500)
    np.testing.assert_array_equal(results["influencer"].values, [True, False, False, False, False])
    assert list(results["role"].values) == ["influencer"] + ["influencee"] * 4
    g = influence_graph(read_results(write_results(results, tmp_path / "a.nc")))
    assert {k: v for k, v in g.nodes["agent_0"].items() if k != "ais"} == {
        "influencer": True, "role": "influencer"}
    assert g.nodes["agent_3"]["role"] == "influencee" and g.nodes["agent_3"]["ais"] >= 0
    assert g.edges["agent_0", "agent_1"]["kl"] > 0 and "kl" not in g.edges["agent_2", "agent_3"]


def test_wrong_dims_named() -> None:
    ds = planted(0, n_message_symbols=3)
    ds["message"] = ds["message"].isel(agent=0)
    with pytest.raises(ValueError, match="variable 'message' has dims \\('episode', 'step'\\)"):
        analyze(ds, measures=("comm",))


def test_default_measures_skip_kl_without_influence() -> None:
    results = analyze(planted(0), measures=None, permutations=20, lags=(1,))
    assert results.attrs["measures"] == "te,mi,comm"
    assert "no 'influence' logged: kl skipped" in results.attrs["notes"]
    assert "kl_mean" not in results and "consistency" not in results


def test_compare_measures_table() -> None:
    results = analyze(planted(0, influence=True), measures=("te", "mi", "kl"), permutations=50,
                      method="bivariate")
    table = compare_measures(results)
    assert list(table.data_vars) == ["kl", "mi_lag1", "mi_lag1_p_value", "te", "te_lag",
                                     "te_p_value", "te_significant"]
    text = format_pairs(table).splitlines()
    assert text[0].split() == ["source", "target", *table.data_vars]
    assert len(text) == 1 + 20
    assert text[1].split()[:2] == ["agent_0", "agent_1"]


def test_graphs_by_window() -> None:
    windows = graphs_by_window(planted(1), window=4, permutations=500, lags=(1, 2))
    assert [(a, b) for a, b, _ in windows] == [(0, 4), (4, 8), (8, 10)]
    for _, _, g in windows[:2]:  # 4 episodes of 200 steps: every planted edge is found
        assert set(MV_EDGES) <= set(g.edges(data="te_lag"))


def test_independent_data_has_few_edges() -> None:
    """Each target's tests run at alpha = 0.05, so chance edges occur at about that rate per
    target (tests/analysis/test_calibration.py measures it); 5 datasets x 20 pairs here."""
    false_edges = 0
    for seed in range(5):
        ds = independent_actions(n_agents=5, n_symbols=4, n_episodes=20, n_steps=200, seed=seed)
        results = analyze(ds, measures=("te",), permutations=200, seed=seed)
        false_edges += len(influence_graph(results).edges)
    assert false_edges <= 5


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"measures": ("te", "xx")}, "unknown measure 'xx'; choose from te, mi, kl, comm"),
    ({"measures": ()}, "no measure given"),
    ({"lags": (0, 1)}, "lag 0 is below 1; pass lags >= 1"),
    ({"lags": ()}, "no lag given"),
    ({"history": 0}, "history is 0; pass a target history length in 1..1000"),
    ({"permutations": 0}, r"permutations is 0; pass 1..1000000 \(e.g. 500\)"),
    ({"permutations": 10**7}, "permutations is 10000000; pass 1..1000000"),
    ({"lags": range(1, 100)}, r"lags up to 99 \(99 of them\) are beyond the limits"),
    ({"method": "pairwise"}, "method is 'pairwise'; pass one of multivariate, bivariate"),
    ({"alpha": 1.5}, r"alpha is 1.5; pass a significance level in \(0, 1\)"),
    ({"lag_test": "min"}, "lag_test is 'min'; pass 'max' \\(one test per pair\\) or 'each'"),
    ({"surrogates": "shift"}, "surrogates is 'shift'; pass one of auto, blocks, episodes, "
                              "circular"),
    ({"lags": (200, 300)}, r"no te sample at any lag \[200, 300\]: the longest episode has 200 "
                           r"step\(s\) and a sample needs episodes longer than max\(history 3, "
                           r"lag\); pass smaller lags \(--lags\) or a shorter history"),
    ({"measures": ("mi",), "lags": (200,)}, r"no mi sample at any lag \[200\]"),
    ({"measures": ("te",), "history": 200}, "no te sample at any lag"),
    ({"measures": ("kl",)}, "measure 'kl' needs a logged 'influence' variable"),
])
def test_bad_parameters(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        analyze(planted(0), **kwargs)


def test_empty_trajectories() -> None:
    empty = from_arrays(np.zeros((1, 4, 2), np.int16)).isel(episode=slice(0, 0))
    with pytest.raises(ValueError, match="the trajectories hold no episode"):
        analyze(empty)


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window must be at least 1 episode"):
        graphs_by_window(planted(0), window=0)


def test_lags_without_samples_are_named_in_a_note() -> None:
    ds = planted(0)
    ds["length"][:] = 3  # every episode 3 steps long
    ds["action"][:, 3:] = -1
    results = analyze(ds, measures=("te", "mi"), lags=(1, 2, 3, 4), permutations=10,
                      surrogates="episodes", method="bivariate")
    assert "te at lag(s) 3, 4 has no sample (the longest episode has 3 steps)" \
        in results.attrs["notes"]
    assert "mi at lag(s) 3, 4 has no sample" in results.attrs["notes"]
    assert np.isnan(results["te"].sel(lag=[3, 4])).all()
    assert np.isfinite(results["te"].sel(lag=2, source="agent_0", target="agent_1"))


def test_one_step_episodes_raise() -> None:
    ds = planted(0)
    ds["length"][:] = 1
    ds["action"][:, 1:] = -1
    with pytest.raises(ValueError, match="no te sample at any lag"):
        analyze(ds, measures=("te",), lags=(1,))


@pytest.mark.parametrize("surrogates", ["episodes", "circular"])
def test_surrogates_are_passed_on(surrogates) -> None:
    results = analyze(planted(0), measures=("te", "mi"), lags=(1,), permutations=10,
                      surrogates=surrogates)
    assert results.attrs["surrogates"] == surrogates
    assert results.attrs["te_surrogates"] == results.attrs["mi_surrogates"] == surrogates


def test_read_results_accepts_netcdf4(tmp_path) -> None:
    results = analyze(planted(0), measures=("te",), lags=(1,), permutations=10)
    results.to_netcdf(tmp_path / "copy.nc", engine="h5netcdf")  # netCDF4 (HDF5), not scipy's
    back = read_results(tmp_path / "copy.nc")
    np.testing.assert_allclose(back["te"].values, results["te"].values)
    (tmp_path / "junk.nc").write_bytes(b"\x89HDF\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="is not a netCDF results file written by infoflow"):
        read_results(tmp_path / "junk.nc")


def test_paper_metrics_and_summary() -> None:
    ds = planted(0, influence=True, n_message_symbols=3)
    rewards = np.zeros(ds["action"].shape, np.float32)  # [episode, step, agent]
    rewards[:, :, 0] = 1.0  # agent_0 earns 1 per step, the others nothing
    ds["reward"] = (("episode", "step", "agent"), rewards)
    results = analyze(ds, measures=("kl", "comm"))
    metrics = dict(paper_metrics(results))
    assert metrics["collective return (mean per episode)"] == pytest.approx(200.0)
    assert metrics["equality, 1 - Gini (mean per episode)"] == pytest.approx(1 - 0.8)
    assert metrics["max IC action/action (bits)"] == pytest.approx(
        float(results["ic_action"].max()))
    assert metrics["mean KL influence over pairs (as logged, nats)"] == pytest.approx(
        float(np.nanmean(results["kl_mean"].values)))
    assert "max IC symbol/action (bits)" in metrics
    text = format_summary(results).splitlines()
    assert text[0].split() == ["metric", "value"]
    header = next(i for i, line in enumerate(text) if line.startswith("agent "))
    assert "speaker consistency" in text[header] and "return" in text[header]
    assert text[header + 1].split()[:2] == ["agent_0", "200"]
    assert format_summary(results[[]]) == ""  # no metric computed: nothing to print


def test_influence_logged_as_another_divergence_is_named_in_the_notes() -> None:
    ds = planted(0, influence=True)
    ds.attrs["influence_divergence"] = "pmi"
    results = analyze(ds, measures=("kl",))
    assert "the logged influence is the PMI divergence, not KL" in results.attrs["notes"]
    ds.attrs["influence_divergence"] = "kl"
    assert "not KL" not in analyze(ds, measures=("kl",)).attrs.get("notes", "")
