"""infoflow.measures against pyinform, hand-worked values, padding and episode boundaries."""

from __future__ import annotations

import numpy as np
import pyinform
import pytest

from infoflow.measures import (
    conditional_entropy,
    conditional_mutual_info,
    entropy,
    joint_entropy,
    lagged_mutual_info,
    mutual_info,
    pairwise_lagged_mutual_info,
    pairwise_transfer_entropy,
    transfer_entropy,
)

LN2 = np.log(2.0)


def _series(rng, n_symbols, shape):
    """Random symbols that hit the top symbol (pyinform infers its base as max + 1)."""
    x = rng.integers(0, n_symbols, shape)
    x.flat[0] = n_symbols - 1
    return x


@pytest.mark.parametrize("n_symbols", [2, 8, 9])
def test_entropy_mi_equal_pyinform(n_symbols):
    rng = np.random.default_rng(n_symbols)
    x = _series(rng, n_symbols, 500)
    y = (x + rng.integers(0, 2, 500)) % n_symbols  # dependent on x
    assert entropy(x) == pytest.approx(pyinform.block_entropy(x, 1), abs=1e-9)
    assert mutual_info(x, y) == pytest.approx(pyinform.mutual_info(x, y), abs=1e-9)
    assert conditional_entropy(x, y) == pytest.approx(
        pyinform.conditional_entropy(y, x), abs=1e-9  # pyinform: H(ys | xs)
    )
    assert joint_entropy(x, y) == pytest.approx(
        pyinform.conditional_entropy(y, x) + pyinform.block_entropy(y, 1), abs=1e-9
    )
    local = mutual_info(x, y, local=True)
    np.testing.assert_allclose(local[0], pyinform.mutual_info(x, y, local=True), atol=1e-9)


@pytest.mark.parametrize("n_symbols", [2, 8, 9])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_transfer_entropy_equals_pyinform(n_symbols, k):
    rng = np.random.default_rng(10 * n_symbols + k)
    y = _series(rng, n_symbols, 3000)
    x = np.where(rng.random(3000) < 0.3, np.roll(y, 1), rng.integers(0, n_symbols, 3000))
    expected = pyinform.transfer_entropy(y, x, k)
    assert transfer_entropy(y, x, k=k) == pytest.approx(expected, abs=1e-9)
    # multi-episode 2-D input: pyinform treats rows as separate initial conditions
    y2, x2 = y.reshape(6, 500), x.reshape(6, 500)
    assert transfer_entropy(y2, x2, k=k) == pytest.approx(
        pyinform.transfer_entropy(y2, x2, k), abs=1e-9
    )
    local = transfer_entropy(y2, x2, k=k, local=True)
    np.testing.assert_allclose(local[:, k:], pyinform.transfer_entropy(y2, x2, k, local=True),
                               atol=1e-9)
    assert np.isnan(local[:, :k]).all()
    assert np.nanmean(local) == pytest.approx(transfer_entropy(y2, x2, k=k), abs=1e-12)


@pytest.mark.parametrize("lag", [2, 3, 5])
def test_lagged_te_equals_pyinform_on_shifted_series(lag):
    rng = np.random.default_rng(lag)
    y = _series(rng, 4, (3, 800))
    x = rng.integers(0, 4, (3, 800))
    x[:, lag:] = np.where(rng.random((3, 800 - lag)) < 0.5, y[:, :-lag], x[:, lag:])
    shift = lag - 1  # y'_t = y_{t - shift}: pyinform's lag-1 TE of y' is our lag-u TE
    expected = pyinform.transfer_entropy(y[:, : 800 - shift], x[:, shift:], 1)
    assert transfer_entropy(y, x, k=1, lag=lag) == pytest.approx(expected, abs=1e-9)


def test_lagged_mi_equals_shifted_mi():
    rng = np.random.default_rng(3)
    y, x = _series(rng, 5, 1000), _series(rng, 5, 1000)
    x[2:] = np.where(rng.random(998) < 0.4, y[:-2], x[2:])
    for lag in (0, 1, 2, 4):
        expected = pyinform.mutual_info(y[: 1000 - lag], x[lag:])
        assert lagged_mutual_info(y, x, lag=lag) == pytest.approx(expected, abs=1e-9)


def test_hand_values():
    coin = np.array([0, 1] * 8)
    assert entropy(coin) == 1.0
    assert mutual_info(coin, coin) == 1.0  # identical fair coins share 1 bit
    assert entropy([0, 1, 2, 3]) == 2.0
    assert conditional_entropy([0, 0, 1, 1], [0, 1, 0, 1]) == 1.0
    assert conditional_mutual_info([0, 1, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1]) == 1.0
    # XOR: pairwise independent, but Z makes X and Y fully dependent
    x, y = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    assert mutual_info(x, y) == 0.0
    assert conditional_mutual_info(x, y, x ^ y) == 1.0


