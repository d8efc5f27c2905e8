"""Render one synthetic clip: blurry LR frames, sharp HR ground truth, exposure labels, exact flow/occlusion.

Pipeline for a ``SceneSpec`` and an ``ExposureSchedule`` (all in linear light until the sRGB encode):

1. frame i of T sits at tau_i = i - (T-1)/2 (frame intervals); its exposure window is centred on it,
   [tau_i - r_i/2, tau_i + r_i/2], so ground-truth frames are evenly spaced whatever the exposure;
2. blurred HR frame = mean of sub-frame instants over the window (``renderer.integrate_exposures``);
3. sharp HR ground truth = the instant at the window centre tau_i (rendered with bicubic sampling);
4. LR = anti-aliased bicubic downsampling of the linear blurred frame by each scale, clamped; optional
   sensor noise (linear light), then sRGB encode, optional JPEG / H.264; lr_sharp likewise from the GT;
5. values are rounded to 8-bit code values (``quantize``), like the paper's PNG frames;
6. flow/occlusion between consecutive GT instants on the grid of ``flow_step`` (see flow.py).
"""
from __future__ import annotations

import numpy as np
import torch

from .colour import linear_to_srgb
from .degrade import DegradationConfig, h264_roundtrip, jpeg_roundtrip, sensor_noise
from .exposure_schedule import ExposureSchedule
from .flow import ground_truth_flow
from .motion import frame_time
from .renderer import exposure_sample_times, integrate_exposures, render_instants
from .resize import downsample
from .scene import SceneSpec

__all__ = ["render_clip", "quantize_8bit"]


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Round values in [0, 1] to the nearest of the 256 8-bit code values (still float)."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def _degrade_plan(config: DegradationConfig | None, rng: np.random.Generator) -> dict:
    if config is None:
        return {}
    plan: dict = {}
    if rng.random() < config.noise_probability:
        lo, hi = config.full_well
        plan["noise"] = (float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), float(rng.uniform(*config.read_noise)))
    u = rng.random()
    if u < config.jpeg_probability:
        plan["jpeg"] = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    elif u < config.jpeg_probability + config.h264_probability:
        plan["h264"] = int(rng.integers(config.h264_crf[0], config.h264_crf[1] + 1))
    return plan


def render_clip(spec: SceneSpec, schedule: ExposureSchedule, *, device: str | torch.device = "cpu",
                scales: tuple[int, ...] = (4,), flow_step: int | None = None,
                degradations: DegradationConfig | None = None, rng: np.random.Generator | None = None,
                quantize: bool = True, max_step: float = 0.9, subframe_mode: str | None = None) -> dict:
    """Render ``spec`` with per-frame exposures ``schedule`` on ``device``.

    scales: LR scale factors to produce (each must divide the HR size; 1 = blurred HR itself).
    flow_step: grid step of the GT flow (1 = HR, s = LR of scale s, None = no flow).
    degradations: optional noise/compression config (needs ``rng``); None = clean, paper-like.
    max_step: largest motion (HR px) between consecutive sub-frames of an exposure window.
    subframe_mode: grid_sample mode for sub-frames; None = "bilinear" when every scale >= 4 (its softening is
    far below the LR pixel), else "bicubic".

    Returns a dict: gt [T, 3, H, W]; lr_x{s} and lr_sharp_x{s} [T, 3, H/s, W/s] for each s (float32 sRGB in
    [0, 1]); exposure [T] float32 (duty cycle); level [T] int64; subframes [T] int64 (instants per window);
    with flow_step: flow_fwd, flow_bwd [T, 2, H/step, W/step] (grid px), occ_fwd, occ_bwd [T, 1, ...]
    (1 = occluded); sources: list of source-image ids; degradations: dict of what was applied.
    """
    if schedule.frames != spec.frames:
        raise ValueError(f"render_clip: schedule has {schedule.frames} frames but the scene has {spec.frames}")
    h, w = spec.size
    for s in scales:
        if h % s or w % s:
            raise ValueError(f"render_clip: HR size {h}x{w} is not divisible by scale {s}")
    if degradations is not None and rng is None:
        raise ValueError("render_clip: degradations need an rng (numpy Generator) for their random draws")
    scene = spec.build(device)
    centres = frame_time(np.arange(spec.frames), spec.frames)
    windows = exposure_sample_times(scene, centres, schedule.fraction, max_step)
    mode = subframe_mode or ("bilinear" if min(scales) >= 4 else "bicubic")
    blurred = integrate_exposures(scene, windows, mode)
    sharp = render_instants(scene, centres, "bicubic")
    finish = quantize_8bit if quantize else (lambda x: x.clamp(0.0, 1.0))
    out: dict = {"gt": finish(linear_to_srgb(sharp))}
    plan = _degrade_plan(degradations, rng) if degradations is not None else {}
    for s in scales:
        lr_lin = downsample(blurred, s).clamp(0.0, 1.0)
        if "noise" in plan:
            lr_lin = sensor_noise(lr_lin, schedule.fraction, rng, *plan["noise"])
        lr = linear_to_srgb(lr_lin)
        if "jpeg" in plan:
            lr = jpeg_roundtrip(lr, plan["jpeg"])
        elif "h264" in plan:
            lr = h264_roundtrip(lr, plan["h264"])
        out[f"lr_x{s}"] = finish(lr)
        out[f"lr_sharp_x{s}"] = finish(linear_to_srgb(downsample(sharp, s)))
    dev = torch.device(device)
    out["exposure"] = torch.as_tensor(schedule.fraction, dtype=torch.float32, device=dev)
    out["level"] = torch.as_tensor(schedule.level, dtype=torch.int64, device=dev)
    out["subframes"] = torch.as_tensor([len(t) for t in windows], dtype=torch.int64, device=dev)
    if flow_step is not None:
        out.update(ground_truth_flow(scene, centres, flow_step))
    out["sources"] = spec.source_ids
    out["degradations"] = plan
    return out
