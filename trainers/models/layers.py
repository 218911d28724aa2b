"""Layers with an agent axis in their weights: N independent networks computed as one batch.

Every parameter has shape [N, ...]; agent n only ever touches slice n, so agents are independent
(no parameter sharing) while running as one batched matmul / grouped convolution.
Inputs carry the agent axis second to last for features: x [..., N, in].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from trainers.models.influence import counterfactual_pre
from trainers.models.lstm_kernel import lstm_counterfactual_logits

__all__ = ["AgentLinear", "AgentConv2d", "AgentCore", "agent_linear", "agent_major_linear",
           "agent_linear_to_agent_major", "init_uniform_", "others_index", "to_agent_last"]


def others_index(n_agents: int) -> Tensor:
    """int64 [N, N-1]: row n lists the agents other than n, in increasing order."""
    idx = torch.arange(n_agents)
    return torch.stack([torch.cat([idx[:n], idx[n + 1:]]) for n in range(n_agents)])


def to_agent_last(x: Tensor, layer: nn.Module) -> Tensor:
    """Apply a per-agent layer to x ``[B, N, *extra, F]`` (agent axis 1) ->
    ``[B, N, *extra, F']``."""
    return layer(x.movedim(1, -2)).movedim(-2, 1)


def init_uniform_(t: Tensor, fan_in: int, generator: torch.Generator | None,
                  gain: float = 1.0) -> None:
    """Fill `t` in place with U(-gain/sqrt(fan_in), gain/sqrt(fan_in)) (torch's Linear default)."""
    bound = gain / math.sqrt(fan_in)
    with torch.no_grad():
        t.uniform_(-bound, bound, generator=generator)


class AgentLinear(nn.Module):
    """y[..., n, :] = x[..., n, :] @ weight[n] + bias[n]; weight [N, in, out], bias [N, out]."""

    def __init__(self, n_agents: int, in_features: int, out_features: int,
                 generator: torch.Generator | None = None, gain: float = 1.0) -> None:
        super().__init__()
        self.n_agents, self.in_features, self.out_features = n_agents, in_features, out_features
        self.weight = nn.Parameter(torch.empty(n_agents, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(n_agents, out_features))
        init_uniform_(self.weight, in_features, generator, gain)

    def forward(self, x: Tensor) -> Tensor:
        """x [..., N, in] -> [..., N, out]."""
        return agent_linear(x, self.weight, self.bias)


def agent_linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """x [..., N, in], weight [N, in, out], bias [N, out] -> [..., N, out] (one batched matmul)."""
    n, d_in, d_out = weight.shape
    lead = x.shape[:-2]
    xb = x.reshape(-1, n, d_in).transpose(0, 1)  # [N, B, in]
    y = torch.baddbmm(bias.unsqueeze(1), xb, weight)  # [N, B, out]
    return y.transpose(0, 1).reshape(*lead, n, d_out)


def agent_linear_to_agent_major(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """x [..., N, in] -> agent-major [N, prod(...), out]: `agent_linear` without the copy back to
    agent-second layout (for the learner, which steps agent-major)."""
    n, d_in, _ = weight.shape
    return torch.baddbmm(bias.unsqueeze(1), x.reshape(-1, n, d_in).transpose(0, 1), weight)


def agent_major_linear(x: Tensor, layer: AgentLinear) -> Tensor:
    """A per-agent layer on agent-major x ``[N, *extra, in]`` -> ``[N, *extra, out]``
    (no copies)."""
    n, d_in = x.shape[0], x.shape[-1]
    y = torch.baddbmm(layer.bias.unsqueeze(1), x.reshape(n, -1, d_in), layer.weight)  # [N, B, out]
    return y.view(*x.shape[:-1], layer.out_features)


class AgentConv2d(nn.Module):
    """Per-agent conv as one grouped convolution; weight [N, out, in, k, k], bias [N, out]."""

    def __init__(self, n_agents: int, in_channels: int, out_channels: int, kernel: int,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.n_agents, self.in_channels, self.out_channels = n_agents, in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(n_agents, out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(n_agents, out_channels))
        init_uniform_(self.weight, in_channels * kernel * kernel, generator)

    def forward(self, x: Tensor) -> Tensor:
        """x [B, N * C, H, W] (agent-major channels; channels-last memory is fastest on CPU)
        -> [B, N * out, H - k + 1, W - k + 1] (stride 1, no padding)."""
        n, out, c = self.n_agents, self.out_channels, self.in_channels
        return nn.functional.conv2d(x, self.weight.reshape(n * out, c, *self.weight.shape[-2:]),
                                    self.bias.reshape(-1), groups=n)  # [B, N*out, H', W']


class AgentCore(nn.Module):
    """Per-agent recurrent core: an LSTM cell, or one feed-forward ReLU layer ("ff").

    The step is split so that counterfactual inputs cost one batched pass:
    ``pre = input_proj(x)`` is linear in x (a one-hot input adds one weight row, see
    `input_rows`); ``gates = pre + recurrent_proj(state)``; ``out, state = activate(gates, state)``
    applies the nonlinearity. ``gates`` may carry extra axes after the agent axis
    (``[B, N, *extra, G]``) that broadcast against the state [B, N, H]. LSTM gate order: i, f, o, g.
    """

    def __init__(self, n_agents: int, in_features: int, hidden: int, kind: str = "lstm",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if kind not in ("lstm", "ff"):
            raise ValueError(f"core kind {kind!r} is unknown; use 'lstm' or 'ff'")
        self.kind, self.hidden, self.n_agents = kind, hidden, n_agents
        gates = 4 * hidden if kind == "lstm" else hidden
        self.inp = AgentLinear(n_agents, in_features, gates, generator)
        if kind == "lstm":
            self.rec = nn.Parameter(torch.empty(n_agents, hidden, gates))
            init_uniform_(self.rec, hidden, generator)
            with torch.no_grad():  # forget-gate bias 1: remember by default
                self.inp.bias[:, hidden:2 * hidden] = 1.0

    @property
    def recurrent(self) -> bool:
        return self.kind == "lstm"

    def initial_state(self, n_envs: int, device: torch.device | str) -> dict[str, Tensor]:
        if not self.recurrent:
            return {}
        zeros = torch.zeros(n_envs, self.n_agents, self.hidden, device=device)  # [E, N, H]
        return {"h": zeros, "c": zeros.clone()}

    def input_proj(self, x: Tensor) -> Tensor:
        """x [..., N, in] -> pre-activations [..., N, G] (bias included)."""
        return self.inp(x)

    def input_proj_agent_major(self, x: Tensor) -> Tensor:
        """x [..., N, in] -> agent-major pre-activations [N, prod(...), G] (bias included)."""
        return agent_linear_to_agent_major(x, self.inp.weight, self.inp.bias)

    def input_rows(self, start: int, stop: int) -> Tensor:
        """Weight rows of input features start..stop-1: [N, stop - start, G]."""
        return self.inp.weight[:, start:stop]

    def recurrent_proj(self, state: dict[str, Tensor]) -> Tensor | None:
        """h [B, N, H] -> h @ W_hh [B, N, G]; None for the ff core."""
        if not self.recurrent:
            return None
        return torch.bmm(state["h"].transpose(0, 1), self.rec).transpose(0, 1)  # [B, N, 4H]

    def activate(self, gates: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """gates ``[B, N, *extra, G]`` -> out ``[B, N, *extra, H]``, new state {h, c} of that
        shape."""
        if not self.recurrent:
            return torch.relu(gates), {}
        hd = self.hidden
        c = state["c"]
        c = c.reshape(*c.shape[:2], *([1] * (gates.dim() - c.dim())), hd)
        sig = torch.sigmoid(gates[..., :3 * hd])  # i, f, o
        g = torch.tanh(gates[..., 3 * hd:])
        c_new = torch.addcmul(sig[..., hd:2 * hd] * c, sig[..., :hd], g)
        h_new = sig[..., 2 * hd:] * torch.tanh(c_new)
        return h_new, {"h": h_new, "c": c_new}

    def counterfactual(self, pre: Tensor, rows: Tensor, actual: Tensor, state: dict[str, Tensor],
                       head: AgentLinear) -> Tensor:
        """A head on the outputs of many one-hot counterfactual inputs from one state (no grad).

        pre [B, N, G]: the actual gates' pre-activations (recurrent part included); rows
        [N, S, V, G]: the weight rows of S one-hot slots of V values; actual int [B, N, S]: each
        slot's actual value (-1 = empty). Entry (b, n, s, v) has slot s set to v and the other
        slots at their actual values: pre-activation ``pre - rows[actual] + rows[v]``
        (`trainers.models.influence.counterfactual_pre`). Returns ``head`` of the core outputs
        [B, N, S, V, out]. An LSTM on the CPU in float32 runs as one fused kernel
        (`trainers.models.lstm_kernel`, activations within 5e-7 of exact); otherwise this is
        ``head(activate(counterfactual_pre(pre, rows, actual), state)[0])``. Acting only.
        """
        if self.recurrent and pre.device.type == "cpu" and pre.dtype == torch.float32:
            return lstm_counterfactual_logits(pre, rows, actual, state["c"], head.weight,
                                              head.bias)
        with torch.no_grad():
            out, _ = self.activate(counterfactual_pre(pre, rows, actual), state)  # [B,N,S,V,H]
            return to_agent_last(out, head)

    def gates(self, pre: Tensor, state: dict[str, Tensor]) -> Tensor:
        """pre ``[B, N, *extra, G]`` -> pre + recurrent_proj(state) broadcast over ``*extra``
        (the gate pre-activations `activate` and `counterfactual` take); pre itself for the ff
        core."""
        rec = self.recurrent_proj(state)
        if rec is None:
            return pre
        return pre + rec.reshape(*rec.shape[:2], *([1] * (pre.dim() - rec.dim())), -1)

    def step(self, pre: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """pre ``[B, N, *extra, G]``, state {h, c: [B, N, H]} -> out ``[B, N, *extra, H]``,
        new state."""
        return self.activate(self.gates(pre, state), state)