def test_copy_channel_te_equals_source_entropy():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, (4, 2000))
    x = np.full_like(y, 0)
    x[:, 1:] = y[:, :-1]  # x_t = y_{t-1}
    # all of X_t's uncertainty given its past is removed by Y_{t-1}: TE = H(X_t | X_{t-1})
    expected = conditional_entropy(x[:, 1:], x[:, :-1])
    assert transfer_entropy(y, x) == pytest.approx(expected, abs=1e-12)
    assert transfer_entropy(y, x) == pytest.approx(entropy(y[:, :-1]), abs=0.01)  # ≈ 2 bits
    assert transfer_entropy(y, x, k=0) == pytest.approx(entropy(y[:, :-1]), abs=1e-12)


def test_independent_series_bias_bound():
    rng = np.random.default_rng(1)
    n, a = 20000, 4
    y, x = rng.integers(0, a, n), rng.integers(0, a, n)
    bias = a * (a - 1) * (a - 1) / (2 * (n - 1) * LN2)  # extra cells / (2 N ln 2)
    te = transfer_entropy(y, x)
    assert 0.3 * bias < te < 2.5 * bias
    te_mm = transfer_entropy(y, x, bias="miller-madow")
    assert abs(te_mm) < 0.5 * bias
    mi = mutual_info(x, y)
    assert 0.2 * (a - 1) ** 2 / (2 * n * LN2) < mi < 3 * (a - 1) ** 2 / (2 * n * LN2)


def test_miller_madow_hand_case():
    x = [0, 0, 0, 1]  # H = 0.811278..., m = 2 occupied, N = 4
    plug = -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25))
    assert entropy(x) == pytest.approx(plug, abs=1e-12)
    assert entropy(x, bias="miller-madow") == pytest.approx(plug + 1 / (8 * LN2), abs=1e-12)
    assert entropy(x, bias=True) == entropy(x, bias="miller-madow")
    # MI: H(X) + H(Y) - H(X,Y) with (m - 1) / (2 N ln 2) on each term
    x, y = [0, 0, 1, 1], [0, 1, 1, 1]
    m_terms = (2 - 1) + (2 - 1) - (3 - 1)
    expected = mutual_info(x, y) + m_terms / (8 * LN2)
    assert mutual_info(x, y, bias="miller-madow") == pytest.approx(expected, abs=1e-12)


def test_padding_and_episode_boundaries(cmi):
    rng = np.random.default_rng(2)
    lengths = [300, 120, 257]
    y = np.full((3, 300), -1)
    x = np.full((3, 300), -1)
    for e, n in enumerate(lengths):
        y[e, :n] = rng.integers(0, 3, n)
        x[e, :n] = rng.integers(0, 3, n)
        x[e, 2:n] = np.where(rng.random(n - 2) < 0.5, y[e, : n - 2], x[e, 2:n])
    for k, lag in [(1, 1), (2, 2), (3, 1)]:
        # by hand: count the valid segments of each episode separately, pooled in one table
        segs_y = [y[e, : lengths[e]] for e in range(3)]
        segs_x = [x[e, : lengths[e]] for e in range(3)]
        pooled = _bruteforce_te(cmi, segs_y, segs_x, k, 1, lag)
        assert transfer_entropy(y, x, k=k, lag=lag) == pytest.approx(pooled, abs=1e-12)
    # equal-length valid segments: same as pyinform on the stacked 2-D array
    assert transfer_entropy(y[:, :120], x[:, :120], k=2) == pytest.approx(
        pyinform.transfer_entropy(y[:, :120], x[:, :120], 2), abs=1e-9
    )
    # concatenating episodes would let histories cross the boundary: a different value
    flat_y = np.concatenate(segs_y)
    flat_x = np.concatenate(segs_x)
    assert transfer_entropy(flat_y, flat_x, k=2) != pytest.approx(transfer_entropy(y, x, k=2))
    assert entropy(y) == pytest.approx(entropy(flat_y), abs=1e-12)
    local = transfer_entropy(y, x, k=1, local=True)
    assert np.isnan(local[1, 120:]).all() and np.isfinite(local[1, 1:120]).all()


def _bruteforce_te(cmi, ys, xs, k, l, lag):
    """TE from dictionary counts over separate 1-D episodes (reference implementation)."""
    from collections import Counter

    joint: Counter = Counter()
    for y, x in zip(ys, xs, strict=True):
        for t in range(max(k, lag + l - 1), len(x)):
            joint[(x[t], tuple(y[t - lag - l + 1 : t - lag + 1]), tuple(x[t - k : t]))] += 1
    return cmi(joint)


