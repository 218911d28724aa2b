"""The training configuration: dataclasses, TOML presets, ``--set`` overrides, write-back.

A run is described by one :class:`TrainConfig` with four sections, each a TOML table:

``[env]``
    The game, env copies per worker, the map, and ``[env.config]``: overrides of the game's
    config dataclass (``trainers.envs.CleanupConfig`` ...), checked against its fields.
``[model]``
    :class:`trainers.models.ModelConfig` (architecture and influence model).
``[trainer]``
    :class:`TrainerSection`: A3C workers, rollout, optimiser, schedules, budget, seed.
``[logging]``
    :class:`LoggingSection`: which episodes go to the trajectory store, checkpoints.

Configs are read with :mod:`tomllib` (data only, never code). Every value is checked against
the type of its dataclass field; unknown fields and wrong types raise :class:`ValueError`
naming the field and the fix. :func:`config_to_toml` writes the resolved config back (the
run directory's ``config.toml``), and :func:`load_config` reads it again to the same object.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from trainers.config_types import build_dataclass, coerce, parse_cli_value, type_hints
from trainers.envs.config import BoxTrappedConfig, CleanupConfig, HarvestConfig
from trainers.models.config import ModelConfig

__all__ = [
    "EnvSection",
    "TrainerSection",
    "LoggingSection",
    "TrainConfig",
    "GAME_CONFIGS",
    "list_presets",
    "preset_text",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "config_to_toml",
    "apply_overrides",
    "game_config",
    "resolve_workers",
]

GAME_CONFIGS = {"cleanup": CleanupConfig, "harvest": HarvestConfig, "box_trapped": BoxTrappedConfig}
"""Game name -> its config dataclass (the type of ``[env.config]``)."""


@dataclass
class EnvSection:
    """The game each worker plays (SPEC 1)."""

    game: str = "cleanup"
    """Game name: ``cleanup``, ``harvest`` or ``box_trapped``."""
    n_envs: int = 32
    """Env copies E stepped together by each worker (>= 1); batches the model's work."""
    map: str = ""
    """Map file path; empty = the game's shipped default map."""
    config: dict[str, Any] = field(default_factory=dict)
    """Fields of the game's config dataclass (e.g. ``horizon``, ``n_agents``); the resolved
    config lists all of them."""


@dataclass
class TrainerSection:
    """A3C: workers, rollouts, optimiser, schedules and budget (SPEC 3)."""

    workers: int = 0
    """Workers W; 0 = one per CPU core of this machine (set it for a Ray cluster); with the
    processes backend 1 runs in-process and is deterministic."""
    backend: str = "processes"
    """``processes`` (one machine, shared memory) or ``ray`` (Ray actors and a parameter
    server, any number of machines; needs the ``ray`` extra)."""
    allow_oversubscribe: bool = False
    """With the processes backend, allow more workers than this machine has CPU cores (each
    worker is a process; more of them than cores only adds memory and switching). False: such
    a run is refused before it starts (`trainers.limits.check_workers`)."""
    ray_address: str = ""
    """Ray cluster to join (``auto``, ``ray://host:10001``); empty starts Ray on this machine.
    Unused when this process is already connected to Ray (``ray.init`` called before)."""
    rollout_length: int = 20
    """Env steps per rollout (n of the n-step returns)."""
    lr_init: float = 0.00126
    """Learning rate at step 0."""
    lr_end: float = 0.000012
    """Learning rate at ``total_steps`` (linear annealing)."""
    optimizer: str = "rmsprop"
    """Shared optimiser: ``rmsprop`` or ``adam``."""
    rmsprop_alpha: float = 0.99
    """RMSprop decay of the squared-gradient average."""
    rmsprop_eps: float = 1e-5
    """RMSprop epsilon added to the root of the squared-gradient average."""
    adam_beta1: float = 0.9
    """Adam decay of the gradient average."""
    adam_beta2: float = 0.999
    """Adam decay of the squared-gradient average."""
    adam_eps: float = 1e-8
    """Adam epsilon."""
    max_grad_norm: float = 40.0
    """Gradient norm clip per update and agent (the discount and the entropy weight are
    ``model.gamma`` and ``model.entropy_coef``)."""
    total_steps: int = 10_000_000
    """Training budget in agent steps (all workers, all copies, all agents)."""
    beta: float = 0.0
    """Influence weight β of the reward r = α e + β(t) c (0 = no influence reward)."""
    curriculum_steps: int = 0
    """Agent steps over which β(t) rises linearly from 0 to β (0 = full β at once)."""
    curriculum_delay: int = 0
    """Agent steps before the rise of β(t) starts."""
    curriculum_budget: int = 0
    """The budget (agent steps) the curriculum was written for: a preset's or config file's
    own ``total_steps``, recorded when it is loaded, before ``--steps`` (0 = the run's
    ``total_steps``)."""
    scale_curriculum: bool = True
    """Scale ``curriculum_delay`` and ``curriculum_steps`` by ``total_steps /
    curriculum_budget`` when the run's budget is the smaller (``trainers.schedules``), so
    that β(t) reaches β within a shortened run; false keeps them, and ``infoflow train``
    says in one line how far β(t) will get."""
    seed: int = 0
    """Seed of everything random in the run (envs, action sampling, initial weights)."""


