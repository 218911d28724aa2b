"""The analysis pipeline: every measure on one trajectory dataset, as one results Dataset.

:func:`analyze` runs lagged transfer entropy and lagged mutual information with permutation
significance (:func:`infoflow.significance.network_inference`), summarises the logged
counterfactual influence (:mod:`infoflow.influence`), computes the paper's communication
metrics and returns/equality (:mod:`infoflow.communication`), and merges everything into one
:class:`xarray.Dataset` with prefixed variable names. :func:`write_results` /
:func:`read_results` store it as netCDF (``analysis.nc``); :func:`compare_measures` and
:func:`format_pairs` give the per-pair KL vs MI vs TE table (SPEC 6);
:func:`format_summary` the paper's metrics as text.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from infoflow import __version__
from infoflow._text import format_table
from infoflow.communication import instantaneous_coordination, return_summary, speaker_consistency
from infoflow.graph import best_lag
from infoflow.influence import influence_summary, influential_moments
from infoflow.multivariate import SELECTION_PERMUTATIONS, multivariate_te
from infoflow.significance import LAG_TESTS, network_inference
from infoflow.stationarity import stationarity
from infoflow.surrogates import DEFAULT_BLOCK, SURROGATES
from infoflow.trajectory import agent_ends, complete, validate

__all__ = ["analyze", "MEASURES", "DEFAULT_MEASURES", "check_parameters", "n_tests",
           "lags_without_samples", "write_results", "read_results", "compare_measures",
           "format_pairs", "paper_metrics", "format_summary"]

MEASURES = ("te", "mi", "kl", "comm")
"""Measures :func:`analyze` knows: transfer entropy, lagged mutual information, the logged
KL influence, and the communication metrics (instantaneous coordination, speaker consistency)."""

DEFAULT_MEASURES = MEASURES

METHODS = ("multivariate", "bivariate")
"""Ways of inferring the TE network: greedy multivariate TE (conditioning on the other agents,
:func:`infoflow.multivariate.multivariate_te`) or one test per pair
(:func:`infoflow.significance.network_inference`)."""

#: Largest target history considered by the multivariate method when none is given.
DEFAULT_MAX_HISTORY = 3

#: Limits checked before any work: number of lags, largest lag or history, permutations.
MAX_LAGS = 32
MAX_LAG = 1000
MAX_PERMUTATIONS = 1_000_000

_MULTIVARIATE_RENAME = {"value": "te", "p_value": "te_p_value", "significant": "te_significant",
                        "selected": "te_selected", "omnibus": "te_omnibus",
                        "omnibus_p_value": "te_omnibus_p_value",
                        "omnibus_significant": "te_omnibus_significant", "ais": "ais",
                        "ais_p_value": "ais_p_value", "history": "ais_history"}

_RENAME = {"value": "", "p_value": "_p_value", "null_mean": "_null_mean",
           "null_std": "_null_std", "n_permutations": "_n_permutations",
           "significant": "_significant", "edge_p_value": "_edge_p_value",
           "best_lag": "_best_lag"}


def check_parameters(measures: Iterable[str], lags: Sequence[int], history: int | None,
                     permutations: int, alpha: float, lag_test: str = "max",
                     surrogates: str = "auto", method: str = "multivariate",
                     block: int = DEFAULT_BLOCK,
                     selection_permutations: int = SELECTION_PERMUTATIONS
                     ) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Validate analysis parameters; return the measures and the sorted unique lags.

    Raises
    ------
    ValueError
        Naming the first bad parameter and its allowed values.
    """
    measures = tuple(dict.fromkeys(str(m).strip().lower() for m in measures))
    if not measures:
        raise ValueError(f"no measure given; choose from {', '.join(MEASURES)}")
    for m in measures:
        if m not in MEASURES:
            raise ValueError(f"unknown measure {m!r}; choose from {', '.join(MEASURES)}")
    lags = tuple(sorted({int(u) for u in lags}))
    if not lags:
        raise ValueError("no lag given; pass lags >= 1, e.g. 1,2,3")
    if lags[0] < 1:
        raise ValueError(f"lag {lags[0]} is below 1; pass lags >= 1 (steps into the past)")
    if len(lags) > MAX_LAGS or lags[-1] > MAX_LAG:
        raise ValueError(f"lags up to {lags[-1]} ({len(lags)} of them) are beyond the limits "
                         f"({MAX_LAGS} lags, lag <= {MAX_LAG}); pass fewer, smaller lags")
    if history is not None and not 1 <= int(history) <= MAX_LAG:
        raise ValueError(f"history is {history}; pass a target history length in 1..{MAX_LAG}")
    if not 1 <= int(permutations) <= MAX_PERMUTATIONS:
        raise ValueError(f"permutations is {permutations}; pass 1..{MAX_PERMUTATIONS} "
                         "(e.g. 500)")
    if not 1 <= int(selection_permutations) <= MAX_PERMUTATIONS:
        raise ValueError(f"selection_permutations is {selection_permutations}; pass "
                         f"1..{MAX_PERMUTATIONS} (e.g. {SELECTION_PERMUTATIONS})")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha is {alpha}; pass a significance level in (0, 1), e.g. 0.05")
    if lag_test not in LAG_TESTS:
        raise ValueError(f"lag_test is {lag_test!r}; pass 'max' (one test per pair) or 'each' "
                         "(one test per lag)")
    if surrogates not in SURROGATES:
        raise ValueError(f"surrogates is {surrogates!r}; pass one of {', '.join(SURROGATES)}")
    if method not in METHODS:
        raise ValueError(f"method is {method!r}; pass one of {', '.join(METHODS)}")
    if int(block) < 2:
        raise ValueError(f"block is {block}; pass at least 2 episodes per block")
    return measures, lags


