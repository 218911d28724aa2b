"""Schedules of the A3C trainer as pure functions of the global agent-step counter.

Both schedules are functions of ``t``, the number of agent steps taken so far by all workers
together (one env step of ``E`` copies with ``N`` agents counts ``E * N`` agent steps), so a
resumed run continues them exactly from its checkpoint's counter.

- :func:`learning_rate`: linear annealing from ``lr_init`` to ``lr_end`` over the run
  (Jaques et al. 2019, supplement 10.4).
- :func:`influence_weight`: the curriculum on the influence weight, β(t) = 0 during ``delay``
  steps, then rising linearly to β over ``curriculum_steps`` steps (SPEC 2, "Reward").
"""

from __future__ import annotations

__all__ = ["learning_rate", "influence_weight"]


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
