"""Net^D (degradation learning) and Net^R (restoration) of FMA-Net++ (spec §4.4, §4.5).

Both operate at LR resolution on ``[B, T, C, H, W]`` with frames folded into the batch for 2-D ops, so any H, W
works without padding (the network has no spatial downsampling; the ETE's strided convs accept any size).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .dense import RRDB
from .hrbp import HRBPBlock, initial_flows


def _feature_extractor(cin: int, cfg: ModelConfig) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cfg.channels, 3, padding=1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                         RRDB(cfg.channels, cfg.rrdb_blocks, cfg.rdb_layers, cfg.growth))


def _per_frame(module: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Apply a 2-D module to every frame of x [B, T, C, H, W]."""
    b, t = x.shape[:2]
    y = module(x.reshape(b * t, *x.shape[2:]))
    return y.reshape(b, t, *y.shape[1:])


class DegradationNet(nn.Module):
    """Net^D. forward(lr [B,T,3,H,W], code [B,T,d_u]) -> dict with

    ``features`` F^{D,M} [B,T,C,H,W]; ``flows`` f^{D,M} [B,T,6n,H,W]; ``kernels`` K^D [B,T,3*k_d^2,H,W] (softmax over
    the 3*k_d^2 taps; source order i-1, i, i+1); ``image_flow`` f^Y [B,T,6,H,W] = per direction (towards i+1, towards
    i-1): (flow_x, flow_y, occlusion logit) in LR pixels.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, n, k2 = cfg.channels, cfg.flows, cfg.kernel_size ** 2
        self.extractor = _feature_extractor(3, cfg)
        self.blocks = nn.ModuleList([HRBPBlock(cfg, degradation_aware=False) for _ in range(cfg.blocks)])
        act = nn.LeakyReLU(0.2, inplace=True)
        self.flow_head = nn.Sequential(nn.Conv2d(6 * n, 6 * n, 3, padding=1, bias=False), act,
                                       nn.Conv2d(6 * n, 6, 3, padding=1, bias=False))
        self.kernel_head = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), act,
                                         nn.Conv2d(c, 3 * k2, 3, padding=1, bias=False))

    def forward(self, lr: torch.Tensor, code: torch.Tensor) -> dict[str, torch.Tensor]:
        b, t, _, h, w = lr.shape
        feat = _per_frame(self.extractor, lr)
        f = initial_flows(b, t, self.cfg.flows, h, w, self.cfg.mask_init, feat)
        for block in self.blocks:
            feat, f = block(feat, f, code)
        kernels = _per_frame(self.kernel_head, feat).softmax(dim=2)
        image_flow = _per_frame(self.flow_head, f)
        # the occlusion logits of the image flow start "visible", like the feature flows
        image_flow = image_flow + torch.tensor([0, 0, self.cfg.mask_init] * 2, device=f.device,
                                               dtype=image_flow.dtype)[None, None, :, None, None]
        return {"features": feat, "flows": f, "kernels": kernels, "image_flow": image_flow}


class Upsampler(nn.Module):
    """conv3x3 + LReLU, log2(s) x [conv C->4C, LReLU, PixelShuffle x2], conv3x3 + LReLU, conv3x3 C->3."""

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2, inplace=True)
        layers: list[nn.Module] = [nn.Conv2d(channels, channels, 3, padding=1, bias=False), act]
        for _ in range(int(math.log2(scale))):
            layers += [nn.Conv2d(channels, 4 * channels, 3, padding=1, bias=False), act, nn.PixelShuffle(2)]
        layers += [nn.Conv2d(channels, channels, 3, padding=1, bias=False), act,
                   nn.Conv2d(channels, 3, 3, padding=1, bias=False)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class RestorationNet(nn.Module):
    """Net^R. forward(lr, degradation dict, code) -> hr [B, T, 3, sH, sW] = upsampled residual + bilinear x s of lr."""

    def __init__(self, cfg: ModelConfig, scale: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.scale = scale
        self.extractor = _feature_extractor(3 + cfg.channels, cfg)
        self.blocks = nn.ModuleList([HRBPBlock(cfg, degradation_aware=True, update_flows=i < cfg.blocks - 1)
                                     for i in range(cfg.blocks)])
        self.upsampler = Upsampler(cfg.channels, scale)

    def forward(self, lr: torch.Tensor, degradation: dict[str, torch.Tensor], code: torch.Tensor) -> torch.Tensor:
        feat = _per_frame(self.extractor, torch.cat([lr, degradation["features"]], dim=2))
        f = degradation["flows"]
        kernels = degradation["kernels"]
        for block in self.blocks:
            feat, f = block(feat, f, code, kernels)
        residual = _per_frame(self.upsampler, feat)
        if self.scale == 1:
            base = lr
        else:
            base = _per_frame(lambda x: F.interpolate(x, scale_factor=self.scale, mode="bilinear",
                                                      align_corners=False), lr)
        return base + residual