def n_tests(n_agents: int, n_lags: int, lag_test: str = "max",
            method: str = "bivariate") -> int:
    """Number of tests that Benjamini-Hochberg corrects over: targets (multivariate), pairs,
    or (pair, lag) for "each".

    Examples
    --------
    >>> n_tests(5, 3, "max"), n_tests(5, 3, "each"), n_tests(5, 3, method="multivariate")
    (20, 60, 5)
    """
    if method == "multivariate":
        return n_agents
    return n_agents * (n_agents - 1) * (n_lags if lag_test == "each" else 1)


def _check_data(ds: xr.Dataset, notes: list[str]) -> xr.Dataset:
    """The dataset loaded, completed (:func:`infoflow.trajectory.complete`, notes appended)
    and validated."""
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"expected an xarray.Dataset of trajectories, got {type(ds).__name__}")
    if ds.sizes.get("episode", 0) == 0 or "action" not in ds.data_vars:
        raise ValueError(
            "the trajectories hold no episode (or no 'action' variable); log episodes first"
        )
    try:
        ds, inferred = complete(ds.load())
    except (OSError, RuntimeError) as err:  # a chunk that does not decode
        raise ValueError(f"could not read the trajectories' data ({err}): the store is "
                         "damaged; restore it or write it again") from err
    notes.extend(inferred)
    validate(ds)
    return ds


def lags_without_samples(lengths: np.ndarray, lags: Sequence[int], history: int = 1,
                         measure: str = "te") -> list[int]:
    """Lags at which no episode is long enough to give a single sample.

    A sample of lagged TE at lag u with target history k (source history 1) at step t needs
    t >= max(k, u) and t < length; lagged MI needs t >= u. So lag u has a sample iff some
    episode is longer than max(k, u) steps (u for MI).

    Examples
    --------
    >>> lags_without_samples(np.array([3, 2]), [1, 2, 3, 4])
    [3, 4]
    >>> lags_without_samples(np.array([3]), [1, 2], history=3)
    [1, 2]
    """
    longest = int(np.max(lengths, initial=0))
    k = int(history) if measure == "te" else 0
    return [int(u) for u in lags if longest <= max(k, int(u))]


