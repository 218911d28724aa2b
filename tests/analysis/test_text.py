"""infoflow._text: the plain-text tables every command prints."""

from __future__ import annotations

import numpy as np
import pytest

from infoflow._text import format_number, format_table


def test_columns_are_left_aligned_two_spaces_apart() -> None:
    text = format_table([("cleanup", 5, 0.123456), ("box_trapped", np.int64(2), np.nan)],
                        ("game", "agents", "value"))
    assert text.splitlines() == ["game         agents  value",
                                 "cleanup      5       0.1235",
                                 "box_trapped  2       nan"]


def test_rule_and_digits() -> None:
    text = format_table([("a", np.float32(2.0 / 3.0))], ("x", "y"), rule=True, digits=2)
    assert text.splitlines() == ["x  y", "-  ----", "a  0.67"]


def test_numbers() -> None:
    assert [format_number(v) for v in (1.0, 1e-7, True, "s", np.float64(12345.6))] == [
        "1", "1e-07", "True", "s", "1.235e+04"]


def test_row_length_must_match_headers() -> None:
    with pytest.raises(ValueError, match="a row has 1 cells for 2 headers"):
        format_table([("a",)], ("x", "y"))
