"""Shared helpers of the trainer tests: a float64 brute-force reference of every influence value.

Independent of the models' counterfactual machinery (fused kernel, batched one-hot rows): a
float64 copy of the network is stepped once per counterfactual value, one value at a time,
through its plain forward pieces (`core.step`, the heads), and the divergence is computed in
float64 numpy from the resulting probabilities. Tests get it as the fixture
``influence_reference`` (tests/trainer/test_influence_exact.py).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from trainers.models.layers import others_index


def divergence64(p: np.ndarray, q: np.ndarray, kind: str, taken: int | None) -> float:
    """D[p || q] in nats, float64; p, q probability vectors [A]."""
    if kind == "kl":
        return float(np.sum(p * (np.log(p) - np.log(q))))
    if kind == "jsd":
        m = 0.5 * (p + q)
        kl_pm = np.sum(p * (np.log(p) - np.log(m)))
        return 0.5 * float(kl_pm + np.sum(q * (np.log(q) - np.log(m))))
    return float(np.log(p[taken]) - np.log(q[taken]))


def _softmax64(logits: torch.Tensor) -> np.ndarray:
    return torch.softmax(logits.double(), -1).numpy()


def _double_state(state: dict[str, torch.Tensor], b: int) -> dict[str, torch.Tensor]:
    return {k: v[b:b + 1].double() if v.is_floating_point() else v[b:b + 1]
            for k, v in state.items()}


@torch.no_grad()
def reference_pairs(model, obs: torch.Tensor, state: dict[str, torch.Tensor],
                    visible: torch.Tensor | None, actions: torch.Tensor) -> np.ndarray:
    """Influence pairs [E, N(source), N(target)] (nats, float64; NaN where undefined).

    ``model`` the trainer's (float32) model, ``obs``/``state``/``visible`` what its ``act`` got,
    ``actions`` int [E, N] what that step sampled (the sampled values define the actual
    counterfactual branch and, for PMI, the target's taken action).
    """
    m64 = copy.deepcopy(model).double()
    kind, div, n = model.kind, model.cfg.divergence, model.n_agents
    n_envs = obs.shape[0]
    a = model.n_actions
    out = np.full((n_envs, n, n), np.nan)
    feats = m64.torso(obs)  # float64 features (the torso casts uint8 to the weights' dtype)
    z = m64.mlp(feats)  # [E, N, fc]
    others = others_index(n)

    def policy(zb, slots, cs):
        h, _ = m64.core.step(m64.core.input_proj(m64.core_input(zb, slots)), cs)
        return m64.heads(h)[0][0]  # [N, A] logits

    for b in range(n_envs):
        cs = {k: v for k, v in _double_state(state, b).items() if k in ("h", "c")}
        zb = z[b:b + 1]
        if kind == "influence":
            infl = model.influencers.tolist()
            empty = torch.full((1, n, len(infl)), -1, dtype=torch.long)
            src_p = _softmax64(policy(zb, empty, cs))  # [N, A] influencers act first
            for j in range(n):
                if j in infl:
                    continue
                for ki, k in enumerate(infl):
                    p_cf = []
                    for alt in range(a):
                        slots = empty.clone()
                        slots[0, j] = actions[b, infl]
                        slots[0, j, ki] = alt
                        p_cf.append(_softmax64(policy(zb, slots, cs)[j]))
                    marginal = sum(src_p[k][v] * p_cf[v] for v in range(a))
                    out[b, k, j] = divergence64(p_cf[int(actions[b, k])], marginal, div,
                                                int(actions[b, j]))
        elif kind == "communication":
            prev = state["prev_message"][b:b + 1, others]  # [1, N, N-1]
            pi = state["prev_message_logp"][b].double()
            pi = torch.softmax(pi, -1).numpy()  # the message policies of t-1, renormalised
            v_size = pi.shape[-1]
            for j in range(n):
                for s, k in enumerate(others[j].tolist()):
                    if prev[0, j, s] < 0:
                        continue
                    p_cf = []
                    for msg in range(v_size):
                        slots = prev.clone()
                        slots[0, j, s] = msg
                        p_cf.append(_softmax64(policy(zb, slots, cs)[j]))
                    marginal = sum(pi[k][m] * p_cf[m] for m in range(v_size))
                    out[b, k, j] = divergence64(p_cf[int(prev[0, j, s])], marginal, div,
                                                int(actions[b, j]))
        elif kind == "moa":
            pol_p = _softmax64(policy(zb, None, cs))  # [N, A]
            zm = m64.moa.mlp(feats[b:b + 1])  # [1, N, fc]
            mcs = {k[4:]: v for k, v in _double_state(state, b).items() if k.startswith("moa_")}
            for k in range(n):
                p_cf = []
                for alt in range(a):
                    acts = actions[b].clone()
                    acts[k] = alt
                    h, _ = m64.moa.core.step(m64.moa.pre(zm, acts.unsqueeze(0)), mcs)
                    p_cf.append(_softmax64(m64.moa.logits(h)[0, k]))  # [N-1, A]
                for s, j in enumerate(others[k].tolist()):
                    if not bool(visible[b, k, j]):
                        continue
                    cf_j = [p[s] for p in p_cf]
                    marginal = sum(pol_p[k][v] * cf_j[v] for v in range(a))
                    out[b, k, j] = divergence64(cf_j[int(actions[b, k])], marginal, div, None)
        else:
            raise ValueError(f"model kind {kind!r} computes no influence")
    return out


@pytest.fixture
def influence_reference():
    """:func:`reference_pairs`: float64 brute-force influence pairs of one acting step."""
    return reference_pairs
