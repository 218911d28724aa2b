"""Typed building of config dataclasses from plain data (parsed TOML, ``--set`` strings).

Pure helpers of :mod:`trainers.config`: each value is checked against the annotation of its
dataclass field (``int``, ``float``, ``bool``, ``str``, ``X | None``, ``tuple[...]``,
``list[...]``, ``dict[...]``, ``Literal[...]`` and nested dataclasses); a mismatch raises
ValueError naming the dotted field, the expected type and the value given.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

__all__ = ["type_hints", "coerce", "parse_cli_value", "build_dataclass"]


@cache
def type_hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of the dataclass ``cls``'s fields (names -> types)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _type_name(typ: Any) -> str:
    if isinstance(typ, type):
        return typ.__name__
    return str(typ).replace("typing.", "")


def _is_union(typ: Any) -> bool:
    return typing.get_origin(typ) in (typing.Union, types.UnionType)


def coerce(value: Any, typ: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``typ``; return it in that type.

    Integral floats are accepted for ``int`` fields (``total_steps = 5e6``), ints for ``float``
    fields, lists for tuples.

    Examples
    --------
    >>> coerce(5e6, int, "trainer.total_steps")
    5000000
    >>> coerce(1, float, "trainer.beta")
    1.0
    >>> coerce("x", int, "trainer.seed")
    Traceback (most recent call last):
    ...
    ValueError: trainer.seed must be int, got 'x' (str)
    """
    bad = ValueError(f"{where} must be {_type_name(typ)}, got {value!r} ({type(value).__name__})")
    if typ is Any:
        return value
    if _is_union(typ):
        args = typing.get_args(typ)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where)
            except ValueError:
                continue
        raise bad
    origin = typing.get_origin(typ)
    if origin is typing.Literal:
        if value not in typing.get_args(typ):
            choices = ", ".join(repr(a) for a in typing.get_args(typ))
            raise ValueError(f"{where} must be one of {choices}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise bad
        args = typing.get_args(typ)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ValueError(f"{where} must have {len(args)} items, got {list(value)!r}")
            pairs = enumerate(zip(value, args, strict=True))
            items = [coerce(v, a, f"{where}[{i}]") for i, (v, a) in pairs]
        else:
            arg = args[0] if args else Any
            items = [coerce(v, arg, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or typ is dict:
        if not isinstance(value, Mapping):
            raise bad
        return dict(value)
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if typ is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if typ is str:
        if isinstance(value, str):
            return value
        raise bad
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be a table of {typ.__name__} fields, got {value!r}")
        return build_dataclass(typ, value, where)
    if isinstance(typ, type) and isinstance(value, typ):
        return value
    raise bad


def parse_cli_value(text: str, typ: Any) -> Any:
    """Parse the text of a ``--set`` value: a TOML value if it is one, else the text itself.

    For ``str`` fields unquoted text is taken literally.

    Examples
    --------
    >>> parse_cli_value("1e-3", float), parse_cli_value("true", bool)
    (0.001, True)
    >>> parse_cli_value("[1, 2]", list)
    [1, 2]
    >>> parse_cli_value("harvest", str)
    'harvest'
    """
    if typ is str and not (text.startswith('"') or text.startswith("'")):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def build_dataclass(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """Instance of dataclass ``cls`` from ``data``; unknown keys and wrong types raise."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where or 'the config'} must be a table, got {data!r}")
    hints = type_hints(cls)
    unknown = [k for k in data if k not in hints]
    if unknown:
        prefix = f"{where}." if where else ""
        valid = ", ".join(hints)
        raise ValueError(
            f"unknown field {prefix}{unknown[0]}; {where or 'the config'} has: {valid}"
        )
    kwargs = {}
    for name, value in data.items():
        dotted = f"{where}.{name}" if where else name
        kwargs[name] = coerce(value, hints[name], dotted)
    return cls(**kwargs)
