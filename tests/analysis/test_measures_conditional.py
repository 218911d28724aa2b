"""Conditional TE and conditional MI against a brute-force dictionary-counting reference.

pyinform 0.2.0's conditional TE is not used as a reference: it is wrong on this data.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from infoflow.measures import conditional_mutual_info, conditional_transfer_entropy


def _brute_cte(cmi, y, x, zs, k, l, m, lag, clag):
    """Dictionary counts over (e, t) with every needed value valid, per episode."""
    joint: Counter = Counter()
    n_episodes, n_steps = x.shape
    for e in range(n_episodes):
        for t in range(n_steps):
            idx_x = list(range(t - k, t))
            idx_y = list(range(t - lag - l + 1, t - lag + 1))
            idx_z = list(range(t - clag - m + 1, t - clag + 1))
            if min([t, *idx_x, *idx_y, *idx_z]) < 0:
                continue
            values = [x[e, t], *x[e, idx_x], *y[e, idx_y]] + [v for z in zs for v in z[e, idx_z]]
            if min(values) < 0:
                continue
            cond = (tuple(x[e, idx_x]), tuple(tuple(z[e, idx_z]) for z in zs))
            joint[(x[e, t], tuple(y[e, idx_y]), cond)] += 1
    return cmi(joint)


def _data(seed, n_symbols=3, shape=(5, 200)):
    rng = np.random.default_rng(seed)
    z = rng.integers(0, n_symbols, shape)
    y = np.where(rng.random(shape) < 0.5, np.roll(z, 1, axis=1), rng.integers(0, n_symbols, shape))
    x = np.where(rng.random(shape) < 0.5, np.roll(z, 2, axis=1), rng.integers(0, n_symbols, shape))
    x[:, 1:] = np.where(rng.random((shape[0], shape[1] - 1)) < 0.3, y[:, :-1], x[:, 1:])
    for e, n in enumerate([200, 150, 199, 90, 200][: shape[0]]):  # ragged episodes
        x[e, n:] = y[e, n:] = z[e, n:] = -1
    y[0, 50] = -1  # an interior missing value
    return y, x, z


@pytest.mark.parametrize(
    ("k", "l", "m", "lag", "clag"),
    [(1, 1, 1, 1, 1), (2, 1, 1, 1, 2), (1, 2, 2, 2, 1), (3, 1, 1, 3, 1), (0, 1, 1, 1, 1)],
)
def test_conditional_te_equals_bruteforce(cmi, k, l, m, lag, clag):
    y, x, z = _data(k + 10 * lag)
    w = np.random.default_rng(99).integers(0, 3, x.shape)
    got = conditional_transfer_entropy(y, x, [z, w], k=k, l=l, m=m, lag=lag, condition_lag=clag)
    assert got == pytest.approx(_brute_cte(cmi, y, x, [z, w], k, l, m, lag, clag), abs=1e-10)
    stacked = conditional_transfer_entropy(
        y, x, np.stack([z, w], axis=2), k=k, l=l, m=m, lag=lag, condition_lag=clag
    )
    assert stacked == pytest.approx(got, abs=1e-12)
    local = conditional_transfer_entropy(
        y, x, [z, w], k=k, l=l, m=m, lag=lag, condition_lag=clag, local=True
    )
    assert local.shape == x.shape
    assert np.nanmean(local) == pytest.approx(got, abs=1e-10)


def test_conditioning_removes_common_driver(cmi):
    y, x, z = _data(7, shape=(5, 2000))
    z_only = conditional_transfer_entropy(y, x, z, lag=1, condition_lag=2)
    assert z_only == pytest.approx(_brute_cte(cmi, y, x, [z], 1, 1, 1, 1, 2), abs=1e-10)


def test_conditional_mi_equals_bruteforce(cmi):
    y, x, z = _data(3)
    joint: Counter = Counter()
    for e in range(x.shape[0]):
        for t in range(x.shape[1]):
            if min(x[e, t], y[e, t], z[e, t]) >= 0:
                joint[(x[e, t], y[e, t], z[e, t])] += 1
    assert conditional_mutual_info(x, y, z) == pytest.approx(cmi(joint), abs=1e-10)
    bias_free = conditional_mutual_info(x, y, z, bias="miller-madow")
    assert bias_free < conditional_mutual_info(x, y, z)
