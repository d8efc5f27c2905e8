"""What the bidirectional FMA-Net++ (:mod:`.fmanetpp`) and its causal variant (:mod:`.causal`) share around their
own Net^D / Net^R: the scale and config checks, the exposure code u, the forward prologue (input check, u) and
epilogue (the aux dict), and the FGDF re-blur of training (it depends on the scale and kernel size only).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .ete import ExposureCode
from .fgdf import fgdf_downsample
from .hrbp import edge_validity, neighbour_pairs
from .warping import backward_warp, upsample_flow

SUPPORTED_SCALES = (1, 2, 4)


class FMANetPPBase(nn.Module):
    """Base of :class:`.fmanetpp.FMANetPP` and :class:`.causal.CausalFMANetPP`: holds ``config``, ``scale`` and the
    ``exposure_code`` module; a subclass creates ``net_d`` and ``net_r`` after ``super().__init__`` (so parameters
    are created and listed in the order exposure_code, net_d, net_r).
    """

    def __init__(self, cfg: ModelConfig, scale: int) -> None:
        super().__init__()
        if scale not in SUPPORTED_SCALES:
            raise ValueError(f"{type(self).__name__}: scale={scale} is not supported; use one of {SUPPORTED_SCALES}")
        self._check_config(cfg)
        cfg.validate()
        self.config = cfg
        self.scale = scale
        self.exposure_code = ExposureCode(cfg.ete_widths, cfg.ete_depths, cfg.exposure_features)

    def _check_config(self, cfg: ModelConfig) -> None:
        """Raise ValueError if ``cfg`` is not a config for this network (here: any ModelConfig will do)."""

    @property
    def temporal_radius(self) -> int:
        """Frames that can influence an output frame (the config's ``temporal_radius``: 2*M on each side for the
        bidirectional model, the look-ahead k into the future for the causal one)."""
        return self.config.temporal_radius

    def code_for(self, lr: torch.Tensor, exposure: torch.Tensor | None = None,
                 exposure_weight: torch.Tensor | None = None) -> torch.Tensor:
        """The per-frame exposure code [B, T, d_u] for ``lr`` [B, T, 3, H, W] (see ``forward``)."""
        return self.exposure_code(lr, exposure, exposure_weight)

    def _forward_code(self, lr: torch.Tensor, exposure: torch.Tensor | None, exposure_weight: torch.Tensor | None,
                      code: torch.Tensor | None) -> torch.Tensor:
        """Check ``lr`` [B, T, 3, H, W]; return ``code`` (computed from lr and exposure when None) in lr's dtype."""
        if lr.dim() != 5 or lr.shape[2] != 3:
            raise ValueError(f"{type(self).__name__}.forward: lr must be [B, T, 3, H, W], got {tuple(lr.shape)}")
        if code is None:
            code = self.exposure_code(lr, exposure, exposure_weight)
        return code.to(lr.dtype)

    def _forward_result(self, hr: torch.Tensor, code: torch.Tensor, degradation: dict[str, torch.Tensor],
                        hr_gt: torch.Tensor | None, return_aux: bool) -> torch.Tensor | dict[str, torch.Tensor]:
        """``hr`` itself, or (with ``return_aux`` or ``hr_gt``) the aux dict: ``hr``, ``code``, ``kernels``,
        ``image_flow`` and, with ``hr_gt``, the :meth:`reblur` outputs."""
        if not return_aux and hr_gt is None:
            return hr
        out = {"hr": hr, "code": code, "kernels": degradation["kernels"], "image_flow": degradation["image_flow"]}
        if hr_gt is not None:
            out.update(self.reblur(degradation["kernels"], degradation["image_flow"], hr_gt))
        return out

    def reblur(self, kernels: torch.Tensor, image_flow: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        """FGDF-down: re-synthesise the blurry LR frames from sharp HR frames ``hr`` [B, T, 3, sH, sW]."""
        b, t, c, sh, sw = hr.shape
        s, k = self.scale, self.config.kernel_size
        h, w = image_flow.shape[-2:]
        nb = b * t
        fl = image_flow.reshape(nb, 2, 3, h, w)
        valid = edge_validity(b, t, hr.device, fl.dtype)
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
