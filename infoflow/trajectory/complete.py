"""Fill in what a user's trajectory dataset leaves out but its data determine.

:func:`complete` is the one rule by which infoflow accepts datasets it did not write:
:func:`~infoflow.trajectory.from_arrays` and :func:`~infoflow.trajectory.open_trajectories`
(hence the ``infoflow`` command) apply it, while :func:`~infoflow.trajectory.validate` stays
strict and names it in its faults.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import xarray as xr

from infoflow.trajectory.schema import PAD, SCHEMA_VERSION, VARIABLES, variable_attrs
from infoflow.trajectory.validate import _BLOCK_ELEMENTS, TrajectoryError, _dims_fix

__all__ = ["complete", "infer_lengths", "agent_ends"]

_ESA = VARIABLES["action"].dims  # ("episode", "step", "agent")


def infer_lengths(actions: np.ndarray) -> np.ndarray:
    """Episode lengths from ``-1`` padding: one past the last step where any agent acted.

    Parameters
    ----------
    actions : numpy.ndarray, int, shape [episode, step, agent]
        Actions with ``-1`` after each episode's end.

    Returns
    -------
    numpy.ndarray, int32, shape [episode]
        The full number of steps for an episode without padding, 0 for one that is all
        padding.

    Examples
    --------
    >>> infer_lengths(np.array([[[0], [1], [-1]], [[-1], [-1], [-1]]])).tolist()
    [2, 0]
    """
    live = (np.asarray(actions) != PAD).any(axis=2)  # [episode, step]
    last = live.shape[1] - np.argmax(live[:, ::-1], axis=1)
    return np.where(live.any(axis=1), last, 0).astype(np.int32)


def agent_ends(ds: xr.Dataset) -> np.ndarray:
    """int [episode, agent]: the step at which each agent's data end: ``agent_length`` where
    agents left early, else the episode's ``length`` for every agent."""
    lengths = np.asarray(ds["length"].values)
    if "agent_length" in ds.data_vars:
        return np.asarray(ds["agent_length"].transpose("episode", "agent").values)
    return np.repeat(lengths[:, None], ds.sizes["agent"], axis=1)


