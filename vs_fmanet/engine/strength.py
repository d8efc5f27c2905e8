"""Restoration strength: how much of the network's change to keep.

``out = base + strength * (restored - base)``, where ``base`` is the input upscaled bicubically (align_corners=False,
the baseline of every evaluation table, :func:`vs_fmanet.evaluation.baseline.bicubic_upscale`; the input itself at
scale 1). 1 = the network's output (the default), 0 = the plain bicubic upscale, values in between a linear mix: the
"recover original detail" control of restoration tools, for footage where the full restoration looks too processed.
Applied on the device to each window before the result is clamped to [0, 1]; with tiles, after blending them, with the
whole frame's upscale as the base (so strength 0 is exactly the bicubic upscale, tiled or not).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def check_strength(strength: float | None, func: str) -> float:
    """``strength`` as a float in [0, 1] (None = 1.0); ValueError naming ``func`` otherwise."""
    if strength is None:
        return 1.0
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.integer, np.floating)) \
            or not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"{func}: strength={strength!r} must be a number from 0 (the bicubic upscale of the input) "
                         "to 1 (the full restoration, the default)")
    return float(strength)


def upscale_bicubic(x: torch.Tensor, scale: int) -> torch.Tensor:
    """x [N, C, h, w] in [0, 1] -> [N, C, s*h, s*w] float32, bicubic (align_corners=False), clamped to [0, 1]; x
    itself (as float32) at scale 1. The one bicubic upscale of the project: strength's base and the evaluation
    baseline."""
    x = x.float()
    if scale == 1:
        return x
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp_(0.0, 1.0)


def mix_with_upscale(restored: torch.Tensor, lr: torch.Tensor, strength: float, scale: int) -> torch.Tensor:
    """``restored`` [N, 3, s*h, s*w] float32 mixed with the bicubic upscale of ``lr`` [N, 3, h, w] (values in
    [0, 1]): a new tensor ``base + strength * (restored - base)``; ``restored`` itself when strength is 1. The
    upscale is computed where ``lr`` is and moved to ``restored``'s device if that differs (blended tiles live on the
    host), only when it is needed."""
    if strength == 1.0:
        return restored
    return torch.lerp(upscale_bicubic(lr, scale).to(restored.device), restored, strength)
