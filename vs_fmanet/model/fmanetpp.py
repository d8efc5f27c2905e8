"""FMA-Net++: joint video super-resolution and deblurring aware of motion and of each frame's exposure time.

Data flow (spec §4.1), all T frames in parallel, no recurrence:

    u   = ExposureCode(X, exposure)           per-frame code [B, T, d_u]
    D   = Net^D(X, u)                         features F^{D,M}, flows f^{D,M}, kernels K^D, image flow f^Y
    Y^  = Net^R(X, D, u)                      [B, T, 3, sH, sW] = upsampled residual + bilinear x s (X)
    X^  = FGDF-down(K^D, Y warped by f^Y)     training only: re-blurred LR frames, needs the sharp HR frames Y

**Exposure conditioning beyond the paper.** The paper estimates u from pixels with a frozen contrastive ETE,
because the exposure time is unknown at test time. Real footage often *does* carry it (EXIF, GoPro SHUT, DJI SRT,
...), so here u can also come from a small learned embedding of the known duty cycle r (exposure / frame interval,
in (0, 1]), or a per-frame blend ``w * u_meta + (1 - w) * u_ete``. The choice is per frame: ``exposure[b, t]`` NaN
means unknown and that frame uses the ETE; ``exposure_weight`` (default 1) sets the metadata share where known.
Training drops metadata for part of each batch so that both paths drive the same ETM layers.

Parameter names and [INF] design choices are documented in ``config.py`` and each building-block module.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig, get_config
from .ete import ExposureCode
from .fgdf import fgdf_downsample
from .hrbp import neighbour_pairs
from .networks import DegradationNet, RestorationNet
from .warping import backward_warp, upsample_flow

SUPPORTED_SCALES = (1, 2, 4)


class FMANetPP(nn.Module):
    """FMA-Net++ network. ``forward(lr, exposure=None)`` -> ``[B, T, 3, s*H, s*W]``; see :meth:`forward`."""

    def __init__(self, cfg: ModelConfig, scale: int = 4) -> None:
        super().__init__()
        if scale not in SUPPORTED_SCALES:
            raise ValueError(f"FMANetPP: scale={scale} is not supported; use one of {SUPPORTED_SCALES}")
        cfg.validate()
        self.config = cfg
        self.scale = scale
        self.exposure_code = ExposureCode(cfg.ete_widths, cfg.ete_depths, cfg.exposure_features)
        self.net_d = DegradationNet(cfg)
        self.net_r = RestorationNet(cfg, scale)

    @property
    def temporal_radius(self) -> int:
        """Frames on each side that can influence an output frame (2*M)."""
        return self.config.temporal_radius

    def forward(self, lr: torch.Tensor, exposure: torch.Tensor | None = None, *,
                exposure_weight: torch.Tensor | None = None, code: torch.Tensor | None = None,
                hr_gt: torch.Tensor | None = None, return_aux: bool = False):
        """Restore a clip.

        lr:              [B, T, 3, H, W] blurry LR frames, values in [0, 1], any H, W >= 1, T >= 1
        exposure:        [B, T] duty cycle (exposure time / frame interval) in (0, 1]; NaN = unknown -> ETE
        exposure_weight: [B, T] metadata share in [0, 1] where exposure is known (default 1)
        code:            [B, T, d_u] precomputed exposure code (e.g. from the whole frame when restoring tiles)
        hr_gt:           [B, T, 3, sH, sW] sharp frames; enables the FGDF re-blur and HR-warp outputs (training)
        return_aux:      return a dict instead of the HR tensor

        Returns ``[B, T, 3, s*H, s*W]`` (not clamped), or with ``return_aux`` a dict with ``hr``, ``code``,
        ``kernels`` [B,T,3k^2,H,W], ``image_flow`` [B,T,6,H,W] and, with ``hr_gt``, ``recon`` [B,T,3,H,W],
        ``hr_warp`` [B,T,2,3,sH,sW] (neighbours i+1, i-1 warped onto i) and ``hr_warp_mask`` [B,T,2,1,sH,sW].
        """
        if lr.dim() != 5 or lr.shape[2] != 3:
            raise ValueError(f"FMANetPP.forward: lr must be [B, T, 3, H, W], got {tuple(lr.shape)}")
        if code is None:
            code = self.exposure_code(lr, exposure, exposure_weight)
        code = code.to(lr.dtype)
        degradation = self.net_d(lr, code)
        hr = self.net_r(lr, degradation, code)
        if not return_aux and hr_gt is None:
            return hr
        out = {"hr": hr, "code": code, "kernels": degradation["kernels"], "image_flow": degradation["image_flow"]}
        if hr_gt is not None:
            out.update(self.reblur(degradation["kernels"], degradation["image_flow"], hr_gt))
        return out

    def code_for(self, lr: torch.Tensor, exposure: torch.Tensor | None = None,
                 exposure_weight: torch.Tensor | None = None) -> torch.Tensor:
        """The per-frame exposure code [B, T, d_u] for ``lr`` [B, T, 3, H, W] (see ``forward``)."""
        return self.exposure_code(lr, exposure, exposure_weight)

    def reblur(self, kernels: torch.Tensor, image_flow: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        """FGDF-down: re-synthesise the blurry LR frames from sharp HR frames ``hr`` [B, T, 3, sH, sW]."""
        b, t, c, sh, sw = hr.shape
        s, k = self.scale, self.config.kernel_size
        h, w = image_flow.shape[-2:]
        nb = b * t
        fl = image_flow.reshape(nb, 2, 3, h, w)
        valid = torch.ones(b, t, 2, device=hr.device, dtype=fl.dtype)
        valid[:, -1, 0] = 0
        valid[:, 0, 1] = 0
        flows = fl[:, :, :2] * valid.reshape(nb, 2, 1, 1, 1)
        ones = torch.ones(nb, 1, sh, sw, device=hr.device, dtype=hr.dtype)
        # both directions and the all-ones image in one grid_sample: directions folded into the batch, ones as an
        # extra channel of the warped frames
        flow_hr = upsample_flow(flows.reshape(nb * 2, 2, h, w), s)
        occ_logit = fl[:, :, 2:3].reshape(nb * 2, 1, h, w)
        occ = torch.sigmoid(upsample_flow(occ_logit, s) / s if s > 1 else occ_logit)
        pairs = neighbour_pairs(hr).reshape(nb * 2, c, sh, sw)                     # (i, 0: i+1), (i, 1: i-1)
        both = backward_warp(torch.cat([pairs, torch.ones_like(pairs[:, :1])], dim=1), flow_hr)
        both = both.reshape(nb, 2, c + 1, sh, sw)
        warped = both[:, :, :c]                                                    # [nb, 2, C, sH, sW]
        vis = both[:, :, c:] * occ.reshape(nb, 2, 1, sh, sw)                       # [nb, 2, 1, sH, sW]
        frames = torch.stack([warped[:, 1], hr.reshape(nb, c, sh, sw), warped[:, 0]], dim=1)   # i-1, i, i+1
        visibility = torch.stack([vis[:, 1], ones, vis[:, 0]], dim=1)
        kern = kernels.reshape(nb, 3, k * k, h, w)
        recon = fgdf_downsample(kern, frames, visibility, k, s)
        return {
            "recon": recon.reshape(b, t, c, h, w),
            "hr_warp": warped.reshape(b, t, 2, c, sh, sw),
            "hr_warp_mask": vis.reshape(b, t, 2, 1, sh, sw),
        }


def build_model(preset: str | ModelConfig = "paper", scale: int = 4, **overrides) -> FMANetPP:
    """Build FMA-Net++ for ``preset`` ("paper", "small", "tiny", or a ModelConfig) at ``scale`` 4, 2 or 1."""
    return FMANetPP(get_config(preset, **overrides), scale=scale)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter counts: total and per top-level sub-network."""
    counts = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts
