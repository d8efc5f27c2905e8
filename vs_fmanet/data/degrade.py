"""Optional real-world degradations of the blurry LR frames (all off for the paper-like benchmarks).

- ``sensor_noise``: Poisson-Gaussian noise in linear light, scaled by exposure. A frame exposed for a
  fraction r of the interval collects r * full_well photo-electrons at full scale; the camera's gain brings it
  back to the same brightness, so shot-noise variance is x / (r * full_well) and read-noise variance
  (read_noise / (r * full_well))**2: short exposures are noisier, as on a real sensor.
- ``jpeg_roundtrip``: per-frame JPEG encode/decode through Pillow.
- ``h264_roundtrip``: the clip through libx264 and back via PyAV (single-threaded so it is deterministic).

All randomness comes from the caller's numpy Generator and runs on the CPU, so results do not depend on the
render device.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["DegradationConfig", "sensor_noise", "jpeg_roundtrip", "h264_roundtrip", "to_uint8"]


@dataclass(frozen=True)
class DegradationConfig:
    """Probabilities and ranges of the optional degradations (all applied to the LR frames).

    noise_probability: chance a clip gets sensor noise; full_well: range (log-uniform) of photo-electrons at
    full scale for r = 1; read_noise: range (uniform) in electrons. jpeg_probability / h264_probability: chance
    of each compression (at most one is applied); jpeg_quality, h264_crf: ranges (uniform integers).
    """

    noise_probability: float = 0.5
    full_well: tuple[float, float] = (300.0, 20000.0)
    read_noise: tuple[float, float] = (0.5, 8.0)
    jpeg_probability: float = 0.2
    jpeg_quality: tuple[int, int] = (60, 95)
    h264_probability: float = 0.2
    h264_crf: tuple[int, int] = (16, 30)


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """[T, 3, h, w] float in [0, 1] -> [T, h, w, 3] uint8 (rounded) on the CPU."""
    return (frames.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _from_uint8(frames: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).to(like.device, torch.float32) / 255.0


def sensor_noise(linear: torch.Tensor, fraction: np.ndarray, rng: np.random.Generator,
                 full_well: float, read_noise: float) -> torch.Tensor:
    """Add Poisson-Gaussian noise to linear-light frames [T, 3, h, w] with duty cycles ``fraction`` [T].

    full_well: photo-electrons collected at full scale with the shutter open the whole interval (r = 1).
    read_noise: Gaussian read noise in electrons. Returns linear light clamped to [0, 1], same device.
    """
    x = linear.detach().double().clamp(0, 1).cpu().numpy()
    r = np.asarray(fraction, dtype=np.float64).reshape(-1, 1, 1, 1)
    electrons_full = r * float(full_well)
    electrons = rng.poisson(x * electrons_full) + rng.normal(scale=float(read_noise), size=x.shape)
    noisy = np.clip(electrons / electrons_full, 0.0, 1.0)
    return torch.from_numpy(noisy).to(linear.device, torch.float32)


def jpeg_roundtrip(frames: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-compress each sRGB frame of [T, 3, h, w] (float [0, 1]) at ``quality`` (1..95) and decode it."""
    from PIL import Image

    out = []
    for frame in to_uint8(frames):
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        out.append(np.asarray(Image.open(buf).convert("RGB")))
    return _from_uint8(np.stack(out), frames)


def h264_roundtrip(frames: torch.Tensor, crf: int) -> torch.Tensor:
    """Encode sRGB frames [T, 3, h, w] (float [0, 1]; h, w even) with libx264 at ``crf`` (yuv420p) and decode.

    Encoding runs single-threaded in memory, so the same input gives the same bytes.
    """
    import av

    t, _, h, w = frames.shape
    if h % 2 or w % 2:
        raise ValueError(f"h264_roundtrip: frame size {h}x{w} must be even for yuv420p; use an even LR size")
    pixels = to_uint8(frames)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(int(crf)), "preset": "veryfast", "threads": "1"}
        stream.thread_count = 1
        for frame in pixels:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buf.seek(0)
    decoded = []
    with av.open(buf, mode="r") as container:
        for frame in container.decode(video=0):
            decoded.append(frame.to_ndarray(format="rgb24"))
    if len(decoded) != t:
        raise RuntimeError(f"h264_roundtrip: encoded {t} frames but decoded {len(decoded)}")
    return _from_uint8(np.stack(decoded), frames)
