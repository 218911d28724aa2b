"""Statistics of the logged counterfactual influence (SPEC 6; Jaques et al. 2019, section 4).

The trainer logs ``influence(episode, step, source, target)``: the divergence between the
target's policy given the source's action and its counterfactual marginal (paper Eq. 1), NaN
where the pair is not defined (an influencee as source, the diagonal, an agent out of view for
the model of other agents). These functions summarise it:

* :func:`influence_mean`: the mean influence per pair over every defined step;
* :func:`influence_sparsity`: the fraction of defined steps above the pair's mean (the paper
  reports that influence is sparse: above its mean in fewer than 10 % of steps);
* :func:`influence_over_time`: the mean per episode (the influence curve over training);
* :func:`influential_moments`: the steps at which a source's total influence
  c_k(t) = sum_j influence(t, k, j) is at or above its mean (paper section 5.1);
* :func:`influencers`: which agents have any defined influence as a source;
* :func:`influence_summary`: all of the above except the per-step mask, as one Dataset.

Steps at or after an episode's ``length`` are padding and never counted.

References
----------
Jaques, N. et al. (2019). Social influence as intrinsic motivation for multi-agent deep
reinforcement learning. ICML. arXiv:1810.08647.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = [
    "influence_mean",
    "influence_sparsity",
    "influence_over_time",
    "influential_moments",
    "influencers",
    "influence_summary",
    "pair_mean_kernel",
    "sparsity_kernel",
    "episode_mean_kernel",
    "moments_kernel",
]

INFLUENCE_DIMS = ("episode", "step", "source", "target")


def _influence_array(ds: xr.Dataset) -> np.ndarray:
    """The logged influence as float64 [episode, step, source, target], NaN on padded steps."""
    if "influence" not in ds.data_vars:
        raise ValueError(
            "the trajectories have no 'influence' variable; log influence while training "
            "(an influence model) or leave 'kl' out of the measures"
        )
    da = ds["influence"]
    if set(da.dims) != set(INFLUENCE_DIMS):
        raise ValueError(
            f"'influence' has dims {da.dims}; expected {INFLUENCE_DIMS}; "
            "rebuild the store with infoflow.trajectory.from_arrays"
        )
    values = np.asarray(da.transpose(*INFLUENCE_DIMS).values, dtype=np.float64)  # [E, T, S, R]
    if "length" in ds.data_vars:
        lengths = np.asarray(ds["length"].values).reshape(-1, 1)  # [E, 1]
        padded = np.arange(values.shape[1])[None, :] >= lengths  # [E, T]
        values = np.where(padded[:, :, None, None], np.nan, values)
    return values


def _pair_coords(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    return {"source": ds["influence"]["source"], "target": ds["influence"]["target"]}


def pair_mean_kernel(values: np.ndarray) -> np.ndarray:
    """Mean over defined (finite) entries of ``values[episode, step, source, target]``.

    Returns float [source, target]; NaN for a pair with no defined step.

    Examples
    --------
    >>> v = np.full((1, 3, 1, 1), np.nan); v[0, :2, 0, 0] = [1.0, 3.0]
    >>> pair_mean_kernel(v)
    array([[2.]])
    """
    defined = np.isfinite(values)
    count = defined.sum(axis=(0, 1))  # [S, R]
    total = np.where(defined, values, 0.0).sum(axis=(0, 1))  # [S, R]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def sparsity_kernel(values: np.ndarray) -> np.ndarray:
    """Fraction of defined steps whose value is strictly above the pair's mean.

    Returns float [source, target] in [0, 1]; NaN for a pair with no defined step.

    Examples
    --------
    >>> v = np.zeros((1, 10, 1, 1)); v[0, 3, 0, 0] = 5.0
    >>> sparsity_kernel(v)
    array([[0.1]])
    """
    mean = pair_mean_kernel(values)  # [S, R]
    defined = np.isfinite(values)
    count = defined.sum(axis=(0, 1))
    with np.errstate(invalid="ignore"):
        above = (defined & (values > mean[None, None])).sum(axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, above / count, np.nan)


def episode_mean_kernel(values: np.ndarray) -> np.ndarray:
    """Mean over each episode's defined steps: float [episode, source, target], NaN if none.

    Examples
    --------
    >>> v = np.full((2, 2, 1, 1), np.nan); v[0, :, 0, 0] = [1.0, 2.0]
    >>> episode_mean_kernel(v)[:, 0, 0]
    array([1.5, nan])
    """
    defined = np.isfinite(values)
    count = defined.sum(axis=1)  # [E, S, R]
    total = np.where(defined, values, 0.0).sum(axis=1)  # [E, S, R]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def moments_kernel(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Influential moments and where a source's influence is defined, bool [episode, step,
    source] each: c_k(t) = sum over defined targets >= the mean of c_k over defined steps.

    Examples
    --------
    >>> v = np.full((1, 3, 1, 2), np.nan); v[0, :, 0, 1] = [0.0, 3.0, 0.0]
    >>> moments_kernel(v)[0][0, :, 0].tolist()
    [False, True, False]
    """
    defined = np.isfinite(values).any(axis=3)  # [E, T, S]
    total = np.where(np.isfinite(values), values, 0.0).sum(axis=3)  # [E, T, S]
    count = defined.sum(axis=(0, 1))  # [S]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.where(defined, total, 0.0).sum(axis=(0, 1)) / count, np.inf)
    return defined & (total >= mean[None, None, :]), defined


