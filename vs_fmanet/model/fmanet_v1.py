"""FMA-Net (Youk et al., CVPR 2024), the predecessor of FMA-Net++, written from its description (spec §10).

A sliding-window network: T = 3 LR frames in, the restored centre frame out, in two sub-networks:

    Net_D  (degradation_learning_network): features F^D, flows f^D (centre <- frame t), degradation kernels K^D,
           image flow f^Y, and a per-frame sharp-LR "anchor" (TA head)
    Net_R  (restoration_network): features from [X, F^D], flows refined from f^D, K^D embedded as the query of a
           degradation-aware attention; output = dynamic upsampling of the aligned LR frames with K^R + a
           high-frequency residual (conv, 2 x pixel shuffle x2, conv)

Parameter names and shapes are those of the official checkpoints (``model_D_*.pt`` / ``model_R_*.pt``, converted
by ``fmanet-convert``); ``fmanet_v1_manifest.json`` lists them for the ``official`` preset. Tensors here are
``[B, C, T, H, W]`` like the official code; channel order is whatever the weights were trained on (**BGR** for the
official checkpoints: images there are read with OpenCV). ``FMANetV1Sequence`` (``fmanet_v1_sequence.py``) wraps
this in the project's ``[B, T, 3, H, W]`` RGB sequence interface.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import resolve_preset
from .dense import RRDB, spatial_conv
from .fmanet_v1_blocks import FRMABlock, conv_block, fold_frame_convs, warp_frames
from .fmanet_v1_kernels import dynamic_downsample, dynamic_upsample

SUPPORTED_SCALES_V1 = (4,)


@dataclass(frozen=True)
class FMANetV1Config:
    """Size knobs of FMA-Net (names of the official ``experiment.cfg`` in the comments)."""

    name: str
    channels: int = 90            # dim
    frames: int = 3               # num_seq: window length T (odd); the centre frame is restored
    ds_kernel_size: int = 20      # ds_kernel_size (k_d): taps per side of K^D, in HR pixels
    us_kernel_size: int = 5       # us_kernel_size (k_r): taps per side of K^R, in LR pixels
    rrdb_blocks: int = 12         # num_RDB
    growth: int = 18              # growth_rate
    rdb_layers: int = 4           # num_dense_layer
    flows: int = 9                # num_flow (n)
    blocks: int = 4               # num_FRMA (M)
    attn_repeats: int = 2         # num_transformer_block
    heads: int = 6                # num_heads
    ffn_expansion: float = 2.66   # ffn_expansion_factor

    @property
    def kernel_size(self) -> int:
        """k_d under the name FMA-Net++'s ModelConfig uses (the engine's memory estimate reads it)."""
        return self.ds_kernel_size

    def validate(self) -> None:
        """Raise ValueError naming the field when the configuration cannot be built."""
        checks = [
            (self.frames >= 1 and self.frames % 2 == 1, f"frames={self.frames} must be odd (a centre frame)"),
            (self.channels % self.frames == 0, f"channels={self.channels} must be divisible by frames={self.frames}"),
            (self.channels % self.flows == 0, f"channels={self.channels} must be divisible by flows={self.flows}"),
            (self.channels % self.heads == 0, f"channels={self.channels} must be divisible by heads={self.heads}"),
            (self.blocks >= 1 and self.attn_repeats >= 1 and self.rrdb_blocks >= 1 and self.rdb_layers >= 1,
             "blocks, attn_repeats, rrdb_blocks and rdb_layers must be >= 1"),
            (self.us_kernel_size % 2 == 1, f"us_kernel_size={self.us_kernel_size} must be odd"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"FMANetV1Config {self.name!r}: {message}")


FMANET_V1_PRESETS: dict[str, FMANetV1Config] = {
    # the official network (stage 2, default experiment.cfg): 9,766,503 parameters
    "official": FMANetV1Config(name="official"),
    # the configuration of the reference fixture (tests/fixtures/fmanet_v1): 565,707 parameters
    "small": FMANetV1Config(name="small", channels=18, rrdb_blocks=2, growth=6, rdb_layers=2, blocks=2,
                            attn_repeats=1, heads=2),
}


def get_v1_config(preset: str | FMANetV1Config, **overrides) -> FMANetV1Config:
    """The FMA-Net preset named ``preset`` ("official" or "small"), with ``overrides`` applied, validated."""
    return resolve_preset(preset, FMANET_V1_PRESETS, FMANetV1Config, overrides,
                          lambda: f"build_fmanet_v1: unknown preset {preset!r}; choose one of "
                                  f"{sorted(FMANET_V1_PRESETS)}")


def _feature_extractor(cin: int, cfg: FMANetV1Config) -> nn.Sequential:
    """Per-frame (1x3x3) conv + LeakyReLU + 3-D RRDB: [B, cin, T, H, W] -> [B, C, T, H, W]."""
    return nn.Sequential(spatial_conv(cin, cfg.channels, 3, 3), nn.LeakyReLU(0.2, inplace=True),
                         RRDB(cfg.channels, cfg.rrdb_blocks, cfg.rdb_layers, cfg.growth, spatial_dims=3))


def _blocks(cfg: FMANetV1Config, degradation_aware: bool) -> nn.ModuleList:
    # Net_D's first block creates the flow; Net_R's first block refines the flow handed over from Net_D
    return nn.ModuleList([
        FRMABlock(cfg.channels, cfg.frames, cfg.flows, cfg.rdb_layers, cfg.growth, cfg.heads, cfg.ffn_expansion,
                  cfg.attn_repeats, first=i == 0, flow_in=degradation_aware or i > 0,
                  degradation_aware=degradation_aware)
        for i in range(cfg.blocks)])


def _split_channels(fused: torch.Tensor, frames: int) -> torch.Tensor:
    """The aggregated centre feature [B, C, H, W] viewed as [B, C/T, T, H, W] (channel c = i*T + t)."""
    b, c, h, w = fused.shape
    return fused.reshape(b, c // frames, frames, h, w)


class DegradationLearningNet(nn.Module):
    """Net_D. ``forward(x [B,3,T,H,W], anchor=True)`` -> dict with ``features`` F^D [B,C,T,H,W], ``flows`` f^D
    [B,3n,T,H,W], ``kernels`` raw K^D [B,k_d^2,T,H,W] (softmax over T*k_d^2 when used), ``image_flow`` f^Y
    [B,3,T,H,W] (flow_x, flow_y, mask logit; LR pixels) and, with ``anchor``, ``sharp_lr`` [B,3,T,H,W]."""

    def __init__(self, cfg: FMANetV1Config) -> None:
        super().__init__()
        self.cfg = cfg
        c, n = cfg.channels, cfg.flows
        self.feature_extractor = _feature_extractor(3, cfg)
        self.FRMA_blocks = _blocks(cfg, degradation_aware=False)
        self.f_conv = conv_block(3 * n, 3 * n, 3)
        self.d_conv = conv_block(c // cfg.frames, c, cfg.ds_kernel_size ** 2)
        self.a_conv = conv_block(c, c, 3)

    def forward(self, x: torch.Tensor, anchor: bool = True) -> dict[str, torch.Tensor]:
        feat = self.feature_extractor(x)
        centre = feat[:, :, x.shape[2] // 2]
        flow = fused = None
        for block in self.FRMA_blocks:
            feat, flow, fused = block(feat, centre, flow, fused)
        out = {"features": feat, "flows": flow, "kernels": self.d_conv(_split_channels(fused, self.cfg.frames)),
               "image_flow": self.f_conv(flow)}
        if anchor:
            out["sharp_lr"] = self.a_conv(feat)
        return out


class HighFrequencyUpsampler(nn.Module):
    """conv(C -> 4C) + LReLU + PixelShuffle x2, twice, then conv(C -> C) + LReLU: [B,C,H,W] -> [B,C,4H,4W]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 4 * channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels, 4 * channels, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shuffle(self.act(self.conv1(x)))
        x = self.shuffle(self.act(self.conv2(x)))
        return self.act(self.conv3(x))


