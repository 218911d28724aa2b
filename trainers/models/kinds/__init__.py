"""Model kinds: each one class implementing `trainers.models.kinds.base.ModelKind`.

The registry is `trainers.models.config.MODEL_KINDS` (name -> "module:Class"); a kind's module
is imported when a model of that kind is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from trainers.models.config import MODEL_KINDS

if TYPE_CHECKING:
    from trainers.models.kinds.base import ModelKind

__all__ = ["kind_class"]


def kind_class(name: str) -> type[ModelKind]:
    """The class registered as model kind ``name``; ValueError naming the known kinds."""
    if name not in MODEL_KINDS:
        raise ValueError(f"ModelConfig.kind={name!r} is unknown; use one of {tuple(MODEL_KINDS)}")
    module, _, cls = MODEL_KINDS[name].partition(":")
    return getattr(importlib.import_module(module), cls)
