"""infoflow.significance: BH-FDR, permutation calibration, and recovery of planted edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from infoflow import synthetic
from infoflow.significance import fdr_bh, network_inference

MIN_EPISODES_FOR_SHUFFLE = 10

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


def _false_positive_rate(n_symbols, k, shape, lags, n_datasets, surrogates="auto",
                         lag_test="each"):
    """Fraction of tests significant at ALPHA (no FDR) on independent agents, and the same
    fraction under the asymptotic null 2 N ln2 TE ~ chi2(A^k (A - 1)^2).

    Many small datasets (two agents each) rather than a few large ones: tests on one dataset
    share its series and surrogates, so their outcomes are correlated."""
    significant = chi2_significant = tested = 0
    for seed in range(n_datasets):
        acts = np.random.default_rng(seed).integers(0, n_symbols, shape)
        res = network_inference(acts, lags=lags, k=k, permutations=199, fdr=False, seed=seed,
                                surrogates=surrogates, lag_test=lag_test)
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


def test_edge_test_calibration_on_independent_data():
    """Pair-level (max over lags 1-3) tests at alpha without FDR: false-positive rate of pairs."""
    significant = tested = 0
    for seed in range(100):
        acts = np.random.default_rng(1000 + seed).integers(0, 4, (10, 200, 2))
        res = network_inference(acts, lags=(1, 2, 3), permutations=199, fdr=False, seed=seed)
        pairs = np.isfinite(res.edge_p_value.values)
        tested += int(pairs.sum())
        significant += int(res.significant.any("lag").values[pairs].sum())
        assert (res.edge_p_value.values[pairs] >= res.p_value.min("lag").values[pairs]).all()
    assert tested == 200
    assert 0.02 <= significant / tested <= ALPHA + 0.02


def test_false_positive_rate_sparse_where_chi2_fails():
    # A = 9, k = 3: 46,656 cells of (source, next, past) for 10^4 samples per test
    fpr, chi2_fpr, tested = _false_positive_rate(9, 3, (10, 1000, 2), (1,), 100)
    assert tested == 200
    assert fpr <= ALPHA + 0.02
    assert abs(chi2_fpr - ALPHA) > 0.04  # the asymptotic null is far off here


def _planted(seed, n_episodes=10, n_steps=1000, min_length=None):
    couplings = [(0, 1, 1, 0.4), (2, 3, 2, 0.4), (3, 4, 3, 0.5)]
    ds = synthetic.coupled_actions(5, 8, n_episodes, n_steps, couplings=couplings, seed=seed,
                                   min_length=min_length)
    return ds, {(c[0], c[1], c[2]) for c in couplings}


def _edges(res):
    """Significant (source, target, lag) as agent indices and lags."""
    lags = res.lag.values
    return {(int(s), int(t), int(lags[u])) for s, t, u in np.argwhere(res.significant.values)}


@pytest.mark.parametrize("lag_test", ["max", "each"])
@pytest.mark.parametrize(("seed", "min_length"), [(0, None), (1, None), (2, 400)])
def test_recovers_planted_edges(seed, min_length, lag_test):
    ds, planted = _planted(seed, min_length=min_length)  # seed 2: ragged, padded episodes
    res = network_inference(ds, lags=(1, 2, 3), permutations=500, seed=seed, lag_test=lag_test)
    assert _edges(res) == planted
    assert list(res.source.values) == [f"agent_{i}" for i in range(5)]
    assert res.p_value.values[0, 1, 0] == pytest.approx(1 / 501)
    assert res.n_permutations.values[0, 1, 0] == 500
    assert res.attrs["lag_test"] == lag_test


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_recovers_a_single_planted_edge_with_500_permutations(seed):
    """One edge among 20 pairs: BH's rank-1 threshold 0.05/20 = 0.0025 >= 1/501 for the
    pair test, while the per-lag test's 0.05/60 = 0.00083 < 1/501 can never be met."""
    source, target, lag = seed % 5, (seed + 2) % 5, 1 + seed % 3
    ds = synthetic.coupled_actions(5, 8, 10, 1000, couplings=[(source, target, lag, 0.3)],
                                   seed=seed)
    res = network_inference(ds, lags=(1, 2, 3), permutations=500, seed=seed)
    assert _edges(res) == {(source, target, lag)}
    assert res.best_lag.values[source, target] == lag
    assert res.edge_p_value.values[source, target] == pytest.approx(1 / 501)
    each = network_inference(ds, lags=(1, 2, 3), permutations=500, seed=seed, lag_test="each",
                             surrogates="episodes")
    assert _edges(each) == set()
    assert each.p_value.values[source, target, lag - 1] == pytest.approx(1 / 501)


