"""Net^D (degradation learning) and Net^R (restoration) of FMA-Net++ (spec §4.4, §4.5).

Both operate at LR resolution on ``[B, T, C, H, W]`` with frames folded into the batch for 2-D ops, so any H, W
works without padding (the network has no spatial downsampling; the ETE's strided convs accept any size).

The layer builders here (:func:`block_stack`, :func:`restoration_layers`, :func:`visible_image_flow`,
:func:`upscale_bilinear`) also build the causal networks (:mod:`.causal_networks`).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .dense import RRDB
from .hrbp import HRBPBlock, conv_pair, initial_flows


def _feature_extractor(cin: int, cfg: ModelConfig) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cfg.channels, 3, padding=1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                         RRDB(cfg.channels, cfg.rrdb_blocks, cfg.rdb_layers, cfg.growth))


def _per_frame(module: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Apply a 2-D module to every frame of x [B, T, C, H, W]."""
    b, t = x.shape[:2]
    y = module(x.reshape(b * t, *x.shape[2:]))
    return y.reshape(b, t, *y.shape[1:])


def block_stack(block: Callable[..., nn.Module], cfg: ModelConfig, degradation_aware: bool) -> nn.ModuleList:
    """``cfg.blocks`` blocks ``block(cfg, degradation_aware, update_flows)`` (HRBP or causal HRBP); in Net^R
    (``degradation_aware``) the last block has no flow update, since nothing reads its flows."""
    return nn.ModuleList([block(cfg, degradation_aware=degradation_aware,
                                update_flows=not degradation_aware or i < cfg.blocks - 1) for i in range(cfg.blocks)])


def visible_image_flow(image_flow: torch.Tensor, mask_init: float) -> torch.Tensor:
    """Image flow f^Y [..., 6, H, W] with ``mask_init`` added to its two occlusion logits (channels 2 and 5), so
    that they start "visible", like the feature flows."""
    offset = torch.tensor([0, 0, mask_init] * 2, device=image_flow.device, dtype=image_flow.dtype)
    return image_flow + offset[:, None, None]


class DegradationNet(nn.Module):
    """Net^D. forward(lr [B,T,3,H,W], code [B,T,d_u]) -> dict with

    ``features`` F^{D,M} [B,T,C,H,W]; ``flows`` f^{D,M} [B,T,6n,H,W]; ``kernels`` K^D [B,T,3*k_d^2,H,W] (softmax over
    the 3*k_d^2 taps; source order i-1, i, i+1); ``image_flow`` f^Y [B,T,6,H,W] = per direction (towards i+1, towards
    i-1): (flow_x, flow_y, occlusion logit) in LR pixels.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, n = cfg.channels, cfg.flows
        self.extractor = _feature_extractor(3, cfg)
        self.blocks = block_stack(HRBPBlock, cfg, degradation_aware=False)
        self.flow_head = conv_pair(6 * n, 6 * n, 6)
        self.kernel_head = conv_pair(c, c, 3 * cfg.kernel_size ** 2)

    def forward(self, lr: torch.Tensor, code: torch.Tensor) -> dict[str, torch.Tensor]:
        b, t, _, h, w = lr.shape
        feat = _per_frame(self.extractor, lr)
        f = initial_flows(b, t, self.cfg.flows, h, w, self.cfg.mask_init, feat)
        for block in self.blocks:
            feat, f = block(feat, f, code)
        kernels = _per_frame(self.kernel_head, feat).softmax(dim=2)
        image_flow = visible_image_flow(_per_frame(self.flow_head, f), self.cfg.mask_init)
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


def restoration_layers(cfg: ModelConfig, scale: int, block: Callable[..., nn.Module]
                       ) -> tuple[nn.Sequential, nn.ModuleList, Upsampler]:
    """Net^R's layers, the same in both models, created in this order: the extractor over [LR frame, F^D]
    (3 + C channels), ``cfg.blocks`` degradation-aware blocks of type ``block`` and the upsampler."""
    extractor = _feature_extractor(3 + cfg.channels, cfg)
    return extractor, block_stack(block, cfg, degradation_aware=True), Upsampler(cfg.channels, scale)


def upscale_bilinear(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The base of Net^R's output: x [N, C, H, W] bilinearly upsampled to [N, C, sH, sW] (x itself at scale 1)."""
    if scale == 1:
        return x
    return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


class RestorationNet(nn.Module):
    """Net^R. forward(lr, degradation dict, code) -> hr [B, T, 3, sH, sW] = upsampled residual + bilinear x s of lr."""

    def __init__(self, cfg: ModelConfig, scale: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.scale = scale
        self.extractor, self.blocks, self.upsampler = restoration_layers(cfg, scale, HRBPBlock)

    def forward(self, lr: torch.Tensor, degradation: dict[str, torch.Tensor], code: torch.Tensor) -> torch.Tensor:
        feat = _per_frame(self.extractor, torch.cat([lr, degradation["features"]], dim=2))
        f = degradation["flows"]
        kernels = degradation["kernels"]
        for block in self.blocks:
            feat, f = block(feat, f, code, kernels)
        residual = _per_frame(self.upsampler, feat)
        base = _per_frame(lambda x: upscale_bilinear(x, self.scale), lr)
        return base + residual