def complete(ds: xr.Dataset) -> tuple[xr.Dataset, list[str]]:
    """Fill in the attributes, coordinates and episode lengths a dataset's data determine.

    Nothing that is present is changed; only what is missing is added:

    - ``schema_version``: the version this infoflow reads;
    - coordinates ``agent`` (``agent_0``, ``agent_1``, ...), ``source`` and ``target`` (the
      agent names) and ``choice`` (``0, 1, ...``) where those dims have none;
    - ``n_actions``: the size of the ``choice`` dimension of ``policy`` if there is one, else
      ``max(action) + 1`` (actions never taken are then not counted);
    - ``n_symbols``: 0 without a ``message`` variable, else the size of the ``symbol``
      dimension if there is one, else ``max(message) + 1``;
    - ``length(episode)``: the full size of ``step`` when ``action`` holds no ``-1``
      padding, else one past the last step at which any agent has an action (``>= 0``).

    Values are read only for what must be inferred from them (``action`` once, in blocks of
    episodes, for ``n_actions`` and ``length``; ``message`` for ``n_symbols``), so a complete
    lazy dataset is not read at all. The result may still break the schema in other ways:
    check it with :func:`~infoflow.trajectory.validate`.

    Parameters
    ----------
    ds : xarray.Dataset
        Trajectories with at least an ``action(episode, step, agent)`` variable.

    Returns
    -------
    xarray.Dataset
        A shallow copy of ``ds`` (lazy variables stay lazy) with the inferred values added.
    list of str
        One human-readable note per value inferred, saying what was set and how to set it
        explicitly; empty when ``ds`` was already complete (the copy then equals ``ds``).

    Raises
    ------
    TrajectoryError
        When a missing value cannot be inferred (no ``action`` variable, no action to take
        ``n_actions`` from, ``action`` with other dims than ``(episode, step, agent)`` when
        ``length`` is missing, non-integer codes); the message names the fix.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> actions = np.array([[[0, 2], [1, 0], [-1, -1]]], dtype=np.int16)
    >>> ds = xr.Dataset({"action": (("episode", "step", "agent"), actions)},
    ...                 coords={"agent": ["a", "b"]}, attrs={"schema_version": 1})
    >>> done, notes = complete(ds)
    >>> done.attrs["n_actions"], done.attrs["n_symbols"], done["length"].values.tolist()
    (3, 0, [2])
    >>> [note.split(" ")[0] for note in notes]
    ['n_actions', 'length', 'n_symbols']
    >>> notes[0][:48]
    'n_actions = 3 inferred from the data (max(action'
    >>> complete(done)[1]
    []
    """
    if not isinstance(ds, xr.Dataset):
        raise TrajectoryError(
            f"expected an xarray.Dataset, got {type(ds).__name__}; build one with "
            "infoflow.trajectory.from_arrays or open a store with open_trajectories"
        )
    if "action" not in ds.data_vars:
        raise TrajectoryError(
            "cannot complete a dataset without an 'action' variable; add the actions as "
            "action(episode, step, agent) (infoflow.trajectory.from_arrays builds it)"
        )
    out = ds.copy()
    notes: list[str] = []
    if "schema_version" not in out.attrs:
        out.attrs["schema_version"] = SCHEMA_VERSION
        notes.append(
            f"schema_version = {SCHEMA_VERSION} assumed (the dataset has none); set "
            "ds.attrs['schema_version'] to be explicit"
        )
    out = _complete_coords(out, notes)

    need_actions = "n_actions" not in out.attrs
    need_length = "length" not in out.data_vars
    policy_choice = "policy" in out.data_vars and "choice" in out["policy"].dims
    if need_actions and policy_choice:
        out.attrs["n_actions"] = int(out.sizes["choice"])
        notes.append(
            f"n_actions = {out.attrs['n_actions']} inferred from the size of the 'choice' "
            "dimension of 'policy'; set ds.attrs['n_actions'] to be explicit"
        )
        need_actions = False
    if need_actions or need_length:
        _complete_from_actions(out, need_actions, need_length, notes)

    if "n_symbols" not in out.attrs:
        out.attrs["n_symbols"] = _n_symbols(out, notes)
    return out, notes


def _complete_coords(ds: xr.Dataset, notes: list[str]) -> xr.Dataset:
    """Name agents ``agent_<i>``, copy them to ``source``/``target``, number ``choice``."""
    coords: dict[str, object] = {}
    if "agent" in ds.dims and "agent" not in ds.coords:
        coords["agent"] = [f"agent_{i}" for i in range(ds.sizes["agent"])]
        notes.append(
            f"agents named agent_0 .. agent_{ds.sizes['agent'] - 1} (dimension 'agent' has no "
            "coordinate); assign the names with ds.assign_coords(agent=[...]) to be explicit"
        )
    agents = coords.get("agent", ds["agent"].values if "agent" in ds.coords else None)
    for dim in ("source", "target"):
        if (dim in ds.dims and dim not in ds.coords and agents is not None
                and ds.sizes[dim] == len(agents)):
            coords[dim] = list(agents)
            notes.append(f"coordinate '{dim}' set to the agent names (dimension '{dim}' has "
                         "none)")
    if "choice" in ds.dims and "choice" not in ds.coords:
        coords["choice"] = np.arange(ds.sizes["choice"])
        notes.append(
            f"coordinate 'choice' set to 0 .. {ds.sizes['choice'] - 1} (dimension 'choice' "
            "has none): policy column i is taken as the probability of action i"
        )
    if not coords:
        return ds
    ds = ds.assign_coords(coords)
    for name in ("agent", "source", "target"):
        if name in coords:
            ds[name].attrs["long_name"] = "agent name"
    return ds


