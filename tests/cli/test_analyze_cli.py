"""``infoflow analyze`` and ``infoflow graph`` with CliRunner on small synthetic stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from cli.main import cli
from infoflow.analysis import read_results
from infoflow.graph import read_graph
from infoflow.synthetic import copy_kl, coupled_actions
from infoflow.trajectory import TrajectoryWriter

EVERY_FILE = ["analysis.nc", "comparison.txt", "graph.gexf", "graph.graphml", "graph.json",
              "graph.png", "influence_over_time.png", "kl_vs_te_mi.png", "mi_by_lag.png",
              "te_by_lag.png"]


def synthetic(**kwargs) -> xr.Dataset:
    return coupled_actions(n_agents=3, n_symbols=3, n_episodes=10, n_steps=100,
                           couplings=((0, 1, 1, 0.7),), seed=0, **kwargs)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run directory holding trajectories.zarr with influence and messages."""
    run = tmp_path_factory.mktemp("run")
    ds = synthetic(influence=True, n_message_symbols=3)
    with TrajectoryWriter(run / "trajectories.zarr", agents=list(ds["agent"].values),
                          n_actions=3, n_symbols=3) as writer:
        writer.append(ds)
    return run


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("command", ["analyze", "graph"])
def test_help(command) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Usage: cli " + command in result.output
    if command == "analyze":
        assert "--lag-test [max|each]" in result.output
        assert "[default: 1000]" in result.output  # --permutations


def test_analyze_writes_every_file(run_dir, tmp_path) -> None:
    out = tmp_path / "out"
    result = invoke("analyze", run_dir, "--permutations", 300, "--lags", "1,2", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == EVERY_FILE
    assert "agent_0  agent_1  " in result.output and "edges (te, alpha 0.05):" in result.output
    results = read_results(out / "analysis.nc")
    assert list(results["lag"].values) == [1, 2]
    assert results.attrs["source"] == str(run_dir)
    g = read_graph(out / "graph.graphml")
    assert list(g.edges) == [("agent_0", "agent_1")]
    assert g.edges["agent_0", "agent_1"]["te_lag"] == 1


def test_analyze_default_out_is_run_analysis(run_dir) -> None:
    result = invoke("analyze", run_dir, "--measures", "te", "--permutations", 20, "--lags", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (run_dir / "analysis").iterdir()) == [
        "analysis.nc", "graph.gexf", "graph.graphml", "graph.json", "graph.png", "te_by_lag.png"]
    assert "use at least 120 permutations" in result.output


@pytest.mark.parametrize("lag_test", ["max", "each"])
def test_analyze_lag_test(run_dir, tmp_path, lag_test) -> None:
    # 3 agents, lags 1, 2, 150 permutations: the smallest p-value 1/151 = 0.0066 is below
    # BH's rank-1 threshold over the 6 pairs ("max": 0.05/6 = 0.0083), not over the 12
    # (pair, lag) tests ("each": 0.05/12 = 0.0042), hence a note for "each" only
    out = tmp_path / "out"
    result = invoke("analyze", run_dir, "--measures", "te", "--lags", "1,2", "--permutations",
                    150, "--lag-test", lag_test, "--out", out)
    assert result.exit_code == 0, result.output
    results = read_results(out / "analysis.nc")
    assert results.attrs["lag_test"] == lag_test
    assert ("te_best_lag" in results) == (lag_test == "max")
    if lag_test == "max":
        assert "smallest p-value" not in result.output
        g = read_graph(out / "graph.json")
        assert ("agent_0", "agent_1", 1) in g.edges(data="te_lag")
    else:
        assert "is above alpha/12 (12 tests with lag_test each)" in result.output


def test_analyze_netcdf_store(tmp_path) -> None:
    synthetic().to_netcdf(tmp_path / "traj.nc", engine="scipy")
    result = invoke("analyze", tmp_path / "traj.nc", "--measures", "te,mi", "--permutations", 200)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "analysis" / "analysis.nc").is_file()


