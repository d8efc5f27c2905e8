"""Helpers shared by tests/engine and tests/vs: synthetic clips and weights files made in code (nothing downloaded)."""
from __future__ import annotations

import numpy as np
import torch

from vs_fmanet.model import build_model

TINY = {"preset": "tiny", "weights": "random"}


def make_clip(num: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """[T, H, W, 3] float32 in [0, 1]: moving sinusoids plus noise, so every frame and pixel differs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.stack([
        np.stack([0.5 + 0.4 * np.sin(xx / 5 + 0.3 * t + c) * np.cos(yy / 7 - 0.2 * t) for c in range(3)], axis=-1)
        for t in range(num)])
    frames += 0.1 * rng.random(frames.shape, dtype=np.float32)
    return np.clip(frames, 0.0, 1.0).astype(np.float32)


def tiny_state_dict(seed: int = 1) -> dict[str, torch.Tensor]:
    """A freshly initialised tiny FMA-Net++ state dict (seeded)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model("tiny", 4).state_dict()


def trained_like_state_dict(seed: int = 1) -> dict[str, torch.Tensor]:
    """Tiny weights that behave more like trained ones than a fresh init does: the exposure modulation (ETM, zero at
    init so exposure has no effect) gets small random weights, and the restoration residual is made ~5x stronger
    (~0.03 instead of ~0.006), so tiling and exposure effects are well above float noise."""
    sd = tiny_state_dict(seed)
    gen = torch.Generator().manual_seed(seed)
    for key, value in sd.items():
        if ".etm." in key and value.is_floating_point() and not value.any():
            sd[key] = 0.05 * torch.randn(value.shape, generator=gen)
    key = [k for k in sd if k.startswith("net_r.upsampler") and k.endswith("weight")][-1]   # last conv: residual
    sd[key] = sd[key] * 5.0
    return sd


