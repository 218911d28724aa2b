"""Lagged transfer entropy, conditional transfer entropy, and all-pairs TE / lagged MI (bits).

T_{Y->X}(u) = I(X_t ; Y_{t-u}^{(l)} | X_{t-1}^{(k)}): the information the source's history of
length l ending u steps back adds about the target's next value beyond the target's own
history of length k. A sample (e, t) is used only when every value it needs lies inside episode
e and is valid (not -1 padding), so the first max(k, u + l - 1) steps of each episode are
skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from infoflow.measures._codes import (
    as_actions,
    as_series,
    check_bias,
    check_estimator,
    check_shapes,
    combine_codes,
    history_code,
    infer_n_symbols,
    series_range,
)
from infoflow.measures._kernels import N_SUMS, pair_sums
from infoflow.measures._tables import prepare_codes, run_tables, sums_to_bits
from infoflow.measures.entropy import information_from_codes
from infoflow.measures.mutual_info import _cmi_terms, as_condition

__all__ = [
    "transfer_entropy",
    "conditional_transfer_entropy",
    "pairwise_transfer_entropy",
    "pairwise_lagged_mutual_info",
    "check_lags",
]


def check_lags(lags: Any, minimum: int) -> np.ndarray:
    """Lags as a 1-D int64 array, all >= ``minimum``; ValueError otherwise."""
    arr = np.atleast_1d(np.asarray(lags))
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"lags must be a non-empty sequence of ints; got {lags!r}.")
    if arr.min() < minimum:
        raise ValueError(f"lags must be >= {minimum} for this measure; got {arr.tolist()}.")
    return arr.astype(np.int64)


def _check_history(name: str, value: int, minimum: int) -> int:
    value = int(value)
    if value < minimum:
        raise ValueError(f"history length {name} must be >= {minimum}; got {value}.")
    return value


def transfer_entropy(
    source: Any,
    target: Any,
    k: int = 1,
    l: int = 1,
    lag: int = 1,
    n_symbols: int | None = None,
    bias: str | bool | None = None,
    local: bool = False,
) -> float | np.ndarray:
    """Lagged transfer entropy T_{Y->X}(u) from ``source`` Y to ``target`` X, in bits.

    Parameters
    ----------
    source : int array [episode, step] or [step]
        Y, symbols 0 .. A-1, -1 = padding.
    target : int array, same shape
        X.
    k : int
        Target history length (>= 0; 0 gives lagged MI of the source history).
    l : int
        Source history length (>= 1).
    lag : int
        u >= 1: the source history ends at t - u. ``lag=1, l=1`` is pyinform's TE.
    n_symbols : int, optional
        Alphabet size A (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator; Miller-Madow corrects each of the four entropy terms.
    local : bool
        Return local TE log2 p(x_t | x_past, y_past) / p(x_t | x_past) per step
        ([episode, step], NaN where undefined). Its valid-step mean is the TE.

    Returns
    -------
    float or float array [episode, step]
        Bits.

    Notes
    -----
    T = H(X_t, X^{(k)}) + H(Y^{(l)}, X^{(k)}) - H(X_t, Y^{(l)}, X^{(k)}) - H(X^{(k)}).
    For independent series the plug-in estimate is biased upwards by about
    A^k (A - 1)(A^l - 1) / (2 N ln 2) bits (the number of extra cells over 2 N ln 2).

    References
    ----------
    Schreiber (2000), Phys. Rev. Lett. 85, 461, doi:10.1103/PhysRevLett.85.461.
    Wibral et al. (2013), PLoS ONE 8, e55809, doi:10.1371/journal.pone.0055809 (lags).

    Examples
    --------
    A copy channel x_t = y_{t-1} transfers all of the source's entropy, H(Y) = 1 bit:

    >>> y = [0, 0, 1, 1, 0, 0, 1, 1, 0]
    >>> x = [1] + y[:-1]
    >>> transfer_entropy(y, x, k=1)
    1.0
    """
    mm = check_estimator(bias, local)
    k = _check_history("k", k, 0)
    l = _check_history("l", l, 1)
    lag = int(check_lags([lag], 1)[0])
    ys, xs = as_series(source, "source", check=False), as_series(target, "target", check=False)
    check_shapes([ys, xs], ["source", "target"])
    top = series_range([ys, xs], ["source", "target"])
    a = infer_n_symbols([ys, xs], n_symbols, top)
    if local:
        past = history_code(xs, k, a, lag=1)
        y_hist = history_code(ys, l, a, lag=lag)
        terms, valid = _cmi_terms(xs, a, y_hist, a**l, past, a**k)
        return information_from_codes(terms, valid, False, True)
    if a ** (k + l + 1) <= max(4 * xs.size, 1 << 12):  # dense table: fused single pass
        sums = np.zeros(N_SUMS)
        pair_sums(ys, xs, k, l, lag, a, sums)
        return float(sums_to_bits(sums, mm))
    codes = prepare_codes([ys, xs], k, l, a, targets=[1], sources=[0])
    sums = run_tables(codes, [0], np.array([[0]]), np.array([lag]))
    return float(sums_to_bits(sums[0, 0, 0, 0], mm))


def conditional_transfer_entropy(
    source: Any,
    target: Any,
    condition: Any,
    k: int = 1,
    l: int = 1,
    m: int = 1,
    lag: int = 1,
    condition_lag: int = 1,
    n_symbols: int | None = None,
    bias: str | bool | None = None,
    local: bool = False,
) -> float | np.ndarray:
    """Conditional transfer entropy T_{Y->X|Z}(u) given other agents' pasts, in bits.

    Parameters
    ----------
    source, target : int arrays [episode, step] or [step], same shape
        Y and X, -1 = padding.
    condition : int array [episode, step], list of such arrays, or int array
        [episode, step, n]
        The other series Z_1 .. Z_n whose pasts are conditioned on.
    k, l : int
        Target (>= 0) and source (>= 1) history lengths.
    m : int
        History length of each conditioning series (>= 1).
    lag : int
        u >= 1, lag of the source history.
    condition_lag : int
        Lag (>= 1) at which each condition's history ends.
    n_symbols : int, optional
        Alphabet size shared by all series (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator.
    local : bool
        Per-step values ([episode, step], NaN where undefined).

    Returns
    -------
    float or float array [episode, step]
        Bits.

    Notes
    -----
    T = I(X_t ; Y_{t-u}^{(l)} | X_{t-1}^{(k)}, Z_{1, t-c}^{(m)}, ..., Z_{n, t-c}^{(m)}).
    The plug-in bias grows with the number of conditioning states A^{k + n m}; prefer short
    histories or Miller-Madow with few samples.

    References
    ----------
    Lizier, Prokopenko & Zomaya (2008), Phys. Rev. E 77, 026110,
    doi:10.1103/PhysRevE.77.026110.

    Examples
    --------
    >>> y = [0, 1, 1, 0, 0, 1, 0, 1, 1, 0]
    >>> x = [0] + y[:-1]
    >>> conditional_transfer_entropy(y, x, y)  # Y's own past explains X fully: nothing left
    0.0
    """
    mm = check_estimator(bias, local)
    k = _check_history("k", k, 0)
    l = _check_history("l", l, 1)
    m = _check_history("m", m, 1)
    lag = int(check_lags([lag], 1)[0])
    condition_lag = int(check_lags([condition_lag], 1)[0])
    ys, xs = as_series(source, "source"), as_series(target, "target")
    zs = as_condition(condition, "condition")
    names = ["source", "target"] + [f"condition[{i}]" for i in range(len(zs))]
    check_shapes([ys, xs, *zs], names)
    a = infer_n_symbols([ys, xs, *zs], n_symbols)
    past = history_code(xs, k, a, lag=1)
    cond = [past] + [history_code(z, m, a, lag=condition_lag) for z in zs]
    zc, rz = combine_codes(cond, [a**k] + [a**m] * len(zs))
    y_hist = history_code(ys, l, a, lag=lag)
    terms, valid = _cmi_terms(xs, a, y_hist, a**l, zc, rz)
    return information_from_codes(terms, valid, mm, local)


def _pairwise(
    actions: Any,
    lags: np.ndarray,
    k: int,
    l: int,
    n_symbols: int | None,
    bias: str | bool | None,
) -> np.ndarray:
    mm = check_bias(bias)
    acts, _ = as_actions(actions)  # [agent, episode, step]
    n_agents = acts.shape[0]
    a = infer_n_symbols([acts], n_symbols)
    codes = prepare_codes(acts, k, l, a)
    out = np.full((n_agents, n_agents, lags.size), np.nan)
    sources = other_agents(n_agents)
    values = sums_to_bits(run_tables(codes, list(range(n_agents)), sources, lags), mm)
    for j in range(n_agents):
        out[sources[j], j, :] = values[j, 0]
    return out


def other_agents(n_agents: int) -> np.ndarray:
    """int64 [target, n_agents - 1]: the source agents of each target (all but itself)."""
    return np.array([[i for i in range(n_agents) if i != j] for j in range(n_agents)],
                    dtype=np.int64).reshape(n_agents, n_agents - 1)


def pairwise_transfer_entropy(
    actions: Any,
    lags: Sequence[int] | int = (1,),
    k: int = 1,
    l: int = 1,
    n_symbols: int | None = None,
    bias: str | bool | None = None,
) -> np.ndarray:
    """Transfer entropy for every ordered pair of agents and every lag in one call.

    Parameters
    ----------
    actions : int array [episode, step, agent], xr.DataArray, or xr.Dataset with ``action``
        Symbols, -1 = padding.
    lags : sequence of int
        Lags u >= 1.
    k, l : int
        Target and source history lengths.
    n_symbols : int, optional
        Alphabet size (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator.

    Returns
    -------
    float array [source, target, lag]
        Bits; the diagonal (source == target) is NaN.

    Notes
    -----
    Equal to :func:`transfer_entropy` for each pair and lag; each target's history codes are
    computed once and one pass over its samples fills the count tables of every source and
    lag (numba kernel).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1, 0, 0, 1, 1, 0])
    >>> acts = np.stack([y, np.r_[1, y[:-1]]], axis=1)  # [step, agent]: agent 1 copies 0
    >>> te = pairwise_transfer_entropy(acts, lags=[1])
    >>> float(te[0, 1, 0]), bool(np.isnan(te[0, 0, 0]))
    (1.0, True)
    """
    k = _check_history("k", k, 0)
    l = _check_history("l", l, 1)
    return _pairwise(actions, check_lags(lags, 1), k, l, n_symbols, bias)


def pairwise_lagged_mutual_info(
    actions: Any,
    lags: Sequence[int] | int = (0, 1),
    n_symbols: int | None = None,
    bias: str | bool | None = None,
) -> np.ndarray:
    """Lagged MI I(Y_{t-u}; X_t) for every ordered pair (source Y, target X) and lag u >= 0.

    Parameters
    ----------
    actions : int array [episode, step, agent], xr.DataArray, or xr.Dataset with ``action``
        Symbols, -1 = padding.
    lags : sequence of int
        Lags u >= 0 (u = 0 is symmetric in source and target).
    n_symbols : int, optional
        Alphabet size (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator.

    Returns
    -------
    float array [source, target, lag]
        Bits; diagonal NaN.

    Notes
    -----
    Equal to :func:`~infoflow.measures.lagged_mutual_info` per pair; plug-in bias for
    independent series ≈ (A - 1)^2 / (2 N ln 2).

    Examples
    --------
    >>> import numpy as np
    >>> acts = np.array([[0, 0], [1, 1], [0, 0], [1, 1]])  # identical fair coins
    >>> float(pairwise_lagged_mutual_info(acts, lags=[0])[0, 1, 0])
    1.0
    """
    return _pairwise(actions, check_lags(lags, 0), 0, 1, n_symbols, bias)
