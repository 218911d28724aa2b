"""Configuration dataclasses of the three games (SPEC 1).

Every constant of the rulebook is a field with the SPEC's default, so a run's
resolved config records the exact game that was played.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = [
    "ACTION_NAMES",
    "BoxTrappedConfig",
    "CleanupConfig",
    "GAME_CONFIGS",
    "GameConfig",
    "HarvestConfig",
    "check_config",
]

#: Action codes shared by every game (SPEC 1.1); index = code.
ACTION_NAMES: tuple[str, ...] = (
    "step_left",
    "step_right",
    "step_forward",
    "step_backward",
    "stay",
    "turn_clockwise",
    "turn_counterclockwise",
    "fire",
)


@dataclass(frozen=True)
class GameConfig:
    """Rules shared by every game (SPEC 1.1)."""

    n_agents: int = 5
    """Agents per env copy (>= 1)."""
    view_radius: int = 7
    """Observation radius r in cells; the window is (2r+1) x (2r+1)."""
    horizon: int = 1000
    """Episode length in steps (truncation)."""
    beam_length: int = 5
    """Cells a beam lane reaches ahead of the agent (>= 1)."""
    fire_cost: float = 1.0
    """Reward the firer loses per fire action."""
    hit_penalty: float = 50.0
    """Reward an agent loses per beam lane that hits it."""
    apple_reward: float = 1.0
    """Reward for collecting one apple."""
    wall_bump_cost: float = 0.0
    """Reward lost when a step is blocked by a wall (0 = walking into walls is free)."""
    draw_beams: bool = True
    """Draw this step's beams in observations and frames."""
    map: str | None = None
    """Map file path, or the map text itself (contains a newline); None = shipped default."""


@dataclass(frozen=True)
class CleanupConfig(GameConfig):
    """Cleanup, the public-goods game (SPEC 1.2)."""

    depletion_threshold: float = 0.4
    """Waste density at and above which no apples grow and no waste spawns."""
    restoration_threshold: float = 0.0
    """Waste density at and below which apples grow at the full rate."""
    apple_respawn: float = 0.05
    """Per-step apple spawn probability of an empty orchard cell at full rate."""
    waste_spawn: float = 0.5
    """Per clean river cell factor q of the waste spawn probability 1 - (1 - q)^c."""


@dataclass(frozen=True)
class HarvestConfig(GameConfig):
    """Harvest, the common-pool game (SPEC 1.3)."""

    regrowth_radius: float = 2.0
    """Euclidean radius in cells within which neighbouring apples count."""
    regrowth_probs: tuple[float, float, float, float] = (0.0, 0.005, 0.02, 0.05)
    """Regrowth probability per step for 0, 1, 2 and 3+ neighbouring apples."""


@dataclass(frozen=True)
class BoxTrappedConfig(GameConfig):
    """Box trapped (SPEC 1.4, paper supplement 10.3); action 7 opens the box."""

    n_agents: int = 2
    """Agents per env copy: exactly 2 (one trapped, one outside)."""
    horizon: int = 100
    """Episode length in steps (truncation)."""
    regrowth_delay: int = 2
    """Steps after which an eaten apple cell regrows (>= 1)."""
    open_needs_adjacency: bool = False
    """Opening works only for an agent orthogonally next to a box wall."""
    trapped_sees_box: bool = True
    """False: the trapped agent's view shows closed box walls as floor."""
    trapped_agent: int = 1
    """Index of the agent that starts inside the box."""


#: Game name -> its config dataclass; the keys, in this order, are ``GAME_NAMES``.
GAME_CONFIGS: dict[str, type[GameConfig]] = {
    "cleanup": CleanupConfig,
    "harvest": HarvestConfig,
    "box_trapped": BoxTrappedConfig,
}


def check_config(config: GameConfig) -> None:
    """Raise ValueError naming the first field outside its range.

    Parameters
    ----------
    config : GameConfig
        Any game's config.
    """
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name in ("n_agents", "view_radius", "horizon", "beam_length") and (
            not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"config.{f.name} = {value!r}: must be an int >= 1")
    if config.n_agents > 100:
        raise ValueError(f"config.n_agents = {config.n_agents}: at most 100 agents per copy")
    if isinstance(config, CleanupConfig):
        if not config.depletion_threshold > config.restoration_threshold:
            raise ValueError(
                "config.depletion_threshold must exceed config.restoration_threshold "
                f"(got {config.depletion_threshold} <= {config.restoration_threshold})"
            )
        for name in ("apple_respawn", "waste_spawn"):
            if not 0.0 <= getattr(config, name) <= 1.0:
                raise ValueError(f"config.{name} = {getattr(config, name)}: must be in [0, 1]")
    if isinstance(config, HarvestConfig):
        probs = tuple(config.regrowth_probs)
        if len(probs) != 4 or not all(0.0 <= p <= 1.0 for p in probs):
            raise ValueError(
                f"config.regrowth_probs = {probs!r}: give 4 probabilities in [0, 1] "
                "(for 0, 1, 2 and 3+ neighbours)"
            )
        if config.regrowth_radius < 1:
            raise ValueError(f"config.regrowth_radius = {config.regrowth_radius}: must be >= 1")
    if isinstance(config, BoxTrappedConfig):
        if config.n_agents != 2:
            raise ValueError(f"config.n_agents = {config.n_agents}: box_trapped needs exactly 2")
        if config.trapped_agent not in (0, 1):
            raise ValueError(f"config.trapped_agent = {config.trapped_agent}: use 0 or 1")
        if not isinstance(config.regrowth_delay, int) or config.regrowth_delay < 1:
            raise ValueError(
                f"config.regrowth_delay = {config.regrowth_delay!r}: must be an int >= 1"
            )
