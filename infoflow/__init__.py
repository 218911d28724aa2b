"""infoflow: information-theoretic analysis of social influence between agents.

The analysis layer never imports torch or ``trainers``; it works on any dataset in the
trajectory schema (see :mod:`infoflow.trajectory`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infoflow")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
