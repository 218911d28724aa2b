"""Evaluation: run a checkpoint's policy without learning and log every episode (SPEC 3, 8)."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infoflow.communication import gini_kernel
from trainers.a3c.build import build_model, influence_divergence, n_symbols
from trainers.a3c.supervision import terminate_as_interrupt
from trainers.a3c.worker import Worker
from trainers.config import TrainConfig, config_from_dict
from trainers.rundir import _first_line, checkpoint_file, load_checkpoint
from trainers.trajectory_log import episodes_to_dataset, store_attrs

__all__ = ["load_policy", "evaluate_checkpoint", "MAX_EPISODES", "MAX_BATCH"]

MAX_EPISODES = 10_000
"""Most episodes one evaluation plays: at the paper presets (1000 steps, 5 agents) that is
5e7 agent steps, a whole training budget, and a store of a few GB."""

MAX_BATCH = 256
"""Most env copies stepped together; every copy's whole episode is held in memory."""


def load_policy(checkpoint: str | Path) -> tuple[TrainConfig, Any, dict]:
    """The config, the model with the checkpoint's weights, and the checkpoint dict.

    ``checkpoint`` is a checkpoint file or a run directory (its newest checkpoint).

    Raises
    ------
    FileNotFoundError
        No checkpoint there.
    ValueError
        A file that is not a whole infoflow checkpoint (see
        :func:`trainers.rundir.load_checkpoint`), or one whose stored config, meta data or
        weights are damaged; one line naming the file.
    """
    path = checkpoint_file(checkpoint)
    ckpt = load_checkpoint(path)
    name = repr(str(path))
    fix = "the file is damaged or was not written by infoflow train; pass another checkpoint"
    missing = [key for key, kind in _CHECKPOINT_ENTRIES.items()
               if not isinstance(ckpt.get(key), kind)]
    if missing:
        raise ValueError(f"{name} lacks {', '.join(missing)} (or holds the wrong type); {fix}")
    try:
        data = tomllib.loads(ckpt["config"])
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{name}: the config stored in it is not valid TOML ({exc}); "
                         f"{fix}") from None
    try:
        cfg = config_from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{name}: the config stored in it is not a valid infoflow config "
                         f"({_first_line(exc)}); {fix}") from None
    meta = ckpt["meta"]
    try:
        n_agents, n_actions = int(meta["n_agents"]), int(meta["n_actions"])
        obs_shape = tuple(int(n) for n in meta["obs_shape"])
        agents = [str(a) for a in meta["agents"]]
        str(meta["game"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{name}: its meta data is incomplete ({type(exc).__name__}: "
                         f"{_first_line(exc)}); {fix}") from None
    if len(agents) != n_agents:
        raise ValueError(f"{name}: its meta data names {len(agents)} agents but says "
                         f"n_agents = {n_agents}; {fix}")
    try:
        model = build_model(cfg, n_agents, n_actions, obs_shape)
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{name}: its weights do not fit the {cfg.model.kind} model its "
                         f"config describes ({_first_line(exc)}); {fix}") from None
    model.eval()
    return cfg, model, ckpt


_CHECKPOINT_ENTRIES = {"config": str, "meta": dict, "model": dict,
                       "agent_steps": (int, torch.Tensor)}
"""What evaluation reads from a checkpoint, and the type each must have."""


def _run_dir_of(checkpoint: Path) -> Path:
    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        return checkpoint
    if checkpoint.parent.name == "checkpoints":
        return checkpoint.parent.parent
    return checkpoint.parent


def evaluate_checkpoint(checkpoint: str | Path, episodes: int = 8, out: str | Path | None = None,
                        video: str | Path | None = None, seed: int = 1,
                        batch: int = 32, arrow_threshold: float | None = None
                        ) -> dict[str, Any]:
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
        GIF of the first episode's env copy 0. With an influence model, arrows mark the
        steps where a pair's logged influence is above ``arrow_threshold`` (default: the
        episode's 90th percentile), and ``<video stem>-timeline.png`` plots it per pair.
    seed : int
        Seed of the evaluation episodes (env and action sampling).
    batch : int
        Most env copies stepped together.
    arrow_threshold : float, optional
        Influence (nats) above which the video draws an arrow.

    Returns
    -------
    dict
        ``episodes``, ``agents``, ``returns`` (mean per agent), ``collective_return``,
        ``equality``, ``influence_reward``, ``store``, ``game``, ``model``, ``agent_steps``.
    """
    from infoflow.trajectory import TrajectoryWriter

    if not 1 <= episodes <= MAX_EPISODES:
        raise ValueError(f"episodes = {episodes}: give 1 to {MAX_EPISODES:,} (more episodes "
                         "than that: run several evaluations with different seeds)")
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch = {batch}: give 1 to {MAX_BATCH} env copies stepped together")
    cfg, model, ckpt = load_policy(checkpoint)
    meta = ckpt["meta"]
    store = Path(out) if out is not None else \
        _run_dir_of(Path(checkpoint)) / f"evaluation-{int(ckpt['agent_steps'])}.zarr"
    if store.exists():
        raise FileExistsError(f"{str(store)!r} already exists; choose another --out")
    video = Path(video) if video is not None else None
    if video is not None and video.is_dir():
        raise IsADirectoryError(f"--video {str(video)!r} is a folder; name a .gif file")
    if video is not None and not video.parent.is_dir():
        raise FileNotFoundError(f"folder {str(video.parent)!r} of --video does not exist; "
                                "create it or choose another --video")
    n_envs = min(batch, episodes)
    cfg = dataclasses.replace(
        cfg, env=dataclasses.replace(cfg.env, n_envs=n_envs),
        trainer=dataclasses.replace(cfg.trainer, seed=seed, workers=1))
    attrs = store_attrs(meta["game"], cfg.model.kind, meta["n_actions"], n_symbols(cfg),
                        ckpt["config"], seed, divergence=influence_divergence(cfg))
    attrs["title"] = f"infoflow evaluation of {cfg.model.kind} on {meta['game']}"
    returns, influence, equal = [], [], []
    # SIGTERM / SIGHUP as Ctrl-C: the staged files are removed, nothing half-written remains
    with terminate_as_interrupt(), _staged(store, video) as (tmp_store, tmp_video):
        worker = Worker(0, cfg, model, log_all=True)
        if video is not None:
            worker.frames = []
        with TrajectoryWriter(tmp_store, agents=meta["agents"], n_actions=meta["n_actions"],
                              n_symbols=n_symbols(cfg), attrs=attrs) as writer:
            for b in range(math.ceil(episodes / n_envs)):
                keep = min(n_envs, episodes - b * n_envs)
                result = worker.run_episode()
                if b == 0 and video is not None:
                    _write_video(worker.frames, result.logged, meta["agents"], tmp_video,
                                 tmp_store.parent / TIMELINE, arrow_threshold,
                                 influence_divergence(cfg) or "")
                    worker.frames = None
                logged = {k: v[:keep] for k, v in result.logged.items()}
                writer.append(episodes_to_dataset(logged, meta["agents"], attrs,
                                                  meta["n_actions"], n_symbols(cfg)))
                ep_returns = np.nansum(logged["rewards"], axis=1)             # [keep, N]
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


TIMELINE = "timeline.png"
RENDER_SCALE = 8
"""Pixels per map cell of the frames the worker renders (``env.render``'s default)."""


def timeline_path(video: Path) -> Path:
    """Where the influence timeline of ``--video NAME.gif`` goes: ``NAME-timeline.png``."""
    return video.with_name(f"{video.stem}-timeline.png")


def _write_video(frames: list[np.ndarray], logged: dict[str, np.ndarray], agents: list[str],
                 gif: Path, timeline: Path, threshold: float | None, divergence: str) -> None:
    """The GIF of copy 0's first episode; with logged influence, arrows on its influential
    moments (`infoflow.influence_video`) and the timeline plot beside it."""
    from trainers.envs import write_gif

    if "influence" in logged and np.isfinite(logged["influence"][0]).any():
        from infoflow.influence_video import (
            draw_influence_arrows,
            influence_threshold,
            plot_influence_timeline,
        )

        influence = logged["influence"][0]                                 # [T, N, N]
        unit = f"nats ({divergence})" if divergence else "nats"
        bar = influence_threshold(influence) if threshold is None else threshold
        frames = draw_influence_arrows(frames, logged["positions"][0], influence,
                                       scale=RENDER_SCALE, threshold=bar, unit=unit)
        plot_influence_timeline(influence, agents, bar, timeline, unit=unit)
    write_gif(frames, gif)


@contextlib.contextmanager
def _staged(store: Path, video: Path | None) -> Iterator[tuple[Path, Path | None]]:
    """Temporary siblings to write ``store`` and ``video`` into, moved into place together
    once the block ends without error, removed on any error (Ctrl-C included).

    The store is written as ``.<name>-*.tmp/<name>`` beside ``store`` and renamed at the end
    (missing parent folders of ``store`` are created, and removed again on failure), the GIF
    as ``.<name>-*.tmp.gif`` beside ``video``. Creating them is also the check that both
    places can be written, made before any episode is played; a process killed half-way
    leaves at most those hidden temporary names, never a store or GIF that looks complete.
    """
    made: list[Path] = []  # parent folders created here, deepest first
    tmp_dir = tmp_video = None
    done = False
    try:
        where = store.parent  # the folder named if it cannot be written
        try:
            missing = [f for f in (store.parent, *store.parent.parents) if not f.exists()]
            for folder in reversed(missing):  # shallowest first
                where = folder
                folder.mkdir()
                made.insert(0, folder)
            where = store.parent
            tmp_dir = Path(tempfile.mkdtemp(prefix=f".{store.name}-", suffix=".tmp",
                                            dir=store.parent))
        except OSError as exc:
            raise PermissionError(f"cannot write the evaluation store {str(store)!r} "
                                  f"({exc.strerror}: {str(where)!r}); pass --out in a "
                                  "writable folder") from None
        if video is not None:
            try:
                fd, name = tempfile.mkstemp(prefix=f".{video.stem}-", suffix=".tmp.gif",
                                            dir=video.parent)
            except OSError as exc:
                raise PermissionError(f"cannot write --video {str(video)!r} ({exc.strerror}: "
                                      f"{str(video.parent)!r}); choose a file in a writable "
                                      "folder") from None
            os.close(fd)
            tmp_video = Path(name)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_video, 0o666 & ~umask)  # as a plain open() would make it
        yield tmp_dir / store.name, tmp_video
        try:
            os.rename(tmp_dir / store.name, store)
        except OSError:
            if store.exists():
                raise FileExistsError(f"{str(store)!r} was created by another process during "
                                      "the evaluation; choose another --out") from None
            raise
        done = True
        if tmp_video is not None:
            os.replace(tmp_video, video)
            if (tmp_dir / TIMELINE).exists():
                os.replace(tmp_dir / TIMELINE, timeline_path(video))
    finally:
        if tmp_video is not None:
            tmp_video.unlink(missing_ok=True)
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        if not done:
            for folder in made:
                try:
                    folder.rmdir()
                except OSError:
                    break
