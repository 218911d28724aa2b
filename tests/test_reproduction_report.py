"""benchmarks/reproduction.py report: the numbers of docs/reproduction.md from hand-made data."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("agent_steps,worker,episode,steps_per_s,wall_s,lr,collective_return,equality,"
          "influence_reward,beta,train_influence_reward,extrinsic_reward")


def _module():
    spec = importlib.util.spec_from_file_location("reproduction",
                                                  ROOT / "benchmarks" / "reproduction.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(data: Path, name: str, seed: int, final: float, beta: float, c: float, e: float,
         kl: list[float] | None = None) -> None:
    """A run of 100 agent steps: 10 episodes; the last one (steps >= 90) returns ``final``."""
    run = data / "runs" / name
    run.mkdir(parents=True)
    (run / "config.toml").write_text(f"[trainer]\nseed = {seed}\ntotal_steps = 100\n")
    rows = [HEADER]
    for i in range(10):
        ret = final if i == 9 else 1.0
        rows.append(f"{(i + 1) * 10 - 1},0,{i},1,1,0.1,{ret},0.9,{c},{beta},{c},{e}")
    (run / "metrics.csv").write_text("\n".join(rows) + "\n")
    (run / "evaluation.json").write_text(json.dumps({"episodes": 8, "metrics": {
        "collective return (mean per episode)": final, "max IC action/action (bits)": 0.5}}))
    lines = ["source,target,kl,mi_lag1,mi_lag1_p,te_bivariate,te_bivariate_lag,te_bivariate_p,"
             "te_multivariate,te_multivariate_lags"]
    for i, k in enumerate(kl or [math.nan] * 3):
        lines.append(f"a,b{i},{k},{0.1 * (i + 1)},0.01,{0.2 * (i + 1)},1,0.01,"
                     f"{0.3 if i == 2 else 'nan'},")
    (run / "pairs.csv").write_text("\n".join(lines) + "\n")


def test_report_tables_match_hand_computed_values(tmp_path):
    data = tmp_path / "data"
    for seed, final in enumerate([100.0, 101.0, 102.0]):
        _run(data, f"harvest_a3c-s{seed}", seed, final, 0.0, 0.0, 0.5)
        _run(data, f"harvest_influence-s{seed}", seed, 2 * final, 0.2, 0.01, 0.5,
             kl=[0.001, 0.002, 0.003])
    out = tmp_path / "reproduction.md"
    _module().report(data, out)
    text = out.read_text()
    # final collective return over the last 10 % (the last episode): 100, 101, 102 -> mean
    # 101, t-interval 101 +- t(0.975, 2) * 1 / sqrt(3)
    half = 4.302652729911275 / math.sqrt(3)
    assert f"| A3C baseline | 101.0 [{101 - half:.1f}, {101 + half:.1f}] | 3 | 100 | 485 |" in text
    assert "| Influence - basic | 202.0 [" in text and "| 1073 |" in text
    assert "harvest_influence > harvest_a3c: the 95 % intervals do not overlap" in text
    assert "Ordering by mean: ours Influence - basic > A3C baseline" in text
    # influence reward size: beta * c / e = 0.2 * 0.01 / 0.5
    assert "| Influence - basic | 0.2 | 0.01 | 0.002 | 0.5 | 0.004 |" in text
    assert "(None episodes per seed" not in text
    assert "| A3C baseline | 101 | - | 0.5 |" in text  # evaluation: return, equality, IC
    assert "(8 episodes per seed; mean across seeds)" in text
    # KL vs MI vs TE: perfectly monotone pairs -> Spearman 1; one multivariate edge per run
    assert "Spearman rank correlation of the pair's mean logged influence with its lagged MI " \
           "at lag 1: 1; with its bivariate TE: 1 (a description" in text
    assert "Multivariate TE edges: 3; median influence of their pairs 0.003" in text
    assert (tmp_path / "reproduction" / "harvest_curves.png").stat().st_size > 10_000
    assert (tmp_path / "reproduction" / "kl_mi_te.png").stat().st_size > 10_000


def test_last_fraction_mean_ignores_earlier_episodes():
    module = _module()

    class Run:
        steps = np.arange(0, 100, 10)
        budget = 100
        columns = {"beta": np.arange(10, dtype=float)}
    assert module._last(Run, "beta") == pytest.approx(9.0)
    assert math.isnan(module._last(Run, "missing"))
