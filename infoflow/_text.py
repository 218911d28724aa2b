"""Plain-text tables for terminals and text files: one helper shared by every command.

:func:`format_table` lays out rows of cells in left-aligned columns two spaces apart;
:func:`format_number` writes one float the way every table shows it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["format_table", "format_number"]


def format_number(value: object, digits: int = 4) -> str:
    """A cell for ``value``: floats to ``digits`` significant digits ("nan" for NaN),
    anything else through ``str``.

    Examples
    --------
    >>> format_number(0.123456), format_number(float("nan")), format_number(3)
    ('0.1235', 'nan', '3')
    """
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        value = float(value)
        return "nan" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def format_table(rows: Iterable[Sequence[object]], headers: Sequence[str],
                 rule: bool = False, digits: int = 4) -> str:
    """Left-aligned columns two spaces apart, the header first; trailing spaces removed.

    Parameters
    ----------
    rows : iterable of sequences
        One sequence of cells per row, as long as ``headers``; cells are written with
        :func:`format_number` (floats to ``digits`` significant digits, the rest with
        ``str``).
    headers : sequence of str
        Column names.
    rule : bool
        Draw a line of dashes under the header.
    digits : int
        Significant digits of float cells.

    Raises
    ------
    ValueError
        If a row's length differs from the number of headers.

    Examples
    --------
    >>> print(format_table([("a", 0.5), ("bb", 2)], ("name", "value"), rule=True))
    name  value
    ----  -----
    a     0.5
    bb    2
    """
    header = [str(h) for h in headers]
    table = [[format_number(cell, digits) for cell in row] for row in rows]
    for row in table:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} headers: {row}")
    widths = [max(len(r[c]) for r in [header, *table]) for c in range(len(header))]
    lines = [header, *([["-" * w for w in widths]] if rule else []), *table]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     .rstrip() for line in lines)
