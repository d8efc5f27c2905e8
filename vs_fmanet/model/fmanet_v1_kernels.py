"""FMA-Net's flow-guided dynamic filtering (spec §10.3): upsampling with K^R (inference) and downsampling with K^D.

Upsampling (Net_R's main output): each LR pixel gets s*s sub-pixel outputs, each a weighted sum over the T aligned
LR frames and a k_r x k_r neighbourhood (replicate padding). K^R has s^2 * k_r^2 channels per frame, sub-pixel
major (channel j * k_r^2 + k); its taps are normalised by subtracting their mean over (k_r^2, T) and adding
1 / (T * k_r^2), so they sum to 1 and may be negative (no softmax).

Downsampling (training only, needs sharp HR frames): K^D (k_d^2 taps per frame) is softmax-normalised over all
T * k_d^2 taps; the HR frames are warped onto the centre frame with the image flow f^Y (bilinear x s, values x s),
weighted by the sigmoid occlusion mask, and filtered with stride s by the shared FGDF code (``fgdf.py``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .fgdf import fgdf_downsample
from .warping import backward_warp, upsample_flow


def normalise_restoration_kernels(kernels: torch.Tensor, scale: int, kernel_size: int) -> torch.Tensor:
    """Raw K^R [B, s^2*k^2, T, H, W] -> [B, s^2, k^2, T, H, W] with the taps of each sub-pixel summing to 1."""
    b, _, t, h, w = kernels.shape
    k = kernels.reshape(b, scale * scale, kernel_size * kernel_size, t, h, w)
    return k - k.mean(dim=(2, 3), keepdim=True) + 1.0 / (t * kernel_size * kernel_size)


def dynamic_upsample(frames: torch.Tensor, kernels: torch.Tensor, scale: int, kernel_size: int) -> torch.Tensor:
    """Flow-guided dynamic upsampling.

    frames:  [B, C, T, H, W] LR frames already aligned onto the centre frame
    kernels: [B, s^2*k^2, T, H, W] raw K^R (normalised here)
    returns  [B, C, s*H, s*W]
    """
    b, c, t, h, w = frames.shape
    taps = kernel_size * kernel_size
    weights = normalise_restoration_kernels(kernels, scale, kernel_size)          # [B, s^2, k^2, T, H, W]
    pad = kernel_size // 2
    per_frame = frames.transpose(1, 2).reshape(b * t, c, h, w)
    cols = F.unfold(F.pad(per_frame, (pad, pad, pad, pad), mode="replicate"), kernel_size)   # [B*T, C*k^2, H*W]
    cols = cols.reshape(b, t, c, taps, h, w)
    out = torch.einsum("btckhw,bjkthw->bcjhw", cols, weights)                        # [B, C, s^2, H, W]
    return F.pixel_shuffle(out.reshape(b, c * scale * scale, h, w), scale)


def warp_hr_frames(hr: torch.Tensor, image_flow: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Warp sharp HR frames onto the centre frame with the LR image flow.

    hr: [B, C, T, sH, sW]; image_flow: [B, 3, T, H, W] = (flow_x, flow_y, mask logit) in LR pixels.
    Returns (mask x warped frames [B, C, T, sH, sW], mask x warped all-ones image [B, 1, T, sH, sW]).
    """
    b, c, t, sh, sw = hr.shape
    h, w = image_flow.shape[-2:]
    if (sh, sw) != (scale * h, scale * w):
        raise ValueError(f"warp_hr_frames: HR frames are {sh}x{sw} but the LR flow is {h}x{w} at scale {scale}; "
                         f"pass HR frames of {scale * h}x{scale * w}")
    fy = image_flow.transpose(1, 2).reshape(b * t, 3, h, w)
    flow = upsample_flow(fy[:, :2], scale)
    mask = torch.sigmoid(fy[:, 2:])
    if scale > 1:
        mask = F.interpolate(mask, scale_factor=scale, mode="bilinear", align_corners=False)
    frames = hr.transpose(1, 2).reshape(b * t, c, sh, sw)
    warped = backward_warp(frames, flow) * mask
    ones = backward_warp(torch.ones_like(frames[:, :1]), flow) * mask
    return (warped.reshape(b, t, c, sh, sw).transpose(1, 2), ones.reshape(b, t, 1, sh, sw).transpose(1, 2))


def dynamic_downsample(hr: torch.Tensor, image_flow: torch.Tensor, kernels: torch.Tensor, scale: int,
                       kernel_size: int) -> dict[str, torch.Tensor]:
    """Re-synthesise the blurry LR centre frame from sharp HR frames (training / self-check path).

    hr: [B, C, T, sH, sW]; image_flow: [B, 3, T, H, W]; kernels: raw K^D [B, k_d^2, T, H, W].
    Returns ``recon`` [B, C, H, W] and ``hr_warp`` [B, C, T, sH, sW] (mask x warped HR frames).
    """
    b, taps, t, h, w = kernels.shape
    weights = kernels.transpose(1, 2).reshape(b, t * taps, h, w).softmax(dim=1).reshape(b, t, taps, h, w)
    warped, visibility = warp_hr_frames(hr, image_flow, scale)
    recon = fgdf_downsample(weights, warped.transpose(1, 2), visibility.transpose(1, 2), kernel_size, scale,
                            frames_weighted=True)
    return {"recon": recon, "hr_warp": warped}
