"""One A3C worker: its own batch of E env copies, rollouts, loss, clip, asynchronous update.

The loop of :meth:`Worker.run_episode` reads in the order it runs (Mnih et al. 2016; Jaques et
al. 2019 supplement 10.4)::

    reset the E copies (seeded by (run seed, worker, episode)) and the recurrent state
    repeat until the episode's horizon:
        rollout: T = min(rollout_length, steps left) env steps with model.act (no grad)
        bootstrap: model.act on the obs after the last step (its actions start the next rollout)
        loss: model.loss(rollout, beta(t)) replays the rollout with gradients
        clip each agent's gradient norm; the worker's link applies the gradients to the
        shared parameters at lr(t) and leaves their newest values in the worker's model
        (`trainers.a3c.parameters`); count T * E * N agent steps
        every ``logging.progress_rollouts`` rollouts: a RolloutReport of the episode so far
    episode summary (returns, equality, influence, losses) and the logged copies' arrays

Rollouts end at the episode's end, so episodes are self-contained: a worker can stop at an
episode boundary and a resumed run continues bit for bit (``workers = 1``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from infoflow.communication import gini_kernel
from trainers.a3c.parameters import ParameterLink
from trainers.a3c.supervision import raise_pending_interrupt
from trainers.config import TrainConfig, game_config
from trainers.schedules import beta_at, learning_rate
from trainers.trajectory_log import EpisodeRecorder, logged_copies

__all__ = ["Worker", "EpisodeResult", "RolloutReport", "episode_seed", "build_env",
           "mean_equality"]


def episode_seed(seed: int, rank: int, episode: int, stream: int = 0) -> int:
    """Seed of stream ``stream`` (0 env, 1 actions) of episode ``episode`` of worker ``rank``.

    Examples
    --------
    >>> episode_seed(0, 0, 0) == episode_seed(0, 0, 0) != episode_seed(0, 0, 1)
    True
    """
    ss = np.random.SeedSequence([int(seed), int(rank), int(episode), int(stream)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def build_env(cfg: TrainConfig, n_envs: int | None = None, seed: int = 0):
    """The batched game of ``cfg.env`` (``n_envs`` copies; default ``cfg.env.n_envs``)."""
    from trainers.envs import make_env

    return make_env(cfg.env.game, n_envs=n_envs or cfg.env.n_envs, seed=seed,
                    config=game_config(cfg.env), map_path=cfg.env.map or None)


def mean_equality(returns: np.ndarray) -> float:
    """Mean over env copies of 1 - Gini over agents (paper suppl. Eq. 9).

    ``returns`` is float [E, N], the agents' episode returns per copy; copies where the
    coefficient is undefined (returns that differ but sum to <= 0) are left out, and NaN is
    returned when no copy has one.

    Examples
    --------
    >>> mean_equality(np.array([[1.0, 1.0], [2.0, 0.0], [1.0, -1.0]]))
    0.75
    """
    eq = 1.0 - gini_kernel(returns)                                   # [E]
    return float(np.nanmean(eq)) if np.isfinite(eq).any() else float("nan")


@dataclass
class EpisodeResult:
    """What a worker reports after an episode (plain data, cheap to send between processes)."""

    rank: int
    episode: int
    """Index of the episode within the worker (0, 1, ...)."""
    complete: bool
    """False when the worker stopped mid-episode (budget reached or stop requested)."""
    steps: int
    """Env steps taken in the episode."""
    worker_steps: int
    """Agent steps this worker has taken in the run, after the episode."""
    stats: dict[str, float] = field(default_factory=dict)
    logged: dict[str, np.ndarray] | None = None
    seconds: float = 0.0


@dataclass
class RolloutReport:
    """A worker's running episode so far, sent every ``logging.progress_rollouts`` rollouts
    (plain data). ``stats`` has the keys of :attr:`EpisodeResult.stats`, over the episode's
    first ``episode_step`` env steps (returns summed so far, means so far)."""

    rank: int
    episode: int
    episode_step: int
    """Env steps of the episode played so far."""
    worker_steps: int
    """Agent steps this worker has taken in the run so far."""
    stats: dict[str, float] = field(default_factory=dict)


class Worker:
    """An A3C worker over E env copies.

    Parameters
    ----------
    rank : int
        Worker index (0..W-1); seeds its env copies and action sampling.
    cfg : TrainConfig
        The run's config.
    model : AgentsModel
        The model it acts and computes gradients with: the shared model itself (W = 1), a
        local copy kept in sync by ``link`` (W > 1, Ray), or a fixed policy (evaluation).
    link : ParameterLink or None
        Where its updates go (`trainers.a3c.parameters`); None plays without learning and
        counts steps locally.
    episode : int
        Index of the first episode to play (resumed runs continue the count).
    log_all : bool
        Record every episode of every copy (evaluation), not the config's logging rate.
    """

    def __init__(self, rank: int, cfg: TrainConfig, model, link: ParameterLink | None = None,
                 episode: int = 0, log_all: bool = False) -> None:
        from trainers.models import reward_shaper

        self.rank, self.cfg, self.episode = rank, cfg, episode
        self.model, self.link = model, link
        self.env = build_env(cfg, seed=episode_seed(cfg.trainer.seed, rank, episode))
        self.E, self.N, self.A = self.env.n_envs, self.env.n_agents, self.env.n_actions
        self._shaper_cls = reward_shaper
        self.generator = torch.Generator()
        self.log_all = log_all
        self.with_messages = model.variant.sends_messages
        self.with_influence = model.variant.computes_influence
        self.frames: list[np.ndarray] | None = None  # set to a list to capture copy 0's frames
        # this worker's agent steps (a resumed run's count; all of them when link is None)
        self._steps = link.count(rank, 0) if link is not None else 0

    # -- schedules -----------------------------------------------------------------------

    def global_steps(self) -> int:
        """Agent steps of all workers so far."""
        return self.link.global_steps() if self.link is not None else self._steps

    def beta(self, t: int) -> float:
        """β(t) of the curriculum."""
        tr = self.cfg.trainer
        return beta_at(tr, t)

    def _recorder(self) -> EpisodeRecorder | None:
        lg = self.cfg.logging
        if self.log_all:
            n_logged, policy = self.E, True
        elif lg.episode_every == 0 or self.episode % lg.episode_every:
            return None
        else:
            n_logged = logged_copies(self.E, lg.env_fraction)
            k = self.episode // lg.episode_every
            policy = lg.policy_every > 0 and k % lg.policy_every == 0
        counters = ("apples", "waste") if self.env.game == "cleanup" else ("apples",)
        return EpisodeRecorder(self.env.horizon, n_logged, self.N, self.A, with_policy=policy,
                               with_messages=self.with_messages,
                               with_influence=self.with_influence, with_counters=counters)

    # -- the episode ---------------------------------------------------------------------

    def run_episode(self, should_stop: Callable[[], bool] = lambda: False,
                    report: Callable[[RolloutReport], None] | None = None) -> EpisodeResult:
        """Play (and, with a link, learn from) one episode of the E copies.

        ``should_stop`` is asked before each rollout; the budget ``trainer.total_steps`` too.
        ``report`` receives a :class:`RolloutReport` every ``logging.progress_rollouts``
        rollouts (learning only; not after the last rollout of the episode).
        """
        from trainers.models import Rollout

        cfg, env, model = self.cfg, self.env, self.model
        learn = self.link is not None
        E, N, T_max = self.E, self.N, cfg.trainer.rollout_length
        start = time.perf_counter()
        seed = cfg.trainer.seed
        self.generator.manual_seed(episode_seed(seed, self.rank, self.episode, stream=1))
        obs = torch.from_numpy(env.reset(seed=episode_seed(seed, self.rank, self.episode)))
        info = env.info()  # the state after reset, as step reports it
        visible = torch.from_numpy(info["visible"])                  # [E, N, N]
        state = model.initial_state(n_envs=E, device=torch.device("cpu"))
        shaper = self._shaper_cls(cfg.model, n_envs=E, n_agents=N, device=torch.device("cpu"))
        recorder = self._recorder()
        returns = np.zeros((E, N), np.float64)                       # [E, N] env reward
        sums: dict[str, float] = {}
        n_updates, influence_sum, apples_sum, waste_sum = 0, 0.0, 0.0, 0.0
        if self.frames is not None:
            self.frames.append(env.render(0))
        with torch.no_grad():
            out = model.act(obs, state, visible, generator=self.generator)
        t_ep, complete = 0, True
        while t_ep < env.horizon:
            raise_pending_interrupt()  # a Ctrl-C / SIGTERM lost in a numba callback
            if learn and (should_stop() or self.global_steps() >= cfg.trainer.total_steps):
                complete = False
                break
            T = min(T_max, env.horizon - t_ep)
            # buffers, time-major
            obs_buf = torch.empty((T, E, N, *env.obs_shape), dtype=torch.uint8)  # [T,E,N,H,W,3]
            act_buf = torch.empty((T, E, N), dtype=torch.int64)                  # [T, E, N]
            rew_buf = torch.empty((T, E, N), dtype=torch.float32)                # [T, E, N]
            inf_buf = torch.empty((T, E, N), dtype=torch.float32)                # [T, E, N]
            vis_buf = torch.empty((T, E, N, N), dtype=torch.bool)                # [T, E, N, N]
            msg_buf = torch.empty((T, E, N), dtype=torch.int64) if self.with_messages else None
            done_buf = torch.zeros((T, E), dtype=torch.bool)                     # [T, E]
            start_state = state
            for i in range(T):
                obs_buf[i], vis_buf[i], act_buf[i] = obs, visible, out.actions
                inf_buf[i] = out.influence
                if msg_buf is not None:
                    msg_buf[i] = out.messages
                actions = out.actions.numpy()
                next_obs, rewards, next_info = env.step(actions)
                last = bool(next_info["truncated"])
                done_buf[i] = last
                env_r = torch.from_numpy(rewards)
                rew_buf[i] = shaper(env_r, done_buf[i])
                returns += rewards
                influence_sum += float(out.influence.mean())
                apples_sum += float(info["apples"].mean())
                waste_sum += float(info["waste"].mean()) if "waste" in info else 0.0
                if recorder is not None:
                    recorder.record(
                        actions, rewards, info, intrinsic=out.influence.numpy(),
                        influence=out.influence_pairs.numpy(),
                        policy=out.probs.numpy() if recorder.buf.get("policy") is not None
                        else None,
                        messages=out.messages.numpy() if out.messages is not None else None)
                if self.frames is not None:
                    self.frames.append(env.render(0))
                state = out.state
                obs, info = torch.from_numpy(next_obs), next_info
                visible = torch.from_numpy(info["visible"])
                with torch.no_grad():  # next step's action; after the last step: the bootstrap
                    out = model.act(obs, state, visible, generator=self.generator)
            t_ep += T
            if learn:
                rollout = Rollout(
                    obs=obs_buf, actions=act_buf, rewards=rew_buf, influence=inf_buf,
                    visible=vis_buf, done=done_buf, truncated=done_buf.clone(),
                    state=start_state, bootstrap_value=out.values, messages=msg_buf,
                    bootstrap_message_value=out.message_values,
                    # MOA targets of the last step: the next actions, none after the episode
                    next_actions=None if t_ep == env.horizon else out.actions,
                    next_visible=None if t_ep == env.horizon else visible)
                terms = self._update(rollout)
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + value
                n_updates += 1
            self._steps = (self.link.count(self.rank, T * E * N) if self.link is not None
                           else self._steps + T * E * N)
            every = cfg.logging.progress_rollouts
            if (report is not None and learn and every > 0 and n_updates % every == 0
                    and t_ep < env.horizon):
                report(RolloutReport(self.rank, self.episode, t_ep, self._steps, self._summary(
                    returns, sums, n_updates, t_ep, influence_sum, apples_sum, waste_sum, info)))
        stats = self._summary(returns, sums, n_updates, t_ep, influence_sum, apples_sum,
                              waste_sum, info)
        result = EpisodeResult(
            rank=self.rank, episode=self.episode, complete=complete, steps=t_ep,
            worker_steps=self._steps, stats=stats,
            logged=recorder.finish() if recorder is not None and complete else None,
            seconds=time.perf_counter() - start)
        if complete:
            self.episode += 1
        return result

    def _update(self, rollout) -> dict[str, float]:
        """Loss, per-agent gradient clip, and one update of the shared parameters."""
        cfg, model = self.cfg, self.model
        t = self.global_steps()
        loss = model.loss(rollout, beta=self.beta(t))
        model.zero_grad(set_to_none=True)
        loss.total.backward()
        model.clip_grad_norm_(cfg.trainer.max_grad_norm)
        tr = cfg.trainer
        self.link.update(model, learning_rate(t, tr.total_steps, tr.lr_init, tr.lr_end))
        return {k: float(v) for k, v in loss.terms.items()}

    def _summary(self, returns: np.ndarray, sums: dict[str, float], n_updates: int, steps: int,
                 influence_sum: float, apples_sum: float, waste_sum: float,
                 info: dict[str, Any]) -> dict[str, float]:
        t = self.global_steps()
        per_agent = returns.mean(0)                                   # [N]
        stats: dict[str, float] = {
            "collective_return": float(returns.sum(1).mean()),
            "equality": mean_equality(returns),
            "influence_reward": influence_sum / max(steps, 1),
            "beta": self.beta(t),
            "apples": apples_sum / max(steps, 1),
        }
        if self.env.game == "cleanup":
            stats["waste"] = waste_sum / max(steps, 1)
        if "box_open" in info:  # box trapped: share of copies opened, mean opening step
            stats["box_opened"] = float(np.mean(info["box_open"]))
            opened = info["box_opened_at"][info["box_open"]]
            stats["box_opened_at"] = float(opened.mean()) if opened.size else float("nan")
        for k in range(self.N):
            stats[f"return_{k}"] = float(per_agent[k])
        for key, value in sums.items():  # the loss's named terms, averaged over updates
            if key in ("policy", "value", *self.model.variant.loss_names):
                key = f"loss_{key}"
            elif key == "return":
                key = "n_step_return"
            elif key in stats:
                key = f"train_{key}"
            stats[key] = value / max(n_updates, 1)
        return stats
