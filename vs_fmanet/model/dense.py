"""Residual dense blocks (ESRGAN-style RDB and RRDB), the shallow feature extractors of Net^D and Net^R.

``spatial_dims=2`` builds Conv2d 3x3 layers for ``[N, C, H, W]`` (FMA-Net++, frames folded into the batch);
``spatial_dims=3`` builds Conv3d (1, 3, 3) layers for ``[B, C, T, H, W]`` as in the FMA-Net checkpoints. Both are
the same per-frame operation; parameter names (``layer.i.conv``, ``conv``, ``RDBs.i``, ``conv.0``/``conv.1``) match
the FMA-Net checkpoints so the same classes serve both networks.
"""
from __future__ import annotations

import torch
from torch import nn


def spatial_conv(cin: int, cout: int, kernel: int, spatial_dims: int, bias: bool = False) -> nn.Module:
    """A per-frame k x k convolution: Conv2d, or Conv3d with a (1, k, k) kernel when ``spatial_dims == 3``."""
    if spatial_dims == 2:
        return nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=bias)
    return nn.Conv3d(cin, cout, (1, kernel, kernel), padding=(0, kernel // 2, kernel // 2), bias=bias)


class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, spatial_dims: int) -> None:
        super().__init__()
        self.conv = spatial_conv(cin, growth, 3, spatial_dims)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.act(self.conv(x))], dim=1)


class RDB(nn.Module):
    """Residual dense block: ``layers`` dense 3x3 conv layers (+``growth`` channels each), 1x1 fusion, residual."""

    def __init__(self, channels: int, layers: int, growth: int, spatial_dims: int = 2) -> None:
        super().__init__()
        self.layer = nn.Sequential(*[_DenseLayer(channels + i * growth, growth, spatial_dims) for i in range(layers)])
        self.conv = spatial_conv(channels + layers * growth, channels, 1, spatial_dims, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(self.layer(x))


class RRDB(nn.Module):
    """``blocks`` RDBs in series; all their outputs concatenated, fused by 1x1 then 3x3 conv, plus a global residual."""

    def __init__(self, channels: int, blocks: int, layers: int, growth: int, spatial_dims: int = 2) -> None:
        super().__init__()
        self.RDBs = nn.ModuleList([RDB(channels, layers, growth, spatial_dims) for _ in range(blocks)])
        self.conv = nn.Sequential(
            spatial_conv(blocks * channels, channels, 1, spatial_dims),
            spatial_conv(channels, channels, 3, spatial_dims),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        h = x
        for rdb in self.RDBs:
            h = rdb(h)
            outs.append(h)
        return x + self.conv(torch.cat(outs, dim=1))