def _blocks(var: xr.DataArray) -> Iterator[np.ndarray]:
    """The values of ``var`` in blocks of whole episodes (all at once without ``episode``)."""
    if "episode" not in var.dims or var.sizes["episode"] == 0:
        yield np.asarray(var.values)
        return
    n = var.sizes["episode"]
    size = max(1, _BLOCK_ELEMENTS // max(1, var.size // n))
    for start in range(0, n, size):
        yield np.asarray(var.isel(episode=slice(start, start + size)).values)


def _check_codes(var: xr.DataArray, attr: str) -> None:
    if var.dtype.kind not in "iu":
        raise TrajectoryError(
            f"cannot infer '{attr}' from '{var.name}' of dtype {var.dtype}; set "
            f"ds.attrs['{attr}'], or cast the codes with ds['{var.name}'] = "
            f"ds['{var.name}'].astype('{VARIABLES[str(var.name)].dtype}')"
        )


def _complete_from_actions(
    ds: xr.Dataset, need_actions: bool, need_length: bool, notes: list[str]
) -> None:
    """Infer ``n_actions`` and/or ``length`` (in place) from one pass over ``action``."""
    action = ds["action"]
    if need_length and action.dims != _ESA:
        raise TrajectoryError(
            f"cannot infer 'length': variable 'action' has dims {action.dims}; expected "
            f"{_ESA}; {_dims_fix('action', action.dims, _ESA)}"
        )
    if need_actions:
        _check_codes(action, "n_actions")
    top = PAD
    padded = False
    lengths = []
    for values in _blocks(action):
        if need_actions and values.size:
            top = max(top, int(values.max()))
        if need_length:
            padded = padded or bool((values == PAD).any())
            lengths.append(infer_lengths(values))
    if need_actions:
        if top < 0:
            raise TrajectoryError(
                "cannot infer 'n_actions': 'action' holds no action (no episode, or only -1 "
                "padding); set ds.attrs['n_actions'] (from_arrays: pass n_actions=)"
            )
        ds.attrs["n_actions"] = top + 1
        notes.append(
            f"n_actions = {top + 1} inferred from the data (max(action) + 1; actions never "
            "taken are not counted); set ds.attrs['n_actions'] to the size of the action set "
            "to be explicit"
        )
    if need_length:
        length = np.concatenate(lengths) if lengths else np.zeros(0, np.int32)
        ds["length"] = ("episode", length.astype(np.int32), variable_attrs("length"))
        n_steps = ds.sizes["step"]
        if not padded:
            notes.append(
                f"length = {n_steps} (the size of 'step') for every episode: 'action' holds "
                "no -1 padding; add a 'length(episode)' variable to be explicit"
            )
        else:
            shorter = int((length < n_steps).sum())
            notes.append(
                "length inferred from the -1 padding of 'action': one past the last step at "
                f"which any agent has an action ({shorter} of {length.size} episode(s) shorter "
                f"than the {n_steps} steps); add a 'length(episode)' variable to be explicit"
            )


def _n_symbols(ds: xr.Dataset, notes: list[str]) -> int:
    """``n_symbols`` of a dataset without the attribute (0 without messages)."""
    if "message" not in ds.data_vars:
        notes.append("n_symbols = 0: the dataset has no 'message' variable")
        return 0
    if "symbol" in ds.dims:
        n = int(ds.sizes["symbol"])
        notes.append(
            f"n_symbols = {n} inferred from the size of the 'symbol' dimension; set "
            "ds.attrs['n_symbols'] to be explicit"
        )
        return n
    message = ds["message"]
    _check_codes(message, "n_symbols")
    top = PAD
    for values in _blocks(message):
        if values.size:
            top = max(top, int(values.max()))
    n = top + 1
    notes.append(
        f"n_symbols = {n} inferred from the data (max(message) + 1; symbols never sent are not "
        "counted); set ds.attrs['n_symbols'] to the vocabulary size to be explicit"
    )
    return n
