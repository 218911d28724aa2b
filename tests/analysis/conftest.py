"""Shared helpers of the analysis tests."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest


def cmi_from_counter(joint: Counter) -> float:
    """I(A; B | C) in bits from counts of (a, b, c) tuples (brute-force reference)."""
    n = sum(joint.values())
    ac, bc, c_only = Counter(), Counter(), Counter()
    for (a, b, c), v in joint.items():
        ac[(a, c)] += v
        bc[(b, c)] += v
        c_only[c] += v
    return sum(
        v / n * np.log2(v * c_only[c] / (ac[(a, c)] * bc[(b, c)])) for (a, b, c), v in joint.items()
    )


@pytest.fixture
def cmi():
    """:func:`cmi_from_counter`: the reference conditional MI of dictionary counts."""
    return cmi_from_counter