@dataclass
class LoggingSection:
    """What the run writes: trajectory store, policies, checkpoints (SPEC 3, "Logging rate")."""

    episode_every: int = 4
    """Log every K-th episode of each worker to the trajectory store (0 = none)."""
    env_fraction: float = 0.0
    """Fraction of a worker's env copies logged in a logged episode (at least one copy)."""
    policy_every: int = 4
    """Log action probabilities in every K-th logged episode (0 = never)."""
    checkpoint_every: int = 5_000_000
    """Agent steps between checkpoints (written at the next episode boundary)."""
    checkpoint_minutes: float = 5.0
    """Also checkpoint once this many minutes of wall-clock time passed since the last
    checkpoint (at the next episode boundary), so a kill loses minutes; 0 = by steps only."""
    keep_checkpoints: int = 3
    """Checkpoints kept on disk (the newest K)."""
    progress_rollouts: int = 10
    """Write a ``rollouts.csv`` row (the running episode so far) and report progress every
    this many rollouts of each worker, so returns show before the first episode ends
    (0 = per episode only)."""
    tensorboard: bool = True
    """Write TensorBoard events as well, when ``tensorboard`` is installed."""


@dataclass
class TrainConfig:
    """Everything that defines a training run."""

    env: EnvSection = field(default_factory=EnvSection)
    """The game."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """The agents' model (trainers.models)."""
    trainer: TrainerSection = field(default_factory=TrainerSection)
    """A3C."""
    logging: LoggingSection = field(default_factory=LoggingSection)
    """Outputs."""


# ---------------------------------------------------------------------------------------------
# presets


def _presets_dir():
    return resources.files("trainers") / "presets"


def list_presets() -> list[str]:
    """Names of the shipped presets (``trainers/presets/*.toml``), sorted."""
    return sorted(p.name[:-5] for p in _presets_dir().iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    """TOML text of preset ``name``; ValueError listing the valid names if unknown."""
    names = list_presets()
    if name not in names:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(names)}")
    return (_presets_dir() / f"{name}.toml").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# dict <-> dataclass


