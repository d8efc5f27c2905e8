"""Helpers for the VapourSynth plugin tests: clips built from numpy arrays in code."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import vapoursynth as vs


def clip_from_array(frames: np.ndarray, fmt: int = vs.RGBS, props: Sequence[dict] | None = None,
                    fps: tuple[int, int] = (24000, 1001)) -> vs.VideoNode:
    """An RGBS/RGBH clip whose frame n shows frames[n] ([T, H, W, 3] in [0, 1]) and carries props[n]."""
    num, height, width, _ = frames.shape
    core = vs.core
    blank = core.std.BlankClip(format=fmt, width=width, height=height, length=num, fpsnum=fps[0], fpsden=fps[1])

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(3):
            np.copyto(np.asarray(out[p]), frames[n, :, :, p], casting="unsafe")
        if props is not None:
            for key, value in props[n].items():
                out.props[key] = value
        return out

    return core.std.ModifyFrame(blank, blank, fill)


def to_array(node: vs.VideoNode, frames: Sequence[vs.VideoFrame] | None = None) -> np.ndarray:
    """[T, H, W, 3] float32 of every frame of ``node`` (or of the given frames)."""
    frames = list(node.frames()) if frames is None else frames
    return np.stack([np.stack([np.asarray(f[p]) for p in range(3)], axis=-1) for f in frames]).astype(np.float32)