def _check_samples(ds: xr.Dataset, measures: tuple[str, ...], lags: tuple[int, ...],
                   history: int, notes: list[str]) -> None:
    """ValueError if no lag of TE/MI has a sample; a note naming the lags without one."""
    lengths = np.asarray(ds["length"].values)
    for m in ("te", "mi"):
        if m not in measures:
            continue
        empty = lags_without_samples(lengths, lags, history, m)
        need = f"max(history {history}, lag)" if m == "te" else "the lag"
        longest = int(np.max(lengths, initial=0))
        if len(empty) == len(lags):
            raise ValueError(
                f"no {m} sample at any lag {list(lags)}: the longest episode has {longest} "
                f"step(s) and a sample needs episodes longer than {need}; pass smaller lags "
                f"(--lags){' or a shorter history (--history)' if m == 'te' else ''}, or "
                "analyze longer episodes"
            )
        if empty:
            notes.append(f"{m} at lag(s) {', '.join(map(str, empty))} has no sample (the "
                         f"longest episode has {longest} steps): NaN, never an edge")


def _network(ds: xr.Dataset, measure: str, lags: tuple[int, ...], history: int,
             permutations: int, alpha: float, seed: int, lag_test: str, surrogates: str
             ) -> tuple[xr.Dataset, dict]:
    kwargs = {"k": history} if measure == "te" else {}
    res = network_inference(ds, measure=measure, lags=lags, permutations=permutations,
                            alpha=alpha, seed=seed, lag_test=lag_test, surrogates=surrogates,
                            **kwargs)
    out = res.rename({v: f"{measure}{suffix}" for v, suffix in _RENAME.items()
                      if v in res.data_vars})
    for name in out.data_vars:
        out[name].attrs = {}
    out[measure].attrs = {"long_name": "lagged transfer entropy" if measure == "te"
                          else "lagged mutual information", "units": "bit"}
    info = {f"{measure}_surrogates": str(res.attrs.get("surrogates", "")),
            f"{measure}_estimator": str(res.attrs.get("estimator", "")),
            "notes": str(res.attrs.get("notes", ""))}
    out.attrs = {"notes": info["notes"]}
    return out, info


def _multivariate(ds: xr.Dataset, lags: tuple[int, ...], history: int, permutations: int,
                  selection_permutations: int, alpha: float, seed: int, surrogates: str,
                  condition: tuple[str, ...], block: int) -> tuple[xr.Dataset, dict]:
    res = multivariate_te(ds, lags=lags, max_history=history, permutations=permutations,
                          selection_permutations=selection_permutations, alpha=alpha,
                          surrogates=surrogates, block=block, context=condition, seed=seed)
    out = res.rename(_MULTIVARIATE_RENAME)
    info = {"te_surrogates": str(res.attrs["surrogates"]), "te_estimator": "plugin",
            "te_context": str(res.attrs["context"]), "notes": str(res.attrs["notes"]),
            "selection_permutations": int(res.attrs["selection_permutations"])}
    out.attrs = {"notes": info["notes"]}
    return out, info


def _check_rewards(ds: xr.Dataset) -> None:
    """ValueError naming the first episode and step where a reward is NaN or infinite."""
    for name in ("reward", "intrinsic_reward"):
        if name not in ds.data_vars:
            continue
        r = np.asarray(ds[name].transpose("episode", "step", "agent").values, dtype=np.float64)
        steps = np.arange(ds.sizes["step"])
        inside = steps[None, :, None] < agent_ends(ds)[:, None, :]  # [episode, step, agent]
        bad = ~np.isfinite(r) & inside
        if bad.any():
            e, t, a = (int(i[0]) for i in np.nonzero(bad))
            raise ValueError(f"'{name}' is {r[e, t, a]} at episode {e}, step {t}, agent "
                             f"{ds['agent'].values[a]}: rewards must be finite; fix or drop "
                             "those episodes")


def _roles(influencer: xr.DataArray) -> xr.DataArray | None:
    flags = influencer.values.astype(bool)
    if flags.all() or not flags.any():
        return None
    return xr.DataArray(np.where(flags, "influencer", "influencee"), dims=("agent",),
                        coords={"agent": influencer["agent"].values}, name="role")


