"""Logged episodes -> the trajectory schema (SPEC 4) via :mod:`infoflow.trajectory`.

A worker records the steps of the env copies it logs into an :class:`EpisodeRecorder`
(preallocated, time-major numpy buffers). At the episode's end :meth:`EpisodeRecorder.finish`
hands back plain numpy arrays (cheap to send through a process queue), and the trainer's main
process turns them into an :class:`xarray.Dataset` with :func:`episodes_to_dataset` and
appends them to the run's store with a :class:`~infoflow.trajectory.TrajectoryWriter`.

Recorded per step and logged copy: actions, environment and intrinsic rewards, messages
(communication models), per-pair influence, visibility, positions, facings, and the game's
counters (apples, waste); action probabilities only when the episode is one of every
``policy_every``-th logged episode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["logged_copies", "EpisodeRecorder", "episodes_to_dataset", "store_attrs"]


def logged_copies(n_envs: int, env_fraction: float) -> int:
    """Env copies logged in a logged episode: ``ceil(fraction * E)``, at least one.

    Examples
    --------
    >>> logged_copies(16, 0.0), logged_copies(16, 0.25), logged_copies(3, 1.0)
    (1, 4, 3)
    """
    return max(1, min(n_envs, math.ceil(env_fraction * n_envs)))


class EpisodeRecorder:
    """Buffers of one episode of the first ``n_logged`` env copies of a worker.

    Parameters
    ----------
    horizon : int
        Steps of an episode (buffer length T).
    n_logged : int
        Env copies L recorded (copies ``0 .. L-1``).
    n_agents, n_actions : int
        N and A.
    with_policy : bool
        Record action probabilities ``[T, L, N, A]``.
    with_messages : bool
        Record messages ``[T, L, N]``.
    with_influence : bool
        Record influence ``[T, L, N, N]`` and intrinsic rewards ``[T, L, N]``.
    with_counters : sequence of str
        Names of the env's per-copy counters to record (``apples``, ``waste``).
    """

    def __init__(self, horizon: int, n_logged: int, n_agents: int, n_actions: int,
                 with_policy: bool, with_messages: bool, with_influence: bool,
                 with_counters: tuple[str, ...] = ("apples",)) -> None:
        T, L, N = horizon, n_logged, n_agents
        self.n_logged = L
        self.t = 0
        self.box_opened_at: np.ndarray | None = None  # [L], set from the step info
        self.buf: dict[str, np.ndarray] = {
            "actions": np.full((T, L, N), -1, np.int16),                   # [T, L, N]
            "rewards": np.full((T, L, N), np.nan, np.float32),             # [T, L, N]
            "visible": np.zeros((T, L, N, N), bool),                       # [T, L, src, tgt]
            "positions": np.full((T, L, N, 2), -1, np.int16),              # [T, L, N, 2]
            "facings": np.full((T, L, N), -1, np.int8),                    # [T, L, N]
        }
        if with_influence:
            self.buf["intrinsic_rewards"] = np.full((T, L, N), np.nan, np.float32)
            self.buf["influence"] = np.full((T, L, N, N), np.nan, np.float32)  # [T, L, src, tgt]
        if with_policy:
            self.buf["policy"] = np.full((T, L, N, n_actions), np.nan, np.float32)
        if with_messages:
            self.buf["messages"] = np.full((T, L, N), -1, np.int16)
        for name in with_counters:
            self.buf[name] = np.full((T, L), -1, np.int32)                 # [T, L]

    def record(self, actions: np.ndarray, rewards: np.ndarray, info: Mapping[str, Any],
               intrinsic: np.ndarray | None = None, influence: np.ndarray | None = None,
               policy: np.ndarray | None = None, messages: np.ndarray | None = None) -> None:
        """Record one step of all E copies (only the first L are kept).

        Parameters
        ----------
        actions : int [E, N]
        rewards : float [E, N]
            Environment rewards of this step.
        info : mapping
            The env's step info (``positions`` [E, N, 2], ``facings`` [E, N],
            ``visible`` [E, N, N], counters [E]).
        intrinsic : float [E, N], optional
            Influence reward before scaling by β.
        influence : float [E, N, N], optional
            ``influence[e, k, j]``: divergence of k's action on j (NaN where undefined).
        policy : float [E, N, A], optional
            Action probabilities.
        messages : int [E, N], optional
            Symbols emitted this step.
        """
        t, L, b = self.t, self.n_logged, self.buf
        if t >= b["actions"].shape[0]:
            raise ValueError(f"episode recorder is full ({t} steps); call finish() first")
        b["actions"][t] = actions[:L]
        b["rewards"][t] = rewards[:L]
        b["visible"][t] = info["visible"][:L]
        b["positions"][t] = info["positions"][:L]
        b["facings"][t] = info["facings"][:L]
        if intrinsic is not None and "intrinsic_rewards" in b:
            b["intrinsic_rewards"][t] = intrinsic[:L]
        if influence is not None and "influence" in b:
            b["influence"][t] = influence[:L]
        if policy is not None and "policy" in b:
            b["policy"][t] = policy[:L]
        if messages is not None and "messages" in b:
            b["messages"][t] = messages[:L]
        for name in ("apples", "waste"):
            if name in b:
                b[name][t] = info[name][:L]
        if "box_opened_at" in info:  # box trapped: step at which the box opened, -1 if not
            self.box_opened_at = np.asarray(info["box_opened_at"][:L], np.int32)
        self.t += 1

    def finish(self) -> dict[str, np.ndarray]:
        """The recorded episodes as episode-major arrays ``[L, T, ...]`` plus ``lengths``."""
        out = {k: np.ascontiguousarray(np.swapaxes(v, 0, 1)) for k, v in self.buf.items()}
        out["lengths"] = np.full(self.n_logged, self.t, np.int32)
        if self.box_opened_at is not None:
            out["box_opened_at"] = self.box_opened_at
        return out


def store_attrs(env: str, model: str, n_actions: int, n_symbols: int, config_toml: str,
                seed: int, divergence: str | None = None) -> dict[str, Any]:
    """Run attributes of a trajectory store (SPEC 4: env, model, config, seed, version).

    ``divergence`` (``"kl"``, ``"jsd"`` or ``"pmi"``) names what the logged ``influence``
    holds; pass it for models with an influence reward.
    """
    from infoflow import __version__

    attrs = {"env": env, "model": model, "n_actions": int(n_actions),
             "n_symbols": int(n_symbols), "config": config_toml, "seed": int(seed),
             "infoflow_version": __version__, "title": f"infoflow {model} on {env}"}
    if divergence is not None:
        attrs["influence_divergence"] = divergence
    return attrs


def episodes_to_dataset(arrays: Mapping[str, np.ndarray], agents: list[str],
                        attrs: Mapping[str, Any], n_actions: int, n_symbols: int):
    """An xarray Dataset in the trajectory schema from :meth:`EpisodeRecorder.finish` output.

    ``policy`` is left out when absent (the writer fills it with NaN for such episodes).
    Box trapped episodes also get ``box_opened_at(episode)`` (an extra variable).
    """
    from infoflow.trajectory import from_arrays

    a = dict(arrays)
    extra = {k: v for k, v in attrs.items() if k not in ("n_actions", "n_symbols")}
    ds = from_arrays(
        a["actions"], lengths=a["lengths"], agents=agents, rewards=a.get("rewards"),
        intrinsic_rewards=a.get("intrinsic_rewards"), messages=a.get("messages"),
        influence=a.get("influence"), visible=a.get("visible"), policy=a.get("policy"),
        positions=a.get("positions"), facings=a.get("facings"), apples=a.get("apples"),
        waste=a.get("waste"), n_actions=n_actions, n_symbols=n_symbols, **extra,
    )
    if "box_opened_at" in a:  # box trapped (SPEC 1.4): logged per episode
        ds["box_opened_at"] = ("episode", a["box_opened_at"].astype(np.int32))
        ds["box_opened_at"].attrs.update(
            long_name="step at which the box was opened (-1: never)", units="1")
    return ds
