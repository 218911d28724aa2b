"""Driver of the count-table kernel: codes, mode choice, and conversion of sums to bits.

Used by :func:`~infoflow.measures.transfer_entropy`, the pairwise functions and
:mod:`infoflow.significance` (which passes surrogate pairings), so that observed values and
surrogate values come from one estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from infoflow.measures._codes import circular_history_codes, history_code
from infoflow.measures._kernels import (
    N_SUMS,
    circular_source_codes,
    episode_lengths_of,
    table_sums,
    target_codes,
    xlogx_table,
)

__all__ = ["Codes", "prepare_codes", "run_tables", "sums_to_bits"]

_LN2 = np.log(2.0)
#: Largest joint table (cells) the kernel may allocate before codes are relabelled.
_MAX_CELLS = 1 << 25
#: Largest total size of the per-source tables filled in one pass (mode 0).
_MAX_MODE0_CELLS = 1 << 22


@dataclass
class Codes:
    """Codes of every agent as a target (``tc``) and as a source (``cc``).

    Attributes
    ----------
    tc : int32 [target, episode, step]
        ``x_t * n_p + past_k`` (past of length k ending at t - 1); ``nx * n_p`` where invalid.
    cc : int32 [episode, step, source]
        Circular source history codes of length l; ``ns`` where invalid.
    lengths : int64 [episode]
        Valid episode lengths (last non-padded step of any agent + 1).
    nx, n_p, ns : int
        Code-space sizes of target next value, target past, source history.
    l : int
        Source history length.
    n_valid : int
        Largest number of valid target samples of any agent (bounds every count).
    """

    tc: np.ndarray
    cc: np.ndarray
    lengths: np.ndarray
    nx: int
    n_p: int
    ns: int
    l: int
    n_valid: int


def _relabel(code: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel the valid (>= 0) codes to 0 .. n_states - 1."""
    out = np.full_like(code, -1)
    valid = code >= 0
    uniq, inverse = np.unique(code[valid], return_inverse=True)
    out[valid] = inverse
    return out, max(1, uniq.size)


def prepare_codes(
    series: Sequence[np.ndarray] | np.ndarray,
    k: int,
    l: int,
    n_symbols: int,
    targets: Sequence[int] | None = None,
    sources: Sequence[int] | None = None,
) -> Codes:
    """Build target and source codes of symbol series (each int [episode, step], -1 padding).

    ``series`` is a sequence of 2-D arrays or an array [agent, episode, step]. ``targets`` /
    ``sources`` select the series coded as targets (``tc[i]`` is series ``targets[i]``) and as
    sources (``cc[..., i]`` is series ``sources[i]``); default all. ``k = 0`` gives the empty
    target past (lagged mutual information). Code spaces larger than the kernel's table limit
    are relabelled to the observed states; ValueError if still too large.
    """
    n_series = len(series)
    n_episodes, n_steps = series[0].shape
    targets = list(range(n_series)) if targets is None else list(targets)
    sources = list(range(n_series)) if sources is None else list(sources)
    a = n_symbols
    lengths = np.zeros(n_episodes, dtype=np.int64)
    for x in series:
        episode_lengths_of(x, lengths)
    if a ** (k + l + 1) > _MAX_CELLS:
        return _prepare_relabelled(series, k, l, a, targets, sources, lengths)
    n_p, ns = a**k, a**l
    tc = np.empty((len(targets), n_episodes, n_steps), dtype=np.int32)
    for i, j in enumerate(targets):
        target_codes(series[j], k, a, lengths, tc[i])
    cc = np.empty((n_episodes, n_steps, len(sources)), dtype=np.int32)
    for i, j in enumerate(sources):
        circular_source_codes(series[j], l, a, lengths, cc, i)
    return Codes(tc, cc, lengths, a, n_p, ns, l, _n_valid(tc, a * n_p))


def _n_valid(tc: np.ndarray, trash: int) -> int:
    """Largest number of valid target samples of any target."""
    if tc.shape[0] == 0:
        return 0
    return int(max(np.count_nonzero(t != trash) for t in tc))