def _comm(ds: xr.Dataset, notes: list[str]) -> dict[str, xr.DataArray]:
    out: dict[str, xr.DataArray] = {}
    moments = influential_moments(ds) if "influence" in ds.data_vars else None
    kinds = ["action"]
    if "message" in ds.data_vars:
        kinds.append("symbol")
        out["consistency"] = speaker_consistency(ds)
    else:
        notes.append("no 'message' logged: speaker consistency and symbol/action "
                     "coordination skipped")
    if moments is None:
        notes.append("no 'influence' logged: coordination on influential moments skipped")
    for kind in kinds:
        ic = instantaneous_coordination(ds, kind)
        out[f"ic_{kind}"] = ic
        out[f"ic_{kind}_max"] = ic.max().assign_attrs(ic.attrs)
        if moments is not None:
            ic = instantaneous_coordination(ds, kind, moments)
            ic.attrs["long_name"] += " on influential moments"
            out[f"ic_{kind}_influential"] = ic
            out[f"ic_{kind}_influential_max"] = ic.max().assign_attrs(ic.attrs)
    return out


def analyze(ds: xr.Dataset, measures: Iterable[str] | None = None,
            lags: Sequence[int] = (1, 2, 3), history: int | None = None,
            permutations: int = 500, alpha: float = 0.05, seed: int = 0,
            store: str | None = None, lag_test: str = "max", surrogates: str = "auto",
            method: str = "multivariate", condition: Sequence[str] = (),
            block: int = DEFAULT_BLOCK,
            selection_permutations: int = SELECTION_PERMUTATIONS) -> xr.Dataset:
    """Run the analysis pipeline on trajectories.

    Parameters
    ----------
    ds : xr.Dataset
        Trajectories in the schema of :mod:`infoflow.trajectory` (lazy datasets are loaded).
    measures : iterable of str, optional
        Any of ``"te"``, ``"mi"``, ``"kl"``, ``"comm"``. Default: all; then ``kl`` is skipped
        (with a note in ``attrs["notes"]``) when no ``influence`` is logged. Asking for
        ``kl`` explicitly without ``influence`` is an error.
    lags : sequence of int
        Lags u >= 1 (steps) of TE and MI.
    history : int, optional
        Multivariate: the largest target-past lag considered (default 3; the past used is
        selected per agent, see ``ais_history``). Bivariate: the target history length k
        (default 1).
    permutations : int
        Surrogates per test. The smallest p-value is 1/(1 + permutations), and FDR over m
        tests needs p <= alpha/m for a single edge, so use at least m/alpha (a note in
        ``attrs["notes"]`` says when there are too few): m is the number of agents for the
        multivariate method (its omnibus tests); with 5 agents and 3 lags, m = 20 pairs for
        the bivariate ``lag_test="max"`` (400 permutations), m = 60 for ``"each"`` (1200).
    alpha : float
        Significance level: of every inclusion test and the FDR over targets (multivariate),
        or the Benjamini-Hochberg FDR over all tests (bivariate, see ``lag_test``).
    seed : int
        Seed of the surrogates.
    store : str, optional
        Path of the store, recorded in ``attrs["source"]`` (default: ``ds.encoding["source"]``).
    lag_test : {"max", "each"}
        Bivariate TE and MI: ``"max"``: one test per ordered pair on the maximum over lags
        (FDR over pairs; an edge is significant at its best lag); ``"each"``: one test per
        (pair, lag), FDR over all of them. See :func:`infoflow.significance.network_inference`.
    surrogates : {"auto", "blocks", "episodes", "circular"}
        Surrogate design (:func:`infoflow.surrogates.plan_surrogates`): ``"auto"`` permutes
        source episodes within blocks of ``block`` consecutive episodes, or falls back to
        circular shifts (conditioned on the episode phase) with a note when that gives too
        few distinct surrogates; the design used is recorded in ``attrs["te_surrogates"]`` /
        ``attrs["mi_surrogates"]``.
    method : {"multivariate", "bivariate"}
        TE network inference: greedy multivariate TE (default) or one test per pair.
    condition : sequence of str
        Context variables every multivariate test conditions on (:mod:`infoflow.context`):
        ``phase``, ``episode`` or a logged (episode, step) variable such as ``apples``.
    block : int
        Consecutive episodes per block of the ``"blocks"`` surrogates.
    selection_permutations : int
        Multivariate: surrogates per inclusion and pruning test of the greedy selection
        (raised to what ``alpha`` needs, at most ``permutations``; ``permutations`` is then
        the count of the omnibus and edge tests). See :mod:`infoflow.multivariate`.

    Returns
    -------
    xr.Dataset
        Dims (source, target, lag), agent, episode. Variables, where computed:
        multivariate TE: ``te``, ``te_p_value``, ``te_significant`` (source, target; the
        edge's TE conditional on the target's past and other sources, bits), ``te_selected``
        (source, target, lag), ``te_omnibus``, ``te_omnibus_p_value``,
        ``te_omnibus_significant`` (target), ``ais``, ``ais_p_value`` (agent, bits) and
        ``ais_history`` (agent, history_lag); bivariate TE:
        ``te``, ``te_p_value``, ``te_null_mean``, ``te_null_std``, ``te_n_permutations``,
        ``te_significant`` (and the same for ``mi``) over (source, target, lag), bits; with
        ``lag_test="max"`` also ``te_edge_p_value`` and ``te_best_lag`` (source, target);
        ``drift_across``, ``drift_within`` (agent, :func:`infoflow.stationarity.stationarity`);
        ``kl_mean``, ``kl_sparsity`` (source, target), ``kl_episode_mean`` (episode, source,
        target), ``influencer``, ``moment_fraction``, ``role`` (agent); ``ic_action``,
        ``ic_symbol`` and their ``_influential`` variants (source, target) with ``_max``
        scalars, ``consistency`` (agent); ``return`` (agent), ``episode_return`` (episode,
        agent), ``collective_return``, ``equality``, ``return_equality`` (episode).
        Attributes record the parameters (``lag_test`` among them), ``infoflow_version``,
        ``source`` and ``notes`` (among them the lags at which no episode is long enough for
        a sample: their TE/MI values are NaN).

    Raises
    ------
    ValueError
        For a bad parameter, data not in the trajectory schema, ``kl`` asked for without
        logged influence, and TE/MI asked for at lags that no episode is long enough for.
    """
    explicit = measures is not None
    measures, lags = check_parameters(DEFAULT_MEASURES if measures is None else measures,
                                      lags, history, permutations, alpha, lag_test, surrogates,
                                      method, block, selection_permutations)
    notes: list[str] = []
    ds = _check_data(ds, notes)
    multivariate = method == "multivariate"
    if history is None:
        history = DEFAULT_MAX_HISTORY if multivariate and "te" in measures else 1
    _check_samples(ds, measures, lags, int(history), notes)
    if "kl" in measures and "influence" not in ds.data_vars:
        if explicit:
            raise ValueError("measure 'kl' needs a logged 'influence' variable, which these "
                             "trajectories lack; leave 'kl' out of the measures")
        measures = tuple(m for m in measures if m != "kl")
        notes.append("no 'influence' logged: kl skipped")
    tests = n_tests(ds.sizes["agent"], len(lags), lag_test, method)
    kind = ("multivariate omnibus tests" if multivariate and "te" in measures
            else f"lag_test {lag_test}")
    if ({"te", "mi"} & set(measures) and tests > 0
            and 1.0 / (1 + int(permutations)) > float(alpha) / tests):
        notes.append(
            f"with {permutations} permutations the smallest p-value, 1/{int(permutations) + 1}, "
            f"is above alpha/{tests} ({tests} tests with {kind}): a single true edge cannot "
            f"pass the FDR correction; use at least "
            f"{int(np.ceil(tests / float(alpha)))} permutations"
        )
    _check_rewards(ds)
    parts: list[xr.Dataset] = []
    attrs: dict = {}
    if {"te", "mi"} & set(measures):
        parts.append(stationarity(ds, block=block))
    for m in ("te", "mi"):
        if m not in measures:
            continue
        if m == "te" and multivariate:
            res, info = _multivariate(ds, lags, int(history), int(permutations),
                                      int(selection_permutations), float(alpha), int(seed),
                                      surrogates, tuple(condition), int(block))
        else:
            res, info = _network(ds, m, lags, int(history), int(permutations), float(alpha),
                                 int(seed), lag_test, surrogates)
        note = info.pop("notes", "")
        if note:
            notes.append(f"{m}: {note}")
        parts.append(res)
        attrs.update(info)
    names = ds["agent"].values
    if "kl" in measures:
        divergence = str(ds.attrs.get("influence_divergence", "kl"))
        if divergence != "kl":
            notes.append(f"the logged influence is the {divergence.upper()} divergence, not KL: "
                         "the kl_* results summarise it as logged")
        summary = influence_summary(ds)
        role = _roles(summary["influencer"])
        parts.append(summary if role is None else summary.assign(role=role))
    if "comm" in measures:
        parts.append(xr.Dataset(_comm(ds, notes)))
    if "reward" in ds.data_vars:
        parts.append(return_summary(ds))
    else:
        notes.append("no 'reward' logged: returns and equality skipped")
    results = xr.merge(parts, compat="override", join="outer") if parts else xr.Dataset()
    results = results.assign_coords(source=names, target=names, agent=names)
    source = store if store is not None else ds.encoding.get("source", "")
    results.attrs = {
        "title": "infoflow analysis results",
        "Conventions": "CF-1.10",
        "measures": ",".join(measures),
        "lags": np.array(lags, dtype=np.int32),
        "history": int(history),
        "permutations": int(permutations),
        "alpha": float(alpha),
        "seed": int(seed),
        "fdr": "benjamini-hochberg",
        "method": method,
        "lag_test": lag_test,
        "surrogates": surrogates,
        "condition": ",".join(condition),
        "block": int(block),
        **attrs,
        "infoflow_version": __version__,
        "source": str(source),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "notes": "; ".join(notes),
    }
    return results


