"""Permutation significance of pairwise information transfer, with Benjamini-Hochberg FDR.

:func:`network_inference` estimates lagged transfer entropy (or lagged mutual information) for
every ordered pair of agents and every lag, and tests each against surrogates that destroy the
coupling between the source and the target while keeping each series' own statistics (the
designs of :mod:`infoflow.surrogates`: episodes permuted within blocks of nearby episodes,
all episodes permuted, or circular shifts within episodes). This is the *bivariate* method:
each pair is tested on its own, so a common driver or a chain shows up as extra edges;
:func:`infoflow.multivariate.multivariate_te` conditions on the other agents and is the
default of ``infoflow analyze``.

One surrogate draw (a pairing or a set of shifts) is shared by every pair and lag. Surrogates are
drawn in batches; one call of the numba kernel per batch fills the count tables of every
(target, surrogate, source, lag) still being tested, one pass over the samples per target and lag.

Two ways of testing across lags (``lag_test``):

- ``"max"`` (default): one test per ordered pair, the maximum statistic over lags. Its statistic
  is max_u of the measure at lag u; its null is max_u of the *same* surrogate draw at every lag
  (the lags of one draw share the pairing, so the maximum keeps their dependence), which
  controls the family-wise error over the pair's lags without a correction. BH-FDR then runs over
  the m = N (N - 1) pairs, and a significant pair is reported at its best lag (the argmax of the
  observed value). This is the edge-level test of network-inference toolkits (IDTxl's maximum
  statistic).
- ``"each"``: one test per (pair, lag), with BH-FDR over all m = N (N - 1) L of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from infoflow._cmi_tests import MAX_BATCH
from infoflow.measures._codes import as_actions, check_bias, infer_n_symbols
from infoflow.measures._tables import make_xlogx, prepare_codes, run_tables, sums_to_bits
from infoflow.measures.transfer_entropy import check_lags, other_agents
from infoflow.surrogates import SURROGATES, draw_surrogates, plan_surrogates

__all__ = ["network_inference", "fdr_bh", "LAG_TESTS", "SURROGATE_METHODS"]

#: Ways of testing across lags: one maximum-statistic test per pair, or one test per lag.
LAG_TESTS = ("max", "each")
#: Surrogate designs (see :mod:`infoflow.surrogates`).
SURROGATE_METHODS = SURROGATES
#: Values within this distance of the observed value count as "null >= observed" (ties).
_TIE_TOL = 1e-12


def fdr_bh(pvalues: Any, alpha: float = 0.05) -> np.ndarray:
    """Benjamini-Hochberg step-up procedure: which hypotheses are rejected at FDR ``alpha``.

    Parameters
    ----------
    pvalues : array of float, any shape
        p-values in [0, 1]; NaN entries are not tested (and count as not rejected).
    alpha : float
        False discovery rate, 0 < alpha < 1.

    Returns
    -------
    bool array, same shape as ``pvalues``
        True where the hypothesis is rejected (significant).

    Notes
    -----
    With the m tested p-values sorted, p_(1) <= ... <= p_(m), reject the hypotheses of
    p_(1) .. p_(i*) for the largest i* with p_(i*) <= alpha i* / m. Controls the FDR at alpha
    for independent or positively dependent tests. The adjusted p-values come from
    :func:`scipy.stats.false_discovery_control`; this wrapper adds NaN (untested) entries and
    the decision at ``alpha``.

    References
    ----------
    Benjamini & Hochberg (1995), J. R. Stat. Soc. B 57, 289,
    doi:10.1111/j.2517-6161.1995.tb02031.x.

    Examples
    --------
    >>> fdr_bh([0.01, 0.04, 0.03, 0.20], alpha=0.05).tolist()
    [True, False, False, False]
    >>> fdr_bh([0.01, 0.02, 0.03, 0.04], alpha=0.05).tolist()
    [True, True, True, True]
    """
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}.")
    p = np.asarray(pvalues, dtype=np.float64)
    tested = np.isfinite(p)
    if np.any((p[tested] < 0) | (p[tested] > 1)):
        raise ValueError("p-values must lie in [0, 1] (NaN = not tested).")
    out = np.zeros(p.shape, dtype=bool)
    if tested.any():
        from scipy.stats import false_discovery_control  # scipy.stats takes ~1 s to import

        out[tested] = false_discovery_control(p[tested], method="bh") <= alpha
    return out


def network_inference(
    data: Any,
    measure: str = "te",
    lags: Any = (1,),
    k: int = 1,
    l: int = 1,
    permutations: int = 500,
    alpha: float = 0.05,
    fdr: bool = True,
    lag_test: str = "max",
    surrogates: str = "auto",
    adaptive: bool = True,
    seed: int | np.random.Generator | None = 0,
    bias: str | bool | None = None,
    n_symbols: int | None = None,
) -> xr.Dataset:
    """Test every directed pair of agents for information transfer at the given lags.

    Parameters
    ----------
    data : xr.Dataset with ``action(episode, step, agent)``, xr.DataArray, or int array
        ``[episode, step, agent]``
        Symbols, -1 = padding. Agent names from the ``agent`` coordinate ("0".."N-1" for
        plain arrays).
    measure : {"te", "mi"}
        Lagged transfer entropy T_{Y->X}(u) (lags >= 1) or lagged mutual information
        I(Y_{t-u}; X_t) (lags >= 0).
    lags : sequence of int
        Lags u to test.
    k, l : int
        Target and source history lengths (TE only).
    permutations : int
        Surrogates per test (upper limit when ``adaptive``).
    alpha : float
        Significance level (the FDR when ``fdr``).
    fdr : bool
        Apply Benjamini-Hochberg over all tests (pairs for ``"max"``, (pair, lag) for
        ``"each"``); else each test at ``alpha`` on its own.
    lag_test : {"max", "each"}
        ``"max"`` (default): one test per ordered pair, statistic max over lags of the measure,
        null max over lags of the same surrogate draw; FDR over the m = N (N - 1) pairs; a
        significant pair is flagged at its best lag. ``"each"``: the behaviour before this
        option existed, one test per (pair, lag) with per-lag p-values and FDR over all
        m = N (N - 1) L tests. See Notes for the number of permutations each needs.
    surrogates : {"auto", "blocks", "episodes", "circular"}
        Surrogate design (:func:`infoflow.surrogates.plan_surrogates`); the design used and
        any note on the choice are in ``attrs["surrogates"]`` and ``attrs["notes"]``.
    adaptive : bool
        Stop drawing surrogates for a test once its decision at ``alpha`` cannot change.
    seed : int, np.random.Generator or None
        Randomness of the surrogates.
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator for the observed and the surrogate values.
    n_symbols : int, optional
        Alphabet size (max + 1 when None).

    Returns
    -------
    xr.Dataset
        Dims (source, target, lag), coords agent names and lags; variables ``value`` (bits),
        ``p_value`` (per lag, uncorrected), ``null_mean``, ``null_std`` (bits),
        ``n_permutations`` (surrogates drawn) and ``significant`` (bool). With
        ``lag_test="max"`` also, over (source, target), ``edge_p_value`` (the pair's
        max-statistic p-value, uncorrected) and ``best_lag`` (int, the lag of the largest
        observed value; -1 on the diagonal), and ``significant`` is True only at
        (pair, best_lag) of significant pairs. Diagonal entries are NaN / False.
        ``attrs["lag_test"]`` records the test.

    Notes
    -----
    p = (1 + #{null >= observed}) / (1 + n), never 0. For ``"max"`` the statistic is
    T = max_u value(u) and the null the max over u of one surrogate draw, so
    p_edge = (1 + #{max_u null_b(u) >= T}) / (1 + n); p_edge >= the per-lag p-value at the
    best lag.

    Permutations needed: the smallest attainable p-value is 1 / (1 + n), and BH over m tests
    rejects a lone true hypothesis only if its p <= alpha / m, so a network with a single true
    edge needs n >= m / alpha - 1. With 5 agents and lags 1-3 at alpha = 0.05: ``"max"`` has
    m = 20 pair tests, n >= 399 (500 permutations suffice); ``"each"`` has m = 60 tests,
    n >= 1199 (with 500, 1/501 > 0.05/60 and no single edge can ever be found).

    With ``adaptive``, after each batch of surrogates a test (a pair for ``"max"``, all its
    lags together) is stopped once even zero further exceedances would leave
    (1 + count) / (1 + permutations) > alpha; its p-value is then estimated from the n drawn
    so far (it exceeds alpha in any case), so, as BH never rejects a p-value above alpha, the
    decisions equal those of the full run. Tests that stay significant use all permutations.
    For ``"max"`` the per-lag ``p_value`` of a stopped pair is an estimate from the same n.
    The plug-in bias (see :func:`~infoflow.measures.transfer_entropy`) is present in the
    surrogates as well, so the test is unbiased; ``null_mean`` estimates it.

    References
    ----------
    Vicente et al. (2011), J. Comput. Neurosci. 30, 45, doi:10.1007/s10827-010-0262-3.
    Novelli et al. (2019), Netw. Neurosci. 3, 827, doi:10.1162/netn_a_00092 (maximum
    statistic over candidate sources and lags).
    Benjamini & Hochberg (1995), doi:10.1111/j.2517-6161.1995.tb02031.x.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> y = rng.integers(0, 2, (20, 50))
    >>> acts = np.stack([y, np.roll(y, 1, axis=1), rng.integers(0, 2, (20, 50))], axis=2)
    >>> res = network_inference(acts, lags=[1, 2], permutations=199, seed=0)
    >>> res.significant.any("lag").values.astype(int).tolist()
    [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
    >>> int(res.best_lag.sel(source="0", target="1")), float(res.edge_p_value[0, 1])
    (1, 0.005)
    """
    mm = check_bias(bias)
    if measure not in ("te", "mi"):
        raise ValueError(f"measure must be 'te' or 'mi'; got {measure!r}.")
    if lag_test not in LAG_TESTS:
        raise ValueError(
            f"lag_test must be 'max' (one test per pair, max over lags) or 'each' (one test "
            f"per lag); got {lag_test!r}."
        )
    by_pair = lag_test == "max"
    lag_arr = check_lags(lags, 1 if measure == "te" else 0)
    k_eff, l_eff = (int(k), int(l)) if measure == "te" else (0, 1)
    if k_eff < 0 or l_eff < 1:
        raise ValueError(f"need k >= 0 and l >= 1; got k={k}, l={l}.")
    permutations = int(permutations)
    if permutations < 1:
        raise ValueError(f"permutations must be >= 1; got {permutations}.")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}.")
    rng = np.random.default_rng(seed)
    acts, names = as_actions(data)  # [agent, episode, step]
    n_agents = acts.shape[0]
    a = infer_n_symbols([acts], n_symbols)
    codes = prepare_codes(acts, k_eff, l_eff, a)
    min_shift = int(lag_arr.max()) + max(k_eff, l_eff)
    plan = plan_surrogates(surrogates, codes.lengths, min_shift, permutations)
    xlogx = make_xlogx(codes)

    targets = list(range(n_agents))
    sources = other_agents(n_agents)  # [target, n_agents - 1]
    # bookkeeping in [target, source slot, lag] layout, copied to [source, target, lag] at the end
    obs = sums_to_bits(run_tables(codes, targets, sources, lag_arr), mm)[:, 0]
    exceed_s = np.zeros(obs.shape, dtype=np.int64)
    drawn_s = np.zeros(obs.shape, dtype=np.int64)
    total_s = np.zeros(obs.shape)
    total_sq_s = np.zeros(obs.shape)
    active = np.isfinite(obs)  # [target, slot, lag]; for "max", all lags of a pair together
    obs_max = np.where(active, obs, -np.inf).max(axis=-1)  # [target, slot]
    exceed_pair = np.zeros(obs_max.shape, dtype=np.int64)  # max-statistic exceedances

    batch = min(MAX_BATCH, max(32, -(-permutations // 10)))  # memory bounded for any n
    while active.any():
        n_draws = min(batch, permutations - int(drawn_s[active].max()))
        perm, shift = draw_surrogates(plan, rng, n_draws, codes.lengths)
        live = [j for j in targets if active[j].any()]
        sums = run_tables(codes, live, sources[live], lag_arr, perm, shift, active[live], xlogx)
        null = sums_to_bits(sums, mm)  # [live target, draw, source slot, lag]
        act = active[live]
        exceed_s[live] += np.where(act, (null >= obs[live][:, None] - _TIE_TOL).sum(axis=1), 0)
        drawn_s[live] += np.where(act, n_draws, 0)
        total_s[live] += np.where(act, np.nansum(null, axis=1), 0.0)
        total_sq_s[live] += np.where(act, np.nansum(null**2, axis=1), 0.0)
        if by_pair:  # inactive lags of a live pair are NaN in ``null``: left out of the max
            null_max = np.where(np.isfinite(null), null, -np.inf).max(axis=-1)  # [live, draw, slot]
            hits = (null_max >= obs_max[live][:, None] - _TIE_TOL).sum(axis=1)  # [live, slot]
            exceed_pair[live] += np.where(act.any(axis=-1), hits, 0)
        if adaptive and by_pair:
            active &= ((1 + exceed_pair) / (1 + permutations) <= alpha)[..., None]
        elif adaptive:
            active &= (1 + exceed_s) / (1 + permutations) <= alpha
        active &= drawn_s < permutations

    shape = (n_agents, n_agents, lag_arr.size)
    value = np.full(shape, np.nan)
    exceed = np.zeros(shape, dtype=np.int64)
    drawn = np.zeros(shape, dtype=np.int64)
    total = np.zeros(shape)
    total_sq = np.zeros(shape)
    pair_exceed = np.zeros(shape[:2], dtype=np.int64)
    for j in targets:
        value[sources[j], j] = obs[j]
        exceed[sources[j], j] = exceed_s[j]
        drawn[sources[j], j] = drawn_s[j]
        total[sources[j], j] = total_s[j]
        total_sq[sources[j], j] = total_sq_s[j]
        pair_exceed[sources[j], j] = exceed_pair[j]

    tested = np.isfinite(value)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_value = np.where(tested, (1 + exceed) / (1 + drawn), np.nan)
        null_mean = np.where(tested, total / drawn, np.nan)
        var = (total_sq - drawn * null_mean**2) / np.maximum(drawn - 1, 1)
        null_std = np.where(tested, np.sqrt(np.maximum(var, 0.0)), np.nan)

    dims = ("source", "target", "lag")
    units = {"units": "bits"}
    variables = {
        "value": (dims, value, {"long_name": f"lagged {measure.upper()}", **units}),
        "p_value": (dims, p_value, {"long_name": "permutation p-value"}),
        "null_mean": (dims, null_mean, {"long_name": "surrogate mean", **units}),
        "null_std": (dims, null_std, {"long_name": "surrogate standard deviation", **units}),
        "n_permutations": (dims, drawn, {"long_name": "surrogates drawn"}),
    }
    if by_pair:
        pair_tested = tested.any(axis=-1)  # [source, target]
        with np.errstate(invalid="ignore", divide="ignore"):
            edge_p = np.where(pair_tested, (1 + pair_exceed) / (1 + drawn.max(axis=-1)), np.nan)
        best = np.where(tested, value, -np.inf).argmax(axis=-1)  # [source, target]
        best_lag = np.where(pair_tested, lag_arr[best], -1).astype(np.int64)
        sig_pair = fdr_bh(edge_p, alpha) if fdr else np.where(pair_tested, edge_p <= alpha, False)
        significant = sig_pair[..., None] & (np.arange(lag_arr.size) == best[..., None])
        variables["edge_p_value"] = (("source", "target"), edge_p,
                                     {"long_name": "max-over-lags permutation p-value"})
        variables["best_lag"] = (("source", "target"), best_lag,
                                 {"long_name": "lag of the largest value (-1: not tested)"})
    else:
        significant = fdr_bh(p_value, alpha) if fdr else np.where(tested, p_value <= alpha, False)
    variables["significant"] = (dims, significant, {"long_name": "significant edge"})
    return xr.Dataset(
        variables,
        coords={"source": names, "target": names, "lag": lag_arr},
        attrs={
            "measure": measure,
            "k": k_eff,
            "l": l_eff,
            "permutations": permutations,
            "alpha": float(alpha),
            "fdr": int(bool(fdr)),
            "lag_test": lag_test,
            "surrogates": plan.method,
            "notes": plan.note,
            "estimator": "miller-madow" if mm else "plugin",
            "adaptive": int(bool(adaptive)),
            "seed": seed if isinstance(seed, int) else str(seed),
            "n_symbols": a,
            "units": "bits",
        },
    )
