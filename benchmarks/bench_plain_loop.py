"""The trainer's A3C rate against a plain-PyTorch act+learn loop of the paper's network.

The bound: the paper's network (supplement 10.4: conv 3->6 kernel 3, FC 32, FC 32, LSTM 128,
policy and value heads) written the obvious way, one ``nn.Module`` per agent from torch's own
layers (``Conv2d``, ``Linear``, ``LSTMCell``), acting on E env copies of N agents and learning
from each rollout of T steps (replay through the LSTM, A3C loss, backward, gradient clipping,
``torch.optim.RMSprop``), on random views with no environment. Every phase in one process and
one thread, measured in the same run as:

1. the same loop with the trainer's model (`trainers.models.AgentsModel`, kind a3c: all agents as
   one batch, agent-major replay), also without environment;
2. the trainer itself (`trainers.a3c.train`, one worker, Cleanup), environment included.

Ratios are printed; absolute rates depend on the CPU.

Usage::

    python benchmarks/bench_plain_loop.py                 # E = 32, N = 5, T = 20
    python benchmarks/bench_plain_loop.py --updates 40 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time

import torch
from _machine import machine_description
from torch import nn

from trainers.a3c import train
from trainers.config import load_config
from trainers.losses import n_step_returns
from trainers.models import AgentsModel, ModelConfig
from trainers.models.synthetic import random_rollout

N_AGENTS, N_ACTIONS, VIEW = 5, 9, (15, 15, 3)


class PlainAgent(nn.Module):
    """One agent's paper network from torch's layers."""

    def __init__(self) -> None:
        super().__init__()
        h, w, c = VIEW
        self.conv = nn.Conv2d(c, 6, 3)
        self.fc = nn.Sequential(nn.Linear(6 * (h - 2) * (w - 2), 32), nn.ReLU(),
                                nn.Linear(32, 32), nn.ReLU())
        self.lstm = nn.LSTMCell(32, 128)
        self.policy = nn.Linear(128, N_ACTIONS)
        self.value = nn.Linear(128, 1)

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 views [B, H, W, 3] -> [B, 32]."""
        x = obs.permute(0, 3, 1, 2).float().div(255.0)
        return self.fc(torch.relu(self.conv(x)).flatten(1))

    def step(self, z, state):
        h, c = self.lstm(z, state)
        return self.policy(h), self.value(h).squeeze(-1), (h, c)


def plain_rate(n_envs: int, t_len: int, updates: int) -> float:
    """Agent-steps/s of the plain loop: act T steps, learn, repeat."""
    g = torch.Generator().manual_seed(0)
    agents = [PlainAgent() for _ in range(N_AGENTS)]
    optims = [torch.optim.RMSprop(a.parameters(), lr=1e-4, alpha=0.99, eps=1e-5) for a in agents]
    obs = torch.randint(0, 256, (t_len + 1, n_envs, N_AGENTS, *VIEW), generator=g,
                        dtype=torch.uint8)
    rewards = torch.randn(t_len, n_envs, generator=g)
    no_done = torch.zeros(t_len, n_envs, dtype=torch.bool)
    states = [(torch.zeros(n_envs, 128), torch.zeros(n_envs, 128)) for _ in agents]

    def one_update() -> None:
        for k, (agent, opt) in enumerate(zip(agents, optims, strict=True)):
            start = states[k]
            with torch.no_grad():  # acting
                state, taken = start, []
                for t in range(t_len):
                    logits, _, state = agent.step(agent.features(obs[t, :, k]), state)
                    taken.append(torch.multinomial(logits.softmax(-1), 1, generator=g)[:, 0])
                _, bootstrap, _ = agent.step(agent.features(obs[t_len, :, k]), state)
            z = agent.features(obs[:t_len, :, k].flatten(0, 1)).view(t_len, n_envs, -1)
            replay, logits_t, values_t = start, [], []
            for t in range(t_len):  # learning: replay with gradients
                logits, value, replay = agent.step(z[t], replay)
                logits_t.append(logits)
                values_t.append(value)
            logp = torch.log_softmax(torch.stack(logits_t), -1)  # [T, E, A]
            values = torch.stack(values_t)  # [T, E]
            returns = n_step_returns(rewards, bootstrap, no_done, no_done, 0.99)
            adv = (returns - values).detach()
            taken_logp = logp.gather(-1, torch.stack(taken).unsqueeze(-1)).squeeze(-1)
            entropy = -(logp.exp() * logp).sum(-1)
            loss = (-(taken_logp * adv).mean() + 0.5 * 0.5 * (returns - values).pow(2).mean()
                    - 0.00176 * entropy.mean())
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), 40.0)
            opt.step()
            states[k] = tuple(s.detach() for s in state)

    one_update()
    start = time.perf_counter()
    for _ in range(updates):
        one_update()
    return updates * t_len * n_envs * N_AGENTS / (time.perf_counter() - start)


