"""Validation of the engine's inputs: frames ``[H, W, 3]`` float RGB in [0, 1] and exposure fractions.

Exposure is the duty cycle r = exposure time / frame interval, in (0, 1]; NaN = unknown (the model then estimates it
from the pixels). Values a hair above 1 (rounding of e.g. 1/24 s at 23.976 fps) are clamped to 1; clearly larger
values are almost always seconds or degrees passed by mistake and are refused.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

EXPOSURE_SLACK = 1.05


def check_frame(frame: np.ndarray, index: int, shape: tuple[int, int] | None, func: str) -> np.ndarray:
    """Return ``frame`` as C-contiguous float32 ``[H, W, 3]`` clipped to [0, 1], or raise ValueError naming the frame."""
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{func}: frame {index} has shape {arr.shape}; expected [H, W, 3] RGB "
                         "(channels last; convert planar [3, H, W] with np.moveaxis(frame, 0, -1))")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{func}: frame {index} has dtype {arr.dtype}; expected float RGB in [0, 1] "
                         "(for 8-bit input use frame.astype(np.float32) / 255)")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{func}: frame {index} is empty ({arr.shape[0]}x{arr.shape[1]})")
    if shape is not None and arr.shape[:2] != shape:
        raise ValueError(f"{func}: frame {index} is {arr.shape[1]}x{arr.shape[0]} but earlier frames are "
                         f"{shape[1]}x{shape[0]}; all frames of one call must have the same size (resize first)")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{func}: frame {index} contains NaN or infinite pixel values; fix the source or clip it "
                         "with np.nan_to_num(frame, nan=0.0, posinf=1.0, neginf=0.0)")
    return np.ascontiguousarray(np.clip(arr, 0.0, 1.0))


def check_exposure_value(value: object, index: int, func: str) -> float:
    """One exposure fraction: float in (0, 1] (slightly above 1 is clamped) or NaN; raise ValueError otherwise."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        kind = "a bool" if isinstance(value, (bool, np.bool_)) else "text"
        raise ValueError(f"{func}: exposure of frame {index} is {value!r}, {kind}; give the fraction of the frame "
                         "interval as a number (e.g. 0.5 for a 180-degree shutter) or NaN for unknown (for '1/100' "
                         "or '180deg' convert with vs_fmanet.exposure.parse_exposure_override)")
    try:
        r = float(value)   # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{func}: exposure of frame {index} is {value!r}, not a number; give the fraction of the "
                         "frame interval (e.g. 0.5 for a 180-degree shutter) or NaN for unknown") from None
    if np.isnan(r):
        return r
    if not np.isfinite(r) or r <= 0.0 or r > EXPOSURE_SLACK:
        raise ValueError(f"{func}: exposure of frame {index} is {r!r}; it must be a fraction of the frame interval "
                         "in (0, 1] or NaN for unknown. Seconds must be converted first: fraction = seconds * fps "
                         "(vs_fmanet.exposure.parse_exposure_override gives seconds for '1/100' or '180deg')")
    return min(r, 1.0)


def check_exposure_array(exposure: object, num_frames: int, func: str) -> np.ndarray:
    """Return ``exposure`` as float32 ``[T]`` (None -> all NaN); raise ValueError naming the first bad frame."""
    if exposure is None:
        return np.full(num_frames, np.nan, dtype=np.float32)
    arr = np.asarray(exposure, dtype=object if not isinstance(exposure, np.ndarray) else None)
    if arr.ndim == 0:
        r = check_exposure_value(arr.item(), 0, func)
        return np.full(num_frames, r, dtype=np.float32)
    if arr.ndim != 1 or arr.shape[0] != num_frames:
        raise ValueError(f"{func}: exposure has shape {arr.shape} but there are {num_frames} frames; pass one "
                         "fraction per frame (NaN = unknown), a single number, or None")
    return np.array([check_exposure_value(v, i, func) for i, v in enumerate(arr.tolist())], dtype=np.float32)


def next_frame_meta(exposure: Iterator[float] | None, scene_starts: Iterator[bool] | None, index: int,
                    func: str) -> tuple[float, bool]:
    """The exposure (fraction, NaN = unknown) and scene-start flag of streamed frame ``index`` from their iterators.

    Either iterator may be None (unknown exposure / no cuts); one that ends before the frames do is an error."""
    r = float("nan")
    if exposure is not None:
        try:
            r = check_exposure_value(next(exposure), index, func)
        except StopIteration:
            raise ValueError(f"{func}: exposure ended before frame {index}; give one value per frame "
                             "(NaN = unknown) or None") from None
    flag = False
    if scene_starts is not None:
        try:
            flag = next(scene_starts)
        except StopIteration:
            raise ValueError(f"{func}: scene_starts ended before frame {index}; give one bool per frame or None") \
                from None
        if not isinstance(flag, (bool, np.bool_, int, np.integer)):
            raise ValueError(f"{func}: scene_starts entry for frame {index} is {flag!r}; expected a bool")
    return r, bool(flag)
