"""Rollouts on random observations: for tests, benchmarks and smoke checks without a game.

``python -m trainers.models.synthetic [kind[:core] ...]`` prints one-thread throughput of `act`
and of `loss` + backward for E = 32 env copies, N = 5 agents, T = 20 steps, 15 x 15 views.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import torch

from trainers.models.rollout import Rollout

if TYPE_CHECKING:
    from trainers.models.policy import AgentsModel

__all__ = ["random_rollout", "throughput"]


def random_rollout(model: AgentsModel, n_steps: int, n_envs: int, seed: int = 0,
                   done_at: tuple[int, ...] = (), truncate: bool = True,
                   device: torch.device | str = "cpu") -> Rollout:
    """Act `n_steps` steps on random uint8 views with random rewards and visibility.

    Episodes end after the steps listed in `done_at` (truncated when `truncate`, else
    terminated), in every env copy; the state is reset with `model.reset_state` as a trainer does.
    The bootstrap value comes from one more `act` on the observation after the last step.
    """
    g = torch.Generator(device=device).manual_seed(seed)
    n, shape = model.n_agents, model.obs_shape
    obs = torch.randint(0, 256, (n_steps + 1, n_envs, n, *shape), generator=g, device=device,
                        dtype=torch.uint8)  # [T+1, E, N, H, W, 3]
    visible = torch.rand(n_steps + 1, n_envs, n, n, generator=g, device=device) < 0.6
    visible |= torch.eye(n, dtype=torch.bool, device=device)  # [T+1, E, N, N]
    rewards = torch.randn(n_steps, n_envs, n, generator=g, device=device)  # [T, E, N]
    done = torch.zeros(n_steps, n_envs, dtype=torch.bool, device=device)  # [T, E]
    done[list(done_at)] = True
    truncated = done & truncate
    state = model.initial_state(n_envs, device)
    start = state
    actions, messages, influence = [], [], []
    out = model.act(obs[0], state, visible[0], g)
    for t in range(n_steps):
        actions.append(out.actions)
        messages.append(out.messages)
        influence.append(out.influence)
        state = out.state
        out = model.act(obs[t + 1], state, visible[t + 1], g)  # bootstrap when t = T-1
        if done[t].any():
            state = model.reset_state(state, done[t])
            if t + 1 < n_steps:
                out = model.act(obs[t + 1], state, visible[t + 1], g)
    comm = model.variant.sends_messages
    return Rollout(obs=obs[:-1], actions=torch.stack(actions), rewards=rewards,
                   influence=torch.stack(influence), visible=visible[:-1], done=done,
                   truncated=truncated, state=start, bootstrap_value=out.values,
                   messages=torch.stack(messages) if comm else None,
                   bootstrap_message_value=out.message_values,
                   next_actions=out.actions, next_visible=visible[-1])


def throughput(model: AgentsModel, n_envs: int = 32, n_steps: int = 20,
               repeats: int = 10) -> tuple[float, float]:
    """Agent-steps per second of `act` and of `loss` + backward (best of `repeats` timings)."""
    def best(fn, reps: int) -> float:
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    rollout = random_rollout(model, n_steps, n_envs)
    g = torch.Generator().manual_seed(0)
    state = rollout.state
    obs, visible = rollout.obs[0], rollout.visible[0]

    def learn() -> None:
        model.zero_grad()
        model.loss(rollout, beta=0.1).total.backward()

    learn()
    agents = n_envs * model.n_agents
    act_rate = agents / best(lambda: model.act(obs, state, visible, g), 4 * repeats)
    return act_rate, n_steps * agents / best(learn, repeats)


def main(argv: list[str]) -> None:
    from trainers.models.config import ModelConfig
    from trainers.models.policy import AgentsModel

    torch.set_num_threads(1)
    for spec in argv or ["a3c", "moa"]:
        kind, _, core = spec.partition(":")
        model = AgentsModel(ModelConfig(kind=kind, core=core or "lstm"), 5, 9, (15, 15, 3))
        act_rate, learn_rate = throughput(model)
        both = 1.0 / (1.0 / act_rate + 1.0 / learn_rate)
        print(f"{spec:18s} act {act_rate:9.0f}  loss+backward {learn_rate:9.0f}  "
              f"act+learn {both:9.0f} agent-steps/s")


if __name__ == "__main__":
    main(sys.argv[1:])
