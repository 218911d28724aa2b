"""Observation encoder (paper supplement 10.4): conv 3->6, kernel 3, stride 1, ReLU; FC 32, FC 32.

The conv features are shared by the policy stream and (for MOA) the model of other agents, each of
which has its own fully connected stack (`AgentMLP`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from trainers.models.layers import AgentConv2d, AgentLinear, agent_linear

__all__ = ["ConvTorso", "AgentMLP", "run_mlps"]


class ConvTorso(nn.Module):
    """uint8 views [B, N, H, W, 3] -> flat conv features [B, N, channels * H' * W'] in one pass."""

    def __init__(self, n_agents: int, obs_shape: tuple[int, int, int], channels: int,
                 kernel: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        h, w, c = obs_shape
        if kernel > min(h, w):
            raise ValueError(f"ModelConfig.conv_kernel={kernel} exceeds the view {h}x{w}; "
                             "use a kernel no larger than the view")
        self.conv = AgentConv2d(n_agents, c, channels, kernel, generator)
        self.out_features = channels * (h - kernel + 1) * (w - kernel + 1)

    def forward(self, obs: Tensor) -> Tensor:
        """obs uint8 [B, N, H, W, 3] -> ReLU conv features [B, N, F] (inputs scaled to [0, 1])."""
        b, n, h, w, c = obs.shape
        # one copy to channels-last [B, H, W, N*3], seen as [B, N*3, H, W] (faster grouped conv)
        x = obs.permute(0, 2, 3, 1, 4).reshape(b, h, w, n * c).to(self.conv.weight.dtype)
        x = x.div_(255.0)
        y = self.conv(x.permute(0, 3, 1, 2))  # [B, N*C', H', W'] (channels-last memory)
        return torch.relu(y.reshape(b, n, -1))  # [B, N, F]; ReLU after the copy is faster


class AgentMLP(nn.Module):
    """Fully connected ReLU stack with per-agent weights: [B, N, in] -> [B, N, sizes[-1]]."""

    def __init__(self, n_agents: int, in_features: int, sizes: tuple[int, ...],
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        widths = (in_features, *sizes)
        self.layers = nn.ModuleList(AgentLinear(n_agents, a, b, generator)
                                    for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.out_features = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


def run_mlps(x: Tensor, mlps: Sequence[AgentMLP]) -> list[Tensor]:
    """Several MLPs on the same input x [B, N, F] (policy and MOA streams on the conv features).

    Their first layers run as one batched matmul over the concatenated weights, which reads the
    large conv features once (about 1.6x faster than two matmuls on CPU).
    """
    if len(mlps) == 1:
        return [mlps[0](x)]
    first = [m.layers[0] for m in mlps]
    y = agent_linear(x, torch.cat([f.weight for f in first], dim=-1),
                     torch.cat([f.bias for f in first], dim=-1))  # [B, N, sum of widths]
    outs = []
    for mlp, part in zip(mlps, y.split([f.out_features for f in first], dim=-1), strict=True):
        h = torch.relu(part)
        for layer in mlp.layers[1:]:
            h = torch.relu(layer(h))
        outs.append(h)
    return outs
