"""Acting cost of the influence models on one core: the counterfactual pass and the whole `act`.

Times, for Cleanup-sized agents (5 agents, 15x15 views, LSTM 128, 9 actions, vocabulary 9) and
E env copies, (1) the counterfactual LSTM pass of the communication model (36 counterfactual
messages per agent) as the fused kernel (`trainers.models.lstm_kernel`) and as plain PyTorch
(``head(activate(counterfactual_pre(...)))``), and (2) one `AgentsModel.act` step per model.

Usage::

    python benchmarks/bench_counterfactual.py              # E = 32
    python benchmarks/bench_counterfactual.py --n-envs 8 64 --repeats 200
"""

from __future__ import annotations

import argparse
import time

import torch
from _machine import machine_description

from trainers.models import AgentsModel, ModelConfig
from trainers.models.influence import counterfactual_pre, slot_rows
from trainers.models.layers import to_agent_last

N_AGENTS, N_ACTIONS, VIEW = 5, 9, (15, 15, 3)


def per_call_ms(fn, repeats: int) -> float:
    """Median over 5 rounds of the mean time per call, in ms."""
    for _ in range(max(3, repeats // 10)):
        fn()
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        rounds.append((time.perf_counter() - t0) / repeats * 1e3)
    return sorted(rounds)[2]


def random_state(model: AgentsModel, n_envs: int, g: torch.Generator) -> dict:
    state = model.initial_state(n_envs)
    state["h"] = 0.3 * torch.randn(state["h"].shape, generator=g)
    state["c"] = 0.3 * torch.randn(state["c"].shape, generator=g)
    if "prev_message" in state:
        state["prev_message"] = torch.randint(0, model.cfg.vocab_size,
                                              state["prev_message"].shape, generator=g)
    return state


def counterfactual_times(n_envs: int, repeats: int) -> tuple[float, float]:
    """(fused kernel, plain PyTorch) ms per counterfactual pass of the communication model."""
    g = torch.Generator().manual_seed(0)
    model = AgentsModel(ModelConfig(kind="communication"), N_AGENTS, N_ACTIONS, VIEW, seed=0)
    state = random_state(model, n_envs, g)
    cstate = model.core_state(state)
    slots = state["prev_message"][:, model.others]                        # [E, N, N-1]
    core, off = model.core, model.mlp.out_features
    rows = slot_rows(core.input_rows(off, off + model.n_slots * model.slot_size).detach(),
                     model.n_slots)                                        # [N, S, V, G]
    with torch.no_grad():
        gates = core.gates(torch.randn(n_envs, N_AGENTS, core.inp.out_features, generator=g),
                           cstate)                                         # [E, N, G]

        def fused():
            return core.counterfactual(gates, rows, slots, cstate, model.policy_head)

        def plain():
            out, _ = core.activate(counterfactual_pre(gates, rows, slots), cstate)
            return to_agent_last(out, model.policy_head)

        torch.testing.assert_close(fused(), plain(), atol=2e-5, rtol=1e-4)
        return per_call_ms(fused, repeats), per_call_ms(plain, repeats)


def act_ms(kind: str, n_envs: int, repeats: int) -> float:
    g = torch.Generator().manual_seed(0)
    model = AgentsModel(ModelConfig(kind=kind, influencers=1), N_AGENTS, N_ACTIONS, VIEW, seed=0)
    obs = torch.randint(0, 256, (n_envs, N_AGENTS, *VIEW), dtype=torch.uint8, generator=g)
    visible = torch.ones(n_envs, N_AGENTS, N_AGENTS, dtype=torch.bool)
    state = random_state(model, n_envs, g)
    return per_call_ms(lambda: model.act(obs, state, visible, generator=g), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, nargs="+", default=[32])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("# bench_counterfactual: 5 agents, 15x15 views, LSTM 128, 9 actions, vocabulary 9, "
          "one torch thread")
    print(machine_description([f"torch {torch.__version__}"]))
    print()
    print("| copies E | counterfactual pass, fused (ms) | plain PyTorch (ms) | act a3c (ms) | "
          "act influence | act communication | act moa |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for e in args.n_envs:
        fused, plain = counterfactual_times(e, args.repeats)
        acts = [act_ms(k, e, args.repeats) for k in ("a3c", "influence", "communication", "moa")]
        print(f"| {e} | {fused:.2f} | {plain:.2f} | " + " | ".join(f"{a:.2f}" for a in acts)
              + " |")


if __name__ == "__main__":
    main()
