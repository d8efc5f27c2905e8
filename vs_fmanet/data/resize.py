"""Anti-aliased bicubic downsampling by an integer factor (the paper's D_s), via torch's own resampler.

torch.nn.functional.interpolate(mode="bicubic", antialias=True) widens the cubic kernel by the scale factor,
like MATLAB's imresize / PIL's BICUBIC, so LR frames carry no aliasing from the HR render.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["downsample"]


def downsample(frames: torch.Tensor, scale: int) -> torch.Tensor:
    """Downsample ``frames`` [..., C, H, W] by the integer ``scale`` (H and W must be multiples of it).

    Pixel centres follow align_corners=False: LR pixel p covers HR pixels [s*p, s*p + s) and its centre sits
    at HR coordinate s*p + (s - 1)/2. scale 1 returns the input unchanged. Values are not clamped.
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f"downsample: scale must be a positive integer, got {scale!r}")
    if scale == 1:
        return frames
    *lead, c, h, w = frames.shape
    if h % scale or w % scale:
        raise ValueError(f"downsample: frame size {h}x{w} is not a multiple of scale {scale}; "
                         f"crop or render at a size divisible by {scale}")
    flat = frames.reshape(-1, c, h, w)
    out = F.interpolate(flat, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    return out.reshape(*lead, c, h // scale, w // scale)
