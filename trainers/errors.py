"""Errors of the training runtime that the command line reports as one line (exit status 2).

Dependency-free, so that the CLI can name them without importing torch.
"""

from __future__ import annotations

__all__ = ["NoSpaceError"]


class NoSpaceError(OSError):
    """Not enough free disk space for a checkpoint (checked before writing it)."""
