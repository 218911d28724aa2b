"""Evaluation: run a checkpoint's policy without learning and log every episode (SPEC 3, 8)."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from infoflow.communication import gini_kernel
from trainers.a3c.trainer import build_model, influence_divergence, n_symbols
from trainers.a3c.worker import Worker
from trainers.config import TrainConfig, config_from_dict
from trainers.rundir import load_checkpoint
from trainers.trajectory_log import episodes_to_dataset, store_attrs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_policy", "evaluate_checkpoint"]


def load_policy(checkpoint: str | Path) -> tuple[TrainConfig, Any, dict]:
    """The config, the model with the checkpoint's weights, and the checkpoint dict.

    ``checkpoint`` is a checkpoint file or a run directory (its newest checkpoint).
    """
    ckpt = load_checkpoint(checkpoint)
    cfg = config_from_dict(tomllib.loads(ckpt["config"]))
    meta = ckpt["meta"]
    model = build_model(cfg, meta["n_agents"], meta["n_actions"], tuple(meta["obs_shape"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    return cfg, model, ckpt


def _run_dir_of(checkpoint: Path) -> Path:
    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        return checkpoint
    if checkpoint.parent.name == "checkpoints":
        return checkpoint.parent.parent
    return checkpoint.parent


def evaluate_checkpoint(checkpoint: str | Path, episodes: int = 8, out: str | Path | None = None,
                        video: str | Path | None = None, seed: int = 1,
                        batch: int = 32) -> dict[str, Any]:
    """Play ``episodes`` episodes with the checkpoint's policy; log all of them to a store.

    Parameters
    ----------
    checkpoint : path
        Checkpoint file, or run directory (newest checkpoint).
    episodes : int
        Episodes to play; played ``batch`` env copies at a time.
    out : path, optional
        Trajectory store to create (default ``<run>/evaluation-<agent steps>.zarr``); must
        not exist.
    video : path, optional
        GIF of the first episode's env copy 0.
    seed : int
        Seed of the evaluation episodes (env and action sampling).
    batch : int
        Most env copies stepped together.

    Returns
    -------
    dict
        ``episodes``, ``agents``, ``returns`` (mean per agent), ``collective_return``,
        ``equality``, ``influence_reward``, ``store``, ``game``, ``model``, ``agent_steps``.
    """
    from infoflow.trajectory import TrajectoryWriter

    if episodes < 1:
        raise ValueError(f"episodes = {episodes}: give at least 1")
    cfg, model, ckpt = load_policy(checkpoint)
    meta = ckpt["meta"]
    store = Path(out) if out is not None else \
        _run_dir_of(Path(checkpoint)) / f"evaluation-{int(ckpt['agent_steps'])}.zarr"
    if store.exists():
        raise FileExistsError(f"{str(store)!r} already exists; choose another --out")
    n_envs = min(batch, episodes)
    cfg = dataclasses.replace(
        cfg, env=dataclasses.replace(cfg.env, n_envs=n_envs),
        trainer=dataclasses.replace(cfg.trainer, seed=seed, workers=1))
    worker = Worker(0, cfg, model, log_all=True)
    attrs = store_attrs(meta["game"], cfg.model.kind, meta["n_actions"], n_symbols(cfg),
                        ckpt["config"], seed, divergence=influence_divergence(cfg))
    attrs["title"] = f"infoflow evaluation of {cfg.model.kind} on {meta['game']}"
    if video is not None:
        worker.frames = []
    returns, influence, equal = [], [], []
    with TrajectoryWriter(store, agents=meta["agents"], n_actions=meta["n_actions"],
                          n_symbols=n_symbols(cfg), attrs=attrs) as writer:
        for b in range(math.ceil(episodes / n_envs)):
            keep = min(n_envs, episodes - b * n_envs)
            result = worker.run_episode()
            if b == 0 and video is not None:
                from trainers.envs import write_gif

                write_gif(worker.frames, video)
                worker.frames = None
            logged = {k: v[:keep] for k, v in result.logged.items()}
            writer.append(episodes_to_dataset(logged, meta["agents"], attrs, meta["n_actions"],
                                              n_symbols(cfg)))
            ep_returns = np.nansum(logged["rewards"], axis=1)                 # [keep, N]
            returns.append(ep_returns)
            if "intrinsic_rewards" in logged:
                influence.append(float(np.nanmean(logged["intrinsic_rewards"])))
            equal.append(1.0 - gini_kernel(ep_returns))
    all_returns = np.concatenate(returns)                                     # [episodes, N]
    eq = np.concatenate(equal)
    return {
        "episodes": episodes, "agents": list(meta["agents"]),
        "returns": all_returns.mean(0).tolist(),
        "collective_return": float(all_returns.sum(1).mean()),
        "equality": float(np.nanmean(eq)) if np.isfinite(eq).any() else float("nan"),
        "influence_reward": float(np.mean(influence)) if influence else 0.0,
        "store": str(store), "game": meta["game"], "model": cfg.model.kind,
        "agent_steps": int(ckpt["agent_steps"]),
    }