class RestorationNet(nn.Module):
    """Net_R. ``forward(x [B,3,T,H,W], degradation, anchor=True)`` -> dict with ``output`` [B,3,sH,sW] (the
    restored centre frame), ``lr_warp`` [B,3,T,H,W] (LR frames aligned onto the centre, mask-weighted) and, with
    ``anchor``, ``sharp_lr`` [B,3,T,H,W]."""

    def __init__(self, cfg: FMANetV1Config, scale: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.scale = scale
        c, n = cfg.channels, cfg.flows
        self.feature_extractor = _feature_extractor(3 + c, cfg)
        self.FRMA_blocks = _blocks(cfg, degradation_aware=True)
        self.f_conv1 = conv_block(3 * n, 3 * n, 3 * n)
        # kernel embedding of K^D: true 3-D convs (3x3x3, they do mix neighbouring frames)
        self.d_conv = nn.Sequential(nn.Conv3d(cfg.ds_kernel_size ** 2, c, 3, padding=1, bias=False),
                                    nn.LeakyReLU(0.2, inplace=True),
                                    nn.Conv3d(c, c, 3, padding=1, bias=False))
        self.res_conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.res_conv2 = nn.Conv2d(c, 3, 3, padding=1, bias=False)
        self.upsample = HighFrequencyUpsampler(c)
        self.r_conv = conv_block(c // cfg.frames, c, cfg.us_kernel_size ** 2 * scale ** 2)
        self.f_conv2 = conv_block(3 * n, 3 * n, 3)
        self.f_conv3 = conv_block(3 * n + 6, 3 * n, 3)
        self.a_conv = conv_block(c, c, 3)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor, degradation: dict[str, torch.Tensor],
                anchor: bool = True) -> dict[str, torch.Tensor]:
        t = x.shape[2]
        feat = self.feature_extractor(torch.cat([x, degradation["features"]], dim=1))
        centre = feat[:, :, t // 2]
        flow = self.f_conv1(degradation["flows"])
        kernel_feat = self.d_conv(degradation["kernels"])
        fused = None
        for block in self.FRMA_blocks:
            feat, flow, fused = block(feat, centre, flow, fused, kernel_feat)
        # two-step LR image alignment: a first flow, then one refined from the first alignment
        first = warp_frames(x, self.f_conv2(flow))
        x_centre = x[:, :, t // 2:t // 2 + 1].expand(-1, -1, t, -1, -1)
        aligned = warp_frames(x, self.f_conv3(torch.cat([flow, first, x_centre], dim=1)))
        kernels = self.r_conv(_split_channels(fused, self.cfg.frames))
        base = dynamic_upsample(aligned, kernels, self.scale, self.cfg.us_kernel_size)
        residual = self.res_conv2(self.upsample(self.act(self.res_conv1(fused))))
        out = {"output": base + residual, "lr_warp": aligned}
        if anchor:
            out["sharp_lr"] = self.a_conv(feat)
        return out


class FMANetV1(nn.Module):
    """FMA-Net on one window. ``forward(x, y=None)`` returns the official code's result dict; see
    :meth:`forward_window` (which subclasses with another ``forward`` keep)."""

    def __init__(self, cfg: FMANetV1Config | None = None, scale: int = 4) -> None:
        super().__init__()
        cfg = cfg or FMANET_V1_PRESETS["official"]
        cfg.validate()
        if scale not in SUPPORTED_SCALES_V1:
            raise ValueError(f"FMANetV1: scale={scale} is not supported; FMA-Net's high-frequency branch and its "
                             f"published weights are x4 (use scale=4)")
        self.config = cfg
        self.scale = scale
        self.degradation_learning_network = DegradationLearningNet(cfg)
        self.restoration_network = RestorationNet(cfg, scale)
        fold_frame_convs(self)

    def _check_input(self, x: torch.Tensor, func: str) -> None:
        t = self.config.frames
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[2] != t:
            raise ValueError(f"FMANetV1.{func}: x must be [B, 3, {t}, H, W] (channels before time), got "
                             f"{tuple(x.shape)}")

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Same as :meth:`forward_window` (the official forward pass on one window)."""
        return self.forward_window(x, y)

    def forward_window(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Run one window, returning every output of the official forward pass.

        x: [B, 3, T, H, W] blurry LR frames in [0, 1] (BGR for the official weights), T = ``config.frames``
        y: [B, 3, T, sH, sW] sharp HR frames, optional; enables the dynamic-downsampling outputs
        Returns ``output`` [B,3,sH,sW] (restored centre frame, not clamped), ``image_flow`` [B,2,T,H,W] (f^Y in LR
        pixels), ``F_sharp_D`` / ``F_sharp_R`` [B,3,T,H,W] (sharp-LR anchors), ``lr_warp`` [B,3,T,H,W] and, with
        ``y``, ``recon`` [B,3,H,W] (re-blurred LR centre frame) and ``hr_warp`` [B,3,T,sH,sW].
        """
        self._check_input(x, "forward_window")
        d = self.degradation_learning_network(x)
        out: dict[str, torch.Tensor] = {}
        if y is not None:
            out.update(dynamic_downsample(y, d["image_flow"], d["kernels"], self.scale, self.config.ds_kernel_size))
        r = self.restoration_network(x, d)
        out.update({"image_flow": d["image_flow"][:, :2], "F_sharp_D": d["sharp_lr"], "output": r["output"],
                    "lr_warp": r["lr_warp"], "F_sharp_R": r["sharp_lr"]})
        return out

    def restore_window(self, x: torch.Tensor) -> torch.Tensor:
        """Only the restored centre frame: x [B, 3, T, H, W] -> [B, 3, sH, sW] (skips the training-only heads)."""
        self._check_input(x, "restore_window")
        d = self.degradation_learning_network(x, anchor=False)
        return self.restoration_network(x, d, anchor=False)["output"]


def build_fmanet_v1(preset: str | FMANetV1Config = "official", scale: int = 4) -> FMANetV1:
    """FMA-Net for one window with the given preset ("official" or "small")."""
    return FMANetV1(get_v1_config(preset), scale=scale)
