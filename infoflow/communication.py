"""The paper's communication and outcome metrics (Jaques et al. 2019, section 5.1, suppl. 10.4.4).

* :func:`speaker_consistency`: how consistently each agent's symbol goes with its own action
  (suppl. Eq. 8), 1 for a one-to-one speaker, about 0 for a random one;
* :func:`instantaneous_coordination`: I(m_k,t ; a_j,t+1) (symbol/action) or
  I(a_k,t ; a_j,t+1) (action/action) per pair, on all steps or on influential moments only;
* :func:`episode_returns`, :func:`gini`, :func:`equality`, :func:`return_summary`: collective
  return, equality 1 - Gini (suppl. Eq. 9) and their product (paper Fig. 16).

Mutual information comes from :mod:`infoflow.measures` (plug-in estimate in bits).

References
----------
Jaques, N. et al. (2019). Social influence as intrinsic motivation for multi-agent deep
reinforcement learning. ICML. arXiv:1810.08647.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from infoflow.measures import mutual_info

__all__ = [
    "speaker_consistency",
    "consistency_kernel",
    "instantaneous_coordination",
    "episode_returns",
    "gini",
    "gini_kernel",
    "equality",
    "return_summary",
]

_ESA = ("episode", "step", "agent")


def _codes(ds: xr.Dataset, name: str) -> np.ndarray:
    """Variable ``name`` as int64 [episode, step, agent], -1 on padded steps."""
    if name not in ds.data_vars:
        fix = ("log messages (a communication model)" if name == "message"
               else "check that the file is a trajectory store")
        raise ValueError(f"the trajectories have no '{name}' variable; {fix}")
    if set(ds[name].dims) != set(_ESA):
        raise ValueError(f"'{name}' has dims {ds[name].dims}; expected {_ESA}")
    codes = np.asarray(ds[name].transpose(*_ESA).values).astype(np.int64)  # [E, T, N]
    if "length" in ds.data_vars:
        lengths = np.asarray(ds["length"].values).reshape(-1, 1)
        padded = np.arange(codes.shape[1])[None, :] >= lengths  # [E, T]
        codes = np.where(padded[:, :, None], -1, codes)
    return codes


def _alphabet(ds: xr.Dataset, attr: str, codes: np.ndarray, given: int | None) -> int:
    size = given if given is not None else int(ds.attrs.get(attr, 0) or 0)
    size = max(size, int(codes.max(initial=-1)) + 1)
    if size < 2:
        raise ValueError(
            f"speaker consistency needs an alphabet of at least 2 codes ({attr} = {size}); "
            f"pass {attr}= explicitly"
        )
    return size


def _row_consistency(counts: np.ndarray, h_max: float) -> float:
    """Mean over observed rows of 1 - H(row) / h_max, in bits; NaN when no row is observed."""
    totals = counts.sum(axis=1)  # [rows]
    rows = counts[totals > 0] / totals[totals > 0, None]
    if rows.shape[0] == 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(rows > 0, rows * np.log2(rows), 0.0).sum(axis=1)
    return float(np.mean(1.0 - h / h_max))


def consistency_kernel(actions: np.ndarray, symbols: np.ndarray, n_actions: int,
                       n_symbols: int) -> float:
    """Speaker consistency of one agent from paired codes (suppl. Eq. 8, normalised).

    Parameters
    ----------
    actions, symbols : np.ndarray
        int, same shape; entries where either is negative (padding) are ignored.
    n_actions, n_symbols : int
        Alphabet sizes (>= 2); H_max is log2 of each.

    Returns
    -------
    float
        0.5 * [mean_c (1 - H(a | m = c) / log2 A) + mean_a (1 - H(m | a) / log2 V)] over the
        symbols c and actions a that occur; 1 for a one-to-one speaker; NaN without data.

    Examples
    --------
    >>> consistency_kernel(np.array([0, 1, 2, 0]), np.array([2, 0, 1, 2]), 3, 3)
    1.0
    """
    ok = (actions >= 0) & (symbols >= 0)
    counts = np.zeros((n_symbols, n_actions))  # [V, A]
    np.add.at(counts, (symbols[ok], actions[ok]), 1.0)
    if counts.sum() == 0:
        return float("nan")
    by_symbol = _row_consistency(counts, np.log2(n_actions))
    by_action = _row_consistency(counts.T, np.log2(n_symbols))
    return 0.5 * (by_symbol + by_action)


def speaker_consistency(ds: xr.Dataset, n_actions: int | None = None,
                        n_symbols: int | None = None) -> xr.DataArray:
    """Consistency between each agent's symbol and its action at the same step.

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories with ``action`` and ``message`` (episode, step, agent), ``length(episode)``.
    n_actions, n_symbols : int, optional
        Alphabet sizes; default: the ``n_actions``/``n_symbols`` attributes (at least the
        largest code + 1).

    Returns
    -------
    xr.DataArray
        float (agent) in [0, 1]: 1 when symbols and actions map one to one, about 0 when they
        are independent and uniform.

    Notes
    -----
    Suppl. Eq. 8: 0.5 [sum_c (1 - H(p(a_k | m_k = c)) / H_max) + sum_a (1 - H(p(m_k | a_k = a))
    / H_max)], normalised by the number of terms (observed symbols and actions). The plug-in
    entropies are biased downwards on few samples, so a random speaker scores slightly above 0.
    """
    actions = _codes(ds, "action")
    symbols = _codes(ds, "message")
    a_size = _alphabet(ds, "n_actions", actions, n_actions)
    v_size = _alphabet(ds, "n_symbols", symbols, n_symbols)
    score = [consistency_kernel(actions[..., k], symbols[..., k], a_size, v_size)
             for k in range(actions.shape[2])]
    return xr.DataArray(np.array(score), dims=("agent",), coords={"agent": ds["agent"].values},
                        name="consistency", attrs={"long_name": "speaker consistency",
                                                   "units": "1"})


def instantaneous_coordination(ds: xr.Dataset, kind: str = "action",
                               moments: xr.DataArray | None = None) -> xr.DataArray:
    """Instantaneous coordination I(x_k,t ; a_j,t+1) for every ordered pair k != j.

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories with ``action`` (and ``message`` for ``kind="symbol"``) and ``length``.
    kind : {"action", "symbol"}
        x is the source's action (action/action coordination) or its symbol (symbol/action).
    moments : xr.DataArray, optional
        bool (episode, step, source), e.g. :func:`infoflow.influence.influential_moments`:
        only steps t at which the source's entry is True are used.

    Returns
    -------
    xr.DataArray
        float (source, target) in bits; NaN on the diagonal. The paper reports the maximum
        over pairs (``.max()``).

    Notes
    -----
    "Averaged over steps": the mutual information is estimated from the joint histogram of
    all used steps of all episodes (plug-in estimate). Steps t with t + 1 at or after the
    episode's end are not used.
    """
    if kind not in ("action", "symbol"):
        raise ValueError(f"kind must be 'action' or 'symbol', not {kind!r}")
    actions = _codes(ds, "action")  # [E, T, N]
    sources = _codes(ds, "message") if kind == "symbol" else actions
    x = sources[:, :-1]  # [E, T-1, N]  x_k,t
    y = actions[:, 1:]  # [E, T-1, N]  a_j,t+1
    if moments is not None:
        keep = np.asarray(moments.transpose("episode", "step", "source").values, dtype=bool)
        if keep.shape != actions.shape:
            raise ValueError(
                f"moments has shape {keep.shape}; expected (episode, step, source) = "
                f"{actions.shape}"
            )
        x = np.where(keep[:, :-1], x, -1)
    n = actions.shape[2]
    values = np.full((n, n), np.nan)
    for k in range(n):
        for j in range(n):
            if k == j:
                continue
            xk, yj = x[..., k], y[..., j]
            ok = (xk >= 0) & (yj >= 0)  # [E, T-1]
            if ok.any():
                values[k, j] = mutual_info(np.where(ok, xk, -1), np.where(ok, yj, -1))
    names = ds["agent"].values
    label = "symbol/action" if kind == "symbol" else "action/action"
    return xr.DataArray(
        values, dims=("source", "target"), coords={"source": names, "target": names},
        name=f"ic_{kind}", attrs={"long_name": f"instantaneous coordination ({label})",
                                  "units": "bit"},
    )


def episode_returns(ds: xr.Dataset) -> xr.DataArray:
    """Sum of the environment reward of each agent in each episode.

    Returns
    -------
    xr.DataArray
        float (episode, agent); padded steps (NaN) are not counted.
    """
    if "reward" not in ds.data_vars:
        raise ValueError("the trajectories have no 'reward' variable; log rewards to get returns")
    reward = np.asarray(ds["reward"].transpose(*_ESA).values, dtype=np.float64)  # [E, T, N]
    if "length" in ds.data_vars:
        lengths = np.asarray(ds["length"].values).reshape(-1, 1)
        reward = np.where((np.arange(reward.shape[1])[None, :] < lengths)[:, :, None], reward,
                          np.nan)
    total = np.nansum(reward, axis=1)  # [E, N]
    return xr.DataArray(total, dims=("episode", "agent"),
                        coords={"agent": ds["agent"].values}, name="episode_return",
                        attrs={"long_name": "environment return per episode"})


def gini_kernel(returns: np.ndarray) -> np.ndarray:
    """Gini coefficient over the last axis (suppl. Eq. 9).

    ``G = sum_i sum_j |e_i - e_j| / (2 N sum_i e_i)``; 0 when all returns are equal, NaN when
    they differ but sum to zero or less (the coefficient is then undefined).

    Examples
    --------
    >>> gini_kernel(np.array([[4.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]))
    array([0.75, 0.  ])
    """
    e = np.asarray(returns, dtype=np.float64)
    diff = np.abs(e[..., :, None] - e[..., None, :]).sum(axis=(-2, -1))
    total = e.sum(axis=-1)
    n = e.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(total > 0, diff / (2 * n * total), np.nan)
    return np.where(diff == 0, 0.0, g)


def gini(returns: xr.DataArray, dim: str = "agent") -> xr.DataArray:
    """Gini coefficient of ``returns`` over dimension ``dim`` (see :func:`gini_kernel`)."""
    if dim not in returns.dims:
        raise ValueError(f"returns has no dimension {dim!r}; its dims are {returns.dims}")
    return xr.apply_ufunc(gini_kernel, returns, input_core_dims=[[dim]]).rename("gini")


def equality(returns: xr.DataArray, dim: str = "agent") -> xr.DataArray:
    """Equality 1 - Gini over ``dim`` (paper Eq. 9): 1 when every agent earns the same."""
    return (1.0 - gini(returns, dim)).rename("equality")


def return_summary(ds: xr.Dataset) -> xr.Dataset:
    """Returns, collective return, equality and their product.

    Returns
    -------
    xr.Dataset
        ``episode_return(episode, agent)``, ``return(agent)`` (mean over episodes),
        ``collective_return(episode)`` (sum over agents), ``equality(episode)`` and
        ``return_equality(episode)`` = collective return x equality (paper Fig. 16).
    """
    per_agent = episode_returns(ds)
    collective = per_agent.sum("agent")
    eq = equality(per_agent)
    return xr.Dataset({
        "episode_return": per_agent,
        "return": per_agent.mean("episode").assign_attrs(long_name="mean return per episode"),
        "collective_return": collective.assign_attrs(long_name="sum of the agents' returns"),
        "equality": eq.assign_attrs(long_name="1 - Gini of the agents' returns", units="1"),
        "return_equality": (collective * eq).assign_attrs(
            long_name="collective return times equality"),
    })
