"""``infoflow analyze`` and ``infoflow graph`` with CliRunner on small synthetic stores."""

from __future__ import annotations

import re
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
              "report.html"]


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
        assert "[default: 500]" in result.output  # --permutations


def test_analyze_writes_every_file(run_dir, tmp_path) -> None:
    out = tmp_path / "out"
    result = invoke("analyze", run_dir, "--permutations", 300, "--lags", "1,2", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == EVERY_FILE
    assert "agent_0  agent_1  " in result.output
    assert "edges (te significant at alpha 0.05):" in result.output
    # the paper metrics computed (no reward logged: no returns) and the KL vs MI vs TE table
    assert "max IC action/action (bits)" in result.output
    assert "max IC symbol/action (bits)" in result.output
    assert "mean KL influence over pairs (as logged, nats)" in result.output
    assert "speaker consistency" in result.output and "collective return" not in result.output
    table = result.output.split("KL influence vs MI vs TE per pair:\n")[1].splitlines()
    assert table[0].split() == ["source", "target", "kl", "mi_lag1", "mi_lag1_p_value", "te",
                                "te_lag", "te_p_value", "te_significant"]
    assert table[1].split()[:2] == ["agent_0", "agent_1"]
    results = read_results(out / "analysis.nc")
    assert list(results["lag"].values) == [1, 2]
    assert results.attrs["source"] == str(run_dir)
    g = read_graph(out / "graph.graphml")
    assert list(g.edges) == [("agent_0", "agent_1")]
    assert g.edges["agent_0", "agent_1"]["te_lag"] == "1"  # the selected lags, as text


def test_analyze_default_out_is_run_analysis(run_dir) -> None:
    result = invoke("analyze", run_dir, "--measures", "te", "--permutations", 20, "--lags", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (run_dir / "analysis").iterdir()) == [
        "analysis.nc", "graph.gexf", "graph.graphml", "graph.json", "graph.png", "report.html"]
    assert "use at least 60 permutations" in result.output  # 3 targets' omnibus tests


@pytest.mark.parametrize("lag_test", ["max", "each"])
def test_analyze_lag_test(run_dir, tmp_path, lag_test) -> None:
    # 3 agents, lags 1, 2, 150 permutations: the smallest p-value 1/151 = 0.0066 is below
    # BH's rank-1 threshold over the 6 pairs ("max": 0.05/6 = 0.0083), not over the 12
    # (pair, lag) tests ("each": 0.05/12 = 0.0042), hence a note for "each" only
    out = tmp_path / "out"
    result = invoke("analyze", run_dir, "--measures", "te", "--lags", "1,2", "--permutations",
                    150, "--lag-test", lag_test, "--method", "bivariate", "--out", out)
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
    ds = synthetic()
    ds["length"][0] = ds.sizes["step"] + 1  # longer than the episode
    ds.to_netcdf(tmp_path / "bad.nc", engine="scipy")
    return tmp_path / "bad.nc"


def damaged_store(tmp_path: Path, damage: str) -> Path:
    """A TrajectoryWriter store whose action chunk is missing or holds garbage."""
    path = tmp_path / f"{damage}.zarr"
    ds = synthetic()
    with TrajectoryWriter(path, agents=list(ds["agent"].values), n_actions=3) as writer:
        writer.append(ds)
    chunks = sorted(f for f in (path / "action").rglob("*")
                    if f.is_file() and f.name[0].isdigit())
    assert chunks, "the store has no action chunk file"
    if damage == "missing":
        chunks[0].unlink()
    else:
        chunks[0].write_bytes(b"not a compressed chunk" * 4)
    return path


def nan_reward_store(tmp_path: Path) -> Path:
    ds = synthetic()
    reward = np.zeros(ds["action"].shape, dtype=np.float32)
    reward[3, 7, 1] = np.nan
    ds["reward"] = (("episode", "step", "agent"), reward)
    ds.to_netcdf(tmp_path / "nan.nc", engine="scipy")
    return tmp_path / "nan.nc"


def empty_dir(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


@pytest.mark.parametrize(("args", "message"), [
    (["--measures", "te,foo"], "unknown measure 'foo'"),
    (["--lags", "0-2"], "lag 0 is below 1; pass lags >= 1"),
    (["--lags", "a-b"], "'a-b' is not a list of lags such as 1-3 or 1,2,5"),
    (["--permutations", "0"], "permutations is 0; pass 1..1000000"),
    (["--lags", "1-100000000"], "holds 100000000 lags; pass at most 32"),
    (["--method", "pairwise"], "Invalid value for '--method'"),
    (["--condition", "apples"], "no context variable 'apples'; choose among phase, episode"),
    (["--permutations", "2000000"], "permutations is 2000000; pass 1..1000000"),
    (["--block", "1"], "block is 1; pass at least 2 episodes per block"),
    (["--lag-test", "min"], "Invalid value for '--lag-test'"),
    (["--surrogates", "shuffle"], "Invalid value for '--surrogates'"),
    (["--measures", "te", "--lags", "200"], r"no te sample at any lag \[200\]: the longest "
                                            r"episode has 100 step\(s\).*\(--lags\)"),
    (["--alpha", "2"], r"alpha is 2.0; pass a significance level in \(0, 1\)"),
    (["--measures", "kl", "STORE_WITHOUT_INFLUENCE"], "measure 'kl' needs a logged 'influence'"),
    (["MISSING"], "no trajectory store or file at"),
    (["EMPTY"], "is an empty directory, not a trajectory store"),
    (["BAD"], "length"),
    (["CHUNK_MISSING"], "is damaged: variable 'action' lacks 1 of its [0-9]+ chunk"),
    (["CHUNK_GARBAGE"], "could not read the trajectories' data .* the store is damaged"),
    (["NAN_REWARD"], "'reward' is nan at episode 3, step 7, agent agent_1: rewards must be "
                     "finite"),
])
def test_analyze_bad_input_exits_2_and_writes_nothing(run_dir, tmp_path, args, message) -> None:
    targets = {"MISSING": tmp_path / "nope", "EMPTY": empty_dir(tmp_path),
               "BAD": bad_store(tmp_path), "STORE_WITHOUT_INFLUENCE": tmp_path / "plain.nc",
               "CHUNK_MISSING": damaged_store(tmp_path, "missing"),
               "CHUNK_GARBAGE": damaged_store(tmp_path, "garbage"),
               "NAN_REWARD": nan_reward_store(tmp_path)}
    synthetic().to_netcdf(targets["STORE_WITHOUT_INFLUENCE"], engine="scipy")
    store = [str(targets.get(a, a)) for a in args if a in targets] or [str(run_dir)]
    options = [a for a in args if a not in targets]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["analyze", *store, *options, "--out", str(out)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error: ")
    assert re.search(message, result.output)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_analyze_refuses_an_out_another_analyze_is_writing(run_dir, tmp_path) -> None:
    import fcntl

    out = tmp_path / "out"
    with open(tmp_path / ".out.lock", "w") as held:  # as a running analyze holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        result = invoke("analyze", run_dir, "--measures", "te", "--out", out)
    assert result.exit_code == 2
    assert result.output == (f"Error: another 'infoflow analyze' is writing to {out}; wait for "
                             "it to finish or pass another --out\n")
    assert not out.exists()


def test_analyze_out_below_a_file_is_one_line(run_dir, tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    result = invoke("analyze", run_dir, "--measures", "te", "--out", tmp_path / "file" / "out")
    assert result.exit_code == 2
    assert "Error: cannot write --out" in result.output and "pass a writable --out folder" \
        in result.output and len(result.output.splitlines()) == 1


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
    assert re.search(message, result.output)
    assert not out.exists()


def test_analyze_with_rewards_prints_returns_and_equality(tmp_path) -> None:
    ds = synthetic()
    ds["reward"] = ds["action"].astype("float32")  # return = sum of the action codes
    ds.to_netcdf(tmp_path / "traj.nc", engine="scipy")
    result = invoke("analyze", tmp_path / "traj.nc", "--measures", "te", "--permutations", 20,
                    "--lags", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    collective = next(ln for ln in lines if ln.startswith("collective return (mean per"))
    assert float(collective.split()[-1]) == pytest.approx(
        float(ds["reward"].sum(("step", "agent")).mean()), rel=1e-3)
    assert any(ln.startswith("equality, 1 - Gini") for ln in lines)
    header = lines.index("agent    return")  # per-agent table: only returns were computed
    returns = ds["reward"].sum("step").mean("episode").values
    for i, row in enumerate(lines[header + 1:header + 4]):
        assert row.split()[0] == f"agent_{i}"
        assert float(row.split()[1]) == pytest.approx(returns[i], rel=1e-3)
    assert "KL influence vs MI vs TE" not in result.output  # kl not computed


@pytest.mark.parametrize(("measures", "graph_measure"), [("kl", "kl"), ("comm", "ic_symbol")])
def test_analyze_without_te_mi_draws_edges_above_the_mean(run_dir, tmp_path, measures,
                                                          graph_measure) -> None:
    out = tmp_path / "out"
    result = invoke("analyze", run_dir, "--measures", measures, "--out", out)
    assert result.exit_code == 0, result.output
    results = read_results(out / "analysis.nc")
    var = "kl_mean" if measures == "kl" else graph_measure
    values = results[var].values[~np.eye(3, dtype=bool)]
    mean = float(np.nanmean(values))
    assert f"edges ({graph_measure} above {mean:.4g}, its mean over pairs):" in result.output
    g = read_graph(out / "graph.json")
    assert g.graph == {"measure": graph_measure, "threshold": pytest.approx(mean)}
    assert 0 < g.number_of_edges() < 6  # not every pair
    if measures == "kl":
        assert list(g.edges) == [("agent_0", "agent_1")]


def test_analyze_replaces_earlier_outputs_and_keeps_user_files(run_dir, tmp_path) -> None:
    out = tmp_path / "out"
    assert invoke("analyze", run_dir, "--permutations", 50, "--out", out).exit_code == 0
    assert (out / "comparison.txt").is_file()
    (out / "notes.md").write_text("mine")
    old = (out / "analysis.nc").stat().st_mtime_ns
    result = invoke("analyze", run_dir, "--measures", "te", "--permutations", 20, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "analysis.nc", "graph.gexf", "graph.graphml", "graph.json", "graph.png", "notes.md",
        "report.html"]
    assert (out / "notes.md").read_text() == "mine"
    assert (out / "analysis.nc").stat().st_mtime_ns >= old
    assert read_results(out / "analysis.nc").attrs["measures"] == "te"
    # graph re-exports into the analysis folder: analysis.nc and the plots stay
    result = invoke("graph", out / "analysis.nc", "--alpha", 0.01)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "analysis.nc", "graph.gexf", "graph.graphml", "graph.json", "graph.png", "notes.md",
        "report.html"]


@pytest.mark.parametrize("surrogates", ["episodes", "circular"])
def test_analyze_surrogates_option(run_dir, tmp_path, surrogates) -> None:
    out = tmp_path / "out"
    result = invoke("analyze", run_dir, "--measures", "te", "--permutations", 20, "--lags", "1",
                    "--surrogates", surrogates, "--out", out)
    assert result.exit_code == 0, result.output
    results = read_results(out / "analysis.nc")
    assert results.attrs["surrogates"] == surrogates
    assert results.attrs["te_surrogates"] == surrogates


def test_analyze_names_lags_without_samples(tmp_path) -> None:
    ds = coupled_actions(n_agents=3, n_symbols=3, n_episodes=10, n_steps=5,
                         couplings=((0, 1, 1, 0.7),), seed=0)
    ds.to_netcdf(tmp_path / "short.nc", engine="scipy")
    result = invoke("analyze", tmp_path / "short.nc", "--measures", "te,mi", "--lags", "1,5,6",
                    "--permutations", 20)
    assert result.exit_code == 0, result.output
    assert "te at lag(s) 5, 6 has no sample (the longest episode has 5 steps)" in result.output
    assert "mi at lag(s) 5, 6 has no sample" in result.output


def test_graph_reads_a_netcdf4_copy(run_dir, tmp_path) -> None:
    out = tmp_path / "a"
    assert invoke("analyze", run_dir, "--measures", "te", "--permutations", 20,
                  "--out", out).exit_code == 0
    read_results(out / "analysis.nc").to_netcdf(tmp_path / "copy.nc", engine="h5netcdf")
    result = invoke("graph", tmp_path / "copy.nc", "--out", tmp_path / "g")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g" / "graph.graphml").is_file()
