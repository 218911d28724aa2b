"""The trajectory schema as code: dimensions, variables, dtypes and CF-style attributes.

A trajectory dataset is an :class:`xarray.Dataset` with dimensions ``episode``, ``step`` and
``agent`` (plus ``source``/``target`` for pairwise variables, ``choice`` for action indices,
``symbol`` for message indices and ``xy`` for positions). ``episode`` and ``step`` have no
coordinate (they are positions); ``agent``, ``source`` and ``target`` hold the agent names,
``choice`` and ``symbol`` the integer codes and ``xy`` the labels ``("row", "col")``.

Padding convention: steps at or after an episode's ``length`` hold ``-1`` in integer
variables (``action``, ``message``, ``facing``, ``position``) and NaN in float variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SCHEMA_VERSION",
    "CONVENTIONS",
    "DIMS",
    "VariableSpec",
    "VARIABLES",
    "REQUIRED_VARIABLES",
    "REQUIRED_ATTRS",
    "RECOMMENDED_ATTRS",
    "ACTION_NAMES",
    "PAD",
    "variable_attrs",
]

SCHEMA_VERSION = 1
"""Value of the ``schema_version`` attribute written and accepted by this version."""

CONVENTIONS = "CF-1.10"
"""Value of the ``Conventions`` attribute."""

PAD = -1
"""Integer value of the steps after an episode's end (``action``, ``message``, ...)."""

DIMS = ("episode", "step", "agent", "source", "target", "choice", "symbol", "xy")
"""Every dimension name the schema uses."""


@dataclass(frozen=True)
class VariableSpec:
    """What the schema says about one variable.

    Attributes
    ----------
    dims : tuple of str
        Dimension names, in order.
    dtype : str
        NumPy dtype name the variable must have (e.g. ``"int16"``).
    long_name : str
        CF ``long_name`` attribute.
    units : str
        CF ``units`` attribute (``"1"`` for dimensionless).
    fill : int, float or bool
        Value of padded steps (after an episode's end) when the writer pads an append.
    attrs : dict
        Further fixed attributes (e.g. ``description``).
    """

    dims: tuple[str, ...]
    dtype: str
    long_name: str
    units: str
    fill: int | float | bool
    attrs: dict = field(default_factory=dict)


_ESA = ("episode", "step", "agent")
_EST = ("episode", "step", "source", "target")

VARIABLES: dict[str, VariableSpec] = {
    "action": VariableSpec(_ESA, "int16", "action taken by the agent", "1", PAD),
    "length": VariableSpec(("episode",), "int32", "number of steps in the episode", "1", 0),
    "agent_length": VariableSpec(
        ("episode", "agent"), "int32", "number of steps the agent played in the episode", "1",
        0, {"description": "agents that leave before the episode ends (PettingZoo): -1 "
                           "actions from this step on; absent = every agent plays 'length'"}),
    "reward": VariableSpec(_ESA, "float32", "environment (extrinsic) reward", "1", np.nan),
    "intrinsic_reward": VariableSpec(
        _ESA, "float32", "intrinsic (influence) reward before scaling by beta", "1", np.nan
    ),
    "message": VariableSpec(
        _ESA, "int16", "communication symbol emitted by the agent", "1", PAD
    ),
    "policy": VariableSpec(
        ("episode", "step", "agent", "choice"),
        "float32",
        "action probabilities of the agent's policy",
        "1",
        np.nan,
        {"description": "logged for some episodes only; NaN where not logged"},
    ),
    "influence": VariableSpec(
        _EST,
        "float32",
        "counterfactual divergence of the target's policy caused by the source's action",
        "nat",
        np.nan,
        {"description": "NaN where not defined (e.g. source == target, out of view)"},
    ),
    "visible": VariableSpec(
        _EST, "bool", "target inside the source's view window", "1", False
    ),
    "position": VariableSpec(
        ("episode", "step", "agent", "xy"), "int16", "cell of the agent on the map", "1", PAD
    ),
    "facing": VariableSpec(
        _ESA,
        "int8",
        "direction the agent faces",
        "1",
        PAD,
        {"flag_values": np.array([-1, 0, 1, 2, 3], dtype=np.int8),
         "flag_meanings": "padding up right down left"},
    ),
    "apples": VariableSpec(("episode", "step"), "int32", "apples on the map", "1", PAD),
    "waste": VariableSpec(("episode", "step"), "int32", "river cells holding waste", "1", PAD),
}
"""Every variable the schema knows. Other variables are allowed and left unchecked."""

REQUIRED_VARIABLES = ("action", "length")
"""Variables every trajectory dataset must have."""

REQUIRED_ATTRS = ("schema_version", "n_actions", "n_symbols")
"""Attributes every trajectory dataset must have."""

RECOMMENDED_ATTRS = (
    "env", "model", "config", "seed", "infoflow_version", "created", "Conventions", "title",
    "history",
)
"""Attributes :func:`~infoflow.trajectory.from_arrays` fills; their absence is not a fault."""

_MOVES = ("step_left", "step_right", "step_forward", "step_backward", "stay",
          "turn_clockwise", "turn_counterclockwise")
ACTION_NAMES: dict[str, tuple[str, ...]] = {
    "cleanup": _MOVES + ("fire", "clean"),
    "harvest": _MOVES + ("fire",),
    "box_trapped": _MOVES + ("open_box",),
}
"""Action names per game (SPEC 1.1); other environments get ``action_0``, ``action_1``, ..."""


def _flag_meanings(names: list[str]) -> str:
    return " ".join(n.replace(" ", "_") for n in names)


def variable_attrs(name: str, n_actions: int = 0, n_symbols: int = 0, env: str = "") -> dict:
    """CF attributes of schema variable ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`VARIABLES`.
    n_actions : int
        Size of the action set; sets the ``flag_values``/``flag_meanings`` of ``action``.
    n_symbols : int
        Size of the message vocabulary; sets the flags of ``message``.
    env : str
        Game name; picks action names from :data:`ACTION_NAMES` when known.

    Returns
    -------
    dict
        ``long_name``, ``units`` and, for coded variables, ``flag_values`` and
        ``flag_meanings`` (``-1`` means ``padding``).

    Examples
    --------
    >>> variable_attrs("action", n_actions=2)["flag_meanings"]
    'padding action_0 action_1'
    >>> variable_attrs("length")["units"]
    '1'
    """
    spec = VARIABLES[name]
    attrs: dict = {"long_name": spec.long_name, "units": spec.units, **spec.attrs}
    if name == "action":
        known = ACTION_NAMES.get(env, ())
        names = [known[i] if i < len(known) else f"action_{i}" for i in range(n_actions)]
        attrs["flag_values"] = np.arange(-1, n_actions, dtype=np.int16)
        attrs["flag_meanings"] = _flag_meanings(["padding", *names])
    elif name == "message":
        attrs["flag_values"] = np.arange(-1, n_symbols, dtype=np.int16)
        attrs["flag_meanings"] = _flag_meanings(
            ["padding", *(f"symbol_{i}" for i in range(n_symbols))]
        )
    return attrs
