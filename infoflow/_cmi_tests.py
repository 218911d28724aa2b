"""Batched permutation tests of conditional mutual information, for network inference.

One *row* is a target series with its own conditioning set, coded as ``x * n_p + z`` (the
kernel's target code); its *candidates* are source columns at lags. A *test* groups rows and
reduces over their active candidates with a maximum (greedy inclusion: is the best candidate
informative?) or a minimum (pruning: is the weakest selected variable still informative?).
Every surrogate draw re-pairs all source columns at once (one pairing or shift per episode),
and one kernel call per batch fills the count tables of every row, candidate and draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infoflow.measures._tables import Codes, make_xlogx, run_tables, sums_to_bits
from infoflow.surrogates import SurrogatePlan, draw_surrogates

__all__ = ["RowCodes", "relabel", "row_codes", "run_test"]

#: Most surrogates drawn per kernel call: bounds memory whatever the number of permutations.
MAX_BATCH = 512
#: Values within this distance of the observed statistic count as "null >= observed".
TIE_TOL = 1e-12


def relabel(code: np.ndarray) -> tuple[np.ndarray, int]:
    """Valid (>= 0) codes relabelled 0 .. n - 1 (order kept); -1 stays; returns (codes, n)."""
    out = np.full(code.shape, -1, dtype=np.int64)
    valid = code >= 0
    uniq, inverse = np.unique(code[valid], return_inverse=True)
    out[valid] = inverse
    return out, max(1, int(uniq.size))


@dataclass
class RowCodes:
    """Stacked target codes of several rows, ready for the kernel.

    Attributes
    ----------
    tc : int32 [row, episode, step]
        ``x * n_p + z``; ``nx * n_p`` (trash) where the row's sample is invalid.
    nx, n_p : int
        Sizes of the target-value and conditioning code spaces (``n_p``: the largest row's).
    n_valid : int
        Largest number of valid samples of any row.
    """

    tc: np.ndarray
    nx: int
    n_p: int
    n_valid: int


def row_codes(targets: list[np.ndarray], conditions: list[np.ndarray], nx: int) -> RowCodes:
    """Stack rows: ``targets[r]`` int [episode, step] values (-1 invalid) conditioned on
    ``conditions[r]`` (relabelled codes, -1 invalid)."""
    n_p = max([int(c.max(initial=0)) + 1 for c in conditions] + [1])
    tc = np.empty((len(targets),) + targets[0].shape, dtype=np.int32)
    n_valid = 0
    for r, (x, z) in enumerate(zip(targets, conditions, strict=True)):
        ok = (x >= 0) & (z >= 0)
        tc[r] = np.where(ok, x * n_p + z, nx * n_p)
        n_valid = max(n_valid, int(ok.sum()))
    return RowCodes(tc, int(nx), n_p, n_valid)


def _stat(values: np.ndarray, active: np.ndarray, groups: np.ndarray, n_groups: int,
          reduce: str) -> np.ndarray:
    """Per test: max or min over its rows' active candidates. values [..., row, C, U]."""
    fill = -np.inf if reduce == "max" else np.inf
    v = np.where(active & np.isfinite(values), values, fill)
    per_row = v.max(axis=(-2, -1)) if reduce == "max" else v.min(axis=(-2, -1))
    out = np.full(per_row.shape[:-1] + (n_groups,), fill)
    for g in range(n_groups):
        rows = groups == g
        if rows.any():
            sel = per_row[..., rows]
            out[..., g] = sel.max(-1) if reduce == "max" else sel.min(-1)
    return out


def run_test(rows: RowCodes, cc: np.ndarray, ns: int, lengths: np.ndarray,
             sources: np.ndarray, lags: np.ndarray, active: np.ndarray, groups: np.ndarray,
             reduce: str, plan: SurrogatePlan, rng: np.random.Generator, permutations: int,
             alpha: float) -> dict[str, np.ndarray]:
    """Observed CMI of every (row, candidate) and a max/min-statistic permutation test per group.

    Parameters
    ----------
    rows : RowCodes
        Target codes [row, episode, step].
    cc : int32 [episode, step, column]
        Source columns (``ns`` where invalid), read cyclically by surrogates.
    ns : int
        Source code-space size.
    lengths : int64 [episode]
        Valid episode lengths.
    sources : int64 [row, C]
        Columns of ``cc`` that are each row's candidates.
    lags : int64 [U]
        Lags of the candidates (source value at t - lag).
    active : bool [row, C, U]
        Candidates to evaluate.
    groups : int64 [row]
        Test of each row, 0 .. G - 1.
    reduce : {"max", "min"}
        Statistic of a test over its rows' active candidates.
    plan, rng, permutations, alpha
        Surrogate design and its randomness, surrogates per test (at most), significance
        level of the adaptive stop (a test stops once it can no longer reach ``alpha``).

    Returns
    -------
    dict
        ``value`` float [row, C, U] (bits, NaN where inactive), ``stat`` [G] (bits),
        ``p_value`` [G], ``drawn`` [G] (surrogates drawn), ``null_mean`` [G] (bits).
    """
    codes = Codes(rows.tc, cc, np.asarray(lengths, np.int64), rows.nx, rows.n_p, ns, 1,
                  rows.n_valid)
    n_rows = rows.tc.shape[0]
    row_ids = list(range(n_rows))
    n_groups = int(groups.max(initial=-1)) + 1
    value = sums_to_bits(run_tables(codes, row_ids, sources, lags, active=active), False)[:, 0]
    value = np.where(active, value, np.nan)
    stat = _stat(value, active, groups, n_groups, reduce)
    exceed = np.zeros(n_groups, dtype=np.int64)
    drawn = np.zeros(n_groups, dtype=np.int64)
    total = np.zeros(n_groups)
    live = np.isfinite(stat)
    xlogx = make_xlogx(codes)
    batch = min(MAX_BATCH, max(32, -(-permutations // 8)))  # memory bounded for any n
    while live.any():
        n_draws = min(batch, permutations - int(drawn[live].max()))
        perm, shift = draw_surrogates(plan, rng, n_draws, lengths)
        live_rows = np.flatnonzero(live[groups])
        act = active[live_rows]
        sums = run_tables(codes, live_rows.tolist(), sources[live_rows], lags, perm, shift, act,
                          xlogx)
        null = np.moveaxis(sums_to_bits(sums, False), 1, 0)  # [draw, live row, C, U]
        null_stat = _stat(null, act, groups[live_rows], n_groups, reduce)  # [draw, G]
        ok = np.isfinite(null_stat)
        hits = ((null_stat >= stat - TIE_TOL) & ok).sum(axis=0)
        exceed += np.where(live, hits, 0)
        total += np.where(live, np.where(ok, null_stat, 0.0).sum(axis=0), 0.0)
        drawn += np.where(live, n_draws, 0)
        live &= (1 + exceed) / (1 + permutations) <= alpha
        live &= drawn < permutations
    with np.errstate(invalid="ignore", divide="ignore"):
        p_value = np.where(np.isfinite(stat) & (drawn > 0), (1 + exceed) / (1 + drawn), np.nan)
        null_mean = np.where(drawn > 0, total / drawn, np.nan)
    return {"value": value, "stat": stat, "p_value": p_value, "drawn": drawn,
            "null_mean": null_mean}
