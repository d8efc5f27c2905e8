"""The baseline every result is compared with: bicubic upsampling of the blurry LR input."""
from __future__ import annotations

import numpy as np
import torch

from vs_fmanet.engine.strength import upscale_bicubic


def bicubic_upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    """[T, H, W, 3] float in [0, 1] -> [T, s*H, s*W, 3] bicubic (align_corners=False), clamped to [0, 1]."""
    if scale == 1:
        return np.array(frames, dtype=np.float32, copy=True)
    x = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).permute(0, 3, 1, 2)
    return upscale_bicubic(x, scale).permute(0, 2, 3, 1).numpy()