def _prepare_relabelled(series, k, l, a, targets, sources, lengths) -> Codes:
    """Slow path for huge code spaces: numpy codes relabelled to the observed states."""
    n_episodes, n_steps = series[0].shape
    past = np.stack([history_code(np.asarray(series[j], np.int64), k, a, lag=1)
                     for j in targets])
    cc = np.stack([circular_history_codes(np.asarray(series[j], np.int64), l, a, lengths)
                   for j in sources], axis=2)
    past, n_p = _relabel(past)
    cc, ns = _relabel(cc)
    if ns * a * n_p > _MAX_CELLS:
        raise ValueError(
            f"joint state space too large ({ns} source x {a} x {n_p} past states); "
            "use shorter histories k, l or a smaller alphabet."
        )
    tc = np.empty(past.shape, dtype=np.int32)
    for i, j in enumerate(targets):
        x = np.asarray(series[j])
        tc[i] = np.where((x >= 0) & (past[i] >= 0), x * n_p + past[i], a * n_p)
    cc = np.where(cc >= 0, cc, ns).astype(np.int32)
    return Codes(tc, cc, lengths, a, n_p, ns, l, _n_valid(tc, a * n_p))


def run_tables(
    codes: Codes,
    targets: list[int],
    sources: np.ndarray,
    lags: np.ndarray,
    perm: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    active: np.ndarray | None = None,
    xlogx: np.ndarray | None = None,
    mode: int | None = None,
) -> np.ndarray:
    """Kernel sums: float64 [target, surrogate, source, lag, N_SUMS].

    ``targets`` index ``codes.tc``; ``sources`` int [target, S] index ``codes.cc`` columns;
    ``active`` bool [target, S, lag] (default all); ``perm``/``shift`` [surrogate, episode]
    default to the observed pairing (one surrogate). ``mode`` (kernel loop order, see
    ``table_sums``) is chosen from the table sizes when None; every mode gives the same sums.
    """
    n_episodes = codes.tc.shape[1]
    if perm is None:
        perm = np.arange(n_episodes, dtype=np.int64)[None]
    if shift is None:
        shift = np.zeros_like(perm)
    sources = np.ascontiguousarray(np.atleast_2d(sources), dtype=np.int64)
    lags = np.ascontiguousarray(lags, dtype=np.int64)
    n_src = sources.shape[1]
    if active is None:
        active = np.ones((len(targets), n_src, lags.size), dtype=bool)
    if xlogx is None:
        xlogx = np.zeros(1)
    if mode is None:
        mode = _choose_mode(codes, n_src)
    out = np.zeros((len(targets), perm.shape[0], n_src, lags.size, N_SUMS))
    tc = codes.tc if list(targets) == list(range(codes.tc.shape[0])) else codes.tc[targets]
    table_sums(
        tc, codes.cc, codes.lengths, sources, lags, codes.l,
        np.ascontiguousarray(active, dtype=np.bool_),
        np.ascontiguousarray(perm, dtype=np.int64), np.ascontiguousarray(shift, dtype=np.int64),
        codes.nx, codes.n_p, codes.ns, mode, xlogx, out,
    )
    return out


def _choose_mode(codes: Codes, n_src: int) -> int:
    """Kernel loop order for these table sizes (see ``table_sums``)."""
    if codes.ns * codes.nx * codes.n_p > codes.n_valid:
        return 2  # sparse tables: visit only the touched cells
    if (codes.ns + 1) * (codes.nx * codes.n_p + 1) * n_src <= _MAX_MODE0_CELLS:
        return 0  # small dense tables: one pass fills every source's table
    return 1


def make_xlogx(codes: Codes) -> np.ndarray:
    """Lookup table of c log2 c up to the largest possible count."""
    return xlogx_table(codes.n_valid)


def sums_to_bits(sums: np.ndarray, miller_madow: bool = False) -> np.ndarray:
    """I(X; S | P) in bits from kernel sums [..., N_SUMS]; NaN where no sample.

    I = H(X,P) + H(S,P) - H(S,X,P) - H(P) = (S_joint + S_p - S_sp - S_xp) / N with
    S = sum_c c log2 c; Miller-Madow adds (m_xp + m_sp - m_joint - m_p) / (2 N ln 2).
    """
    n = sums[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (sums[..., 1] + sums[..., 4] - sums[..., 2] - sums[..., 3]) / n
        value = np.maximum(value, 0.0)  # plug-in CMI >= 0; removes rounding residue ~1e-16
        if miller_madow:
            value = value + (sums[..., 7] + sums[..., 6] - sums[..., 5] - sums[..., 8]) / (
                2.0 * n * _LN2
            )
    return np.where(n > 0, value, np.nan)
