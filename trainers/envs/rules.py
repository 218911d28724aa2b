"""Cleanup's spawn probabilities (SPEC 1.2), shared by the step kernel and by callers.

The compiled step calls the ``*_p`` kernels below on every Cleanup step; the public
functions take a :class:`~trainers.envs.CleanupConfig` and call the same kernels, so
what they return is exactly what the engine uses.

>>> from trainers.envs import CleanupConfig
>>> cfg = CleanupConfig()
>>> [apple_spawn_probability(d, cfg) for d in (0.0, 0.2, 0.4, 0.6)]
[0.05, 0.025, 0.0, 0.0]
>>> waste_spawn_probability(0.0, 5, cfg), waste_spawn_probability(0.4, 3, cfg)
(0.96875, 0.0)
"""

from __future__ import annotations

import numba as nb

from .config import CleanupConfig

__all__ = ["apple_spawn_probability", "waste_spawn_probability"]


@nb.njit(cache=True)
def apple_p(density, depletion, restoration, respawn):
    """p_a = respawn * clip((depletion - d) / (depletion - restoration), 0, 1)."""
    frac = (depletion - density) / (depletion - restoration)
    return respawn * min(max(frac, 0.0), 1.0)


@nb.njit(cache=True)
def waste_p(density, n_clean, depletion, waste_spawn):
    """1 - (1 - q)^c for c clean river cells if d < depletion, else 0."""
    if density >= depletion or n_clean <= 0:
        return 0.0
    return 1.0 - (1.0 - waste_spawn) ** n_clean


def _check(config: CleanupConfig) -> None:
    if not isinstance(config, CleanupConfig):
        raise ValueError(
            f"config of type {type(config).__name__}: spawn probabilities are Cleanup rules; "
            "give a CleanupConfig"
        )


def apple_spawn_probability(density: float, config: CleanupConfig) -> float:
    """Per-step probability that an empty orchard cell grows an apple.

    Parameters
    ----------
    density : float
        Waste density d = waste cells / river cells, in [0, 1], measured after the beams.
    config : CleanupConfig
        Supplies ``apple_respawn``, ``depletion_threshold``, ``restoration_threshold``.

    Returns
    -------
    float
        ``apple_respawn * clip((depletion - d) / (depletion - restoration), 0, 1)``:
        0.05 at d = 0, 0.025 at d = 0.2, 0 at d >= 0.4 with the defaults.
    """
    _check(config)
    return float(apple_p(float(density), config.depletion_threshold,
                         config.restoration_threshold, config.apple_respawn))


def waste_spawn_probability(density: float, n_clean: int, config: CleanupConfig) -> float:
    """Per-step probability that one clean river cell (chosen uniformly) becomes waste.

    Parameters
    ----------
    density : float
        Waste density d after the beams.
    n_clean : int
        Clean river cells c.
    config : CleanupConfig
        Supplies ``waste_spawn`` (q) and ``depletion_threshold``.

    Returns
    -------
    float
        ``1 - (1 - q)^c`` if d < depletion threshold and c > 0, else 0.
    """
    _check(config)
    return float(waste_p(float(density), int(n_clean), config.depletion_threshold,
                         config.waste_spawn))
