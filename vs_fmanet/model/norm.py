"""Per-pixel LayerNorm over channels (Restormer "WithBias" variant) for ``[N, C, H, W]`` maps."""
from __future__ import annotations

import torch
from torch import nn


class _Affine(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))


class LayerNorm2d(nn.Module):
    """Normalise each pixel's C values to zero mean / unit variance, then scale and shift (learned).

    Parameters live under ``body.weight`` / ``body.bias`` (the naming of the FMA-Net checkpoints).
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.body = _Affine(channels)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        x = (x - mu) / torch.sqrt(var + self.eps)
        return x * self.body.weight[None, :, None, None] + self.body.bias[None, :, None, None]
