"""Surrogate designs for permutation tests on (possibly non-stationary) multi-episode data.

A surrogate re-pairs a source series with the target: target step ``t`` of episode ``e`` reads
the source of episode ``perm[e]`` at step ``(t - lag + shift[e]) mod L_perm[e]`` (the kernel
reads a shorter source episode cyclically, so a surrogate has exactly the samples of the
observed statistic). A design must keep whatever the agents share through time and destroy
only the coupling under test:

``"blocks"`` (the default of :func:`plan_surrogates` when there are enough episodes)
    Source episodes are permuted only within blocks of ``block`` consecutive episodes in
    logging order. Step ``t`` of the target still meets step ``t`` of a source episode, so a
    trend *within* episodes that the agents share (resources deplete, every policy changes
    through an episode) is kept; and a policy that drifts *across* episodes (learning) is
    compared with itself a few episodes earlier or later, not with its state hours apart.
    The permutations form a group (products of permutations of each block), so the observed
    pairing is exchangeable with the surrogates whenever the episodes of a block are.
``"episodes"``
    Uniform permutations of all episodes: exact for stationary data (episodes exchangeable),
    the most surrogates, and wrong on training logs whose policies drift.
``"circular"``
    The source is shifted circularly within its own episode by at least ``min_shift`` steps
    from either end. Needs no second episode, but moves the source's within-episode trend
    against the target's: pair it with the ``phase`` conditioning variable (see
    :mod:`infoflow.context`), which :func:`plan_surrogates` adds when it falls back to it.

:func:`plan_surrogates` chooses and checks a design; :func:`draw_surrogates` draws pairings
and shifts for a batch of surrogates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SURROGATES", "DEFAULT_BLOCK", "SurrogatePlan", "plan_surrogates",
           "draw_surrogates", "distinct_pairings"]

#: Surrogate designs: chosen from the data ("auto"), blocks of nearby episodes, all episodes,
#: circular shifts within episodes.
SURROGATES = ("auto", "blocks", "episodes", "circular")
#: Default number of consecutive episodes whose source episodes are permuted among each other:
#: pairs of neighbours. Blocks of 5 gained power on slowly drifting logs but let a fast drift
#: (a learning curve over few logged episodes) through: false-positive rate 0.16-0.26 against
#: 0.02-0.07 with blocks of 2 (benchmarks/bench_calibration.py).
DEFAULT_BLOCK = 2


@dataclass(frozen=True)
class SurrogatePlan:
    """A checked surrogate design.

    Attributes
    ----------
    method : {"blocks", "episodes", "circular"}
        The design used.
    blocks : tuple of (start, stop)
        Episode index ranges permuted among each other (one range for ``"episodes"``, none
        for ``"circular"``).
    min_shift : int
        Smallest circular shift (steps) from either end of an episode (``"circular"``).
    distinct : float
        Number of distinct surrogates the design can produce (``inf`` if more than 1e18).
    note : str
        Why the design was chosen when it differs from the one asked for (empty otherwise).
    """

    method: str
    blocks: tuple[tuple[int, int], ...]
    min_shift: int
    distinct: float
    note: str = ""


def episode_blocks(n_episodes: int, block: int) -> tuple[tuple[int, int], ...]:
    """Consecutive ranges of ``block`` episodes; a remainder shorter than ``block`` joins the
    last range.

    Examples
    --------
    >>> episode_blocks(12, 5)
    ((0, 5), (5, 12))
    >>> episode_blocks(4, 5)
    ((0, 4),)
    """
    starts = list(range(0, max(n_episodes - block, 0) + 1, block)) or [0]
    stops = starts[1:] + [n_episodes]
    return tuple(zip(starts, stops, strict=True))


def distinct_pairings(blocks: tuple[tuple[int, int], ...]) -> float:
    """How many pairings permutations within ``blocks`` give: the product of block sizes' !

    Examples
    --------
    >>> distinct_pairings(((0, 5), (5, 10)))
    14400.0
    """
    log10 = sum(math.lgamma(b - a + 1) for a, b in blocks) / math.log(10)
    return math.inf if log10 > 18 else float(round(10**log10))


def _circular_plan(lengths: np.ndarray, min_shift: int, note: str) -> SurrogatePlan:
    valid = lengths[lengths > 0]
    short = valid[valid <= 2 * min_shift]
    if short.size:
        raise ValueError(
            f"circular shifts need episodes longer than 2 * (max lag + history) = "
            f"{2 * min_shift} steps; the shortest has {int(short.min())}. Use fewer lags "
            "(--lags), shorter histories, or more episodes for episode surrogates."
        )
    distinct = math.prod(float(n - 2 * min_shift + 1) for n in valid) if valid.size else 0.0
    return SurrogatePlan("circular", (), int(min_shift), min(distinct, math.inf), note)


def plan_surrogates(method: str, lengths: np.ndarray, min_shift: int, permutations: int,
                    block: int = DEFAULT_BLOCK) -> SurrogatePlan:
    """Choose and check a surrogate design for episodes of ``lengths``.

    Parameters
    ----------
    method : {"auto", "blocks", "episodes", "circular"}
        ``"auto"``: ``"blocks"`` when the blocks give at least ``permutations`` distinct
        pairings, else ``"circular"`` with a note (never silently a design with fewer distinct
        surrogates than asked for: with 2 episodes, episode shuffles give 2 pairings and no
        p-value below 1/2).
    lengths : int array [episode]
        Valid length of each episode (steps).
    min_shift : int
        Smallest circular shift (max lag + history, steps).
    permutations : int
        Surrogates per test.
    block : int
        Consecutive episodes per block (``"blocks"``), >= 2.

    Returns
    -------
    SurrogatePlan

    Raises
    ------
    ValueError
        Naming the fix: too few episodes for an episode design asked for explicitly, or
        episodes too short for circular shifts.

    Examples
    --------
    >>> plan_surrogates("auto", np.full(20, 100), 4, 500).method
    'blocks'
    >>> plan = plan_surrogates("auto", np.full(3, 100), 4, 500)
    >>> plan.method, plan.note[:41]
    ('circular', '3 episodes give 6 distinct block pairings')
    """
    if method not in SURROGATES:
        raise ValueError(f"surrogates must be one of {', '.join(SURROGATES)}; got {method!r}")
    if int(block) < 2:
        raise ValueError(f"block is {block}; pass at least 2 episodes per block")
    lengths = np.asarray(lengths, dtype=np.int64)
    n = int(lengths.size)
    if method == "circular":
        return _circular_plan(lengths, min_shift, "")
    blocks = episode_blocks(n, int(block)) if method in ("auto", "blocks") else ((0, n),)
    distinct = distinct_pairings(blocks)
    if distinct >= permutations:
        return SurrogatePlan("episodes" if method == "episodes" else "blocks", blocks,
                             int(min_shift), distinct)
    design = "episode" if method == "episodes" else "block"
    if method != "auto":
        raise ValueError(
            f"{n} episodes give {distinct:.0f} distinct {design} pairings, fewer than the "
            f"{permutations} permutations asked for (no p-value could fall below "
            f"{1 / max(distinct, 1):.3g}); use surrogates 'circular' or 'auto', or log more "
            "episodes"
        )
    note = (f"{n} episodes give {distinct:.0f} distinct block pairings, fewer than "
            f"{permutations} permutations: surrogates are circular shifts within episodes")
    return _circular_plan(lengths, min_shift, note)


def draw_surrogates(plan: SurrogatePlan, rng: np.random.Generator, n_draws: int,
                    lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairings and shifts of ``n_draws`` surrogates, int64 [n_draws, episode] each.

    Every draw is a uniform random element of the design's group (a permutation within each
    block; a shift in [min_shift, L - min_shift] per episode), so the observed pairing is
    one of the equally likely draws under the null.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = lengths.size
    perm = np.broadcast_to(np.arange(n, dtype=np.int64), (n_draws, n)).copy()
    shift = np.zeros((n_draws, n), dtype=np.int64)
    if plan.method == "circular":
        span = np.maximum(lengths - 2 * plan.min_shift + 1, 1)
        shift = plan.min_shift + np.floor(rng.random((n_draws, n)) * span).astype(np.int64)
        shift = np.where(lengths > 0, shift % np.maximum(lengths, 1), 0)
        return perm, shift
    for a, b in plan.blocks:
        order = np.argsort(rng.random((n_draws, b - a)), axis=1)
        perm[:, a:b] = a + order
    return perm, shift