def _mean_da(ds: xr.Dataset, values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        pair_mean_kernel(values), dims=("source", "target"), coords=_pair_coords(ds),
        name="kl_mean", attrs={"long_name": "mean counterfactual influence"},
    )


def _sparsity_da(ds: xr.Dataset, values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        sparsity_kernel(values), dims=("source", "target"), coords=_pair_coords(ds),
        name="kl_sparsity",
        attrs={"long_name": "fraction of steps above the mean influence", "units": "1"},
    )


def _over_time_da(ds: xr.Dataset, values: np.ndarray) -> xr.DataArray:
    coords = {**{d: ds.coords[d] for d in ("episode",) if d in ds.coords}, **_pair_coords(ds)}
    return xr.DataArray(
        episode_mean_kernel(values), dims=("episode", "source", "target"), coords=coords,
        name="kl_episode_mean", attrs={"long_name": "mean counterfactual influence per episode"},
    )


def _moments_da(ds: xr.Dataset, mask: np.ndarray) -> xr.DataArray:
    da = ds["influence"]
    return xr.DataArray(
        mask, dims=("episode", "step", "source"),
        coords={d: da.coords[d] for d in ("episode", "step", "source") if d in da.coords},
        name="influential_moment",
    )


def _influencers_da(ds: xr.Dataset, values: np.ndarray) -> xr.DataArray:
    flag = np.isfinite(values).any(axis=(0, 1, 3))  # [S]
    names = ds["influence"]["source"].values
    return xr.DataArray(flag, dims=("agent",), coords={"agent": names}, name="influencer")


def influence_mean(ds: xr.Dataset) -> xr.DataArray:
    """Mean logged influence per pair.

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories with ``influence(episode, step, source, target)`` (nats or bits, as the
        trainer logged it; the unit is kept) and ``length(episode)``.

    Returns
    -------
    xr.DataArray
        float (source, target); NaN where the pair was never defined.
    """
    return _mean_da(ds, _influence_array(ds))


def influence_sparsity(ds: xr.Dataset) -> xr.DataArray:
    """Fraction of defined steps at which a pair's influence is above its mean.

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories with ``influence(episode, step, source, target)`` and ``length(episode)``.

    Returns
    -------
    xr.DataArray
        float (source, target) in [0, 1]; the paper reports values below 0.1.
    """
    return _sparsity_da(ds, _influence_array(ds))


def influence_over_time(ds: xr.Dataset) -> xr.DataArray:
    """Mean influence per episode and pair (the influence curve over training).

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories with ``influence(episode, step, source, target)`` and ``length(episode)``.

    Returns
    -------
    xr.DataArray
        float (episode, source, target); NaN where a pair has no defined step in an episode.
    """
    return _over_time_da(ds, _influence_array(ds))


def influential_moments(ds: xr.Dataset) -> xr.DataArray:
    """Steps at which a source's total influence is at or above its mean.

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories with ``influence(episode, step, source, target)`` and ``length(episode)``.

    Returns
    -------
    xr.DataArray
        bool (episode, step, source); False on padded steps and where the source's influence
        is undefined.

    Notes
    -----
    The total influence of source k at step t is c_k(t) = sum_j influence(t, k, j) over the
    targets where it is defined (the influence reward, paper Eq. 1); a moment is influential
    when c_k(t) >= mean_t c_k(t) (paper section 5.1, "influential moments").
    """
    return _moments_da(ds, moments_kernel(_influence_array(ds))[0])


def influencers(ds: xr.Dataset) -> xr.DataArray:
    """Which agents act as influencers: those with any defined influence as a source.

    Returns
    -------
    xr.DataArray
        bool (agent), named by the ``source`` coordinate of ``influence``.
    """
    return _influencers_da(ds, _influence_array(ds))


def influence_summary(ds: xr.Dataset) -> xr.Dataset:
    """Per-pair mean, sparsity, per-episode means and the influencer flag, as one Dataset.

    Returns
    -------
    xr.Dataset
        ``kl_mean(source, target)``, ``kl_sparsity(source, target)``,
        ``kl_episode_mean(episode, source, target)``, ``influencer(agent)`` and
        ``moment_fraction(agent)`` (the fraction of a source's defined steps that are
        influential moments).
    """
    values = _influence_array(ds)  # [E, T, S, R], read once
    moments, defined = moments_kernel(values)
    steps = defined.sum(axis=(0, 1))  # [S]
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(steps > 0, moments.sum(axis=(0, 1)) / steps, np.nan)
    flag = _influencers_da(ds, values)
    return xr.Dataset(
        {
            "kl_mean": _mean_da(ds, values),
            "kl_sparsity": _sparsity_da(ds, values),
            "kl_episode_mean": _over_time_da(ds, values),
            "influencer": flag,
            "moment_fraction": xr.DataArray(fraction, dims=("agent",),
                                            coords={"agent": flag["agent"]}),
        }
    )
