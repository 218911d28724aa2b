"""Zarr trajectory stores: an appending writer and a lazy, validating reader."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from infoflow.trajectory.build import _clean_attr, default_attrs
from infoflow.trajectory.complete import complete
from infoflow.trajectory.schema import VARIABLES, variable_attrs
from infoflow.trajectory.validate import TrajectoryError, validate

__all__ = ["TrajectoryWriter", "open_trajectories", "RUN_STORE_NAME"]

RUN_STORE_NAME = "trajectories.zarr"
"""Name of the store inside a run directory; :func:`open_trajectories` finds it there."""

NOTES_KEY = "infoflow_notes"
"""Key of ``ds.encoding`` where :func:`open_trajectories` keeps the notes of ``complete``."""

ZARR_FORMAT = 2  # widest reader support; consolidated metadata is part of the format
_ZARR_MARKERS = (".zgroup", ".zmetadata", "zarr.json")
_SPARSE = ("policy",)  # logged for some episodes only: NaN in the episodes that lack it


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / m).exists() for m in _ZARR_MARKERS)


def _resolve(path: str | os.PathLike) -> Path:
    """The store behind ``path`` (a store, a run directory holding one, or a file)."""
    p = Path(path)
    if not p.exists():
        raise TrajectoryError(
            f"no trajectory store or file at '{p}'; check the path (a run directory holds "
            f"'{RUN_STORE_NAME}')"
        )
    if p.is_dir() and not _is_zarr(p):
        if _is_zarr(p / RUN_STORE_NAME):
            return p / RUN_STORE_NAME
        if not any(p.iterdir()):
            raise TrajectoryError(
                f"'{p}' is an empty directory, not a trajectory store; write episodes to it "
                "with TrajectoryWriter first"
            )
        raise TrajectoryError(
            f"'{p}' is a directory but not a zarr store (no .zgroup or zarr.json) and holds no "
            f"'{RUN_STORE_NAME}'; pass the store itself"
        )
    return p


def open_trajectories(path: str | os.PathLike, check_values: bool = False) -> xr.Dataset:
    """Open a trajectory store lazily, fill in what its data determine, check its schema.

    What a user's store or file leaves out but its data determine (``n_symbols``,
    ``n_actions``, ``length``, ``schema_version``, agent names, see
    :func:`~infoflow.trajectory.complete`) is filled in, and one note per value inferred is
    kept in ``ds.encoding["infoflow_notes"]`` (a list of str, empty for a store written by
    :class:`TrajectoryWriter`); the notes are not attributes and are never written back.
    Inferring ``n_actions`` or ``length`` reads ``action`` once, in blocks of episodes.

    Parameters
    ----------
    path : str or path-like
        A zarr store written by :class:`TrajectoryWriter`, a run directory holding
        ``trajectories.zarr``, or any file xarray can read (e.g. netCDF) in the schema.
    check_values : bool
        Also check value ranges, which reads every value. Default False: stores written by
        :class:`TrajectoryWriter` were checked when written, so only names, dims, dtypes,
        coordinates and attributes are checked and no data are read.

    Returns
    -------
    xarray.Dataset
        Lazy: values are read when used (``.values``, ``.load()``). The notes of
        :func:`~infoflow.trajectory.complete` are in ``.encoding["infoflow_notes"]``.

    Raises
    ------
    TrajectoryError
        For a missing path, an empty or foreign store, an unreadable file, a value that
        cannot be inferred, and every schema fault (see :func:`~infoflow.trajectory.validate`).

    Examples
    --------
    >>> import tempfile, numpy as np, xarray as xr
    >>> path = tempfile.mkdtemp() + "/user.nc"
    >>> actions = np.array([[[0, 1], [1, 0], [-1, -1]]], dtype=np.int16)  # no attributes, no length
    >>> xr.Dataset({"action": (("episode", "step", "agent"), actions)}).to_netcdf(path)
    >>> ds = open_trajectories(path)
    >>> ds.attrs["n_actions"], ds["length"].values.tolist()
    (2, [2])
    >>> [note.split(" ")[0] for note in ds.encoding["infoflow_notes"]]
    ['schema_version', 'agents', 'n_actions', 'length', 'n_symbols']
    """
    p = _resolve(path)
    try:
        if p.is_dir():
            consolidated = (p / ".zmetadata").exists()  # as TrajectoryWriter writes
            ds = xr.open_dataset(p, engine="zarr", chunks=None, consolidated=consolidated)
        else:
            ds = xr.open_dataset(p, chunks=None)
    except Exception as err:  # the backends raise many types; report one
        raise TrajectoryError(
            f"could not read '{p}' as a zarr store or xarray-readable file ({err}); "
            "pass a store written by TrajectoryWriter or a netCDF file"
        ) from err
    if not ds.data_vars:
        raise TrajectoryError(
            f"'{p}' holds no variables (an empty store); append episodes with "
            "TrajectoryWriter first"
        )
    if "action" not in ds.data_vars:
        raise TrajectoryError(
            f"'{p}' is not a trajectory store: it has no 'action' variable (it has "
            f"{sorted(ds.data_vars)}); pass a store in the infoflow trajectory schema"
        )
    if p.is_dir() and ds.attrs.get(COMPLETE_CHUNKS) == 1:
        _check_chunks(p)
    try:
        ds, notes = complete(ds)
    except (OSError, RuntimeError) as err:  # a chunk that does not decode
        raise TrajectoryError(f"could not read the data of '{p}' ({err}): the store is "
                              "damaged; restore it or write it again") from err
    ds.encoding[NOTES_KEY] = notes
    return validate(ds, check_values=check_values)


#: Store attribute set by :class:`TrajectoryWriter`: every chunk of its arrays is written.
COMPLETE_CHUNKS = "complete_chunks"


def _check_chunks(path: Path) -> None:
    """TrajectoryError if an array of a :class:`TrajectoryWriter` store lacks a chunk (zarr
    would silently read its fill value instead of the data). The writer writes every chunk
    (``write_empty_chunks``), except those of ``policy`` for episodes logged before it was."""
    import zarr

    group = zarr.open_group(str(path), mode="r")
    for name, array in group.arrays():
        if name == "policy":
            continue
        missing = array.nchunks - array.nchunks_initialized
        if missing > 0:
            raise TrajectoryError(
                f"'{path}' is damaged: variable '{name}' lacks {missing} of its "
                f"{array.nchunks} chunk(s), which would read as fill values; restore the store "
                "or write it again"
            )


def _encoding(ds: xr.Dataset, chunk_episodes: int) -> dict[str, dict]:
    """Chunks along ``episode`` (whole episodes per chunk) and Blosc-zstd compression."""
    from numcodecs import Blosc

    encoding = {}
    for name, var in ds.data_vars.items():
        if "episode" not in var.dims:
            continue
        chunks = tuple(
            (chunk_episodes if var.ndim > 1 else max(chunk_episodes, 4096)) if d == "episode"
            else ds.sizes[d]
            for d in var.dims
        )
        shuffle = Blosc.BITSHUFFLE if var.dtype.itemsize <= 2 else Blosc.SHUFFLE
        encoding[name] = {"chunks": chunks,
                          "compressors": (Blosc(cname="zstd", clevel=5, shuffle=shuffle),)}
    return encoding


TEAR_APPEND_HOOK = "INFOFLOW_TEST_TEAR_APPEND"
"""Test hook (environment variable): an append to an existing store writes its first variable
only, as a kill in the middle of ``to_zarr`` would leave it, then waits to be killed."""


def _tear_and_wait(path: Path, ds: xr.Dataset) -> None:
    first = sorted(ds.data_vars)[0]
    ds[[first]].to_zarr(path, append_dim="episode", consolidated=False,
                        zarr_format=ZARR_FORMAT, write_empty_chunks=True)
    (path.parent / f"{path.name}.torn").touch()  # tells the test where the append stands
    time.sleep(3600)


def truncate_store(path: str | os.PathLike, n_episodes: int) -> int:
    """Cut every episode-indexed array of a zarr trajectory store to ``n_episodes``.

    Works on a store that an interrupted append left torn (some arrays one append longer than
    others, consolidated metadata stale): each array's own metadata is read, not the
    consolidated copy, and the consolidated metadata is rewritten afterwards. A resumed
    training run calls this with its checkpoint's episode count.

    Parameters
    ----------
    path : str or path-like
        The zarr store.
    n_episodes : int
        Episodes to keep (>= 0).

    Returns
    -------
    int
        The episodes the shortest episode-indexed array held before (what was whole).

    Raises
    ------
    TrajectoryError
        If ``n_episodes`` is negative or some array holds fewer episodes.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from infoflow.trajectory import from_arrays
    >>> path = tempfile.mkdtemp() + "/run.zarr"
    >>> with TrajectoryWriter(path, agents=["a"], n_actions=2) as writer:
    ...     writer.append(from_arrays(np.zeros((3, 4, 1), int), agents=["a"], n_actions=2))
    >>> truncate_store(path, 1), open_trajectories(path).sizes["episode"]
    (3, 1)
    """
    import zarr

    path = Path(path)
    group = zarr.open_group(str(path), mode="r+", zarr_format=ZARR_FORMAT,
                            use_consolidated=False)
    arrays = [a for _, a in group.arrays()
              if (a.attrs.get("_ARRAY_DIMENSIONS") or [None])[0] == "episode"]
    held = min((a.shape[0] for a in arrays), default=0)
    if not 0 <= n_episodes <= held:
        raise TrajectoryError(
            f"cannot keep {n_episodes} episodes of '{path}': its arrays hold {held} whole "
            f"episodes; pass a number from 0 to {held}"
        )
    for array in arrays:
        if array.shape[0] != n_episodes:
            array.resize((n_episodes, *array.shape[1:]))
    zarr.consolidate_metadata(str(path))
    return held


class TrajectoryWriter:
    """Append episodes to a zarr trajectory store, creating it on the first append.

    Parameters
    ----------
    path : str or path-like
        The store (a directory, conventionally ending in ``.zarr``). If it already holds a
        trajectory store, appends continue it (resumed runs); its agents, ``n_actions`` and
        ``n_symbols`` must match.
    agents : sequence of str
        Agent names, in the order of the ``agent`` axis of every appended dataset.
    n_actions : int
        Size of the action set.
    n_symbols : int
        Message vocabulary size (0 without messages).
    attrs : mapping, optional
        Run attributes written to the store on creation (``env``, ``model``, ``config``,
        ``seed``, ...); they take precedence over the attributes of the first dataset.
    chunk_episodes : int
        Episodes per zarr chunk.
    overwrite : bool
        Delete an existing trajectory store at ``path`` first instead of continuing it.

    Notes
    -----
    The first append fixes the store's variables and number of steps. A later append must
    hold the same variables, except ``policy`` (logged for some episodes only): NaN is stored
    for episodes appended without it, also when it first appears in a later append. An append
    with fewer steps is padded (``-1`` / NaN / False); one with more steps is refused. The
    store is zarr format 2 with consolidated metadata, so opening it reads one small file.
    One writer per store: concurrent writers from several processes are not supported.
    Each append is validated before anything is written, and the
    store is created under a temporary name and renamed, so a failed append leaves no
    half-written store. The ``episode`` axis has no coordinate: episodes are numbered by
    their position in the store.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from infoflow.trajectory import from_arrays
    >>> path = tempfile.mkdtemp() + "/run.zarr"
    >>> with TrajectoryWriter(path, agents=["a", "b"], n_actions=3) as writer:
    ...     writer.append(from_arrays(np.zeros((2, 4, 2), int), agents=["a", "b"], n_actions=3))
    ...     writer.append(from_arrays(np.ones((1, 4, 2), int), agents=["a", "b"], n_actions=3))
    >>> open_trajectories(path).sizes["episode"]
    3
    """

    def __init__(
        self,
        path: str | os.PathLike,
        agents: Sequence[str],
        n_actions: int,
        n_symbols: int = 0,
        attrs: Mapping[str, object] | None = None,
        chunk_episodes: int = 16,
        overwrite: bool = False,
    ):
        if chunk_episodes < 1:
            raise TrajectoryError(
                f"chunk_episodes is {chunk_episodes}; pass a positive number of episodes"
            )
        self.path = Path(path)
        self.agents = [str(a) for a in agents]
        self.n_actions = int(n_actions)
        self.n_symbols = int(n_symbols)
        self.attrs = {k: _clean_attr(k, v) for k, v in (attrs or {}).items() if v is not None}
        self.chunk_episodes = int(chunk_episodes)
        self.n_episodes = 0
        self._variables: set[str] | None = None
        self._n_steps = 0
        self._store_attrs: dict = {}
        if self.path.exists() and overwrite:
            if _is_zarr(self.path) or (self.path.is_dir() and not any(self.path.iterdir())):
                shutil.rmtree(self.path)
            else:
                raise TrajectoryError(
                    f"'{self.path}' exists and is not a zarr store; refusing to delete it with "
                    "overwrite=True: choose another path"
                )
        if self.path.exists() and not (self.path.is_dir() and not any(self.path.iterdir())):
            self._reopen()

    def _reopen(self) -> None:
        stored = open_trajectories(self.path)
        faults = []
        if stored["agent"].values.tolist() != self.agents:
            faults.append(f"agents {stored['agent'].values.tolist()} (writer: {self.agents})")
        for key in ("n_actions", "n_symbols"):
            if int(stored.attrs[key]) != getattr(self, key):
                faults.append(f"{key} = {stored.attrs[key]} (writer: {getattr(self, key)})")
        if faults:
            raise TrajectoryError(
                f"the store at '{self.path}' has {'; '.join(faults)}; pass the store's values "
                "to continue it, overwrite=True to replace it, or another path"
            )
        self.n_episodes = stored.sizes["episode"]
        self._variables = set(stored.data_vars)
        self._n_steps = stored.sizes["step"]
        self._store_attrs = dict(stored.attrs)

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to flush (every append is written at once); provided for symmetry."""

    def append(self, ds: xr.Dataset) -> None:
        """Validate ``ds`` and append its episodes to the store.

        Parameters
        ----------
        ds : xarray.Dataset
            Episodes in the trajectory schema, e.g. from :func:`from_arrays`.

        Raises
        ------
        TrajectoryError
            If ``ds`` is invalid or does not fit the store (agents, ``n_actions``,
            ``n_symbols``, variables, steps); nothing is written then.
        """
        validate(ds)
        ds = self._conform(ds)
        if ds.sizes["episode"] == 0:
            return
        if self._variables is None:
            self._create(ds)
        else:
            if "policy" in ds.data_vars and "policy" not in self._variables:
                self._add_policy()
            ds.attrs = self._store_attrs  # appends rewrite the group's attributes
            if os.environ.get(TEAR_APPEND_HOOK):
                _tear_and_wait(self.path, ds)
            ds.to_zarr(self.path, append_dim="episode", consolidated=True,
                       zarr_format=ZARR_FORMAT, write_empty_chunks=True)
        self.n_episodes += ds.sizes["episode"]

    def truncate(self, n_episodes: int) -> None:
        """Keep only the first ``n_episodes`` episodes of the store.

        A resumed training run calls this to drop the episodes logged after its last
        checkpoint, which it is about to play again.

        Parameters
        ----------
        n_episodes : int
            Episodes to keep, 0 .. the number in the store.

        Raises
        ------
        TrajectoryError
            If ``n_episodes`` is negative or more than the store holds.
        """
        if not 0 <= n_episodes <= self.n_episodes:
            raise TrajectoryError(
                f"cannot keep {n_episodes} episodes of a store holding {self.n_episodes}; "
                f"pass a number from 0 to {self.n_episodes}"
            )
        if n_episodes == self.n_episodes:
            return
        truncate_store(self.path, n_episodes)
        self.n_episodes = n_episodes

    def _conform(self, ds: xr.Dataset) -> xr.Dataset:
        """Check ``ds`` against the store and pad it to the store's steps."""
        faults = []
        if ds["agent"].values.tolist() != self.agents:
            faults.append(
                f"agents {ds['agent'].values.tolist()} differ from the writer's {self.agents}; "
                "order the agent axis as the writer's"
            )
        for key in ("n_actions", "n_symbols"):
            if int(ds.attrs[key]) != getattr(self, key):
                faults.append(
                    f"{key} = {ds.attrs[key]} differs from the writer's {getattr(self, key)}; "
                    f"build the episodes with {key}={getattr(self, key)}"
                )
        ds = ds.copy()
        for var in ds.variables.values():
            var.encoding = {}
        if self._variables is not None:
            extra = sorted(set(ds.data_vars) - self._variables - set(_SPARSE))
            missing = sorted(self._variables - set(ds.data_vars) - set(_SPARSE))
            if extra:
                faults.append(
                    f"variable(s) {extra} are not in the store, whose variables were fixed by "
                    "its first append; drop them or start a new store"
                )
            if missing:
                faults.append(
                    f"variable(s) {missing} are in the store but missing from this append; "
                    "log them in every append (padding values where unknown)"
                )
            if ds.sizes["step"] > self._n_steps:
                faults.append(
                    f"the episodes have {ds.sizes['step']} steps but the store holds "
                    f"{self._n_steps}; write longer episodes to a new store"
                )
        if faults:
            raise TrajectoryError(faults)
        if self._variables is not None:
            ds = self._pad(ds)
        return ds

    def _pad(self, ds: xr.Dataset) -> xr.Dataset:
        if "policy" in self._variables and "policy" not in ds.data_vars:
            shape = (*ds["action"].shape, self.n_actions)  # [episode, step, agent, choice]
            ds["policy"] = (VARIABLES["policy"].dims, np.full(shape, np.nan, np.float32))
            ds = ds.assign_coords(choice=np.arange(self.n_actions))
        missing = self._n_steps - ds.sizes["step"]
        if missing:
            padded = {}
            for name, var in ds.data_vars.items():
                if "step" in var.dims:
                    fill = VARIABLES[name].fill if name in VARIABLES else np.nan
                    padded[name] = var.pad(step=(0, missing), constant_values=fill)
            ds = xr.Dataset({**ds.data_vars, **padded}, attrs=ds.attrs)
        return ds

    def _add_policy(self) -> None:
        """Add a ``policy`` variable, NaN for the stored episodes (no chunk is written)."""
        import zarr
        from numcodecs import Blosc

        group = zarr.open_group(self.path, mode="r+", zarr_format=ZARR_FORMAT)
        if "choice" not in group:
            choice = group.create_array("choice", shape=(self.n_actions,), dtype="int64",
                                        chunks=(self.n_actions,), fill_value=None)
            choice[:] = np.arange(self.n_actions)
            choice.attrs["_ARRAY_DIMENSIONS"] = ["choice"]
        shape = (self.n_episodes, self._n_steps, len(self.agents), self.n_actions)
        policy = group.create_array(
            "policy", shape=shape, chunks=(self.chunk_episodes, *shape[1:]), dtype="float32",
            fill_value=np.nan, compressors=Blosc(cname="zstd", clevel=5, shuffle=Blosc.SHUFFLE),
        )  # [episode, step, agent, choice]; unwritten chunks read as the fill value
        policy.attrs.update({"_ARRAY_DIMENSIONS": list(VARIABLES["policy"].dims),
                             **variable_attrs("policy")})
        zarr.consolidate_metadata(self.path)
        self._variables.add("policy")

    def _create(self, ds: xr.Dataset) -> None:
        attrs = default_attrs("infoflow.trajectory.TrajectoryWriter")
        attrs.update({k: v for k, v in ds.attrs.items() if k not in ("created", "history")})
        attrs.update(self.attrs)
        attrs.update(n_actions=self.n_actions, n_symbols=self.n_symbols)
        attrs[COMPLETE_CHUNKS] = 1  # every chunk is written: a missing one is damage
        ds.attrs = attrs
        validate(ds, check_values=False)  # the writer's attrs may break the schema
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            ds.to_zarr(tmp, mode="w-", encoding=_encoding(ds, self.chunk_episodes),
                       consolidated=True, zarr_format=ZARR_FORMAT, write_empty_chunks=True)
            tmp.replace(self.path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._variables = set(ds.data_vars)
        self._n_steps = ds.sizes["step"]
        self._store_attrs = dict(attrs)