def test_graph_reexports_with_threshold(run_dir, tmp_path) -> None:
    out = tmp_path / "a"
    assert invoke("analyze", run_dir, "--permutations", 200, "--out", out).exit_code == 0
    result = invoke("graph", out / "analysis.nc", "--measure", "kl", "--threshold", 0.1,
                    "--out", tmp_path / "g")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == [
        "graph.gexf", "graph.graphml", "graph.json", "graph.png"]
    g = read_graph(tmp_path / "g" / "graph.json")
    assert list(g.edges) == [("agent_0", "agent_1")]
    assert g.edges["agent_0", "agent_1"]["kl"] == pytest.approx(copy_kl(0.7, 3))  # nats
    assert g.graph == {"measure": "kl", "threshold": 0.1}
    result = invoke("graph", out / "analysis.nc", "--alpha", 1e-9, "--out", tmp_path / "h")
    assert result.exit_code == 0 and "no edge (te)" in result.output


def bad_store(tmp_path: Path) -> Path:
    ds = synthetic().drop_vars("length")
    ds.to_netcdf(tmp_path / "bad.nc", engine="scipy")
    return tmp_path / "bad.nc"


def empty_dir(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


@pytest.mark.parametrize(("args", "message"), [
    (["--measures", "te,foo"], "unknown measure 'foo'"),
    (["--lags", "0-2"], "lag 0 is below 1; pass lags >= 1"),
    (["--lags", "a-b"], "'a-b' is not a list of lags such as 1-3 or 1,2,5"),
    (["--permutations", "0"], "permutations is 0; pass at least 1"),
    (["--lag-test", "min"], "Invalid value for '--lag-test'"),
    (["--alpha", "2"], r"alpha is 2.0; pass a significance level in \(0, 1\)"),
    (["--measures", "kl", "STORE_WITHOUT_INFLUENCE"], "measure 'kl' needs a logged 'influence'"),
    (["MISSING"], "no trajectory store or file at"),
    (["EMPTY"], "is an empty directory, not a trajectory store"),
    (["BAD"], "length"),
])
def test_analyze_bad_input_exits_2_and_writes_nothing(run_dir, tmp_path, args, message) -> None:
    targets = {"MISSING": tmp_path / "nope", "EMPTY": empty_dir(tmp_path),
               "BAD": bad_store(tmp_path), "STORE_WITHOUT_INFLUENCE": tmp_path / "plain.nc"}
    synthetic().to_netcdf(targets["STORE_WITHOUT_INFLUENCE"], engine="scipy")
    store = [str(targets.get(a, a)) for a in args if a in targets] or [str(run_dir)]
    options = [a for a in args if a not in targets]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["analyze", *store, *options, "--out", str(out)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 or "Usage:" in result.output
    assert __import__("re").search(message, result.output)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.parametrize(("args", "message"), [
    (["MISSING"], "no analysis file at"),
    (["NC", "--measure", "foo"], "results have no measure 'foo'"),
    (["NC", "--measure", "kl"], "has no p-values; pass a threshold"),
    (["NC", "--alpha", "3"], r"alpha must be in \(0, 1\), not 3.0"),
    (["NOT_NC"], "is not a netCDF results file"),
])
def test_graph_bad_input_exits_2(run_dir, tmp_path, args, message) -> None:
    nc = tmp_path / "analysis.nc"
    res = xr.Dataset({"kl_mean": (("source", "target"), np.zeros((2, 2))),
                      "te": (("source", "target", "lag"), np.zeros((2, 2, 1)))},
                     coords={"source": ["a", "b"], "target": ["a", "b"], "lag": [1]})
    res["te_p_value"] = res["te"] + 0.5
    res.to_netcdf(nc, engine="scipy")
    (tmp_path / "x.nc").write_text("not netcdf")
    paths = {"MISSING": tmp_path / "none.nc", "NC": nc, "NOT_NC": tmp_path / "x.nc"}
    out = tmp_path / "g"
    result = invoke("graph", *[paths.get(a, a) for a in args], "--out", out)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert __import__("re").search(message, result.output)
    assert not out.exists()
