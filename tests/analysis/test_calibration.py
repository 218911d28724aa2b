"""Calibration of :func:`infoflow.multivariate.multivariate_te` on null models of learning
agents' logs (``null_models.py`` beside this file; the full study with the bivariate method,
other settings and the power table is ``benchmarks/bench_calibration.py``).

Each null test counts false edges over the class's null pairs (ordered pairs without
influence) of many seeded datasets and asserts FPR <= alpha + 0.02 over >= 200 tests.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from infoflow.multivariate import multivariate_te


def _load_null_models():
    name = "infoflow_tests_null_models"
    if name not in sys.modules:  # registered before exec: dataclasses look the module up
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("null_models.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


nm = _load_null_models()

ALPHA = 0.05
LIMIT = ALPHA + 0.02
PERMUTATIONS = 200


def _edges(actions: np.ndarray, seed: int, **options) -> np.ndarray:
    """Significant edges [source, target] of multivariate_te with lags (1, 2), history 2."""
    kwargs = {"lags": (1, 2), "max_history": 2, "permutations": PERMUTATIONS,
              "alpha": ALPHA, "seed": seed, **options}
    return multivariate_te(actions, **kwargs).significant.values


def _false_edges(make, n_datasets: int, seed: int, **options) -> tuple[int, int]:
    """(false edges, null-pair tests) over ``n_datasets`` datasets ``make(rng)``."""
    hits = tests = 0
    for i in range(n_datasets):
        data = make(np.random.default_rng([seed, i]))
        sig = _edges(data.actions, i, **options)
        hits += sum(bool(sig[s, t]) for s, t in data.null_pairs)
        tests += len(data.null_pairs)
    return hits, tests


#: Datasets per class: 6 null pairs per dataset, 2 for the common driver.
DATASETS = {"shared_drift": 100, "shared_trend": 50, "common_driver": 100,
            "unequal_lengths": 50, "few_episodes": 50, "skewed_marginals": 50}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(nm.NULL_CLASSES))
def test_null_class_false_positive_rate(name):
    make = nm.NULL_CLASSES[name]
    hits, tests = _false_edges(make, DATASETS[name], seed=31)
    assert tests >= 200
    assert hits / tests <= LIMIT, f"{name}: {hits}/{tests} false edges"


def _learning_curve(rng, n_episodes: int = 10):
    """Episodes of 300 steps along a learning curve: 80% of the drift of p(action 0) from
    0.1 to 0.7 in the first third of the episodes, so blocks of 5 consecutive episodes mix
    very different policies (FPR about 0.2 with ``block=5``)."""
    return nm.shared_drift(rng, n_episodes=n_episodes, n_steps=300, curve="saturating")


@pytest.mark.slow
@pytest.mark.parametrize(("n_episodes", "options"), [
    (10, {}),  # the defaults: too few episodes for blocks of 2, circular shifts + phase
    (20, {}),  # the defaults: blocks of 2 neighbouring episodes
    (10, {"context": ("episode",)}),
], ids=["default-10", "default-20", "context=episode"])
def test_fast_drift_false_positive_rate(n_episodes, options):
    hits, tests = _false_edges(lambda rng: _learning_curve(rng, n_episodes), 40, seed=32,
                               **options)
    assert tests >= 200
    assert hits / tests <= LIMIT, f"{options}: {hits}/{tests} false edges"


def test_blocks_of_5_fail_on_fast_drift():
    """Why the default block is 2: blocks of 5 episodes let a fast drift through."""
    hits, tests = _false_edges(_learning_curve, 40, seed=32, block=5)
    assert hits / tests > 0.1, f"{hits}/{tests}"


@pytest.mark.slow
def test_power_weak_copy():
    """A copy coupling 0 -> 1 with copy probability 0.2 (20 episodes x 100 steps) is found
    in at least 80% of datasets."""
    found = 0
    n_datasets = 30
    for i in range(n_datasets):
        data = nm.planted_copy(np.random.default_rng([33, i]), 0.2, n_episodes=20,
                               n_steps=100)
        found += bool(_edges(data.actions, i)[0, 1])
    assert found >= 0.8 * n_datasets, f"{found}/{n_datasets}"