def _check_game_config(env: Mapping[str, Any], where: str = "env.config") -> dict[str, Any]:
    """Validate ``env.config`` against the game's config dataclass; return coerced values."""
    game = env.get("game", EnvSection.game)
    if game not in GAME_CONFIGS:
        raise ValueError(f"env.game = {game!r}: choose one of {', '.join(GAME_CONFIGS)}")
    cls = GAME_CONFIGS[game]
    hints = type_hints(cls)
    out: dict[str, Any] = {}
    raw = env.get("config", {}) or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a table of {cls.__name__} fields, got {raw!r}")
    for key, value in raw.items():
        if key == "map":
            raise ValueError(f"{where}.map: give the map as env.map instead")
        if key not in hints:
            valid = ", ".join(f.name for f in dataclasses.fields(cls) if f.name != "map")
            raise ValueError(f"unknown field {where}.{key} for game {game!r}; valid: {valid}")
        out[key] = coerce(value, hints[key], f"{where}.{key}")
    return out


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from nested plain data (a parsed TOML document).

    Missing fields take their defaults; unknown sections or fields and values of the wrong
    type raise ValueError naming them. ``env.config`` is resolved to every field of the
    game's config dataclass.
    """
    data = dict(data)
    env = dict(data.get("env", {}) or {})
    env["config"] = _check_game_config(env)
    data["env"] = env
    cfg = build_dataclass(TrainConfig, data, "")
    validate_config(cfg)
    cfg.env.config = config_to_dict(cfg)["env"]["config"]  # every field of the game
    return cfg


def config_to_dict(cfg: TrainConfig, resolve_game: bool = True) -> dict[str, Any]:
    """Nested plain data of ``cfg`` (TOML-ready: no None, tuples as lists).

    With ``resolve_game`` the ``env.config`` table lists every field of the game's config
    dataclass (the exact game played), not only the overrides.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items() if v is not None}
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        return value

    out = plain(dataclasses.asdict(cfg))
    if resolve_game:
        gc = dataclasses.asdict(game_config(cfg.env))
        gc.pop("map", None)
        out["env"]["config"] = plain(gc)
    return out


def config_to_toml(cfg: TrainConfig, header: str = "") -> str:
    """TOML text of the resolved ``cfg``; ``header`` lines are prepended as comments."""
    lines = "".join(f"# {line}\n" for line in header.splitlines())
    return lines + tomli_w.dumps(config_to_dict(cfg))


def game_config(env: EnvSection) -> CleanupConfig | HarvestConfig | BoxTrappedConfig:
    """The game's config dataclass built from ``env.config`` (map taken from ``env.map``)."""
    values = _check_game_config({"game": env.game, "config": env.config})
    cls = GAME_CONFIGS[env.game]
    hints = type_hints(cls)
    for key, value in list(values.items()):
        if isinstance(value, list) and "tuple" in str(hints[key]):
            values[key] = tuple(value)
    return cls(**values)


