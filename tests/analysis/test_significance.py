"""infoflow.significance: BH-FDR, permutation calibration, and recovery of planted edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from infoflow.significance import MIN_EPISODES_FOR_SHUFFLE, fdr_bh, network_inference

ALPHA = 0.05


def test_fdr_bh_hand_example():
    # m = 5, thresholds alpha * i / m = .01 .02 .03 .04 .05; sorted p: .001 .03 .032 .04 .5
    # p_(4) = .04 <= .04 is the largest passing rank, so the step-up rejects ranks 1..4,
    # including .03 and .032 which fail their own thresholds.
    p = [0.001, 0.03, 0.032, 0.5, 0.04]
    assert fdr_bh(p, 0.05).tolist() == [True, True, True, False, True]
    assert fdr_bh([0.01, 0.04, 0.03, 0.20], 0.05).tolist() == [True, False, False, False]
    assert fdr_bh([0.2, 0.3], 0.05).tolist() == [False, False]
    grid = np.array([[np.nan, 0.001], [0.04, np.nan]])  # NaN: not tested, m = 2
    assert fdr_bh(grid, 0.05).tolist() == [[False, True], [True, False]]


def test_fdr_bh_matches_scipy():
    rng = np.random.default_rng(0)
    for size in (1, 7, 60, 500):
        p = np.concatenate([rng.random(size) ** 3, rng.random(size)])
        for alpha in (0.01, 0.05, 0.2):
            expected = stats.false_discovery_control(p, method="bh") <= alpha
            np.testing.assert_array_equal(fdr_bh(p, alpha), expected)


@pytest.mark.parametrize(
    ("p", "alpha", "match"),
    [([0.1, 1.5], 0.05, "lie in \\[0, 1\\]"), ([0.1], 0.0, "alpha must be in")],
)
def test_fdr_bh_bad_input(p, alpha, match):
    with pytest.raises(ValueError, match=match):
        fdr_bh(p, alpha)


def _false_positive_rate(n_symbols, k, shape, lags, n_datasets, surrogates="auto"):
    """Fraction of tests significant at ALPHA (no FDR) on independent agents, and the same
    fraction under the asymptotic null 2 N ln2 TE ~ chi2(A^k (A - 1)^2).

    Many small datasets (two agents each) rather than a few large ones: tests on one dataset
    share its series and surrogates, so their outcomes are correlated."""
    significant = chi2_significant = tested = 0
    for seed in range(n_datasets):
        acts = np.random.default_rng(seed).integers(0, n_symbols, shape)
        res = network_inference(acts, lags=lags, k=k, permutations=199, fdr=False, seed=seed,
                                surrogates=surrogates)
        mask = np.isfinite(res.value.values)
        tested += int(mask.sum())
        significant += int(res.significant.values[mask].sum())
        n = shape[0] * (shape[1] - max(k, max(lags)))
        chi2_p = stats.chi2.sf(2 * n * np.log(2) * res.value.values[mask],
                               n_symbols**k * (n_symbols - 1) ** 2)
        chi2_significant += int((chi2_p <= ALPHA).sum())
    return significant / tested, chi2_significant / tested, tested


def test_false_positive_rate_episode_shuffle():
    fpr, chi2_fpr, tested = _false_positive_rate(4, 1, (10, 200, 2), (1, 2), 100)
    assert tested == 400
    assert fpr <= ALPHA + 0.02
    assert chi2_fpr <= ALPHA + 0.03  # dense tables: the asymptotic null is fine here


def test_false_positive_rate_circular_shift():
    fpr, _, tested = _false_positive_rate(4, 1, (2, 500, 2), (1, 2), 100, "circular")
    assert tested == 400
    assert fpr <= ALPHA + 0.02


def test_false_positive_rate_sparse_where_chi2_fails():
    # A = 9, k = 3: 46,656 cells of (source, next, past) for 10^4 samples per test
    fpr, chi2_fpr, tested = _false_positive_rate(9, 3, (10, 1000, 2), (1,), 100)
    assert tested == 200
    assert fpr <= ALPHA + 0.02
    assert abs(chi2_fpr - ALPHA) > 0.04  # the asymptotic null is far off here


def _planted(seed, n_episodes=10, n_steps=1000, min_length=None):
    synthetic = pytest.importorskip("infoflow.synthetic")
    couplings = [(0, 1, 1, 0.4), (2, 3, 2, 0.4), (3, 4, 3, 0.5)]
    ds = synthetic.coupled_actions(5, 8, n_episodes, n_steps, couplings=couplings, seed=seed,
                                   min_length=min_length)
    return ds, {(c[0], c[1], c[2]) for c in couplings}


@pytest.mark.parametrize(("seed", "min_length"), [(0, None), (1, None), (2, 400)])
def test_recovers_planted_edges(seed, min_length):
    ds, planted = _planted(seed, min_length=min_length)  # seed 2: ragged, padded episodes
    res = network_inference(ds, lags=(1, 2, 3), permutations=500, seed=seed)
    lags = res.lag.values
    found = {(int(s), int(t), int(lags[u])) for s, t, u in np.argwhere(res.significant.values)}
    assert found == planted
    assert list(res.source.values) == [f"agent_{i}" for i in range(5)]
    assert res.p_value.values[0, 1, 0] == pytest.approx(1 / 501)
    assert res.n_permutations.values[0, 1, 0] == 500


def test_recovers_with_circular_shifts_and_mi():
    ds, planted = _planted(5, n_episodes=2, n_steps=3000)
    res = network_inference(ds, lags=(1, 2, 3), permutations=500, seed=1)
    assert res.attrs["surrogates"] == "circular"
    lags = res.lag.values
    found = {(int(s), int(t), int(lags[u])) for s, t, u in np.argwhere(res.significant.values)}
    assert found == planted
    # 80 tests: BH needs p <= 0.05 * 3 / 80 for three edges, so more than 533 permutations
    mi = network_inference(ds, measure="mi", lags=(0, 1, 2, 3), permutations=999, seed=1)
    found = {(int(s), int(t), int(mi.lag.values[u]))
             for s, t, u in np.argwhere(mi.significant.values)}
    assert found == planted


def test_adaptive_stop_keeps_decisions():
    ds, _ = _planted(3, n_episodes=10, n_steps=300)
    full = network_inference(ds, lags=(1, 2), permutations=200, seed=4, adaptive=False)
    fast = network_inference(ds, lags=(1, 2), permutations=200, seed=4, adaptive=True)
    np.testing.assert_array_equal(full.significant.values, fast.significant.values)
    done = fast.n_permutations.values == 200
    np.testing.assert_array_equal(full.p_value.values[done], fast.p_value.values[done])
    stopped = np.isfinite(fast.value.values) & ~done
    assert stopped.sum() > 10  # null tests stop early ...
    assert (fast.p_value.values[stopped] > ALPHA).all()  # ... and only when p > alpha is sure
    assert (full.n_permutations.values[np.isfinite(full.value.values)] == 200).all()


def test_result_dataset_layout():
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 3, (MIN_EPISODES_FOR_SHUFFLE, 100, 3))
    res = network_inference(acts, lags=[1, 2], permutations=40, seed=0, bias="miller-madow")
    assert dict(res.sizes) == {"source": 3, "target": 3, "lag": 2}
    assert set(res.data_vars) == {"value", "p_value", "null_mean", "null_std",
                                  "n_permutations", "significant"}
    assert list(res.source.values) == ["0", "1", "2"] and list(res.lag.values) == [1, 2]
    assert res.attrs["surrogates"] == "episodes" and res.attrs["estimator"] == "miller-madow"
    assert res.attrs["measure"] == "te" and res.attrs["permutations"] == 40
    diag = np.eye(3, dtype=bool)
    assert np.isnan(res.value.values[diag]).all() and not res.significant.values[diag].any()
    assert np.isfinite(res.p_value.values[~diag]).all()
    assert (res.null_std.values[~diag] > 0).all()
    same = network_inference(acts, lags=[1, 2], permutations=40, seed=0, bias="miller-madow")
    np.testing.assert_array_equal(res.p_value.values, same.p_value.values)  # seeded


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"measure": "kl"}, "measure must be"),
        ({"surrogates": "bootstrap"}, "surrogates must be"),
        ({"permutations": 0}, "permutations must be"),
        ({"alpha": 1.5}, "alpha must be"),
        ({"lags": [0]}, "lags must be >= 1"),
        ({"lags": [40], "surrogates": "circular"}, "circular shifts need episodes longer"),
        ({"k": 30, "l": 9}, "too many states"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    acts = np.random.default_rng(0).integers(0, 9, (2, 60, 2))
    with pytest.raises(ValueError, match=match):
        network_inference(acts, **kwargs)


@pytest.mark.parametrize(("k", "l"), [(1, 1), (2, 2), (0, 1)])
def test_surrogate_kernel_equals_explicit_surrogates(k, l):
    """Kernel surrogates equal TE on explicitly re-paired (shuffled or rolled) source series."""
    from infoflow.measures import transfer_entropy
    from infoflow.measures._tables import prepare_codes, run_tables, sums_to_bits

    rng = np.random.default_rng(k + 3 * l)
    lengths = np.array([60, 45, 60, 52])
    acts = rng.integers(0, 3, (2, 4, 60))  # [agent, episode, step]
    for e, n in enumerate(lengths):
        acts[:, e, n:] = -1
    acts[0, 2, 10] = -1  # an interior gap
    codes = prepare_codes(acts, k, l, 3, targets=[1], sources=[0])
    lags = np.array([1, 3])
    perm = np.array([[2, 0, 3, 1], [0, 1, 2, 3]])
    shift = np.array([[0, 0, 0, 0], [7, 40, 1, 30]])
    null = sums_to_bits(run_tables(codes, [0], np.array([[0]]), lags, perm, shift))[0, :, 0]
    y, x = acts[0], acts[1]
    shuffled = y[perm[0]]
    rolled = np.full_like(y, -1)
    for e, n in enumerate(lengths):
        rolled[e, :n] = np.roll(y[e, :n], -shift[1, e])  # rolled[t] = y[(t + shift) mod n]
    for i, lag in enumerate(lags):
        assert null[0, i] == pytest.approx(transfer_entropy(shuffled, x, k=k, l=l, lag=lag),
                                           abs=1e-12)
        assert null[1, i] == pytest.approx(transfer_entropy(rolled, x, k=k, l=l, lag=lag),
                                           abs=1e-12)


def test_kernel_modes_agree():
    """The three loop orders of the kernel (dense all-sources, dense per table, sparse) agree."""
    from infoflow.measures._tables import make_xlogx, prepare_codes, run_tables

    rng = np.random.default_rng(7)
    acts = rng.integers(0, 4, (3, 5, 80))  # [agent, episode, step]
    acts[:, 1, 70:] = -1
    acts[2, 3, 5] = -1
    codes = prepare_codes(acts, 2, 2, 4)
    sources = np.array([[1, 2], [0, 2], [0, 1]])
    perm = np.array([[0, 1, 2, 3, 4], [3, 0, 4, 1, 2], [0, 1, 2, 3, 4]])
    shift = np.array([[0] * 5, [0] * 5, [9, 30, 11, 40, 25]])
    active = np.ones((3, 2, 2), dtype=bool)
    active[1, 0, 1] = False
    sums = [run_tables(codes, [0, 1, 2], sources, np.array([1, 4]), perm, shift, active,
                       make_xlogx(codes), mode=mode) for mode in (0, 1, 2)]
    np.testing.assert_allclose(sums[1], sums[0], atol=1e-9)
    np.testing.assert_allclose(sums[2], sums[0], atol=1e-9)
    assert (sums[0][1, :, 0, 1] == 0).all()  # inactive table left empty
    assert (sums[0][active.nonzero()[0], :, active.nonzero()[1], active.nonzero()[2], 0] > 0).all()
