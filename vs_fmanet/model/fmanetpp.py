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
from .fmanetpp_base import SUPPORTED_SCALES, FMANetPPBase
from .networks import DegradationNet, RestorationNet

__all__ = ["SUPPORTED_SCALES", "FMANetPP", "build_model", "count_parameters"]


class FMANetPP(FMANetPPBase):
    """FMA-Net++ network. ``forward(lr, exposure=None)`` -> ``[B, T, 3, s*H, s*W]``; see :meth:`forward`."""

    def __init__(self, cfg: ModelConfig, scale: int = 4) -> None:
        super().__init__(cfg, scale)
        self.net_d = DegradationNet(cfg)
        self.net_r = RestorationNet(cfg, scale)

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
        code = self._forward_code(lr, exposure, exposure_weight, code)
        degradation = self.net_d(lr, code)
        hr = self.net_r(lr, degradation, code)
        return self._forward_result(hr, code, degradation, hr_gt, return_aux)


def build_model(preset: str | ModelConfig = "paper", scale: int = 4, **overrides) -> FMANetPP:
    """Build FMA-Net++ for ``preset`` ("paper", "small", "tiny", or a ModelConfig) at ``scale`` 4, 2 or 1."""
    return FMANetPP(get_config(preset, **overrides), scale=scale)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter counts: total and per top-level sub-network."""
    counts = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts
