"""Exposure-aware flow-guided dynamic filtering, downsampling direction (FGDF-down, stride = scale); training only.

Re-synthesises each blurry LR frame from three sharp HR frames (i-1 and i+1 warped onto i with the image flow f^Y,
and i itself) with the per-pixel kernels K^D (spec §4.4, Eqs. 5-7):

    X^_i(p) = sum_t sum_k K_{i,t}(p, k) * m_t * Y_{t->i}(s*p + o_k) / (sum_t sum_k K_{i,t}(p, k) * m_t * 1_{t->i} + 1e-8)

where o_k runs over a k_d x k_d window. The HR frames are replicate-padded by (k_d - s) // 2 on the top/left (the
rest on the bottom/right), so the window of LR pixel p spans HR rows/cols [s*p - pad, s*p - pad + k_d): for k_d = 20,
s = 4 that is [4p - 8, 4p + 12) as in FMA-Net. The denominator (normalised convolution with a warped all-ones image)
compensates taps that fall outside the frame or in occluded areas.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def kernel_padding(kernel_size: int, scale: int) -> tuple[int, int]:
    """(before, after) replicate padding of the HR frame so that ``unfold`` yields one window per LR pixel."""
    if kernel_size < scale:
        raise ValueError(f"FGDF: kernel_size={kernel_size} must be >= scale={scale}")
    total = kernel_size - scale
    return total // 2, total - total // 2


def _filter(img: torch.Tensor, kernel: torch.Tensor, kernel_size: int, scale: int, mode: str) -> torch.Tensor:
    """img [N, C, sH, sW], kernel [N, k^2, H, W] -> [N, C, H, W]: per-LR-pixel k x k filtering with stride s."""
    n, c, _, _ = img.shape
    h, w = kernel.shape[-2:]
    before, after = kernel_padding(kernel_size, scale)
    padded = F.pad(img, (before, after, before, after), mode=mode)
    cols = F.unfold(padded, kernel_size, stride=scale)                   # [N, C*k^2, H*W]
    cols = cols.reshape(n, c, kernel_size * kernel_size, h, w)
    return (cols * kernel[:, None]).sum(dim=2)


def fgdf_downsample(kernels: torch.Tensor, frames: torch.Tensor, visibility: torch.Tensor,
                    kernel_size: int, scale: int, frames_weighted: bool = False) -> torch.Tensor:
    """Flow-guided dynamic downsampling.

    kernels:    [N, S, k^2, H, W] normalised weights (S source frames, typically 3: i-1, i, i+1 warped onto i)
    frames:     [N, S, C, sH, sW] the source HR frames, already warped onto frame i
    visibility: [N, S, 1, sH, sW] warped all-ones image times the occlusion mask (1 = fully valid)
    returns     [N, C, H, W]

    ``frames_weighted=True``: ``frames`` already carry their weight (FMA-Net v1 passes mask x warped frame and uses
    mask x warped ones only in the denominator), so they are not multiplied by ``visibility`` again.
    """
    num = 0.0
    den = 0.0
    for s_idx in range(frames.shape[1]):
        k = kernels[:, s_idx]
        vis = visibility[:, s_idx]
        src = frames[:, s_idx] if frames_weighted else frames[:, s_idx] * vis
        num = num + _filter(src, k, kernel_size, scale, "replicate")
        den = den + _filter(vis, k, kernel_size, scale, "replicate")
    return num / (den + 1e-8)
