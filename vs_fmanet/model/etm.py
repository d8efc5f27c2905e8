"""Exposure-Time Modulation (ETM): an SFT layer F <- (1 + alpha) * F + beta, with (alpha, beta) from the code u.

The "shallow network" M_j is an MLP (d_u -> C -> 2C) broadcast over H x W [INF, spec §4.3]. Its last layer starts
at zero, so a freshly built ETM is the identity and the exposure code has no effect until trained.
"""
from __future__ import annotations

import torch
from torch import nn


class ETM(nn.Module):
    """forward(feat [N, C, H, W], code [N, d_u]) -> [N, C, H, W]."""

    def __init__(self, code_dim: int, channels: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(code_dim, channels), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(channels, 2 * channels))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, feat: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        alpha, beta = self.mlp(code).chunk(2, dim=1)
        return feat * (1.0 + alpha[:, :, None, None]) + beta[:, :, None, None]
