"""sRGB <-> linear-light conversion (IEC 61966-2-1 piecewise curve), in torch.

Motion blur is the time integral of *light*, so the renderer decodes textures to linear light, averages the
sub-frames there and re-encodes (the FMA-Net++ paper averaged gamma-encoded frames, which real sensors do not).
The two formulas are a few lines each; a colour-science dependency (kornia, colour-science) would add far more
than it saves, so they are written here.
"""
from __future__ import annotations

import torch

__all__ = ["srgb_to_linear", "linear_to_srgb", "srgb_uint8_to_linear"]

_SRGB_KNEE = 0.04045
_LINEAR_KNEE = 0.0031308


def srgb_to_linear(encoded: torch.Tensor) -> torch.Tensor:
    """Decode sRGB values in [0, 1] (any shape) to linear light in [0, 1]. Values are clamped to [0, 1] first."""
    x = encoded.clamp(0.0, 1.0)
    return torch.where(x <= _SRGB_KNEE, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """Encode linear light in [0, 1] (any shape) to sRGB in [0, 1]. Values are clamped to [0, 1] first."""
    x = linear.clamp(0.0, 1.0)
    return torch.where(x <= _LINEAR_KNEE, x * 12.92, 1.055 * x.clamp_min(_LINEAR_KNEE) ** (1.0 / 2.4) - 0.055)


def srgb_uint8_to_linear(pixels: torch.Tensor) -> torch.Tensor:
    """Decode uint8 sRGB code values (any shape) to float32 linear light through an exact 256-entry table."""
    if pixels.dtype != torch.uint8:
        raise TypeError(f"srgb_uint8_to_linear: expected a uint8 tensor, got {pixels.dtype}; "
                        "pass code values 0..255 or use srgb_to_linear() for floats in [0, 1]")
    table = srgb_to_linear(torch.arange(256, dtype=torch.float64) / 255.0).to(torch.float32)
    return table.to(pixels.device)[pixels.long()]
