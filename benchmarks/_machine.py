"""The machine a benchmark ran on, in one line: shared by the ``bench_*.py`` scripts.

The scripts run as ``python benchmarks/bench_x.py``, which puts this folder on ``sys.path``,
so they import it as ``from _machine import machine_description``.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from collections.abc import Sequence

import numpy as np

__all__ = ["cpu_model", "machine_description"]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_description(extra: Sequence[str] = ()) -> str:
    """CPU model, core count, Python and NumPy versions, the ``extra`` items (other library
    versions, threads) and the UTC date and time, in one line separated by "; "."""
    items = [f"CPU: {cpu_model()}", f"cores: {os.cpu_count()}",
             f"Python {platform.python_version()}", f"NumPy {np.__version__}", *extra,
             f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC"]
    return "; ".join(items)
