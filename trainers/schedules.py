"""Schedules of the A3C trainer as pure functions of the global agent-step counter.

Both schedules are functions of ``t``, the number of agent steps taken so far by all workers
together (one env step of ``E`` copies with ``N`` agents counts ``E * N`` agent steps), so a
resumed run continues them exactly from its checkpoint's counter.

- :func:`learning_rate`: linear annealing from ``lr_init`` to ``lr_end`` over the run
  (Jaques et al. 2019, supplement 10.4).
- :func:`influence_weight`: the curriculum on the influence weight, β(t) = 0 during ``delay``
  steps, then rising linearly to β over ``curriculum_steps`` steps (SPEC 2, "Reward").
- :func:`curriculum` / :func:`beta_at`: the curriculum of a run's config, scaled to its budget.
  The paper's curricula span up to 140M agent steps of runs of about 300M; a run with a
  smaller budget (``--steps 2e7``) would end with β(t) near 0, an A3C run under another name.
  With ``trainer.scale_curriculum`` (the default) the delay and the rise are multiplied by
  ``total_steps / curriculum_budget`` when that is below 1, keeping their share of the run;
  the learning rate already anneals over ``total_steps``. :func:`curriculum_note` is the one
  line that says what happens to a shortened run's curriculum.
"""

from __future__ import annotations

__all__ = ["learning_rate", "influence_weight", "curriculum", "beta_at", "curriculum_note"]


def learning_rate(t: int, total_steps: int, lr_init: float, lr_end: float) -> float:
    """Learning rate after ``t`` agent steps, annealed linearly over ``total_steps``.

    Parameters
    ----------
    t : int
        Agent steps taken so far (>= 0).
    total_steps : int
        Agent steps of the whole run (> 0); at and beyond it the rate stays at ``lr_end``.
    lr_init, lr_end : float
        Rates at ``t = 0`` and ``t = total_steps``.

    Returns
    -------
    float
        ``lr_init + (lr_end - lr_init) * min(t / total_steps, 1)``.

    Examples
    --------
    >>> learning_rate(0, 100, 1e-3, 1e-5)
    0.001
    >>> round(learning_rate(50, 100, 1e-3, 0.0), 10)
    0.0005
    >>> learning_rate(500, 100, 1e-3, 1e-5)
    1e-05
    """
    if total_steps <= 0:
        raise ValueError(
            f"total_steps must be positive, got {total_steps}; set trainer.total_steps"
        )
    if t < 0:
        raise ValueError(f"the step counter must be >= 0, got {t}")
    frac = min(t / total_steps, 1.0)
    if frac >= 1.0:
        return float(lr_end)
    return float(lr_init + (lr_end - lr_init) * frac)


def influence_weight(t: int, beta: float, curriculum_steps: int, delay: int = 0) -> float:
    """Influence weight β(t) of the reward ``r = α e + β(t) c`` after ``t`` agent steps.

    Parameters
    ----------
    t : int
        Agent steps taken so far (>= 0).
    beta : float
        Final influence weight.
    curriculum_steps : int
        Agent steps over which β(t) rises linearly from 0 to ``beta`` (0: no curriculum, the
        full weight from the end of the delay on).
    delay : int
        Agent steps during which β(t) = 0, before the rise starts.

    Returns
    -------
    float
        ``beta * clip((t - delay) / curriculum_steps, 0, 1)``.

    Examples
    --------
    >>> influence_weight(0, 2.0, 100)
    0.0
    >>> influence_weight(50, 2.0, 100)
    1.0
    >>> influence_weight(60, 2.0, 100, delay=10)
    1.0
    >>> influence_weight(10**9, 2.0, 100)
    2.0
    >>> influence_weight(5, 2.0, 0)
    2.0
    """
    if curriculum_steps < 0 or delay < 0:
        raise ValueError(
            f"curriculum_steps ({curriculum_steps}) and curriculum_delay ({delay}) must be >= 0"
        )
    if t < 0:
        raise ValueError(f"the step counter must be >= 0, got {t}")
    if t < delay:
        return 0.0
    if curriculum_steps == 0:
        return float(beta)
    frac = min((t - delay) / curriculum_steps, 1.0)
    return float(beta * frac)


def curriculum(tr) -> tuple[int, int, float]:
    """(delay, rise, scale) of the β curriculum of ``tr`` (a ``TrainerSection``) in agent
    steps, after scaling to the run's budget (scale = 1: as written).

    Examples
    --------
    >>> from trainers.config import TrainerSection
    >>> tr = TrainerSection(total_steps=30_000_000, beta=0.146, curriculum_steps=140_000_000,
    ...                     curriculum_budget=300_000_000)
    >>> curriculum(tr)
    (0, 14000000, 0.1)
    """
    scale = 1.0
    if tr.scale_curriculum and 0 < tr.total_steps < tr.curriculum_budget:
        scale = tr.total_steps / tr.curriculum_budget
    return round(tr.curriculum_delay * scale), round(tr.curriculum_steps * scale), scale


def beta_at(tr, t: int) -> float:
    """β(t) of the run ``tr`` after ``t`` agent steps (its curriculum scaled as above)."""
    delay, rise, _ = curriculum(tr)
    return influence_weight(t, tr.beta, rise, delay)


def curriculum_note(tr) -> str | None:
    """One line on a curriculum that a budget changes, or None when it runs as written."""
    if tr.beta <= 0 or tr.curriculum_steps + tr.curriculum_delay == 0:
        return None
    delay, rise, scale = curriculum(tr)
    if scale < 1.0:
        return (f"curriculum scaled to the budget ({tr.total_steps:,} of the "
                f"{tr.curriculum_budget:,} agent steps it was written for): β(t) waits "
                f"{delay:,} steps, then rises to β = {tr.beta:g} over {rise:,} "
                "(trainer.scale_curriculum = false keeps it as written)")
    reached = beta_at(tr, tr.total_steps) / tr.beta
    if reached < 1.0:
        return (f"β(t) reaches only {reached:.1%} of β = {tr.beta:g} within "
                f"{tr.total_steps:,} agent steps (its curriculum needs "
                f"{delay + rise:,}); set trainer.scale_curriculum = true to scale it to the "
                "budget, or give more --steps")
    return None
