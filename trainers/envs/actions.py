"""Action codes of the games (SPEC 1.1): the index of each name in ``ACTION_NAMES``.

Codes 0-7 are shared by every game; Cleanup adds ``CLEAN``, and Box trapped calls
code 7 ``open_box`` (it opens the box instead of firing a penalty beam).  The compiled
step compares actions with these names (numba freezes them as constants, and its
on-disk cache of ``kernels.py`` does not notice an edit here: touch that file too).

>>> from trainers.envs.config import ACTION_NAMES
>>> ACTION_NAMES[STEP_FORWARD], ACTION_NAMES[FIRE]
('step_forward', 'fire')
"""

from __future__ import annotations

__all__ = [
    "CLEAN",
    "FIRE",
    "N_STEPS",
    "OPEN_BOX",
    "STAY",
    "STEP_BACKWARD",
    "STEP_FORWARD",
    "STEP_LEFT",
    "STEP_RIGHT",
    "TURN_CLOCKWISE",
    "TURN_COUNTERCLOCKWISE",
]

STEP_LEFT = 0
STEP_RIGHT = 1
STEP_FORWARD = 2
STEP_BACKWARD = 3
STAY = 4
TURN_CLOCKWISE = 5
TURN_COUNTERCLOCKWISE = 6
FIRE = 7
"""Penalty beam (Cleanup, Harvest)."""
OPEN_BOX = FIRE
"""Box trapped's code 7: opens the box from outside it."""
CLEAN = 8
"""Cleaning beam (Cleanup only)."""

N_STEPS = 4
"""Codes below this are steps (left, right, forward, backward relative to the facing)."""