def test_recovers_with_circular_shifts_and_mi():
    ds, planted = _planted(5, n_episodes=2, n_steps=3000)
    res = network_inference(ds, lags=(1, 2, 3), permutations=500, seed=1)
    assert res.attrs["surrogates"] == "circular"
    assert _edges(res) == planted
    # per lag, 80 tests: BH needs p <= 0.05 * 3 / 80 for three edges, so more than 533
    # permutations; the pair test (20 tests, p <= 0.05 * 3 / 20) needs more than 133
    mi = network_inference(ds, measure="mi", lags=(0, 1, 2, 3), permutations=999, seed=1,
                           lag_test="each")
    assert _edges(mi) == planted
    mi = network_inference(ds, measure="mi", lags=(0, 1, 2, 3), permutations=200, seed=1)
    assert _edges(mi) == planted


@pytest.mark.parametrize("lag_test", ["max", "each"])
def test_adaptive_stop_keeps_decisions(lag_test):
    ds, _ = _planted(3, n_episodes=10, n_steps=300)
    kwargs = {"lags": (1, 2), "permutations": 200, "seed": 4, "lag_test": lag_test}
    full = network_inference(ds, adaptive=False, **kwargs)
    fast = network_inference(ds, adaptive=True, **kwargs)
    np.testing.assert_array_equal(full.significant.values, fast.significant.values)
    done = fast.n_permutations.values == 200
    np.testing.assert_array_equal(full.p_value.values[done], fast.p_value.values[done])
    stopped = np.isfinite(fast.value.values) & ~done
    assert stopped.sum() > 10  # null tests stop early ...
    if lag_test == "each":
        assert (fast.p_value.values[stopped] > ALPHA).all()  # ... only when p > alpha is sure
    else:  # a pair stops as a whole, once its edge p-value exceeds alpha
        np.testing.assert_array_equal(stopped.any(-1), stopped.all(-1))
        assert (fast.edge_p_value.values[stopped.any(-1)] > ALPHA).all()
        pair_done = done.all(-1) & np.isfinite(fast.edge_p_value.values)
        np.testing.assert_array_equal(full.edge_p_value.values[pair_done],
                                      fast.edge_p_value.values[pair_done])
        np.testing.assert_array_equal(full.best_lag.values, fast.best_lag.values)
    assert (full.n_permutations.values[np.isfinite(full.value.values)] == 200).all()


@pytest.mark.parametrize("method", ["episodes", "circular"])
def test_max_statistic_equals_brute_force(method):
    """Edge p-values, per-lag p-values and best lags equal a brute-force computation: TE on
    explicitly re-paired source series, max over lags per draw, the same draws."""
    from infoflow.measures import transfer_entropy
    from infoflow.surrogates import draw_surrogates, plan_surrogates

    rng = np.random.default_rng(11)
    n_episodes, n_steps, lags, n_perm, seed = 10, 60, (1, 2, 3), 30, 5
    acts = rng.integers(0, 3, (n_episodes, n_steps, 3))  # [episode, step, agent]
    copy = rng.random((n_episodes, n_steps - 2)) < 0.6
    acts[:, 2:, 1] = np.where(copy, acts[:, :-2, 0], acts[:, 2:, 1])  # 0 -> 1 at lag 2
    lengths = np.array([60, 45, 60, 52, 60, 60, 38, 60, 50, 60])
    for e, n in enumerate(lengths):
        acts[e, n:] = -1
    res = network_inference(acts, lags=lags, permutations=n_perm, seed=seed, fdr=False,
                            adaptive=False, surrogates=method)
    plan = plan_surrogates(method, lengths, max(lags) + 1, n_perm)
    perm, shift = draw_surrogates(plan, np.random.default_rng(seed), n_perm, lengths)
    for s in range(3):
        for t in range(3):
            if s == t:
                continue
            y, x = acts[..., s], acts[..., t]
            obs = np.array([transfer_entropy(y, x, lag=u) for u in lags])
            null = np.empty((n_perm, len(lags)))
            for b in range(n_perm):
                src = np.full_like(y, -1)
                for e in range(n_episodes):
                    e2, sh, n = perm[b, e], shift[b, e], lengths[perm[b, e]]
                    steps = np.arange(lengths[e])  # read cyclically up to the target's length
                    src[e, :lengths[e]] = y[e2, (steps + sh) % n]  # src[t] = y[e2, (t+sh) mod n]
                null[b] = [transfer_entropy(src, x, lag=u) for u in lags]
            p_edge = (1 + (null.max(1) >= obs.max() - 1e-12).sum()) / (1 + n_perm)
            p_lag = (1 + (null >= obs - 1e-12).sum(0)) / (1 + n_perm)
            assert res.edge_p_value.values[s, t] == pytest.approx(p_edge, abs=1e-12)
            np.testing.assert_allclose(res.p_value.values[s, t], p_lag, atol=1e-12)
            np.testing.assert_allclose(res.value.values[s, t], obs, atol=1e-12)
            np.testing.assert_allclose(res.null_mean.values[s, t], null.mean(0), atol=1e-12)
            assert res.best_lag.values[s, t] == lags[int(obs.argmax())]
            sig = np.zeros(len(lags), dtype=bool)
            sig[int(obs.argmax())] = p_edge <= ALPHA
            np.testing.assert_array_equal(res.significant.values[s, t], sig)
    assert res.significant.values[0, 1, 1]  # the planted edge, at lag 2


