"""Shannon entropy, joint and conditional entropy of symbol series (bits).

The plug-in estimator counts joint states with :func:`numpy.bincount` on integer state codes
(see :mod:`infoflow.measures._codes`); all episodes are pooled and padded steps (-1) dropped.
The shared helpers here (:func:`state_counts`, :func:`entropy_from_counts`,
:func:`information_from_codes`) are reused by the mutual-information and transfer-entropy
modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from infoflow.measures._codes import (
    as_series,
    check_bias,
    check_estimator,
    check_shapes,
    combine_codes,
    infer_n_symbols,
)

__all__ = [
    "entropy",
    "joint_entropy",
    "conditional_entropy",
    "state_counts",
    "entropy_from_counts",
    "information_from_codes",
]

_LN2 = np.log(2.0)


def state_counts(code: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the states in ``code`` (1-D, all >= 0) and each sample's index into them.

    Dense :func:`numpy.bincount` when the code space is small relative to the samples;
    relabelled with :func:`numpy.unique` otherwise (sparse histories, large alphabets).
    """
    if radix <= max(4 * code.size, 1 << 16):
        return np.bincount(code, minlength=1), code
    _, inverse = np.unique(code, return_inverse=True)
    return np.bincount(inverse), inverse


def entropy_from_counts(counts: np.ndarray, miller_madow: bool = False) -> float:
    """Entropy in bits of a histogram: log2 N - sum_c c log2 c / N (+ (m-1)/(2N ln 2))."""
    c = counts[counts > 0].astype(np.float64)
    n = c.sum()
    if n == 0:
        return float("nan")
    h = max(np.log2(n) - np.dot(c, np.log2(c)) / n, 0.0)
    if miller_madow:
        h += (c.size - 1) / (2.0 * n * _LN2)
    return float(h)


def information_from_codes(
    terms: Sequence[tuple[float, np.ndarray, int]],
    valid: np.ndarray,
    miller_madow: bool = False,
    local: bool = False,
) -> float | np.ndarray:
    """Signed sum of entropies ``sum_i sign_i H(code_i)`` over the samples where ``valid``.

    Parameters
    ----------
    terms : sequence of (sign, code [episode, step] int64, radix)
        Each code must be >= 0 wherever ``valid`` is True.
    valid : bool array [episode, step]
        The samples used (the same for every term, so the sum is a proper information).
    miller_madow : bool
        Add (m - 1) / (2 N ln 2) to every entropy term.
    local : bool
        Return per-sample values ``-sum_i sign_i log2 p_i(code_i)`` (NaN where not valid).

    Returns
    -------
    float or float array [episode, step]
        Bits. NaN when no sample is valid.
    """
    n = int(valid.sum())
    if local:
        out = np.full(valid.shape, np.nan)
        if n == 0:
            return out
        acc = np.zeros(n)
        for sign, code, radix in terms:
            counts, index = state_counts(code[valid], radix)
            acc -= sign * np.log2(counts[index] / n)
        out[valid] = acc
        return out
    if n == 0:
        return float("nan")
    total = 0.0
    for sign, code, radix in terms:
        counts, _ = state_counts(code[valid], radix)
        total += sign * entropy_from_counts(counts, miller_madow)
    # every plug-in quantity built here (H, H(X|Y), I, I(X;Y|Z)) is >= 0: drop rounding residue
    return total if miller_madow else max(total, 0.0)


def _prepare(
    series: Sequence[Any], names: Sequence[str], n_symbols: int | None
) -> tuple[list[np.ndarray], int]:
    arrays = [as_series(s, n) for s, n in zip(series, names, strict=True)]
    check_shapes(arrays, names)
    return arrays, infer_n_symbols(arrays, n_symbols)


