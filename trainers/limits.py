"""Limits of a training run, checked before any work is done or any file written (issue 10).

:func:`check_resources` is the one call: it raises ValueError with a one-line message naming the
field(s), the problem and the fix, in this order:

1. :func:`check_workers`: with the ``processes`` backend, no more workers than this machine's
   usable CPU cores (:func:`usable_cores`), unless ``trainer.allow_oversubscribe = true``
   (the ``ray`` backend is not limited: its workers may run on other machines);
2. :func:`check_bounds`: values that are absurd on any machine (:data:`MAX_WORKERS`,
   :data:`MAX_HORIZON`), and the game's own ranges (``trainers.envs.config.check_config``);
3. :func:`check_memory`: the memory the run would allocate (:func:`estimate_memory`) against
   what this machine has available (:func:`available_memory`).

:func:`check_resume_budget` refuses a resumed run whose budget is already spent, and
:func:`check_writable` a run directory that cannot be created or written.

All sizes are in bytes. The memory estimate counts the large allocations, each computed from
the config the way the code allocates it (shapes in the comments of :func:`estimate_memory`):
per worker the E env copies, the rollout buffers and the learning pass's activations, the
episode-log buffers of ``horizon`` steps, a copy of the model and its gradients, and the
interpreter with torch (:data:`PROCESS_BYTES`, for worker processes); in the main process the
shared model, the optimiser's state, a checkpoint copy of both, and the logged episodes it
converts. It is an estimate (within a small factor), meant to refuse what cannot fit, before
a worker dies of a MemoryError hours into a run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trainers.config import TrainConfig, game_config, resolve_workers
from trainers.envs.config import ACTION_NAMES, check_config

__all__ = [
    "MAX_HORIZON",
    "MAX_WORKERS",
    "PROCESS_BYTES",
    "MemoryPart",
    "MemoryEstimate",
    "available_memory",
    "usable_cores",
    "format_bytes",
    "resolve_map",
    "count_parameters",
    "estimate_memory",
    "check_workers",
    "check_bounds",
    "check_memory",
    "check_resources",
    "check_resume_budget",
    "check_writable",
]

MAX_HORIZON = 10_000_000
"""Most steps per episode (``env.config.horizon``; the paper's is 1,000). Metrics rows are
written, and a single worker checkpoints, at episode ends: a longer episode would leave a run
silent and unresumable for hours."""

MAX_WORKERS = 4096
"""Most workers (``trainer.workers``) on any backend."""

PROCESS_BYTES = 200 * 2**20
"""Private memory of one worker process before it allocates anything: the interpreter, numpy,
numba and torch (about 200 MiB measured on Linux, x86-64)."""

_F32 = 4  # bytes of a float32
_I64 = 8  # bytes of an int64


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` where there is
    none); at least 1. The same count ``trainer.workers = 0`` resolves to."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _cgroup_available() -> int | None:
    """Bytes this process's memory cgroup may still allocate (v2, then v1); None without a
    limit. Reclaimable page cache (``inactive_file``) counts as available."""
    for limit_name, usage_name, stat_dir in (
        ("memory.max", "memory.current", Path("/sys/fs/cgroup")),
        ("memory.limit_in_bytes", "memory.usage_in_bytes", Path("/sys/fs/cgroup/memory")),
    ):
        limit = _read_int(stat_dir / limit_name)
        usage = _read_int(stat_dir / usage_name)
        if limit is None or usage is None or limit >= 2**60:  # "max" or v1's "no limit"
            continue
        inactive = 0
        try:
            for line in (stat_dir / "memory.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key in ("inactive_file", "total_inactive_file") and value.isdigit():
                    inactive = int(value)
                    break
        except OSError:
            pass
        return max(0, limit - max(0, usage - inactive))
    return None


def available_memory() -> int | None:
    """Bytes of memory a new allocation can get on this machine without swapping: the
    ``MemAvailable`` line of ``/proc/meminfo`` (kB), lowered to the memory cgroup's remaining
    limit when there is one; ``os.sysconf`` free pages where ``/proc`` is missing; None when
    nothing can be read (the memory check is then skipped)."""
    found: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            pass
    cgroup = _cgroup_available()
    if cgroup is not None:
        found.append(cgroup)
    return min(found) if found else None


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, three significant digits.

    Examples
    --------
    >>> format_bytes(512), format_bytes(3 * 2**30), format_bytes(1.5e24)
    ('512 bytes', '3 GiB', '1.3e+06 EiB')
    """
    units = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    n = float(n)
    for i, unit in enumerate(units):
        if n < 1024 or i == len(units) - 1:
            return f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def resolve_map(cfg: TrainConfig):
    """The checked :class:`~trainers.envs.maps.GameMap` a run of ``cfg`` plays: ``env.map``
    as a file path or as the map text itself (with a newline), or the game's shipped map.

    Raises FileNotFoundError or ValueError naming the map file, line and column (an empty,
    binary or Latin-1 file too), as :func:`trainers.envs.maps.load_map`.
    """
    from trainers.envs.maps import default_map_path, load_map, parse_map

    n_agents = game_config(cfg.env).n_agents
    if not cfg.env.map:
        return load_map(default_map_path(cfg.env.game), cfg.env.game, n_agents)
    if "\n" in cfg.env.map:
        return parse_map(cfg.env.map, cfg.env.game, n_agents, name="env.map")
    return load_map(cfg.env.map, cfg.env.game, n_agents)


def _n_actions(game: str) -> int:
    """Actions of ``game``: the shared ones, and 'clean' in Cleanup."""
    return len(ACTION_NAMES) + (game == "cleanup")


def _meta_factories():
    """A torch function mode that makes the tensor factories that size parameters (empty,
    zeros, ones, full, rand, randn, randint, eye) allocate on the ``meta`` device (shapes
    only). Index helpers (arange, tensor) stay on the CPU: they are small, and on ``meta``
    they would import sympy (2 s)."""
    import torch
    from torch.overrides import TorchFunctionMode

    sized = {torch.empty, torch.empty_strided, torch.zeros, torch.ones, torch.full,
             torch.rand, torch.randn, torch.randint, torch.eye}

    class MetaFactories(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            if func in sized:
                kwargs["device"] = "meta"
            return func(*args, **kwargs)

    return MetaFactories()


def count_parameters(cfg: TrainConfig, n_agents: int, n_actions: int,
                     obs_shape: tuple[int, int, int]) -> int:
    """Parameters of the N agents' networks ``cfg.model`` describes, without allocating them.

    The model is built with its tensors on torch's ``meta`` device (shapes only, in
    milliseconds at any size), so every model kind counts exactly, registered extensions
    included. ValueError of the model's own checks (a conv kernel larger than the view,
    influencers out of range) propagates. Should a kind not build that way, the shared
    network's parameters (conv, FC stack, core, heads; the kind's extra modules left out)
    are counted from the config instead.
    """
    try:
        from trainers.models import AgentsModel

        with _meta_factories():
            model = AgentsModel(cfg.model, n_agents=n_agents, n_actions=n_actions,
                                obs_shape=tuple(obs_shape), seed=cfg.trainer.seed)
        if all(p.device.type == "meta" for p in model.parameters()):
            return int(sum(p.numel() for p in model.parameters()))
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - fall back to the shared network's formula
        pass
    m = cfg.model
    h, w, c = obs_shape
    k = m.conv_kernel
    conv_out = m.conv_channels * max(h - k + 1, 1) * max(w - k + 1, 1)
    params = c * m.conv_channels * k * k + m.conv_channels
    widths = (conv_out, *m.fc_sizes)
    params += sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    gates = 4 * m.hidden_size if m.core == "lstm" else m.hidden_size
    params += widths[-1] * gates + gates + (m.hidden_size * gates if m.core == "lstm" else 0)
    params += m.hidden_size * n_actions + n_actions + m.hidden_size + 1
    return n_agents * params


@dataclass(frozen=True)
class MemoryPart:
    """One kind of allocation of a run."""

    what: str
    """What it is, e.g. ``"env copies"``."""
    fields: str
    """The config fields that size it, with their values, e.g. ``"env.n_envs = 32"``."""
    fix: str
    """How to make it smaller, e.g. ``"lower env.n_envs"``."""
    per_worker: int
    """Bytes in each worker."""
    main: int = 0
    """Bytes in the main process."""


@dataclass(frozen=True)
class MemoryEstimate:
    """What a run of a config allocates on this machine (:func:`estimate_memory`)."""

    workers: int
    """Workers counted on this machine."""
    parts: tuple[MemoryPart, ...]
    parameters: int
    """Parameters of the agents' networks."""

    def part_bytes(self, part: MemoryPart) -> int:
        """Bytes of ``part`` on this machine: its main-process share and every worker's."""
        return part.main + self.workers * part.per_worker

    @property
    def total(self) -> int:
        """Bytes of the whole run on this machine."""
        return sum(self.part_bytes(p) for p in self.parts)

    @property
    def largest(self) -> MemoryPart:
        """The part that takes the most memory."""
        return max(self.parts, key=self.part_bytes)


def estimate_memory(cfg: TrainConfig, game_map=None) -> MemoryEstimate:
    """Bytes a run of ``cfg`` allocates on this machine, by part (see the module docstring).

    Parameters
    ----------
    cfg : TrainConfig
        A validated config.
    game_map : GameMap, optional
        The map played (default :func:`resolve_map`).

    Workers counted: ``trainer.workers`` (0 = one per core); with the Ray backend joined to a
    cluster (``trainer.ray_address``) one, as each machine must hold at least one worker.
    """
    from trainers.models import kind_class
    from trainers.trajectory_log import logged_copies

    gc = game_config(cfg.env)
    game_map = resolve_map(cfg) if game_map is None else game_map
    tr, m, lg = cfg.trainer, cfg.model, cfg.logging
    E, N, A = cfg.env.n_envs, gc.n_agents, _n_actions(cfg.env.game)
    v = 2 * gc.view_radius + 1
    obs = v * v * 3                                          # uint8 view [H, W, 3] of an agent
    rows, cols = game_map.shape
    workers = resolve_workers(cfg)
    if tr.backend == "ray" and tr.ray_address:
        workers = 1
    in_process = tr.backend == "processes" and workers == 1
    params = count_parameters(cfg, N, A, (v, v, 3))
    many = workers > 1
    per = f" per worker x {workers} workers" if many else ""

    # env copies: tile, agent and beam grids [E, H, W] (+ regrow times, int64 per grow cell),
    # rotated images [E, 4, S, S, 3], beam cells [E, 3 L N], per-agent state; the step's
    # observations [E, N, v, v, 3] (numpy and the torch copy) and visibility [E, N, N]
    size = max(rows, cols) + 2 * gc.view_radius
    env_copy = (11 * rows * cols + 12 * size * size + 3 * gc.beam_length * N * _I64
                + 2 * N * obs + 2 * N * N + 32 * N + 64)
    wide = gc.view_radius > 64  # then the view, not the count of copies, is what is large
    radius = f", env.config.view_radius = {gc.view_radius}" if wide else ""
    env_part = MemoryPart(
        "env copies", f"env.n_envs = {E}{radius}",
        "lower env.n_envs" + (" or env.config.view_radius" if wide else ""),
        per_worker=E * env_copy, main=env_copy)

    # rollout buffers, time-major [T, E, N, ...]: obs uint8, actions and messages int64,
    # rewards and influence float32, visibility bool; the learning pass's float32
    # activations per agent-step (the view as floats, conv output before and after ReLU, the
    # FC stack, the core's gates and state, the heads), kept for backward (x 2); kinds with an
    # influence reward add the counterfactual logits [N, A, A] in float64
    T = min(tr.rollout_length, gc.horizon)
    conv = m.conv_channels * max(v - m.conv_kernel + 1, 1) ** 2
    core = 8 * m.hidden_size if m.core == "lstm" else 2 * m.hidden_size
    floats = 2 * obs + 2 * conv + 2 * sum(m.fc_sizes) + core + 2 * A + 2
    try:
        influence = kind_class(m.kind).computes_influence
    except Exception:  # noqa: BLE001 - an unknown kind is refused by the model check
        influence = False
    step = obs + 2 * _I64 + 2 * _F32 + N + 2 * floats * _F32 + (16 * N * A * A if influence
                                                                   else 0)
    rollout_part = MemoryPart(
        "rollout buffers and activations",
        f"env.n_envs = {E}, trainer.rollout_length = {tr.rollout_length}{radius}",
        "lower env.n_envs or trainer.rollout_length" + (" or env.config.view_radius" if wide
                                                         else ""),
        per_worker=T * E * N * step + 2 * T * E)

    # episode log: EpisodeRecorder buffers [horizon, L, N, ...] of the L logged copies
    # (actions, rewards, visibility, positions, facings, intrinsic rewards, influence
    # [N, N], policy [N, A], messages, counters), finished into a copy; the main process
    # unpickles, converts and encodes them (x 3)
    L = logged_copies(E, lg.env_fraction)
    log_step = 17 * N + 5 * N * N + 4 * N * A + 8
    log_bytes = gc.horizon * L * log_step if lg.episode_every > 0 else 0
    log_part = MemoryPart(
        "episode-log buffers", f"env.config.horizon = {gc.horizon}"
        + (f", logging.env_fraction = {lg.env_fraction}" if L > 1 else ""),
        "lower env.config.horizon, or log fewer env copies (logging.env_fraction) or no "
        "episodes (logging.episode_every = 0)", per_worker=2 * log_bytes, main=3 * log_bytes)

    # model: shared float32 parameters, the optimiser's state (RMSprop: 1 value per
    # parameter, Adam: 2), both copied once more for a checkpoint; each worker: its gradients
    # and the flat update vector, plus its own copy of the parameters in a worker process
    states = 2 if tr.optimizer == "adam" else 1
    fc = list(m.fc_sizes)
    model_part = MemoryPart(
        f"the agents' {params:.3g} parameters",
        f"model.hidden_size = {m.hidden_size}, model.fc_sizes = {fc}",
        "lower model.hidden_size or model.fc_sizes",
        per_worker=(2 if in_process else 3) * params * _F32,
        main=2 * (1 + states) * params * _F32)

    parts = [env_part, rollout_part, log_part, model_part]
    if not in_process:
        parts.append(MemoryPart("worker processes", f"trainer.workers = {workers}",
                                "use fewer workers (--workers)", per_worker=PROCESS_BYTES))
    if many:  # every per-worker part shrinks with fewer workers too
        parts = [p if p.what == "worker processes" else
                 MemoryPart(p.what + per if p.per_worker > p.main else p.what, p.fields,
                            p.fix + (", or use fewer workers (--workers)"
                                     if p.per_worker > p.main else ""), p.per_worker, p.main)
                 for p in parts]
    return MemoryEstimate(workers=workers, parts=tuple(parts), parameters=params)


def check_workers(cfg: TrainConfig, cores: int | None = None) -> None:
    """Refuse more workers than CPU cores with the processes backend (ValueError), unless
    ``trainer.allow_oversubscribe``; ``cores`` defaults to :func:`usable_cores`."""
    tr = cfg.trainer
    if tr.backend != "processes" or tr.allow_oversubscribe:
        return
    cores = usable_cores() if cores is None else cores
    if tr.workers > cores:
        raise ValueError(
            f"trainer.workers = {tr.workers} (--workers) is more than the {cores} CPU cores of "
            f"this machine, and each worker is a process here; use --workers {cores} or fewer "
            "(0 = one per core), --backend ray to run workers on a cluster, or set "
            "trainer.allow_oversubscribe = true to start them anyway"
        )


def check_bounds(cfg: TrainConfig) -> None:
    """Refuse values that are absurd on any machine (ValueError): more than
    :data:`MAX_WORKERS` workers, episodes longer than :data:`MAX_HORIZON` steps; and the
    game's fields outside their ranges (``check_config``)."""
    gc = game_config(cfg.env)
    check_config(gc)
    if cfg.trainer.workers > MAX_WORKERS:
        raise ValueError(f"trainer.workers = {cfg.trainer.workers} (--workers) is above the "
                         f"limit of {MAX_WORKERS} workers; use fewer")
    if gc.horizon > MAX_HORIZON:
        raise ValueError(
            f"env.config.horizon = {gc.horizon} is above the limit of {MAX_HORIZON:,} steps "
            "per episode (metrics and checkpoints are written at episode ends); use a shorter "
            "horizon (the paper's is 1000)"
        )


def check_memory(cfg: TrainConfig, available: int | None = None,
                 game_map=None) -> MemoryEstimate:
    """Refuse a run that needs more memory than is available (ValueError naming the largest
    part, its fields, the estimate and the fix); ``available`` defaults to
    :func:`available_memory` (no check when that is None). Returns the estimate."""
    estimate = estimate_memory(cfg, game_map)
    available = available_memory() if available is None else available
    if available is not None and estimate.total > available:
        part = estimate.largest
        raise ValueError(
            f"not enough memory for {part.fields}: this run needs about "
            f"{format_bytes(estimate.total)} ({part.what}: "
            f"{format_bytes(estimate.part_bytes(part))}), but {format_bytes(available)} is "
            f"available on this machine; {part.fix}"
        )
    return estimate


def check_resources(cfg: TrainConfig, available: int | None = None,
                    cores: int | None = None) -> MemoryEstimate:
    """Every check of this module, cheapest first: workers against cores, hard bounds, the
    map (:func:`resolve_map`), memory. Raises ValueError (FileNotFoundError for a missing map
    file) with one line naming the field(s) and the fix; allocates nothing large and writes
    nothing. ``available`` and ``cores`` default to this machine's. Returns the estimate."""
    check_workers(cfg, cores)
    check_bounds(cfg)
    return check_memory(cfg, available, resolve_map(cfg))


def check_resume_budget(done_steps: int, total_steps: int, run: str | Path) -> None:
    """Refuse to resume run directory ``run`` with a budget it has already spent.

    Examples
    --------
    >>> check_resume_budget(200, 100, "runs/a")
    Traceback (most recent call last):
    ...
    ValueError: --steps 100 (trainer.total_steps) does not exceed the 200 agent steps the run in \
'runs/a' has already done; --steps must exceed 200 to continue it (e.g. --steps 400)
    """
    if total_steps <= done_steps:
        raise ValueError(
            f"--steps {total_steps} (trainer.total_steps) does not exceed the {done_steps} "
            f"agent steps the run in {str(run)!r} has already done; --steps must exceed "
            f"{done_steps} to continue it (e.g. --steps {max(2 * done_steps, done_steps + 1)})"
        )


def check_writable(out: str | Path, resume: bool = False) -> None:
    """Refuse a run directory ``out`` that cannot be written (PermissionError), before
    anything is created: on ``resume`` the directory itself, otherwise its nearest existing
    parent folder (where it would be created). Read-only file systems and immutable folders
    are refused for root too (``os.access``)."""
    out = Path(out)
    target = out if resume else out.absolute()
    if not resume:
        while not target.exists() and target.parent != target:
            target = target.parent
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"cannot create the run directory {str(out)!r}: "
                                 f"{str(target)!r} is a file; choose another --out")
    if not os.access(target, os.W_OK | os.X_OK):
        where = "it" if target == out else repr(str(target))
        raise PermissionError(
            f"cannot write the run directory {str(out)!r}: {where} is not writable (read-only, "
            "or owned by another user); choose another --out"
        )
