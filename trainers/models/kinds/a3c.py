"""A3C (paper section 4): each agent learns from its own environment reward only."""

from __future__ import annotations

from trainers.models.kinds.base import ModelKind

__all__ = ["A3C"]


class A3C(ModelKind):
    """The baseline: the shared network as it is, nothing added."""

    name = "a3c"