def entropy(
    x: Any, n_symbols: int | None = None, bias: str | bool | None = None, local: bool = False
) -> float | np.ndarray:
    """Shannon entropy H(X) of a symbol series, pooled over episodes.

    Parameters
    ----------
    x : int array [episode, step] or [step]
        Symbols ``0 .. n_symbols - 1``; -1 marks padding (ignored).
    n_symbols : int, optional
        Alphabet size; inferred as max + 1 when None.
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator: plug-in (default) or with the Miller-Madow correction.
    local : bool
        Return the local entropy ``-log2 p(x_t)`` per step instead of the average.

    Returns
    -------
    float or float array [episode, step]
        Bits; local values are NaN at padded steps.

    Notes
    -----
    Plug-in: H = -sum_x p(x) log2 p(x) with p(x) = n_x / N. Its bias is negative,
    E[H] - H ≈ -(m - 1) / (2 N ln 2) for m occupied symbols; Miller-Madow adds that term back:
    H_MM = H + (m - 1) / (2 N ln 2).

    References
    ----------
    Shannon (1948), doi:10.1002/j.1538-7305.1948.tb01338.x.
    Miller (1955), "Note on the bias of information estimates".

    Examples
    --------
    >>> entropy([0, 1, 0, 1])
    1.0
    >>> entropy([[0, 1, -1], [1, 0, 0]])  # padding ignored: counts 3 zeros, 2 ones
    0.9709505944546686
    """
    mm = check_estimator(bias, local)
    (xs,), a = _prepare([x], ["x"], n_symbols)
    return information_from_codes([(1.0, xs, a)], xs >= 0, mm, local)


def joint_entropy(
    *series: Any, n_symbols: int | None = None, bias: str | bool | None = None
) -> float:
    """Joint entropy H(X, Y, ...) in bits over the steps where every series is valid.

    Parameters
    ----------
    *series : int arrays [episode, step] or [step], same shape
        Symbol series, -1 = padding.
    n_symbols : int, optional
        Common alphabet size (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator (see :func:`entropy`).

    Returns
    -------
    float
        Bits.

    Notes
    -----
    H(X, Y) = -sum p(x, y) log2 p(x, y); the joint state is coded as x * A + y.

    Examples
    --------
    >>> joint_entropy([0, 1, 0, 1], [0, 1, 0, 1])  # identical fair coins
    1.0
    >>> joint_entropy([0, 0, 1, 1], [0, 1, 0, 1])  # independent fair coins
    2.0
    """
    if len(series) == 0:
        raise ValueError("joint_entropy needs at least one series.")
    mm = check_bias(bias)
    arrays, a = _prepare(series, [f"series {i}" for i in range(len(series))], n_symbols)
    code, radix = combine_codes(arrays, [a] * len(arrays))
    return information_from_codes([(1.0, code, radix)], code >= 0, mm)


def conditional_entropy(
    x: Any, y: Any, n_symbols: int | None = None, bias: str | bool | None = None
) -> float:
    """Conditional entropy H(X | Y) = H(X, Y) - H(Y) in bits.

    Parameters
    ----------
    x, y : int arrays [episode, step] or [step], same shape
        Symbol series, -1 = padding; steps where either is padded are dropped.
    n_symbols : int, optional
        Alphabet size (max + 1 when None).
    bias : {None, "plugin", "miller-madow"} or bool
        Estimator; Miller-Madow corrects both entropy terms.

    Returns
    -------
    float
        Bits.

    Notes
    -----
    Plug-in bias ≈ -(m_XY - m_Y) / (2 N ln 2) (m: occupied cells).

    Examples
    --------
    >>> conditional_entropy([0, 1, 0, 1], [0, 1, 0, 1])  # Y determines X
    0.0
    >>> conditional_entropy([0, 0, 1, 1], [0, 1, 0, 1])
    1.0
    """
    mm = check_bias(bias)
    (xs, ys), a = _prepare([x, y], ["x", "y"], n_symbols)
    xy, r = combine_codes([xs, ys], [a, a])
    valid = xy >= 0
    return information_from_codes([(1.0, xy, r), (-1.0, ys, a)], valid, mm)