def model_rate(n_envs: int, t_len: int, updates: int, profile: bool) -> float:
    """The same act+learn loop with the trainer's AgentsModel (kind a3c) and optimiser."""
    from trainers.a3c.shared_optim import SharedRMSprop

    model = AgentsModel(ModelConfig(kind="a3c"), N_AGENTS, N_ACTIONS, VIEW, seed=0)
    opt = SharedRMSprop(model.parameters(), lr=1e-4, alpha=0.99, eps=1e-5)
    rollout = random_rollout(model, t_len, n_envs, seed=0)
    g = torch.Generator().manual_seed(0)

    def one_update() -> None:
        state = rollout.state
        for t in range(t_len):  # acting: T steps on the rollout's views
            state = model.act(rollout.obs[t], state, rollout.visible[t], g).state
        model.act(rollout.obs[-1], state, rollout.visible[-1], g)  # bootstrap
        model.zero_grad(set_to_none=True)
        model.loss(rollout, beta=0.0).total.backward()
        model.clip_grad_norm_(40.0)
        opt.step()

    one_update()
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(updates):
        one_update()
    if profiler:
        profiler.disable()
    rate = updates * t_len * n_envs * N_AGENTS / (time.perf_counter() - start)
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        print(text.getvalue())
    return rate


def trainer_rate(n_envs: int, t_len: int, steps: int) -> float:
    """Steady-state agent-steps/s of the trainer (one worker, Cleanup, environment included)."""
    rows: list[tuple[float, int]] = []
    cfg = load_config(overrides=[
        "env.game=cleanup", "env.config.n_agents=5", f"env.n_envs={n_envs}",
        "env.config.horizon=100", "trainer.workers=1", f"trainer.rollout_length={t_len}",
        f"trainer.total_steps={steps}", "logging.tensorboard=false", "model.kind=a3c"])
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, os.path.join(tmp, "run"), argv=["bench_plain_loop"],
              progress=lambda row: rows.append((time.perf_counter(), int(row["agent_steps"]))))
    if len(rows) < 2:
        raise SystemExit("the trainer reported fewer than 2 episodes; raise --trainer-steps")
    (t0, s0), (t1, s1) = rows[0], rows[-1]
    return (s1 - s0) / (t1 - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, default=32)
    parser.add_argument("--rollout", type=int, default=20)
    parser.add_argument("--updates", type=int, default=20, help="timed updates per loop")
    parser.add_argument("--trainer-steps", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true", help="profile the model loop")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(machine_description([f"torch {torch.__version__}", "1 thread"]))
    plain = plain_rate(args.n_envs, args.rollout, args.updates)
    ours = model_rate(args.n_envs, args.rollout, args.updates, args.profile)
    trainer = trainer_rate(args.n_envs, args.rollout, args.trainer_steps)
    print(f"E = {args.n_envs}, N = {N_AGENTS}, T = {args.rollout}; agent-steps/s, one thread\n")
    print("| loop | agent-steps/s | vs plain PyTorch |")
    print("|---|---:|---:|")
    for name, rate in (("plain PyTorch, paper network, no env", plain),
                       ("AgentsModel (a3c) act+learn, no env", ours),
                       ("trainer, 1 worker, Cleanup (env included)", trainer)):
        print(f"| {name} | {rate:,.0f} | {rate / plain:.2f} |")


if __name__ == "__main__":
    main()
