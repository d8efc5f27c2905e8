"""Spatial tiling with smooth blending, and the automatic tile size.

A frame of ``H x W`` input pixels is covered by tiles of ``tile_h x tile_w`` input pixels whose neighbours overlap by
at least ``overlap`` pixels. Tile positions depend only on (H, W, tile, overlap), so every frame of a clip is cut the
same way. Each tile's output is weighted by a separable raised-cosine ramp across the part it shares with a
neighbour (weight ~0 at the tile's own edge, where its missing context hurts most, rising to 1) and the weighted sum
is divided by the summed weights. Across an overlap of two tiles the two ramps are sin^2 and cos^2 and add up to 1,
so there is no visible seam, and frame borders (which no neighbour covers) keep weight 1. This is hand-written
because it is 40 lines and no maintained library offers blended tiling for ``[T, C, H, W]`` video tensors.

Memory model for the automatic size (measured on the CPU with the tiny, small and paper presets, fp32): the peak
of one forward pass is about ``4 * (60*C + 9*k_d^2 + 12*s^2)`` bytes per input pixel and frame (C = channels, k_d =
kernel size, s = scale); reduced precision needs about 0.6 of that.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

MIN_TILE = 16


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of the tiles along one axis of ``size`` pixels (the last tile ends exactly at ``size``)."""
    if tile >= size:
        return [0]
    step = tile - overlap
    if step < 1:
        raise ValueError(f"tiling: tile={tile} must be larger than tile_overlap={overlap}")
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return starts


def _ramp_1d(length: int, lead: int, trail: int) -> np.ndarray:
    """Weights for one tile along one axis: raised-cosine rise over ``lead`` px, fall over ``trail`` px."""
    w = np.ones(length, dtype=np.float64)
    if lead > 0:
        i = np.arange(lead, dtype=np.float64)
        w[:lead] = np.sin(0.5 * np.pi * (i + 0.5) / lead) ** 2
    if trail > 0:
        i = np.arange(trail, dtype=np.float64)
        w[length - trail:] *= np.cos(0.5 * np.pi * (i + 0.5) / trail) ** 2
    return w


@dataclass(frozen=True)
class Tile:
    """One tile: input rows ``y0:y1``, columns ``x0:x1``; ``weight`` [s*(y1-y0), s*(x1-x0)] float32 blend weights."""

    y0: int
    y1: int
    x0: int
    x1: int
    weight: np.ndarray


def _axis(size: int, tile: int, overlap: int, scale: int) -> list[tuple[int, int, np.ndarray]]:
    starts = tile_starts(size, tile, overlap)
    length = min(tile, size)
    spans = []
    for j, s0 in enumerate(starts):
        lead = (starts[j - 1] + length - s0) if j > 0 else 0
        trail = (s0 + length - starts[j + 1]) if j + 1 < len(starts) else 0
        spans.append((s0, s0 + length, _ramp_1d(length * scale, lead * scale, trail * scale)))
    return spans


def make_tiles(height: int, width: int, tile: tuple[int, int], overlap: int, scale: int) -> list[Tile]:
    """Tiles covering an ``height x width`` frame with blend weights at ``scale`` x resolution.

    ``tile`` = (tile_h, tile_w) in input pixels; a side >= the frame's side means no split along that axis.
    """
    rows = _axis(height, tile[0], overlap, scale)
    cols = _axis(width, tile[1], overlap, scale)
    return [Tile(y0, y1, x0, x1, np.outer(wy, wx).astype(np.float32))
            for y0, y1, wy in rows for x0, x1, wx in cols]


class TileBlend:
    """The blended output of a ``height x width`` input frame (or window) at ``scale`` x, built on the host per tile.

    :meth:`add` takes one tile's output [..., C, s*(y1-y0), s*(x1-x0)] (CPU float32; the leading dimensions, e.g.
    frames, are those of the first tile added) and :meth:`result` returns [..., C, s*H, s*W] float32 = the sum of
    weight * output over the tiles divided by the summed weights (the division is done in place, once).
    """

    def __init__(self, height: int, width: int, scale: int) -> None:
        self.height, self.width, self.scale = height, width, scale
        self._acc: torch.Tensor | None = None
        self._wsum: torch.Tensor | None = None

    def add(self, tile: Tile, y: torch.Tensor) -> None:
        """Add ``tile``'s output ``y`` weighted by ``tile.weight``."""
        s = self.scale
        if self._acc is None or self._wsum is None:
            self._acc = torch.zeros(*y.shape[:-2], s * self.height, s * self.width, dtype=torch.float32)
            self._wsum = torch.zeros(s * self.height, s * self.width, dtype=torch.float32)
        wt = torch.from_numpy(tile.weight)
        rows, cols = slice(s * tile.y0, s * tile.y1), slice(s * tile.x0, s * tile.x1)
        self._acc[..., rows, cols] += y * wt
        self._wsum[rows, cols] += wt

    def result(self) -> torch.Tensor:
        """The blended output [..., C, s*H, s*W] float32 (call once, after the last :meth:`add`)."""
        if self._acc is None or self._wsum is None:
            raise ValueError("TileBlend.result: no tile was added")
        self._acc /= self._wsum
        return self._acc


def bytes_per_pixel_frame(channels: int, kernel_size: int, scale: int, precision: str) -> float:
    """Estimated peak bytes of one forward pass per input pixel and frame (see the module docstring)."""
    fp32 = 4.0 * (60 * channels + 9 * kernel_size ** 2 + 12 * scale ** 2)
    return fp32 if precision == "fp32" else 0.6 * fp32


def auto_tile(height: int, width: int, frames: int, budget_bytes: float, per_pixel_frame: float,
              overlap: int) -> tuple[int, int] | None:
    """Largest tile (multiple of 8, >= MIN_TILE) whose forward pass fits ``budget_bytes``; None = whole frame fits."""
    max_pixels = budget_bytes / max(per_pixel_frame * frames, 1.0)
    if height * width <= max_pixels:
        return None
    side = int(math.isqrt(int(max(max_pixels, 1))))
    side = max(MIN_TILE, side - side % 8, 2 * overlap + 8)
    th, tw = min(side, height), min(side, width)
    if th == height:      # short, wide frame: spend the spare budget on width
        tw = min(width, max(tw, int(max_pixels // max(th, 1)) // 8 * 8))
    elif tw == width:
        th = min(height, max(th, int(max_pixels // max(tw, 1)) // 8 * 8))
    return th, tw