def write_results(results: xr.Dataset, path: str | Path) -> Path:
    """Write analysis results to a netCDF file (netCDF3 via scipy; no extra dependency).

    :func:`read_results` reads it back, and also any re-saved copy xarray can read."""
    path = Path(path)
    results.to_netcdf(path, engine="scipy")
    return path


def read_results(path: str | Path) -> xr.Dataset:
    """Read results written by :func:`write_results` (loaded into memory, file closed).

    The netCDF3 file of :func:`write_results` is read with scipy; any other file is tried
    with xarray's default engine, so a copy the user re-saved as netCDF4 (HDF5) is read too
    when h5netcdf or netCDF4 is installed.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If no installed engine reads it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no analysis file at {path}; run 'infoflow analyze' first")
    try:
        return xr.load_dataset(path, engine="scipy")
    except (OSError, TypeError, ValueError):
        pass  # not netCDF3: maybe netCDF4/HDF5, for the default engine
    try:
        return xr.load_dataset(path)
    except (OSError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not a netCDF results file written by infoflow; pass the "
                         "analysis.nc of 'infoflow analyze'") from exc


def compare_measures(results: xr.Dataset) -> xr.Dataset:
    """Per-pair comparison of the causal KL influence with lagged MI and TE (SPEC 6).

    Returns
    -------
    xr.Dataset
        (source, target): ``kl`` (mean logged influence, nats), ``mi_lag1`` and
        ``mi_lag1_p_value`` (lagged MI at lag 1, bits), ``te``, ``te_lag``, ``te_p_value``,
        ``te_significant`` (bivariate: TE at its best lag, ``te_p_value`` the pair's edge
        p-value for results of ``lag_test="max"``; multivariate: the edge's conditional TE,
        NaN without an edge, and ``te_lag`` the selected lags as text), each where
        ``results`` has it.
    """
    out = {}
    if "kl_mean" in results.data_vars:
        out["kl"] = results["kl_mean"]
    if "mi" in results.data_vars and 1 in results["lag"].values:
        out["mi_lag1"] = results["mi"].sel(lag=1, drop=True)
        if "mi_p_value" in results.data_vars:
            out["mi_lag1_p_value"] = results["mi_p_value"].sel(lag=1, drop=True)
    if "te" in results.data_vars and "lag" not in results["te"].dims:  # multivariate
        out["te"] = results["te"]
        if "te_selected" in results.data_vars:
            from infoflow.graph import _selected_lags

            out["te_lag"] = (("source", "target"), _selected_lags(results, "te"))
        for name in ("te_p_value", "te_significant"):
            if name in results.data_vars:
                out[name] = results[name]
    elif "te" in results.data_vars:
        b = best_lag(results, "te")
        out.update({f"te_{k}" if k != "value" else "te": v for k, v in b.data_vars.items()})
    if not out:
        raise ValueError("results hold none of kl_mean, mi, te; run analyze with te, mi or kl")
    return xr.Dataset(out).transpose("source", "target")


def format_pairs(table: xr.Dataset, digits: int = 4) -> str:
    """Plain-text table of a (source, target) Dataset, one row per pair with source != target.

    Examples
    --------
    >>> t = xr.Dataset({"te": (("source", "target"), [[0.0, 0.5], [0.25, 0.0]])},
    ...                coords={"source": ["a", "b"], "target": ["a", "b"]})
    >>> print(format_pairs(t))
    source  target  te
    a       b       0.5
    b       a       0.25
    """
    columns = list(table.data_vars)
    rows = [[s, t, *(table[c].sel(source=s, target=t).item() for c in columns)]
            for s in table["source"].values for t in table["target"].values if s != t]
    return format_table(rows, ["source", "target", *columns], digits=digits)


_SCALAR_METRICS = (  # (results variable, label, reduction over its dims)
    ("collective_return", "collective return (mean per episode)", "mean"),
    ("equality", "equality, 1 - Gini (mean per episode)", "mean"),
    ("return_equality", "collective return x equality (mean per episode)", "mean"),
    ("ic_action_max", "max IC action/action (bits)", None),
    ("ic_action_influential_max", "max IC action/action, influential moments (bits)", None),
    ("ic_symbol_max", "max IC symbol/action (bits)", None),
    ("ic_symbol_influential_max", "max IC symbol/action, influential moments (bits)", None),
    ("kl_mean", "mean KL influence over pairs (as logged, nats)", "mean"),
    ("kl_sparsity", "mean KL sparsity over pairs (fraction of steps above mean)", "mean"),
)
_AGENT_METRICS = (("return", "return"), ("consistency", "speaker consistency"),
                  ("role", "role"), ("moment_fraction", "influential steps (fraction)"))


def paper_metrics(results: xr.Dataset) -> list[tuple[str, float]]:
    """The paper's scalar metrics present in ``results``, as (label, value) pairs.

    Collective return, equality and their product are means over episodes; instantaneous
    coordination (IC) is the maximum over pairs (paper section 5.1); KL influence and its
    sparsity are means over the pairs where influence is defined (NaN pairs left out).

    Examples
    --------
    >>> r = xr.Dataset({"equality": ("episode", [0.5, 1.0]), "ic_action_max": 0.25})
    >>> paper_metrics(r)
    [('equality, 1 - Gini (mean per episode)', 0.75), ('max IC action/action (bits)', 0.25)]
    """
    rows = []
    for name, label, reduce in _SCALAR_METRICS:
        if name in results.data_vars:
            values = np.asarray(results[name].values, dtype=np.float64)
            finite = values[np.isfinite(values)]
            value = (float(finite.mean()) if finite.size else float("nan")) if reduce \
                else float(values)
            rows.append((label, value))
    return rows


def format_summary(results: xr.Dataset, digits: int = 4) -> str:
    """The paper metrics of ``results`` as text: a metric/value table and a per-agent table
    (return, speaker consistency, role, fraction of influential moments, where computed).

    Empty when ``results`` hold none of them.
    """
    parts = []
    metrics = paper_metrics(results)
    if metrics:
        parts.append(format_table(metrics, ("metric", "value"), digits=digits))
    columns = [(name, label) for name, label in _AGENT_METRICS
               if name in results.data_vars and results[name].dims == ("agent",)]
    if columns:
        rows = [[agent, *(results[name].values[i].item() for name, _ in columns)]
                for i, agent in enumerate(results["agent"].values)]
        parts.append(format_table(rows, ["agent", *(label for _, label in columns)],
                                  digits=digits))
    return "\n\n".join(parts)

