"""Conditioning context: what every agent shares through time, as one discrete code per step.

Agents that never influence each other still move together when they share a driver: the
time within an episode (resources deplete, so every policy changes through an episode), the
state of the game (apples, waste), or the episode itself (policies drift while they learn).
Conditioning every test on such variables removes that shared part from the statistic, so
only the coupling between agents is left to test.

Context variables, by name:

``"phase"``
    The step within the episode, cut into ``bins`` equal spans of the longest episode.
``"episode"``
    The episode itself: removes everything constant within an episode (drift across episodes)
    at the price of one conditioning state per episode (only for few, long episodes).
any variable of the dataset over ``(episode, step)``
    For example the game counters ``apples`` and ``waste``: cut into ``bins`` quantile bins of
    its valid values (fewer when it takes fewer values).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = ["DEFAULT_BINS", "context_code", "context_names"]

#: Default number of bins of a context variable.
DEFAULT_BINS = 4


def context_names(ds: xr.Dataset | None) -> list[str]:
    """Context variables available in ``ds``: ``phase``, ``episode`` and its (episode, step)
    variables other than the trajectory's own.

    Examples
    --------
    >>> ds = xr.Dataset({"apples": (("episode", "step"), np.zeros((2, 3)))})
    >>> context_names(ds)
    ['phase', 'episode', 'apples']
    """
    names = ["phase", "episode"]
    if ds is not None:
        names += [str(v) for v, da in ds.data_vars.items()
                  if set(da.dims) == {"episode", "step"} and v != "length"]
    return names


def _quantile_bins(values: np.ndarray, valid: np.ndarray, bins: int) -> np.ndarray:
    """int64 codes 0 .. <bins of ``values`` at its quantiles; -1 where not ``valid``."""
    out = np.full(values.shape, -1, dtype=np.int64)
    v = values[valid]
    if v.size == 0:
        return out
    uniq = np.unique(v)
    if uniq.size <= bins:
        out[valid] = np.searchsorted(uniq, v)
        return out
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1]))
    out[valid] = np.searchsorted(edges, v, side="right")
    return out


def context_code(ds: xr.Dataset | None, names: Sequence[str], lengths: np.ndarray,
                 n_steps: int, bins: int = DEFAULT_BINS) -> tuple[np.ndarray, int]:
    """Joint code of the context variables ``names`` at every (episode, step).

    Parameters
    ----------
    ds : xr.Dataset or None
        Trajectories holding the named variables (None: only ``phase`` and ``episode``).
    names : sequence of str
        Context variables (see the module docstring); empty gives one state.
    lengths : int array [episode]
        Valid episode lengths (steps).
    n_steps : int
        Step dimension size.
    bins : int
        Bins per variable (``phase`` and counters), >= 1.

    Returns
    -------
    code : int64 array [episode, step]
        Joint context state, 0 .. n_states - 1; -1 beyond an episode's end or where a
        variable is NaN.
    n_states : int
        Number of states the code can take.

    Raises
    ------
    ValueError
        For an unknown name (listing the available ones) or a variable with other dims.

    Examples
    --------
    >>> code, n = context_code(None, ["phase"], np.array([4, 2]), 4, bins=2)
    >>> code.tolist(), n
    ([[0, 0, 1, 1], [0, 0, -1, -1]], 2)
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_episodes = lengths.size
    steps = np.arange(n_steps)
    valid = steps[None, :] < lengths[:, None]  # [episode, step]
    code = np.zeros((n_episodes, n_steps), dtype=np.int64)
    n_states = 1
    if int(bins) < 1:
        raise ValueError(f"context bins is {bins}; pass at least 1")
    for name in names:
        if name == "phase":
            width = max(1, -(-int(lengths.max(initial=1)) // int(bins)))
            part = np.broadcast_to(steps // width, code.shape)
            radix = -(-int(lengths.max(initial=1)) // width)
        elif name == "episode":
            part = np.broadcast_to(np.arange(n_episodes)[:, None], code.shape)
            radix = max(n_episodes, 1)
        else:
            available = context_names(ds)
            if ds is None or name not in available:
                raise ValueError(
                    f"no context variable {name!r}; choose among {', '.join(available)}"
                )
            da = ds[name].transpose("episode", "step")
            values = np.asarray(da.values, dtype=np.float64)
            ok = valid & np.isfinite(values)
            part = _quantile_bins(values, ok, int(bins))
            valid = valid & ok
            radix = int(part.max(initial=0)) + 1
        code = code * radix + part
        n_states *= radix
    code = np.where(valid, code, -1)
    return code, max(n_states, 1)
