"""Mutual information, conditional mutual information and lagged mutual information (bits).

All estimators pool every episode, use a step only when every value it needs is valid (not -1
padding), and never pair values from different episodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infoflow.measures._codes import (
    as_series,
    check_estimator,
    check_shapes,
    combine_codes,
    history_code,
    infer_n_symbols,
)
from infoflow.measures._kernels import N_SUMS, pair_sums
from infoflow.measures._tables import sums_to_bits
from infoflow.measures.entropy import information_from_codes

__all__ = ["mutual_info", "conditional_mutual_info", "lagged_mutual_info", "as_condition"]


def as_condition(z: Any, name: str = "z") -> list[np.ndarray]:
    """Condition series as a list of int64 ``[episode, step]`` arrays.

    ``z`` is one series ([step] or [episode, step]), a list/tuple of series, or a 3-D array
    ``[episode, step, n]`` holding n series.
    """
    if isinstance(z, (list, tuple)) and (len(z) == 0 or np.ndim(z[0]) > 0):
        if len(z) == 0:
            raise ValueError(f"{name} is empty; pass at least one conditioning series.")
        return [as_series(s, f"{name}[{i}]") for i, s in enumerate(z)]
    arr = np.asarray(getattr(z, "values", z))
    if arr.ndim == 3:
        return [as_series(arr[..., i], f"{name}[..., {i}]") for i in range(arr.shape[2])]
    return [as_series(arr, name)]


def _cmi_terms(
    x: np.ndarray, rx: int, y: np.ndarray, ry: int, z: np.ndarray | None, rz: int
) -> tuple[list[tuple[float, np.ndarray, int]], np.ndarray]:
    """Entropy terms of I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z) (or MI when z is None)."""
    if z is None:
        xy, rxy = combine_codes([x, y], [rx, ry])
        return [(1.0, x, rx), (1.0, y, ry), (-1.0, xy, rxy)], xy >= 0
    xz, rxz = combine_codes([x, z], [rx, rz])
    yz, ryz = combine_codes([y, z], [ry, rz])
    xyz, rxyz = combine_codes([x, y, z], [rx, ry, rz])
    terms = [(1.0, xz, rxz), (1.0, yz, ryz), (-1.0, xyz, rxyz), (-1.0, z, rz)]
    return terms, xyz >= 0


def mutual_info(
    x: Any,
    y: Any,
    n_symbols: int | None = None,
    bias: str | bool | None = None,
    local: bool = False,
) -> float | np.ndarray:
    """Mutual information I(X; Y) between two aligned symbol series, in bits.

    Parameters
    ----------
    x, y : int arrays [episode, step] or [step], same shape
        Symbols, -1 = padding; steps where either is padded are dropped.
    n_symbols : int, optional
        Alphabet size (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator; Miller-Madow corrects each entropy term.
    local : bool
        Return local values log2 p(x, y) / (p(x) p(y)) per step ([episode, step], NaN at
        padding).

    Returns
    -------
    float or float array [episode, step]
        Bits.

    Notes
    -----
    I(X;Y) = H(X) + H(Y) - H(X,Y). The plug-in estimate is biased upwards: for independent
    series E[I] ≈ (m_X - 1)(m_Y - 1) / (2 N ln 2). Miller-Madow removes this first-order term.

    References
    ----------
    Cover & Thomas (2006), Elements of Information Theory, doi:10.1002/047174882X.

    Examples
    --------
    >>> mutual_info([0, 1, 0, 1], [0, 1, 0, 1])  # two identical fair coins share 1 bit
    1.0
    >>> mutual_info([0, 0, 1, 1], [0, 1, 0, 1])
    0.0
    """
    mm = check_estimator(bias, local)
    xs, ys = as_series(x, "x"), as_series(y, "y")
    check_shapes([xs, ys], ["x", "y"])
    a = infer_n_symbols([xs, ys], n_symbols)
    if not local and a * a <= max(4 * xs.size, 1 << 12):
        return _kernel_mi(ys, xs, 0, a, mm)
    terms, valid = _cmi_terms(xs, a, ys, a, None, 1)
    return information_from_codes(terms, valid, mm, local)


def _kernel_mi(ys: np.ndarray, xs: np.ndarray, lag: int, a: int, mm: bool) -> float:
    """I(Y_{t-lag}; X_t) by the fused numba count (dense a x a table)."""
    sums = np.zeros(N_SUMS)
    pair_sums(ys, xs, 0, 1, lag, a, sums)
    return float(sums_to_bits(sums, mm))


def conditional_mutual_info(
    x: Any,
    y: Any,
    z: Any,
    n_symbols: int | None = None,
    bias: str | bool | None = None,
    local: bool = False,
) -> float | np.ndarray:
    """Conditional mutual information I(X; Y | Z) in bits.

    Parameters
    ----------
    x, y : int arrays [episode, step] or [step], same shape
        Symbols, -1 = padding.
    z : int array [episode, step], list of such arrays, or int array [episode, step, n]
        Conditioning series (their joint state is conditioned on).
    n_symbols : int, optional
        Alphabet size shared by all series (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator; Miller-Madow corrects each entropy term.
    local : bool
        Return log2 p(x, y | z) / (p(x | z) p(y | z)) per step.

    Returns
    -------
    float or float array [episode, step]
        Bits.

    Notes
    -----
    I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z). Plug-in bias for conditionally independent
    data ≈ m_Z (m_X - 1)(m_Y - 1) / (2 N ln 2): it grows with the number of conditioning states.

    Examples
    --------
    >>> conditional_mutual_info([0, 1, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1])
    1.0
    >>> conditional_mutual_info([0, 1, 1, 0], [0, 1, 0, 1], [0, 1, 1, 0])  # X = Z
    0.0
    """
    mm = check_estimator(bias, local)
    xs, ys = as_series(x, "x"), as_series(y, "y")
    zs = as_condition(z)
    check_shapes([xs, ys, *zs], ["x", "y"] + [f"z[{i}]" for i in range(len(zs))])
    a = infer_n_symbols([xs, ys, *zs], n_symbols)
    zc, rz = combine_codes(zs, [a] * len(zs))
    terms, valid = _cmi_terms(xs, a, ys, a, zc, rz)
    return information_from_codes(terms, valid, mm, local)


def lagged_mutual_info(
    source: Any,
    target: Any,
    lag: int = 1,
    n_symbols: int | None = None,
    bias: str | bool | None = None,
    local: bool = False,
) -> float | np.ndarray:
    """Lagged mutual information I(Y_{t-u}; X_t) from source Y to target X, in bits.

    Parameters
    ----------
    source : int array [episode, step] or [step]
        Y, -1 = padding.
    target : int array, same shape
        X.
    lag : int
        u >= 0 steps; u = 0 is the ordinary MI, u = 1 the paper's instantaneous coordination
        I(a_k,t ; a_j,t+1).
    n_symbols : int, optional
        Alphabet size (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator.
    local : bool
        Per-step values at the target's step t ([episode, step], NaN for t < u and padding).

    Returns
    -------
    float or float array [episode, step]
        Bits.

    Notes
    -----
    Samples are the pairs (y[e, t-u], x[e, t]) with u <= t within one episode and both valid;
    bias as for :func:`mutual_info` with N the number of such pairs.

    References
    ----------
    Jaques et al. (2019), "Social Influence as Intrinsic Motivation for Multi-Agent Deep
    Reinforcement Learning", ICML, arXiv:1810.08647 (section 5.1).

    Examples
    --------
    >>> lagged_mutual_info([0, 1, 1, 0, 1], [1, 0, 1, 1, 0], lag=1)  # x_t = y_{t-1}
    1.0
    """
    mm = check_estimator(bias, local)
    lag = int(lag)
    if lag < 0:
        raise ValueError(f"lag must be >= 0 for lagged MI; got {lag}.")
    ys, xs = as_series(source, "source"), as_series(target, "target")
    check_shapes([ys, xs], ["source", "target"])
    a = infer_n_symbols([ys, xs], n_symbols)
    if not local and a * a <= max(4 * xs.size, 1 << 12):
        return _kernel_mi(ys, xs, lag, a, mm)
    y_past = history_code(ys, 1, a, lag)
    terms, valid = _cmi_terms(xs, a, y_past, a, None, 1)
    return information_from_codes(terms, valid, mm, local)
