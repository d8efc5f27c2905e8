"""Validation of the engine's inputs: frames ``[H, W, 3]`` float RGB in [0, 1] and exposure fractions.

Exposure is the duty cycle r = exposure time / frame interval, in (0, 1]; NaN = unknown (the model then estimates it
from the pixels). Values a hair above 1 (rounding of e.g. 1/24 s at 23.976 fps) are clamped to 1; clearly larger
values are almost always seconds or degrees passed by mistake and are refused.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

EXPOSURE_SLACK = 1.05


def as_array(frames: object, func: str, what: str = "frames") -> np.ndarray:
    """``frames`` (numpy array, torch tensor of any float dtype on any device, or a list of equal-shape frames) as a
    numpy array; ValueError naming ``func`` for what numpy cannot take as one array."""
    if isinstance(frames, torch.Tensor):                                 # no grad, on the host, a numpy dtype
        tensor = frames.detach().cpu()
        return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()
    try:
        return np.asarray(frames)
    except ValueError as exc:
        raise ValueError(f"{func}: {what} cannot be read as one array ({exc}); every frame must be [H, W, 3] of the "
                         "same size") from None


def layout_hint(shape: tuple[int, ...], frame_axis: bool) -> str:
    """A fix for a frame layout that is not channels-last RGB (``frame_axis``: shape has a leading [T] axis)."""
    lead = "T, " if frame_axis else ""
    body = shape[1:] if frame_axis else shape
    if len(body) == 3 and body[0] == 3 and body[-1] != 3:
        return f"planar [{lead}3, H, W]: convert with np.moveaxis(frames, {int(frame_axis)}, -1)"
    if len(body) == 2:
        return f"grey [{lead}H, W]: make it RGB with np.repeat(frames[..., None], 3, axis=-1)"
    if len(body) == 3 and body[-1] == 1:
        return f"grey [{lead}H, W, 1]: make it RGB with np.repeat(frames, 3, axis=-1)"
    if len(body) == 3 and body[-1] == 4:
        return f"RGBA [{lead}H, W, 4]: drop the alpha with frames[..., :3]"
    return "channels last, RGB"


def check_frame(frame: np.ndarray, index: int, shape: tuple[int, int] | None, func: str,
                other_size: str = "all frames of one call must have the same size (resize first)") -> np.ndarray:
    """Return ``frame`` as C-contiguous float32 ``[H, W, 3]`` clipped to [0, 1] (a copy: a caller that refills its
    buffer does not change frames held for look-ahead), or raise ValueError naming the frame.

    ``shape``: the (H, W) of earlier frames, or None; ``other_size``: the fix when the size differs."""
    arr = as_array(frame, func, f"frame {index}")
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{func}: frame {index} has shape {arr.shape}; expected [H, W, 3] RGB "
                         f"({layout_hint(arr.shape, frame_axis=False)})")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{func}: frame {index} has dtype {arr.dtype}; expected float RGB in [0, 1] "
                         f"({integer_hint(arr.dtype)})")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{func}: frame {index} is empty ({arr.shape[1]}x{arr.shape[0]})")
    if shape is not None and arr.shape[:2] != shape:
        raise ValueError(f"{func}: frame {index} is {arr.shape[1]}x{arr.shape[0]} but earlier frames are "
                         f"{shape[1]}x{shape[0]}; {other_size}")
    out = check_window(arr[None], index, func)[0]
    return out.copy() if np.may_share_memory(out, arr) else out   # callers buffer it: never the caller's memory


def check_window(frames: np.ndarray, first: int, func: str) -> np.ndarray:
    """Frames [t, H, W, 3] (input frames ``first``.. of the clip) as float32 in [0, 1], checked as a whole: the same
    rules as :func:`check_frame`, without a copy when they already hold."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"{func}: frames have shape {frames.shape}; expected [t, H, W, 3] RGB "
                         f"({layout_hint(frames.shape, frame_axis=True)})")
    if not np.issubdtype(frames.dtype, np.floating):
        raise ValueError(f"{func}: frames have dtype {frames.dtype}; expected float RGB in [0, 1] "
                         f"({integer_hint(frames.dtype)})")
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    finite = np.isfinite(frames).all(axis=(1, 2, 3))
    if not finite.all():
        raise ValueError(f"{func}: frame {first + int(np.flatnonzero(~finite)[0])} contains NaN or infinite pixel "
                         "values; fix the source or clip it with np.nan_to_num(frame, nan=0.0, posinf=1.0, neginf=0.0)")
    if frames.size and (frames.min() < 0.0 or frames.max() > 1.0):
        frames = np.clip(frames, 0.0, 1.0)
    return frames


def integer_hint(dtype: np.dtype) -> str:
    """How to turn frames of ``dtype`` into float RGB in [0, 1] (integers: divide by the dtype's full scale)."""
    if dtype in (np.uint8, np.uint16):
        return f"for {np.iinfo(dtype).bits}-bit input use frame.astype(np.float32) / {np.iinfo(dtype).max}"
    return ("convert with frame.astype(np.float32) divided by the data's full scale: 255 for 8-bit values, 1023 for "
            "10-bit, 65535 for 16-bit")


def check_scene_flag(flag: object, index: int, func: str) -> bool:
    """A scene-start flag: a bool (or 0/1 integer); ValueError for anything else ('False' is truthy text)."""
    if isinstance(flag, (bool, np.bool_)) or (isinstance(flag, (int, np.integer)) and flag in (0, 1)):
        return bool(flag)
    raise ValueError(f"{func}: scene start flag for frame {index} is {flag!r}; expected True or False")


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
    if isinstance(exposure, torch.Tensor):
        exposure = as_array(exposure, func, "exposure")
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
        return r, check_scene_flag(flag, index, func)
    return r, False
