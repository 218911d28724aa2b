"""Stationarity diagnostic: how much each agent's action marginal moves over a store.

Transfer entropy between agents is confounded by anything they share through time. Two
movements matter for the surrogates (:mod:`infoflow.surrogates`): across episodes (policies
learn: compare blocks of consecutive episodes) and within episodes (resources deplete: compare
phases of the episode). Each is summarised per agent as the largest total-variation distance
between a part's action marginal and the agent's pooled marginal, 0 (stationary) to 1.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from infoflow.context import context_code
from infoflow.measures._codes import as_actions
from infoflow.measures._kernels import episode_lengths_of
from infoflow.surrogates import DEFAULT_BLOCK, episode_blocks

__all__ = ["stationarity", "format_stationarity", "DRIFT_NOTE_LEVEL"]

#: Distance above which :func:`format_stationarity` calls a movement marked.
DRIFT_NOTE_LEVEL = 0.1


def _max_tv(acts: np.ndarray, part: np.ndarray, n_parts: int, a: int) -> float:
    """Largest TV distance between the marginal of a part (with >= a samples) and the pooled
    marginal; acts and part int [episode, step], -1 invalid."""
    ok = (acts >= 0) & (part >= 0)
    counts = np.bincount(part[ok] * a + acts[ok], minlength=n_parts * a)
    counts = counts.reshape(n_parts, a).astype(np.float64)
    pooled = counts.sum(0)
    if pooled.sum() == 0:
        return float("nan")
    pooled /= pooled.sum()
    n = counts.sum(1)
    big = n >= max(a, 10)
    if not big.any():
        return float("nan")
    marg = counts[big] / n[big, None]
    return float(0.5 * np.abs(marg - pooled).sum(1).max())


def stationarity(data: xr.Dataset | np.ndarray, block: int = DEFAULT_BLOCK,
                 phases: int = 4) -> xr.Dataset:
    """Movement of every agent's action marginal across episodes and within episodes.

    Parameters
    ----------
    data : xr.Dataset with ``action`` or int array [episode, step, agent]
        Actions, -1 = padding.
    block : int
        Consecutive episodes per block (as the ``"blocks"`` surrogates).
    phases : int
        Equal spans of the longest episode compared within episodes.

    Returns
    -------
    xr.Dataset
        Over agent: ``drift_across`` (largest TV distance between a block's marginal and the
        pooled one; NaN with a single block) and ``drift_within`` (the same over phases), in
        [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> acts = np.zeros((10, 20, 2), dtype=int)
    >>> acts[5:, :, 0] = 1  # agent 0 switches action half-way through the store
    >>> s = stationarity(acts)
    >>> s.drift_across.values.tolist(), s.drift_within.values.tolist()
    ([0.5, 0.0], [0.0, 0.0])
    """
    acts, names = as_actions(data)  # [agent, episode, step]
    acts = acts.astype(np.int64)
    n_agents, n_episodes, n_steps = acts.shape
    a = int(acts.max(initial=0)) + 1
    lengths = np.zeros(n_episodes, dtype=np.int64)
    for x in acts:
        episode_lengths_of(x, lengths)
    blocks = episode_blocks(n_episodes, int(block))
    block_of = np.zeros(n_episodes, dtype=np.int64)
    for i, (lo, hi) in enumerate(blocks):
        block_of[lo:hi] = i
    across_part = np.broadcast_to(block_of[:, None], (n_episodes, n_steps))
    phase, n_phase = context_code(None, ["phase"], lengths, n_steps, phases)
    across = np.array([_max_tv(x, across_part, len(blocks), a) if len(blocks) > 1 else np.nan
                       for x in acts])
    within = np.array([_max_tv(x, phase, n_phase, a) for x in acts])
    tv = {"units": "1", "long_name": "largest total-variation distance from the pooled marginal"}
    return xr.Dataset({"drift_across": ("agent", across, tv),
                       "drift_within": ("agent", within, tv)},
                      coords={"agent": names}, attrs={"block": int(block), "phases": int(phases)})


def format_stationarity(diag: xr.Dataset) -> str:
    """One line: the largest movement across and within episodes, and the agent that moves.

    Examples
    --------
    >>> d = xr.Dataset({"drift_across": ("agent", [0.3, 0.1]), "drift_within": ("agent", [0.02,
    ...                 0.04])}, coords={"agent": ["a", "b"]})
    >>> line = format_stationarity(d)
    >>> line[:84]
    'stationarity: action marginals move across episodes (TV up to 0.30, agent a; marked)'
    >>> line[84:]
    ' and within episodes (TV up to 0.04, agent b)'
    """
    parts = []
    for var, where in (("drift_across", "across episodes"), ("drift_within", "within episodes")):
        v = np.asarray(diag[var].values, dtype=float)
        if not np.isfinite(v).any():
            parts.append(f"{where} (not measurable)")
            continue
        i = int(np.nanargmax(v))
        mark = "; marked" if v[i] > DRIFT_NOTE_LEVEL else ""
        parts.append(f"{where} (TV up to {v[i]:.2f}, agent {diag['agent'].values[i]}{mark})")
    return "stationarity: action marginals move " + " and ".join(parts)
