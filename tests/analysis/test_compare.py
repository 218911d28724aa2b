"""infoflow.compare and `infoflow compare`: curves and final returns across seeds, on hand-made
metrics files with known answers."""

import csv
import math

import numpy as np
import pytest
from scipy import stats

from infoflow.compare import (
    confidence_interval,
    final_table,
    find_runs,
    learning_curves,
    overlaps,
)

BUDGET = 1000


def make_run(folder, seed, returns, equality=0.5):
    """A run directory whose episodes end at agent steps 100, 200, ... with these returns."""
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(f"[trainer]\nseed = {seed}\ntotal_steps = {BUDGET}\n")
    with open(folder / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["agent_steps", "worker", "episode", "collective_return", "equality", "beta"])
        for i, r in enumerate(returns):
            w.writerow([100 * (i + 1), 0, i, r, equality, 0.1])
    return folder


@pytest.fixture
def experiment(tmp_path):
    runs = tmp_path / "exp" / "runs"
    # label "good": final (last 10 % of 1000 steps = the episode at 1000) 50, 52, 54
    for seed, last in zip((0, 1, 2), (50.0, 52.0, 54.0), strict=True):
        make_run(runs / f"good-s{seed}", seed, [0.0] * 9 + [last])
    # label "poor": 10, 11, 12
    for seed, last in zip((0, 1, 2), (10.0, 11.0, 12.0), strict=True):
        make_run(runs / f"poor-s{seed}", seed, [0.0] * 9 + [last])
    return tmp_path / "exp"


def test_intervals_match_scipy():
    x = [3.1, 4.7, 2.2, 5.0, 3.3]
    mean, low, high = confidence_interval(x)
    want = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert mean == pytest.approx(np.mean(x))
    assert (low, high) == pytest.approx(want, rel=1e-12)
    assert math.isnan(confidence_interval([1.0])[1])


def test_final_table_and_overlap_statements(experiment):
    runs = find_runs([experiment])
    assert sorted({r.label for r in runs}) == ["good", "poor"]
    table = final_table(runs)
    good, poor = table  # sorted by mean, highest first
    assert (good["label"], good["seeds"], good["budget"]) == ("good", 3, BUDGET)
    assert good["mean"] == pytest.approx(52.0)
    half = stats.t.ppf(0.975, 2) * np.std([50, 52, 54], ddof=1) / np.sqrt(3)
    assert (good["low"], good["high"]) == pytest.approx((52 - half, 52 + half))
    assert good["per_seed"] == {0: 50.0, 1: 52.0, 2: 54.0}
    assert overlaps(table) == ["good > poor: the 95 % intervals do not overlap"]
    wide = final_table(runs, last_fraction=1.0)  # every episode: 0.1 x the last value
    assert wide[0]["mean"] == pytest.approx(5.2)


def test_overlapping_intervals_are_said(tmp_path):
    for seed, last in enumerate((10.0, 30.0)):
        make_run(tmp_path / f"a-s{seed}", seed, [last])
    for seed, last in enumerate((15.0, 25.0)):
        make_run(tmp_path / f"b-s{seed}", seed, [last])
    table = final_table(find_runs(sorted(tmp_path.iterdir())))
    assert overlaps(table) == ["a vs b: the 95 % intervals overlap; their ordering is not "
                               "established by these seeds"]


def test_learning_curves_bin_the_episodes(experiment):
    curves = learning_curves(find_runs([experiment]), "collective_return", n_bins=10)
    good = curves["good"]
    np.testing.assert_allclose(good["steps"], np.arange(50, 1000, 100))
    # episode at step 100 * (i + 1) falls in bin i + 1 (bins [0,100), [100,200), ...), the
    # last one (step 1000) in the last bin
    assert good["n"].tolist() == [0] + [3] * 9
    assert good["mean"][-1] == pytest.approx((0 + 52) / 2)
    product = learning_curves(find_runs([experiment]), "return_x_equality", n_bins=10)
    assert product["good"]["mean"][-1] == pytest.approx(13.0)  # 26 x equality 0.5


def test_compare_command_writes_the_table_and_curves(experiment, tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    result = CliRunner().invoke(cli, ["compare", str(experiment)])
    assert result.exit_code == 0, result.output
    assert "| good | 52.0 | [47.0, 57.0] | 3 | 1,000 | 0: 50.0, 1: 52.0, 2: 54.0 |" in (
        result.output)
    assert "good > poor: the 95 % intervals do not overlap" in result.output
    out = experiment / "compare"
    assert (out / "curves.png").stat().st_size > 0
    rows = list(csv.DictReader(open(out / "final.csv")))
    assert [r["label"] for r in rows] == ["good", "poor"]
    assert float(rows[0]["mean"]) == pytest.approx(52.0)
    bad = CliRunner().invoke(cli, ["compare", str(tmp_path)])
    assert bad.exit_code == 2
    assert "is not a training run" in bad.output and len(bad.output.strip().splitlines()) == 1
    shares = CliRunner().invoke(cli, ["compare", str(experiment), "--metric", "equality",
                                      "--out", str(tmp_path / "eq")])
    assert shares.exit_code == 0, shares.output
    assert "| good | 0.500 | [0.500, 0.500] | 3 | 1,000 | 0: 0.500, 1: 0.500, 2: 0.500 |" in (
        shares.output)
    unknown = CliRunner().invoke(cli, ["compare", str(experiment), "--metric", "apples"])
    assert unknown.exit_code == 2 and "no run logs 'apples'; choose a metrics.csv column" in (
        unknown.output)


def test_a_label_keeps_its_colour_in_panels_that_lack_other_labels(tmp_path, monkeypatch):
    """MOA accuracy exists only for MOA runs: its line must not take the first label's colour
    (the legend is shared by all panels)."""
    from matplotlib.figure import Figure

    from infoflow.plots import plot_learning_curves

    steps = np.array([1.0, 2.0])
    curve = {"steps": steps, "mean": steps, "low": steps, "high": steps, "n": steps}
    curves = {"collective_return": {"a3c": curve, "moa": curve}, "moa_accuracy": {"moa": curve}}
    drawn = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.append(fig),
                                                                  save(fig, *a, **k)))
    plot_learning_curves(curves, tmp_path / "c.png")
    first, second = drawn[0].axes[:2]
    colours = {line.get_label(): line.get_color() for line in first.lines}
    assert colours["a3c"] != colours["moa"]
    assert [line.get_color() for line in second.lines] == [colours["moa"]]
