"""infoflow._warmup: the numba warm-up runs on tiny inputs and leaves nothing to compile."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from infoflow._warmup import main, numba_dispatchers, warm_numba_cache


def test_warm_numba_cache_reaches_kernels_and_is_quick_once_warm():
    report = warm_numba_cache()  # may compile (cold cache); fills the cache either way
    assert report, "the warm-up reached no numba kernel"
    known = numba_dispatchers()
    for name, (compiled, loaded) in report.items():
        assert name in known
        assert compiled >= 0 and loaded >= 0 and compiled + loaded > 0
    start = time.perf_counter()
    again = warm_numba_cache()
    assert time.perf_counter() - start < 5.0
    assert again == {}, f"a second warm-up compiled or loaded again: {again}"


def test_main_quiet_prints_nothing(capsys):
    assert main(["--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_main_prints_a_table(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["kernel", "compiled", "loaded"]
    assert "signature(s) compiled and cached" in out


_LATER_RUN = textwrap.dedent("""
    import json, sys, tempfile
    from pathlib import Path
    import infoflow
    from infoflow import analysis
    from infoflow._warmup import numba_dispatchers
    from infoflow.synthetic import coupled_actions
    from infoflow.trajectory import TrajectoryWriter, open_trajectories

    ds = coupled_actions(n_agents=5, n_symbols=8, n_episodes=10, n_steps=100,
                         couplings=((0, 1, 1, 0.8), (2, 3, 2, 0.5)), seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.zarr"
        with TrajectoryWriter(path, agents=[str(a) for a in ds["agent"].values],
                              n_actions=int(ds.attrs["n_actions"])) as writer:
            writer.append(ds)
        analysis.analyze(open_trajectories(path), permutations=50)
    compiled = {name: sum(d.stats.cache_misses.values())
                for name, d in numba_dispatchers().items()}
    print(json.dumps({k: v for k, v in compiled.items() if v}))
""")


@pytest.mark.slow
def test_a_later_analysis_process_compiles_nothing():
    """After the warm-up, a fresh process analysing a store of another size (5 agents,
    8 actions) loads every kernel from the cache: the warm-up's signatures are the real ones."""
    warm_numba_cache()
    run = subprocess.run([sys.executable, "-c", _LATER_RUN], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    compiled = json.loads(run.stdout.strip().splitlines()[-1])
    assert compiled == {}, f"kernels compiled after the warm-up: {compiled}"
