"""Build a trajectory dataset from plain numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import xarray as xr

from infoflow.trajectory.complete import complete, infer_lengths
from infoflow.trajectory.schema import (
    CONVENTIONS,
    SCHEMA_VERSION,
    VARIABLES,
    variable_attrs,
)
from infoflow.trajectory.validate import TrajectoryError, validate

__all__ = ["from_arrays", "default_attrs", "infer_lengths"]

ArrayLike = np.ndarray | Sequence


def default_attrs(creator: str = "infoflow.trajectory.from_arrays") -> dict:
    """Provenance attributes every new dataset gets (version, time, conventions, history).

    Parameters
    ----------
    creator : str
        Name written in the ``history`` line.

    Returns
    -------
    dict
        ``schema_version``, ``infoflow_version``, ``created`` (ISO 8601, UTC),
        ``Conventions``, ``title`` and ``history``.
    """
    from infoflow import __version__

    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "schema_version": SCHEMA_VERSION,
        "infoflow_version": __version__,
        "created": created,
        "Conventions": CONVENTIONS,
        "title": "infoflow trajectories",
        "history": f"{created} created by {creator}",
    }


def _clean_attr(key: str, value: object) -> object:
    """An attribute value that zarr and netCDF can both store."""
    if key == "config" and isinstance(value, Mapping):
        import tomli_w

        return tomli_w.dumps(dict(value))
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    if isinstance(value, list | tuple | np.ndarray):
        arr = np.asarray(value)
        if arr.ndim == 1 and arr.dtype.kind in "iuf":
            return arr
        if arr.ndim == 1 and arr.dtype.kind == "U":
            return " ".join(arr.tolist())
    raise TrajectoryError(
        f"attribute '{key}' has a value of type {type(value).__name__} that files cannot "
        "store; pass a str, a number or a 1-d sequence of numbers (config: TOML text or a dict)"
    )


def _as_int(name: str, values: np.ndarray, dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    if values.dtype.kind == "b":
        values = values.astype(np.int64)
    if values.dtype.kind not in "iuf":
        raise TrajectoryError(
            f"argument '{name}' has dtype {values.dtype}; pass integer codes"
        )
    if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
        raise TrajectoryError(
            f"argument '{name}' holds non-integer values; pass integer codes"
        )
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise TrajectoryError(
            f"argument '{name}' holds values outside the {dtype} range "
            f"[{info.min}, {info.max}]; check the data"
        )
    return values.astype(dtype)


def _prepare(name: str, values: ArrayLike, shape: tuple[int, ...], single: bool) -> np.ndarray:
    """Add the episode axis for a single episode and check the shape."""
    arr = np.asarray(values)
    if single:
        arr = arr[None]
    if arr.shape != shape:
        given = arr.shape[1:] if single else arr.shape
        want = shape[1:] if single else shape
        raise TrajectoryError(
            f"argument '{name}' has shape {given}; expected {want} "
            f"(dims {VARIABLES[name].dims[int(single):]})"
        )
    return arr


def from_arrays(
    actions: ArrayLike,
    lengths: ArrayLike | int | None = None,
    agents: Sequence[str] | None = None,
    agent_lengths: ArrayLike | None = None,
    rewards: ArrayLike | None = None,
    intrinsic_rewards: ArrayLike | None = None,
    messages: ArrayLike | None = None,
    influence: ArrayLike | None = None,
    visible: ArrayLike | None = None,
    policy: ArrayLike | None = None,
    positions: ArrayLike | None = None,
    facings: ArrayLike | None = None,
    apples: ArrayLike | None = None,
    waste: ArrayLike | None = None,
    n_actions: int | None = None,
    n_symbols: int | None = None,
    **attrs: object,
) -> xr.Dataset:
    """Build a validated trajectory dataset (SPEC 4) from numpy arrays.

    Arrays are ``[episode, step, ...]``; for a single episode the episode axis may be left
    out (``actions`` of shape ``[step, agent]``), for every argument alike.

    Parameters
    ----------
    actions : array, int, shape [episode, step, agent]
        Action indices in ``0..n_actions-1``, ``-1`` after each episode's end.
    lengths : array, int, shape [episode], optional
        Steps per episode. Default: inferred from the ``-1`` padding of ``actions`` (one past
        the last step at which any agent acted).
    agents : sequence of str, optional
        Agent names. Default ``agent_0``, ``agent_1``, ...
    agent_lengths : array, int, shape [episode, agent], optional
        Steps each agent played, for agents that leave before their episode ends (``-1``
        actions from there on). Default: every agent plays the whole episode.
    rewards, intrinsic_rewards : array, float, shape [episode, step, agent], optional
        Environment reward and intrinsic (influence) reward per step.
    messages : array, int, shape [episode, step, agent], optional
        Symbols in ``0..n_symbols-1``; ``-1`` for padding (or no message).
    influence : array, float, shape [episode, step, source, target], optional
        Counterfactual divergence (nats) of the source's action on the target; NaN where
        not defined.
    visible : array, bool, shape [episode, step, source, target], optional
        Target inside the source's view window.
    policy : array, float, shape [episode, step, agent, choice], optional
        Action probabilities; NaN rows for steps or episodes not logged.
    positions : array, int, shape [episode, step, agent, 2], optional
        (row, col) cells.
    facings : array, int, shape [episode, step, agent], optional
        0 up, 1 right, 2 down, 3 left; ``-1`` for padding.
    apples, waste : array, int, shape [episode, step], optional
        Game counters.
    n_actions : int, optional
        Size of the action set. Default: ``policy``'s last axis, else ``max(actions) + 1``
        (required when no action is taken: only ``-1`` or no episode).
    n_symbols : int, optional
        Message vocabulary size. Default: ``max(messages) + 1``, or 0 without messages.
    **attrs
        Further global attributes (``env``, ``model``, ``config`` as TOML text or a dict,
        ``seed``, ``title``, ...). None values are dropped.

    Returns
    -------
    xarray.Dataset
        Validated, with provenance attributes (``schema_version``, ``infoflow_version``,
        ``created``, ``Conventions``, ``title``, ``history``) and CF variable attributes.

    Raises
    ------
    TrajectoryError
        For arrays of the wrong shape or type, and for every fault :func:`validate` finds.

    Notes
    -----
    The defaults of ``lengths``, ``n_actions`` and ``n_symbols`` are those that
    :func:`~infoflow.trajectory.complete` infers for any user's dataset.

    Examples
    --------
    >>> ds = from_arrays(np.array([[0, 1], [2, 0], [-1, -1]]), agents=["a", "b"], n_actions=3)
    >>> dict(ds.sizes), int(ds["length"][0]), ds.attrs["schema_version"]
    ({'episode': 1, 'step': 3, 'agent': 2}, 2, 1)
    """
    act = np.asarray(actions)
    if act.ndim not in (2, 3):
        raise TrajectoryError(
            f"argument 'actions' has {act.ndim} dims; expected [episode, step, agent] "
            "or [step, agent] for one episode"
        )
    single = act.ndim == 2
    act = _as_int("actions", act[None] if single else act, "int16")
    n_episodes, n_steps, n_agents = act.shape
    esa, est = act.shape, (n_episodes, n_steps, n_agents, n_agents)

    names = [f"agent_{i}" for i in range(n_agents)] if agents is None else list(agents)
    if len(names) != n_agents or not all(isinstance(n, str) for n in names):
        raise TrajectoryError(
            f"argument 'agents' must name each of the {n_agents} agents with a str, "
            f"got {names}"
        )
    data: dict[str, np.ndarray] = {"action": act}
    if lengths is not None:  # else complete() infers them from the padding
        length = np.asarray(lengths)
        length = length.reshape(1) if single and length.ndim == 0 else length
        if length.shape != (n_episodes,):
            raise TrajectoryError(
                f"argument 'lengths' has shape {length.shape}; expected ({n_episodes},)"
            )
        data["length"] = _as_int("lengths", length, "int32")

    floats = {"reward": rewards, "intrinsic_reward": intrinsic_rewards, "influence": influence}
    for name, values in floats.items():
        if values is not None:
            shape = est if name == "influence" else esa
            arr = _prepare(name, values, shape, single)
            if arr.dtype.kind not in "iuf":
                raise TrajectoryError(f"argument '{name}' has dtype {arr.dtype}; pass floats")
            data[name] = arr.astype(np.float32)
    if policy is not None:
        arr = np.asarray(policy)
        shape = esa + (arr.shape[-1] if arr.ndim else 0,)
        data["policy"] = _prepare("policy", arr, shape, single).astype(np.float32)
    ints = {"message": (messages, esa, "int16"), "facing": (facings, esa, "int8"),
            "position": (positions, esa + (2,), "int16"),
            "apples": (apples, esa[:2], "int32"), "waste": (waste, esa[:2], "int32")}
    for name, (values, shape, dtype) in ints.items():
        if values is not None:
            data[name] = _as_int(name, _prepare(name, values, shape, single), dtype)
    if agent_lengths is not None:
        data["agent_length"] = _as_int(
            "agent_lengths", _prepare("agent_length", agent_lengths, esa[::2], single),
            "int32")
    if visible is not None:
        arr = _prepare("visible", visible, est, single)
        if arr.dtype.kind != "b" and not np.isin(arr, (0, 1)).all():
            raise TrajectoryError("argument 'visible' must be bool (or 0/1); check the data")
        data["visible"] = arr.astype(bool)

    coords: dict[str, object] = {"agent": names}
    if "influence" in data or "visible" in data:
        coords["source"] = names
        coords["target"] = names
    if "policy" in data:
        coords["choice"] = np.arange(data["policy"].shape[-1])
    if "position" in data:
        coords["xy"] = ["row", "col"]

    given = {k: _clean_attr(k, v) for k, v in attrs.items() if v is not None}
    meta = default_attrs()
    if "history" in given:
        meta["history"] = f"{given.pop('history')}\n{meta['history']}"
    known = {"n_actions": n_actions, "n_symbols": n_symbols}
    meta.update({k: int(v) for k, v in known.items() if v is not None})
    ds = xr.Dataset({name: (VARIABLES[name].dims, arr) for name, arr in data.items()},
                    coords=coords, attrs={**meta, **given})
    ds, _ = complete(ds)  # the documented defaults: the rule infoflow applies to users' data
    n_actions, n_symbols = ds.attrs["n_actions"], ds.attrs["n_symbols"]
    meta.update(n_actions=n_actions, n_symbols=n_symbols)
    ds.attrs = {**meta, **given}  # attribute order: provenance, sizes, the caller's
    env = str(attrs.get("env", ""))
    for name in ds.data_vars:
        ds[name].attrs = variable_attrs(name, int(n_actions), int(n_symbols), env)
    for name in ("agent", "source", "target"):
        if name in ds.coords:
            ds[name].attrs["long_name"] = "agent name"
    return validate(ds)
