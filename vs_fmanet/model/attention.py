"""Restormer attention (MDTA, "transposed" channel attention) and gated feed-forward (GDFN), on ``[N, C, H, W]``.

MDTA builds a (C/h x C/h) attention matrix per head from L2-normalised queries and keys taken over all pixels, so
its cost is linear in H*W. The query may come from a different tensor than keys/values: that is how FMA-Net++'s
degradation-aware (DA) cross-attention takes its query from the kernel embedding. Parameter names follow the
FMA-Net checkpoints (``q``, ``q_dwconv``, ``kv_conv``, ``kv_dwconv``, ``project_out``, ``temperature``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MDTA(nn.Module):
    """Multi-Dconv-head transposed attention; ``forward(x, query=None)`` with both ``[N, C, H, W]``."""

    def __init__(self, channels: int, heads: int, bias: bool = False) -> None:
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.q = nn.Conv2d(channels, channels, 1, bias=bias)
        self.q_dwconv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=bias)
        self.kv_conv = nn.Conv2d(channels, 2 * channels, 1, bias=bias)
        self.kv_dwconv = nn.Conv2d(2 * channels, 2 * channels, 3, padding=1, groups=2 * channels, bias=bias)
        self.project_out = nn.Conv2d(channels, channels, 1, bias=bias)

    def forward(self, x: torch.Tensor, query: torch.Tensor | None = None) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.q_dwconv(self.q(x if query is None else query))
        k, v = self.kv_dwconv(self.kv_conv(x)).chunk(2, dim=1)
        q = F.normalize(q.reshape(n, self.heads, c // self.heads, h * w), dim=-1)
        k = F.normalize(k.reshape(n, self.heads, c // self.heads, h * w), dim=-1)
        v = v.reshape(n, self.heads, c // self.heads, h * w)
        attn = (q @ k.transpose(-2, -1)) * self.temperature
        out = attn.softmax(dim=-1) @ v
        return self.project_out(out.reshape(n, c, h, w))


class GDFN(nn.Module):
    """Gated-Dconv feed-forward: 1x1 up to 2*hidden, depthwise 3x3, GELU(a)*b, 1x1 back to C."""

    def __init__(self, channels: int, expansion: float, bias: bool = False) -> None:
        super().__init__()
        hidden = int(channels * expansion)
        self.project_in = nn.Conv2d(channels, 2 * hidden, 1, bias=bias)
        self.dwconv = nn.Conv2d(2 * hidden, 2 * hidden, 3, padding=1, groups=2 * hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden, channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * b)
