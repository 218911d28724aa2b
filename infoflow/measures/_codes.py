"""Integer state codes of symbol series and their histories, over padded episodes.

Every measure in :mod:`infoflow.measures` reduces to counting joint states. A *series* is an int
array ``x[episode, step]`` (a 1-D ``x[step]`` is one episode) whose values are symbols
``0 .. n_symbols - 1``; ``-1`` marks a padded (invalid) step. A *history* of length ``k`` ending
``lag`` steps before ``t`` is coded as one integer in ``[0, n_symbols**k)``; it is ``-1`` when any
of its values is padding or it would reach before the start of the episode, so histories never
cross episode boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from infoflow.measures._kernels import value_range

__all__ = [
    "as_series",
    "as_actions",
    "check_bias",
    "check_shapes",
    "infer_n_symbols",
    "series_range",
    "history_code",
    "combine_codes",
    "circular_history_codes",
]

#: Largest code space kept as a dense mixed-radix integer; larger joint spaces are relabelled.
_MAX_DENSE_CODE = 1 << 62


def as_series(x: Any, name: str = "x", check: bool = True) -> np.ndarray:
    """Return ``x`` as a C-contiguous int64 array ``[episode, step]``.

    Accepts a 1-D ``[step]`` (one episode) or 2-D ``[episode, step]`` integer array, or an
    xarray.DataArray of either. Raises ValueError for other ranks, non-integer values or
    (when ``check``) values below -1; callers passing ``check=False`` must check the range
    themselves (see :func:`series_range`).
    """
    values = getattr(x, "values", x)
    arr = np.asarray(values)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 1-D [step] or 2-D [episode, step]; got shape {arr.shape}. "
            "Select one agent, e.g. actions[..., j]."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(
            arr == np.round(arr)
        ):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(
                f"{name} must hold integer symbols (dtype {arr.dtype} given); "
                "discretise continuous data first and mark padding with -1."
            )
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if check and arr.size and arr.min() < -1:
        _below(name, int(arr.min()))
    return arr


def _below(name: str, low: int) -> None:
    raise ValueError(
        f"{name} has values below -1 (min {low}); symbols must be 0..n_symbols-1 "
        "and -1 marks padding."
    )


def series_range(series: Sequence[np.ndarray], names: Sequence[str]) -> int:
    """Check that no value is below -1 (one numba pass per series); return the max value."""
    top = -1
    for s, name in zip(series, names, strict=True):
        low, high = value_range(s)
        if low < -1:
            _below(name, int(low))
        top = max(top, int(high))
    return top


def as_actions(data: Any, variable: str = "action") -> tuple[np.ndarray, list[str]]:
    """Return ``(series[agent, episode, step], agent_names)`` from actions or a Dataset.

    ``data`` is an int array ``[episode, step, agent]`` (or ``[step, agent]`` for one episode),
    an xarray.DataArray with dims ``episode``, ``step``, ``agent``, or an xarray.Dataset holding
    ``variable``. Names come from the ``agent`` coordinate, else ``"0" .. "N-1"``. The result
    is C-contiguous and keeps the input's integer dtype (int16 stays int16).
    """
    names = None
    if hasattr(data, "data_vars"):  # xr.Dataset
        if variable not in data.data_vars:
            raise ValueError(
                f"dataset has no {variable!r} variable (has {sorted(data.data_vars)}); "
                "pass a trajectory dataset in the infoflow schema."
            )
        data = data[variable]
    if hasattr(data, "dims") and hasattr(data, "transpose"):  # xr.DataArray
        dims = tuple(data.dims)
        order = [d for d in ("agent", "episode", "step") if d in dims]
        if "agent" not in dims or len(order) != len(dims):
            raise ValueError(
                f"action has dims {dims}; expected (episode, step, agent). "
                "Select or drop the extra dimensions first."
            )
        if "agent" in data.coords:
            names = [str(a) for a in data.coords["agent"].values]
        arr = np.asarray(data.transpose(*order).values)
        if arr.ndim == 2:
            arr = arr[:, None, :]
    else:
        arr = np.asarray(data)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise ValueError(
                f"actions must be [episode, step, agent] (or [step, agent]); got shape {arr.shape}."
            )
        arr = arr.transpose(2, 0, 1)
    n_agents = arr.shape[0]
    if n_agents < 2:
        raise ValueError(f"need at least 2 agents for pairwise measures; got {n_agents}.")
    if not np.issubdtype(arr.dtype, np.integer):
        arr = np.stack([as_series(a, "actions") for a in arr])
    elif arr.size and arr.min() < -1:
        raise ValueError(
            f"actions have values below -1 (min {arr.min()}); symbols must be 0..n_symbols-1 "
            "and -1 marks padding."
        )
    if arr.dtype not in (np.int16, np.int32, np.int64):  # e.g. uint8: one kernel per dtype
        arr = arr.astype(np.int64)
    if names is None:
        names = [str(i) for i in range(n_agents)]
    return np.ascontiguousarray(arr), names


def check_bias(bias: Any) -> bool:
    """Return True for the Miller-Madow correction, False for the plug-in estimate."""
    if bias is None or bias is False or bias == "plugin":
        return False
    if bias is True or bias == "miller-madow":
        return True
    raise ValueError(
        f"bias must be None/'plugin'/False or 'miller-madow'/True; got {bias!r}."
    )


def check_estimator(bias: Any, local: bool) -> bool:
    """`check_bias`, refusing the Miller-Madow correction for local values (plug-in only)."""
    mm = check_bias(bias)
    if local and mm:
        raise ValueError("local values are plug-in only; pass bias=None with local=True.")
    return mm


def infer_n_symbols(
    series: Sequence[np.ndarray], n_symbols: int | None, top: int | None = None
) -> int:
    """Alphabet size: ``n_symbols`` checked against the data, or max value + 1 (at least 2).

    ``top`` is the data's max when already known (skips a pass over the data).
    """
    if top is None:
        top = max((int(s.max()) if s.size else -1) for s in series)
    if n_symbols is None:
        return max(2, top + 1)
    n_symbols = int(n_symbols)
    if n_symbols < 1:
        raise ValueError(f"n_symbols must be >= 1; got {n_symbols}.")
    if top >= n_symbols:
        raise ValueError(
            f"data holds symbol {top} but n_symbols={n_symbols}; pass n_symbols >= {top + 1} "
            "or leave it None to infer it."
        )
    return n_symbols


def check_shapes(series: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Raise ValueError unless all series share one ``[episode, step]`` shape."""
    shapes = {s.shape for s in series}
    if len(shapes) > 1:
        desc = ", ".join(f"{n} {s.shape}" for n, s in zip(names, series, strict=True))
        raise ValueError(f"series must have the same [episode, step] shape; got {desc}.")


