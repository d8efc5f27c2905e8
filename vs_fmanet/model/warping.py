"""Backward warping with optical flow, single- and multi-flow (occlusion-aware), on ``[N, C, H, W]`` maps.

Flow convention: ``flow[:, 0]`` is the x (column) and ``flow[:, 1]`` the y (row) displacement in pixels of the map
being sampled; ``backward_warp(src, flow)(p) = src(p + flow(p))`` (bilinear, zero outside, align_corners=True as in
FMA-Net). Multi-flow warping splits the C channels into n groups; group k is warped with flow k and multiplied by
sigmoid(mask logit k). All groups go through one ``grid_sample`` call (groups folded into the batch).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _base_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    ys = torch.arange(h, device=device, dtype=dtype)
    xs = torch.arange(w, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=0)  # [2, H, W]


def backward_warp(src: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``src`` [N, C, H, W] at p + flow(p); ``flow`` [N, 2, H, W] in pixels. Zeros outside the frame."""
    n, _, h, w = src.shape
    pos = _base_grid(h, w, flow.device, flow.dtype)[None] + flow
    gx = 2.0 * pos[:, 0] / max(w - 1, 1) - 1.0
    gy = 2.0 * pos[:, 1] / max(h - 1, 1) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(src, grid.to(src.dtype), mode="bilinear", padding_mode="zeros", align_corners=True)


def multi_flow_warp(feat: torch.Tensor, flows: torch.Tensor, mask_logits: torch.Tensor) -> torch.Tensor:
    """Occlusion-aware multi-flow backward warp.

    feat: [N, C, H, W]; flows: [N, n, 2, H, W] (pixels); mask_logits: [N, n, 1, H, W]. Returns [N, C, H, W] where
    channel group k (C/n channels) is warped with flow k and weighted by sigmoid(mask_logits k).
    """
    n_b, c, h, w = feat.shape
    n = flows.shape[1]
    g = c // n
    warped = backward_warp(feat.reshape(n_b * n, g, h, w), flows.reshape(n_b * n, 2, h, w))
    warped = warped.reshape(n_b, n, g, h, w) * torch.sigmoid(mask_logits)
    return warped.reshape(n_b, c, h, w)


def upsample_flow(flow: torch.Tensor, scale: int) -> torch.Tensor:
    """Bilinear x``scale`` upsampling of a flow field [N, 2, H, W]; values multiplied by ``scale`` (LR px -> HR px)."""
    if scale == 1:
        return flow
    return F.interpolate(flow, scale_factor=scale, mode="bilinear", align_corners=False) * scale