def test_pairwise_equals_single_calls():
    rng = np.random.default_rng(4)
    acts = rng.integers(0, 3, (4, 400, 3))
    acts[:, 2:, 1] = np.where(rng.random((4, 398)) < 0.6, acts[:, :-2, 0], acts[:, 2:, 1])
    acts[3, 350:] = -1  # one shorter episode
    te = pairwise_transfer_entropy(acts, lags=[1, 2, 3], k=2, l=2)
    mi = pairwise_lagged_mutual_info(acts, lags=[0, 2])
    for s in range(3):
        for t in range(3):
            if s == t:
                assert np.isnan(te[s, t]).all() and np.isnan(mi[s, t]).all()
                continue
            for i, lag in enumerate([1, 2, 3]):
                single = transfer_entropy(acts[..., s], acts[..., t], k=2, l=2, lag=lag)
                assert te[s, t, i] == pytest.approx(single, abs=1e-12)
            for i, lag in enumerate([0, 2]):
                single = lagged_mutual_info(acts[..., s], acts[..., t], lag=lag)
                assert mi[s, t, i] == pytest.approx(single, abs=1e-12)
    assert np.nanargmax(te[0, 1]) == 1  # the planted lag 2
    mm = pairwise_transfer_entropy(acts, lags=[2], bias="miller-madow")
    assert mm[0, 1, 0] == pytest.approx(
        transfer_entropy(acts[..., 0], acts[..., 1], lag=2, bias="miller-madow"), abs=1e-12
    )


def test_pairwise_accepts_dataset():
    xr = pytest.importorskip("xarray")
    acts = np.array([[0, 1], [1, 0], [1, 1], [0, 1], [0, 0], [1, 0]])[None]
    ds = xr.Dataset(
        {"action": (("episode", "step", "agent"), acts.astype(np.int16))},
        coords={"agent": ["a", "b"]},
    )
    np.testing.assert_array_equal(
        pairwise_transfer_entropy(ds, lags=[1]), pairwise_transfer_entropy(acts, lags=[1])
    )
    swapped = ds.transpose("agent", "step", "episode")
    np.testing.assert_array_equal(
        pairwise_transfer_entropy(swapped, lags=[1]), pairwise_transfer_entropy(acts, lags=[1])
    )


def _array(dims):
    import xarray as xr

    return xr.DataArray(np.zeros((4, 2), dtype=np.int16), dims=dims)


def _dataset_without_action():
    import xarray as xr

    return xr.Dataset({"reward": (("episode", "step"), np.zeros((1, 3)))})


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: entropy(np.zeros((2, 2, 2), int)), "1-D \\[step\\] or 2-D"),
        (lambda: entropy([0.5, 1.0]), "integer symbols"),
        (lambda: entropy([0, -2]), "below -1"),
        (lambda: entropy([0, 5], n_symbols=3), "n_symbols >= 6"),
        (lambda: mutual_info([0, 1], [0, 1, 1]), "same \\[episode, step\\] shape"),
        (lambda: transfer_entropy([0, 1], [1, 0], lag=0), "lags must be >= 1"),
        (lambda: transfer_entropy([0, 1], [1, 0], l=0), "history length l"),
        (lambda: entropy([0, 1], bias="jackknife"), "bias must be"),
        (lambda: entropy([0, 1], bias=True, local=True), "local values are plug-in"),
        (lambda: pairwise_transfer_entropy(np.zeros((3, 4, 1), int)), "at least 2 agents"),
        (lambda: lagged_mutual_info([0, 1], [1, 0], lag=-1), "lag must be >= 0"),
        (lambda: pairwise_transfer_entropy(np.zeros((2, 3), int)[None, None]), "must be"),
        (lambda: pairwise_lagged_mutual_info(_array(("step", "player"))), "expected"),
        (lambda: pairwise_transfer_entropy(_dataset_without_action()), "no 'action' variable"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_long_histories_use_relabelled_codes(cmi):
    # 9**(5 + 3 + 1) cells exceed the dense table limit: codes are relabelled to observed states
    rng = np.random.default_rng(5)
    y, x = rng.integers(0, 9, (3, 400)), rng.integers(0, 9, (3, 400))
    value = transfer_entropy(y, x, k=5, l=3, lag=2)
    assert value == pytest.approx(np.nanmean(transfer_entropy(y, x, k=5, l=3, lag=2, local=True)),
                                  abs=1e-9)
    pair = pairwise_transfer_entropy(np.stack([y, x], axis=2), lags=[2], k=5, l=3)
    assert pair[0, 1, 0] == pytest.approx(value, abs=1e-12)
    assert value == pytest.approx(_bruteforce_te(cmi, list(y), list(x), 5, 3, 2), abs=1e-9)


def test_all_padding_gives_nan():
    x = np.full((2, 5), -1)
    assert np.isnan(entropy(x, n_symbols=2))
    assert np.isnan(transfer_entropy(x, x, n_symbols=2))