def test_result_dataset_layout():
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 3, (MIN_EPISODES_FOR_SHUFFLE, 100, 3))
    res = network_inference(acts, lags=[1, 2], permutations=40, seed=0, bias="miller-madow")
    assert dict(res.sizes) == {"source": 3, "target": 3, "lag": 2}
    assert set(res.data_vars) == {"value", "p_value", "null_mean", "null_std",
                                  "n_permutations", "significant", "edge_p_value", "best_lag"}
    assert res.edge_p_value.dims == res.best_lag.dims == ("source", "target")
    assert res.best_lag.dtype == np.int64 and res.attrs["lag_test"] == "max"
    np.testing.assert_array_equal(np.diag(res.best_lag.values), [-1, -1, -1])
    assert np.isnan(np.diag(res.edge_p_value.values)).all()
    each = network_inference(acts, lags=[1, 2], permutations=40, seed=0, lag_test="each")
    assert set(each.data_vars) == {"value", "p_value", "null_mean", "null_std",
                                   "n_permutations", "significant"}
    assert each.attrs["lag_test"] == "each"
    assert all(isinstance(v, (str, int, float)) for v in res.attrs.values())  # netCDF-ready
    assert list(res.source.values) == ["0", "1", "2"] and list(res.lag.values) == [1, 2]
    # 10 episodes in blocks of 2 give 32 pairings, fewer than 40 permutations: circular shifts
    assert res.attrs["surrogates"] == "circular" and res.attrs["estimator"] == "miller-madow"
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
        ({"lag_test": "min"}, "lag_test must be 'max'"),
        ({"surrogates": "bootstrap"}, "surrogates must be"),
        ({"permutations": 0}, "permutations must be"),
        ({"alpha": 1.5}, "alpha must be"),
        ({"lags": [0]}, "lags must be >= 1"),
        ({"lags": [40], "surrogates": "circular"}, "circular shifts need episodes longer .*"
                                                    r"Use fewer lags \(--lags\)"),
        ({"k": 30, "l": 9}, "too many states"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    acts = np.random.default_rng(0).integers(0, 9, (2, 60, 2))
    with pytest.raises(ValueError, match=match):
        network_inference(acts, **kwargs)


def test_one_episode_cannot_be_shuffled():
    acts = np.random.default_rng(0).integers(0, 3, (1, 60, 2))
    with pytest.raises(ValueError, match=r"1 episodes give 1 distinct episode pairings, fewer "
                                         r"than the 500 permutations .* use surrogates 'circular'"):
        network_inference(acts, surrogates="episodes")


@pytest.mark.parametrize(("k", "l"), [(1, 1), (2, 2), (0, 1)])
def test_surrogate_kernel_equals_explicit_surrogates(k, l):
    """Kernel surrogates equal TE on explicitly re-paired (shuffled or rolled) source series;
    a shorter source episode is read cyclically, so no target step is lost."""
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
    shuffled = np.full_like(y, -1)  # a shorter source episode is read cyclically
    for e, n in enumerate(lengths):
        n2 = lengths[perm[0, e]]
        shuffled[e, :n] = y[perm[0, e], np.arange(n) % n2]
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
