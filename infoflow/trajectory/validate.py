"""Check a dataset against the trajectory schema and name every fault found."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import xarray as xr

from infoflow.trajectory.schema import (
    PAD,
    REQUIRED_ATTRS,
    REQUIRED_VARIABLES,
    SCHEMA_VERSION,
    VARIABLES,
)

__all__ = ["TrajectoryError", "validate"]

_BLOCK_ELEMENTS = 1 << 24  # values read at once when checking ranges of a lazy dataset
_POLICY_ATOL = 1e-3  # tolerance of policy rows summing to 1
_COMPLETE = "infoflow.trajectory.complete(ds)"  # named where it fills a fault in


class TrajectoryError(ValueError):
    """A dataset or store that does not follow the trajectory schema.

    Attributes
    ----------
    faults : list of str
        One entry per fault, each saying what is wrong and how to fix it.
    """

    def __init__(self, faults: list[str] | str):
        self.faults = [faults] if isinstance(faults, str) else list(faults)
        if len(self.faults) == 1:
            message = self.faults[0]
        else:
            lines = "\n".join(f"  - {f}" for f in self.faults)
            message = f"not a valid trajectory dataset ({len(self.faults)} faults):\n{lines}"
        super().__init__(message)


def validate(ds: xr.Dataset, check_values: bool = True) -> xr.Dataset:
    """Check that ``ds`` follows the trajectory schema (SPEC 4).

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset to check; may be lazy (opened from a store), in which case values are read
        in blocks of episodes.
    check_values : bool
        Also check value ranges (actions in ``[-1, n_actions)``, ``-1`` exactly after each
        episode's end, messages in ``[-1, n_symbols)``, lengths in ``[0, n_steps]``, policy rows
        summing to 1). False checks only names, dims, dtypes, coordinates and attributes, which
        reads no data.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so that calls can be chained.

    Raises
    ------
    TrajectoryError
        Listing every fault found, each with its fix.

    Notes
    -----
    Strict by design: a missing ``n_actions``, ``n_symbols``, ``schema_version``,
    ``length`` or agent coordinate is a fault. For a user's dataset,
    :func:`~infoflow.trajectory.complete` infers them first (the faults name it).

    Examples
    --------
    >>> import numpy as np
    >>> from infoflow.trajectory import from_arrays
    >>> ds = validate(from_arrays(np.array([[0, 1], [1, 0], [-1, -1]]), n_actions=2))
    >>> int(ds["length"][0])
    2
    """
    if not isinstance(ds, xr.Dataset):
        raise TrajectoryError(
            f"expected an xarray.Dataset, got {type(ds).__name__}; build one with "
            "infoflow.trajectory.from_arrays or open a store with open_trajectories"
        )
    faults: list[str] = []
    n_actions, n_symbols = _check_attrs(ds, faults)
    good = _check_variables(ds, faults)
    _check_coords(ds, n_actions, n_symbols, faults)
    if check_values:
        _check_values(ds, good, n_actions, n_symbols, faults)
    if faults:
        raise TrajectoryError(faults)
    return ds


def _check_attrs(ds: xr.Dataset, faults: list[str]) -> tuple[int | None, int | None]:
    for name in REQUIRED_ATTRS:
        if name not in ds.attrs:
            how = (f"sets it to {SCHEMA_VERSION}" if name == "schema_version"
                   else "infers it from the data")
            faults.append(
                f"attribute '{name}' is missing; set ds.attrs['{name}'] "
                f"({_COMPLETE} {how}; from_arrays fills it)"
            )
    version = ds.attrs.get("schema_version", SCHEMA_VERSION)
    if not _is_int(version) or int(version) != SCHEMA_VERSION:
        faults.append(
            f"attribute 'schema_version' is {_plain(version)!r}; this infoflow reads version "
            f"{SCHEMA_VERSION}; convert the data or use the infoflow version that wrote it"
        )
    n_actions = ds.attrs.get("n_actions")
    if n_actions is not None and (not _is_int(n_actions) or int(n_actions) < 1):
        faults.append(
            f"attribute 'n_actions' is {_plain(n_actions)!r}; set it to the size of the action "
            "set (an int >= 1)"
        )
        n_actions = None
    n_symbols = ds.attrs.get("n_symbols")
    if n_symbols is not None and (not _is_int(n_symbols) or int(n_symbols) < 0):
        faults.append(
            f"attribute 'n_symbols' is {_plain(n_symbols)!r}; set it to the message vocabulary "
            "size (an int >= 0, 0 without messages)"
        )
        n_symbols = None
    return (None if n_actions is None else int(n_actions),
            None if n_symbols is None else int(n_symbols))


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value (attributes read from files are NumPy scalars)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _check_variables(ds: xr.Dataset, faults: list[str]) -> set[str]:
    """Check presence, dims and dtypes; return the schema variables that passed."""
    for name in REQUIRED_VARIABLES:
        if name not in ds.data_vars:
            infers = (f"{_COMPLETE} infers it from the -1 padding of 'action'; "
                      if name == "length" else "")
            faults.append(
                f"required variable '{name}' is missing; add it ({infers}from_arrays builds it)"
            )
    good = set()
    for name, spec in VARIABLES.items():
        if name not in ds.data_vars:
            continue
        var = ds[name]
        ok = True
        if var.dims != spec.dims:
            faults.append(
                f"variable '{name}' has dims {var.dims}; expected {spec.dims}; "
                f"{_dims_fix(name, var.dims, spec.dims)}"
            )
            ok = False
        if var.dtype != np.dtype(spec.dtype):
            faults.append(
                f"variable '{name}' has dtype {var.dtype}; expected {spec.dtype}; "
                f"cast it with ds['{name}'] = ds['{name}'].astype('{spec.dtype}')"
            )
            ok = False
        if ok:
            good.add(name)
    return good


def _dims_fix(name: str, dims: tuple, expected: tuple) -> str:
    """How to give variable ``name`` the ``expected`` dims: rename misnamed ones, transpose.

    Examples
    --------
    >>> _dims_fix("action", ("episode", "step", "player"), ("episode", "step", "agent"))
    "rename the dimension with ds = ds.rename(player='agent')"
    >>> _dims_fix("action", ("step", "episode", "agent"), ("episode", "step", "agent"))
    "transpose it with ds['action'].transpose('episode', 'step', 'agent')"
    """
    order = ", ".join(repr(d) for d in expected)
    transpose = f"ds['{name}'].transpose({order})"
    if set(dims) == set(expected):
        return f"transpose it with {transpose}"
    unknown = [d for d in dims if d not in expected]
    missing = [d for d in expected if d not in dims]
    if len(dims) != len(expected) or len(unknown) != len(missing):
        return (f"give it exactly the dims {expected} (build the dataset with "
                "infoflow.trajectory.from_arrays)")
    renames = ", ".join(f"{old}={new!r}" for old, new in zip(unknown, missing, strict=True)
                        if str(old).isidentifier())
    if len(renames.split(", ")) != len(unknown):  # a name that is no keyword
        mapping = {old: new for old, new in zip(unknown, missing, strict=True)}
        call = f"ds.rename({mapping!r})"
    else:
        call = f"ds.rename({renames})"
    renamed = tuple(dict(zip(unknown, missing, strict=True)).get(d, d) for d in dims)
    then = "" if renamed == tuple(expected) else f", then {transpose}"
    noun = "dimension" if len(unknown) == 1 else "dimensions"
    return f"rename the {noun} with ds = {call}{then}"


def _check_coords(
    ds: xr.Dataset, n_actions: int | None, n_symbols: int | None, faults: list[str]
) -> None:
    agents = None
    if "agent" in ds.dims:
        if "agent" not in ds.coords:
            faults.append(
                "dimension 'agent' has no coordinate; assign the agent names with "
                f"ds.assign_coords(agent=[...]) ({_COMPLETE} names them agent_0, agent_1, ...)"
            )
        else:
            agents = ds["agent"].values
            if agents.dtype.kind not in "UO" or len(set(agents.tolist())) != agents.size:
                faults.append(
                    f"coordinate 'agent' must hold distinct names (str), got {agents.tolist()}; "
                    "assign distinct names such as 'agent_0', 'agent_1'"
                )
                agents = None  # no reference for source/target
    for dim in ("source", "target"):
        if dim not in ds.dims:
            continue
        values = ds[dim].values if dim in ds.coords else None
        if agents is not None and (values is None or values.tolist() != agents.tolist()):
            faults.append(
                f"coordinate '{dim}' must equal the 'agent' coordinate "
                f"({agents.tolist()}), got {None if values is None else values.tolist()}; "
                f"assign it with ds.assign_coords({dim}=ds['agent'].values)"
            )
    if "choice" in ds.dims and n_actions is not None:
        values = ds["choice"].values if "choice" in ds.coords else None
        if values is None or values.tolist() != list(range(n_actions)):
            faults.append(
                f"coordinate 'choice' must be 0..{n_actions - 1} (n_actions = {n_actions}), "
                f"got {None if values is None else values.tolist()}; "
                "log one probability per action"
            )
    if "symbol" in ds.dims and n_symbols is not None and ds.sizes["symbol"] != n_symbols:
        faults.append(
            f"dimension 'symbol' has size {ds.sizes['symbol']} but n_symbols = {n_symbols}; "
            "make them agree"
        )
    if "xy" in ds.dims and ds.sizes["xy"] != 2:
        faults.append(
            f"dimension 'xy' has size {ds.sizes['xy']}; positions are (row, col) pairs"
        )


def _blocks(ds: xr.Dataset, name: str) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_episode, values)`` blocks of a variable, bounded in memory."""
    var = ds[name]
    per_episode = max(1, var.size // max(1, ds.sizes["episode"]))
    size = max(1, _BLOCK_ELEMENTS // per_episode)
    for start in range(0, ds.sizes["episode"], size):
        yield start, np.asarray(var.isel(episode=slice(start, start + size)).values)


def _where(ds: xr.Dataset, name: str, start: int, mask: np.ndarray, values: np.ndarray) -> str:
    """Describe the first True cell of ``mask`` (indices and value)."""
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    parts = [f"episode {idx[0] + start}"]
    for dim, i in zip(ds[name].dims[1:], idx[1:], strict=False):  # mask may drop dims
        label = ds[dim].values[i].item() if dim in ds.coords and dim != "choice" else i
        parts.append(f"{dim} {label!r}" if isinstance(label, str) else f"{dim} {label}")
    return f"first at {', '.join(parts)}: {values[idx]!s}"


def _check_values(
    ds: xr.Dataset,
    good: set[str],
    n_actions: int | None,
    n_symbols: int | None,
    faults: list[str],
) -> None:
    n_steps = ds.sizes.get("step", 0)
    lengths = None
    if "length" in good:
        lengths = np.asarray(ds["length"].values)
        bad = (lengths < 0) | (lengths > n_steps)
        if bad.any():
            faults.append(
                f"variable 'length': {int(bad.sum())} value(s) outside [0, {n_steps}] "
                f"({_where(ds, 'length', 0, bad, lengths)}); "
                "a length counts the steps of its episode, at most the size of 'step'"
            )
            lengths = None
    ends = None  # [episode, agent]: the step at which each agent's data end
    if lengths is not None:
        ends = np.broadcast_to(lengths[:, None], (lengths.size, ds.sizes.get("agent", 0)))
        if "agent_length" in good:
            played = np.asarray(ds["agent_length"].transpose("episode", "agent").values)
            bad = (played < 0) | (played > lengths[:, None])
            if bad.any():
                faults.append(
                    f"variable 'agent_length': {int(bad.sum())} value(s) outside [0, length] "
                    f"({_where(ds, 'agent_length', 0, bad, played)}); an agent plays at most "
                    "its episode's steps")
            else:
                ends = played
    coded = {"action": n_actions, "message": n_symbols}
    for name, size in coded.items():
        if name in good and size is not None:
            _check_coded(ds, name, size, ends, faults)
    if "facing" in good:
        _check_range(ds, "facing", -1, 4, "facings are 0 up, 1 right, 2 down, 3 left", faults)
    if "policy" in good:
        _check_policy(ds, lengths, faults)


def _check_coded(
    ds: xr.Dataset, name: str, size: int, ends: np.ndarray | None, faults: list[str]
) -> None:
    """Codes in range; -1 exactly from each agent's end on (``ends`` [episode, agent]: the
    episode's length, or the agent's own when it left early)."""
    limit = "n_actions" if name == "action" else "n_symbols"
    out = early = late = 0
    out_where = early_where = late_where = ""
    for start, values in _blocks(ds, name):
        bad = (values < PAD) | (values >= size)
        if bad.any():
            out_where = out_where or _where(ds, name, start, bad, values)
            out += int(bad.sum())
        if ends is None:
            continue
        steps = np.arange(values.shape[1])[None, :, None]
        ended = steps >= ends[start:start + len(values), None, :]       # [episode, step, agent]
        bad = ended & (values != PAD)
        if bad.any():
            late_where = late_where or _where(ds, name, start, bad, values)
            late += int(bad.sum())
        bad = ~ended & (values == PAD)
        if bad.any() and name == "action":
            early_where = early_where or _where(ds, name, start, bad, values)
            early += int(bad.sum())
    if out:
        faults.append(
            f"variable '{name}': {out} value(s) outside [-1, {size}) ({out_where}); "
            f"codes are 0..{limit}-1 with -1 for padding; fix the data or set '{limit}'"
        )
    if late:
        faults.append(
            f"variable '{name}': {late} value(s) after the episode's end are not -1 "
            f"({late_where}); pad with -1 from step 'length' (or the agent's 'agent_length') "
            "on, or raise it"
        )
    if early:
        faults.append(
            f"variable '{name}': {early} value(s) of -1 before the episode's end "
            f"({early_where}); -1 marks padding only: fix the data or lower 'length'"
        )


def _check_range(
    ds: xr.Dataset, name: str, low: int, high: int, meaning: str, faults: list[str]
) -> None:
    count, where = 0, ""
    for start, values in _blocks(ds, name):
        bad = (values < low) | (values >= high)
        if bad.any():
            where = where or _where(ds, name, start, bad, values)
            count += int(bad.sum())
    if count:
        faults.append(
            f"variable '{name}': {count} value(s) outside [{low}, {high}) ({where}); "
            f"{meaning}, -1 for padding"
        )


def _check_policy(ds: xr.Dataset, lengths: np.ndarray | None, faults: list[str]) -> None:
    negative = partial = unnormalised = 0
    where = ["", "", ""]
    for start, values in _blocks(ds, "policy"):
        nan = np.isnan(values)
        bad = ~nan & ((values < 0) | (values > 1))
        if bad.any():
            where[0] = where[0] or _where(ds, "policy", start, bad, values)
            negative += int(bad.sum())
        if lengths is not None:
            live = np.arange(values.shape[1]) < lengths[start:start + len(values), None]
        else:
            live = np.ones(values.shape[:2], dtype=bool)
        some, every = nan.any(axis=-1), nan.all(axis=-1)
        bad = live[:, :, None] & some & ~every
        if bad.any():
            where[1] = where[1] or _where(ds, "policy", start, bad, values.sum(axis=-1))
            partial += int(bad.sum())
        sums = values.sum(axis=-1)
        bad = live[:, :, None] & ~some & (np.abs(sums - 1.0) > _POLICY_ATOL)
        if bad.any():
            where[2] = where[2] or _where(ds, "policy", start, bad, sums)
            unnormalised += int(bad.sum())
    if negative:
        faults.append(
            f"variable 'policy': {negative} probability(ies) outside [0, 1] ({where[0]}); "
            "log softmax outputs, not logits"
        )
    if partial:
        faults.append(
            f"variable 'policy': {partial} row(s) partly NaN ({where[1]}); a row is either a "
            "full distribution or all NaN (not logged)"
        )
    if unnormalised:
        faults.append(
            f"variable 'policy': {unnormalised} row(s) not summing to 1 "
            f"({where[2]}, sum shown); normalise each row over 'choice'"
        )
