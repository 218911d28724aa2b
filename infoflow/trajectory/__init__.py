"""Trajectory schema (SPEC 4): build, validate, store and open multi-agent episode data.

A trajectory dataset is an :class:`xarray.Dataset` with ``action(episode, step, agent)`` int16
(``-1`` after each episode's end) and ``length(episode)`` int32, plus optional rewards,
messages, policies, influence, visibility, positions, facings and game counters. See
:mod:`infoflow.trajectory.schema` for every name, dtype and attribute. :func:`complete` fills in
what a user's dataset leaves out but its data determine (``n_symbols``, ``n_actions``,
``length``, ...); :func:`open_trajectories` applies it, :func:`validate` stays strict.
"""

from infoflow.trajectory.build import default_attrs, from_arrays
from infoflow.trajectory.complete import agent_ends, complete, infer_lengths
from infoflow.trajectory.schema import (
    CONVENTIONS,
    DIMS,
    PAD,
    REQUIRED_ATTRS,
    REQUIRED_VARIABLES,
    SCHEMA_VERSION,
    VARIABLES,
    variable_attrs,
)
from infoflow.trajectory.store import (
    RUN_STORE_NAME,
    TrajectoryWriter,
    open_trajectories,
    truncate_store,
)
from infoflow.trajectory.validate import TrajectoryError, validate

__all__ = [
    "CONVENTIONS",
    "DIMS",
    "PAD",
    "REQUIRED_ATTRS",
    "REQUIRED_VARIABLES",
    "RUN_STORE_NAME",
    "SCHEMA_VERSION",
    "VARIABLES",
    "TrajectoryError",
    "TrajectoryWriter",
    "truncate_store",
    "complete",
    "default_attrs",
    "from_arrays",
    "infer_lengths",
    "agent_ends",
    "open_trajectories",
    "validate",
    "variable_attrs",
]