def history_code(x: np.ndarray, k: int, n_symbols: int, lag: int = 0) -> np.ndarray:
    """Code of the window ``x[e, t-lag-k+1 .. t-lag]`` at every ``(e, t)``.

    Parameters
    ----------
    x : int64 array [episode, step]
        Symbols, -1 = padding.
    k : int
        History length (k = 0 gives code 0 everywhere: the empty history).
    n_symbols : int
        Alphabet size A; codes lie in ``[0, A**k)``.
    lag : int
        Steps between ``t`` and the newest value of the window.

    Returns
    -------
    int64 array [episode, step]
        ``sum_j x[e, t-lag-j] * A**j``, or -1 where the window holds padding or starts
        before step 0.
    """
    n_episodes, n_steps = x.shape
    if k == 0:
        return np.zeros_like(x)
    if n_symbols**k >= _MAX_DENSE_CODE:
        raise ValueError(
            f"history of length {k} over {n_symbols} symbols has too many states "
            f"({n_symbols}**{k}); use a shorter history."
        )
    code = np.full_like(x, -1)
    first = lag + k - 1  # earliest t whose window starts at step >= 0
    if first >= n_steps:
        return code
    valid = np.ones((n_episodes, n_steps - first), dtype=bool)
    acc = np.zeros((n_episodes, n_steps - first), dtype=np.int64)
    for j in range(k):
        start = first - lag - j
        window = x[:, start : start + n_steps - first]
        valid &= window >= 0
        acc += window * n_symbols**j
    code[:, first:] = np.where(valid, acc, -1)
    return code


def combine_codes(codes: Sequence[np.ndarray], radices: Sequence[int]) -> tuple[np.ndarray, int]:
    """Joint code of several code arrays (mixed radix), -1 where any is -1.

    Returns ``(code, radix)``; when the dense product of radices would overflow, the valid joint
    states are relabelled ``0 .. n_states - 1`` (np.unique) and ``radix`` is that count.
    """
    out = codes[0].copy()
    radix = int(radices[0])
    for c, r in zip(codes[1:], radices[1:], strict=True):
        r = int(r)
        valid = (out >= 0) & (c >= 0)
        if radix * r >= _MAX_DENSE_CODE:  # relabel to keep the code space small
            uniq, inv = np.unique(out[valid], return_inverse=True)
            out[valid] = inv
            radix = max(1, uniq.size)
        out = np.where(valid, out * r + c, -1)
        radix *= r
    return out, radix


def circular_history_codes(
    x: np.ndarray, l: int, n_symbols: int, lengths: np.ndarray
) -> np.ndarray:
    """History codes of length ``l`` with windows wrapping around each episode's valid length.

    ``out[e, q] = sum_j x[e, (q - j) mod L_e] * A**j`` for ``q < L_e`` (-1 beyond ``L_e`` or if
    any value is padding). For ``q >= l - 1`` this equals :func:`history_code`; the wrapped
    windows (q < l - 1) are those of a circularly shifted series (surrogates).
    """
    out = history_code(x, l, n_symbols, 0)
    n_steps = x.shape[1]
    if (lengths < n_steps).any():
        out[np.arange(n_steps)[None, :] >= lengths[:, None]] = -1
    rows = np.flatnonzero(lengths > 0)
    safe_len = lengths[rows]
    for q in range(min(l - 1, n_steps)):
        code = np.zeros(rows.size, dtype=np.int64)
        valid = q < safe_len
        for j in range(l):
            vals = x[rows, (q - j) % safe_len]
            valid &= vals >= 0
            code += np.maximum(vals, 0) * n_symbols**j
        out[rows, q] = np.where(valid, code, -1)
    return out