def validate_config(cfg: TrainConfig) -> None:
    """Raise ValueError naming the first field outside its range."""
    t, lg = cfg.trainer, cfg.logging
    checks = [
        (cfg.env.n_envs >= 1, "env.n_envs must be >= 1"),
        (t.workers >= 0, "trainer.workers must be >= 0 (0 = one per core)"),
        (t.backend in ("processes", "ray"), "trainer.backend must be 'processes' or 'ray'"),
        (t.backend == "ray" or not t.ray_address,
         "trainer.ray_address needs trainer.backend = 'ray'"),
        (t.rollout_length >= 1, "trainer.rollout_length must be >= 1"),
        (t.lr_init >= 0 and t.lr_end >= 0, "trainer.lr_init and trainer.lr_end must be >= 0"),
        (t.optimizer in ("rmsprop", "adam"), "trainer.optimizer must be 'rmsprop' or 'adam'"),
        (t.max_grad_norm > 0, "trainer.max_grad_norm must be > 0"),
        (t.total_steps >= 1, "trainer.total_steps must be >= 1"),
        (t.curriculum_steps >= 0, "trainer.curriculum_steps must be >= 0"),
        (t.curriculum_delay >= 0, "trainer.curriculum_delay must be >= 0"),
        (t.curriculum_budget >= 0, "trainer.curriculum_budget must be >= 0 (0 = total_steps)"),
        (lg.episode_every >= 0, "logging.episode_every must be >= 0 (0 = no trajectories)"),
        (0.0 <= lg.env_fraction <= 1.0, "logging.env_fraction must be in [0, 1]"),
        (lg.policy_every >= 0, "logging.policy_every must be >= 0 (0 = never)"),
        (lg.checkpoint_every >= 1, "logging.checkpoint_every must be >= 1 agent step"),
        (lg.keep_checkpoints >= 1, "logging.keep_checkpoints must be >= 1"),
        (lg.checkpoint_minutes >= 0, "logging.checkpoint_minutes must be >= 0 (0 = by steps "
                                     "only)"),
        (lg.progress_rollouts >= 0, "logging.progress_rollouts must be >= 0 (0 = per episode "
                                    "only)"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def resolve_workers(cfg: TrainConfig) -> int:
    """Worker processes to start: ``trainer.workers``, or one per CPU core when it is 0."""
    import os

    if cfg.trainer.workers:
        return cfg.trainer.workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


# ---------------------------------------------------------------------------------------------
# overrides and loading


def _field_type(path: list[str], data: Mapping[str, Any]) -> Any:
    """Type of the field at ``path`` (``["trainer", "lr_init"]``); ValueError if unknown."""
    dotted = ".".join(path)
    if len(path) >= 2 and path[0] == "env" and path[1] == "config":
        if len(path) != 3:
            raise ValueError(f"--set {dotted}: use env.config.FIELD=VALUE")
        game = data.get("env", {}).get("game", EnvSection.game)
        cls = GAME_CONFIGS.get(game)
        if cls is None:
            raise ValueError(f"env.game = {game!r}: choose one of {', '.join(GAME_CONFIGS)}")
        hints = type_hints(cls)
        if path[2] == "map":
            raise ValueError(f"{dotted}: give the map as env.map instead")
        if path[2] not in hints:
            valid = ", ".join(f.name for f in dataclasses.fields(cls) if f.name != "map")
            raise ValueError(f"unknown field {dotted} for game {game!r}; valid: {valid}")
        return hints[path[2]]
    cls: Any = TrainConfig
    for i, name in enumerate(path):
        hints = type_hints(cls)
        if name not in hints:
            where = ".".join(path[:i]) or "the config"
            valid = ", ".join(f.name for f in dataclasses.fields(cls))
            raise ValueError(f"unknown field {dotted!r}: {where} has {valid}")
        cls = hints[name]
        if i < len(path) - 1 and not dataclasses.is_dataclass(cls):
            raise ValueError(f"unknown field {dotted!r}: {'.'.join(path[: i + 1])} is a value")
    if dataclasses.is_dataclass(cls):
        raise ValueError(f"--set {dotted}: name a field of the section, e.g. {dotted}.FIELD")
    return cls


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for name in path[:-1]:
        node = node.setdefault(name, {})
    node[path[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``section.field=value`` strings to nested config data (in place; returned).

    The value is parsed as a TOML value when it is one (``5``, ``1e-3``, ``true``, ``[1, 2]``,
    ``"text"``), otherwise taken as text, then checked against the field's type.
    """
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set {item!r}: write SECTION.FIELD=VALUE, e.g. trainer.seed=3")
        path = key.split(".")
        typ = _field_type(path, data)
        value = coerce(parse_cli_value(text.strip(), typ), typ, key)
        _set_path(data, path, value)
    return data


def _read_text(path: Path) -> str:
    """The text of TOML file ``path``; ValueError naming the file and the first byte that is
    not UTF-8 (TOML files are UTF-8 by definition). A byte-order mark is dropped."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"config file {str(path)!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start}); save it as UTF-8 (TOML files must be UTF-8)"
        ) from None


def _read_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{origin} is not valid TOML: {exc}") from exc


def load_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: Sequence[str] = (),
) -> TrainConfig:
    """Load a config from a preset or a TOML file, then apply ``--set`` overrides.

    Parameters
    ----------
    path : str or Path, optional
        A TOML config file (e.g. a run directory's ``config.toml``).
    preset : str, optional
        Name of a shipped preset (:func:`list_presets`). At most one of ``path``/``preset``;
        neither gives the defaults.
    overrides : sequence of str
        ``section.field=value`` items, applied in order.

    A preset or file that sets ``trainer.total_steps`` but not ``trainer.curriculum_budget``
    gets the former as the latter before the overrides, so that a smaller ``--steps`` scales
    its curriculum (``trainer.scale_curriculum``).

    Returns
    -------
    TrainConfig
    """
    if path is not None and preset is not None:
        raise ValueError("give either a preset or a config file, not both")
    if preset is not None:
        data = _read_toml(preset_text(preset), f"preset {preset!r}")
    elif path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"config file {str(p)!r} does not exist; check the path")
        data = _read_toml(_read_text(p), str(p))
    else:
        data = {}
    trainer = data.get("trainer")
    if isinstance(trainer, dict) and "total_steps" in trainer:  # the curriculum's own budget
        trainer.setdefault("curriculum_budget", trainer["total_steps"])
    apply_overrides(data, overrides)
    return config_from_dict(data)
