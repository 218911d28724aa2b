"""report.html: one self-contained page of an analysis, from a store, a run and an analysis
folder; it opens in headless Chromium without console errors."""

import os
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from cli.main import cli
from infoflow import TrajectoryWriter, coupled_actions

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def write_store(path):
    ds = coupled_actions(n_agents=3, n_symbols=3, n_episodes=6, n_steps=150,
                         couplings=[(0, 1, 1, 0.8)], seed=0)
    with TrajectoryWriter(path, agents=list(ds["agent"].values), n_actions=3) as writer:
        writer.append(ds)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory: trajectories, config.toml and a metrics.csv of 8 episodes."""
    run = tmp_path_factory.mktemp("run")
    write_store(run / "trajectories.zarr")
    (run / "config.toml").write_text('[trainer]\nseed = 4\ntotal_steps = 800\n\n[env]\n'
                                     'game = "harvest"\n')
    rows = ["agent_steps,worker,episode,collective_return,equality,beta"]
    rows += [f"{100 * (i + 1)},0,{i},{10.0 * i},0.9,0.01" for i in range(8)]
    (run / "metrics.csv").write_text("\n".join(rows) + "\n")
    return run


def test_analyze_writes_a_self_contained_report_of_a_run(run_dir):
    result = CliRunner().invoke(cli, ["analyze", str(run_dir), "--permutations", "100"])
    assert result.exit_code == 0, result.output
    page = (run_dir / "analysis" / "report.html").read_text()
    assert not EXTERNAL.search(page)  # no URL to fetch: images are data: URIs
    assert page.count('src="data:image/png;base64,') >= 3  # graph, heat map, curves
    assert 'alt="influence graph"' in page and 'alt="learning curves"' in page
    assert "<th>te</th>" in page and "<th>te_p_value</th>" in page
    assert '<tr class="significant"><td>agent_0</td><td>agent_1</td>' in page
    assert "<th>ais</th>" in page and "stationarity:" in page
    assert "total_steps = 800" in page  # the run's config
    assert "<script" not in page


def test_report_command_from_a_store_and_from_an_analysis_folder(tmp_path):
    store = write_store(tmp_path / "store.zarr")
    first = CliRunner().invoke(cli, ["report", str(store)])
    assert first.exit_code == 0, first.output
    page = tmp_path / "analysis" / "report.html"
    assert page.is_file() and "no analysis of" in first.output
    page.unlink()
    again = CliRunner().invoke(cli, ["report", str(tmp_path / "analysis"),
                                     "--out", str(tmp_path / "mine.html")])
    assert again.exit_code == 0, again.output
    assert "Training run" not in (tmp_path / "mine.html").read_text()  # a store: no run
    assert not page.exists()


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("INFOFLOW_REQUIRE_BROWSER"):
        pytest.fail("no chromium on PATH, and INFOFLOW_REQUIRE_BROWSER is set (.ci/run "
                    "installs Debian's chromium)")
    pytest.skip("no chromium on PATH (.ci/run installs Debian's chromium)")


@pytest.mark.slow
def test_the_report_opens_in_headless_chromium_without_console_errors(run_dir, tmp_path):
    from PIL import Image

    browser = _chromium()
    page = run_dir / "analysis" / "report.html"
    if not page.exists():
        CliRunner().invoke(cli, ["analyze", str(run_dir), "--permutations", "100"])
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1100,1400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    pixels = Image.open(shot).convert("L")
    assert pixels.size == (1100, 1400)
    lo, hi = pixels.getextrema()
    assert hi - lo > 100  # not a blank page: text and the graph are drawn
