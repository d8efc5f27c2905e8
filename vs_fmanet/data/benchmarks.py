"""Fixed synthetic benchmarks generated on demand from seeds: SYN-ME (levels 1..5) and SYN-RE (random walks).

Like REDS4-ME / REDS-RE (spec §6), every benchmark of one ``size`` and ``seed`` shows the *same* scenes (same
photos, crops, camera and layer motion); only the exposures differ: ``syn-me-N`` uses duty cycle N/5 on every
frame, ``syn-re`` a REDS-RE random walk over the levels (start and step interval drawn per clip). Scenes come
only from explicitly listed test-split images, so no benchmark scene is ever trained on and the benchmark does
not change when more sources are installed. Camera peak speeds are spread log-evenly over the clips (2 to 40
HR px per frame interval, i.e. blur up to ~40 px at r = 1); layers move at random speeds up to 40 px.
No noise or compression (paper-like), except in ``syn-re-real``.

``syn-re-real`` (beyond the paper) is ``syn-re`` as a camera would deliver it: the same scenes and exposure walks,
then on the LR frames Poisson-Gaussian sensor noise scaled by exposure (``REAL_WORLD``: 4000 photo-electrons at
full scale for r = 1, 3 e- read noise, so a 1/5 exposure is about 2.2x noisier than a full one) and H.264 at
CRF 23 (libx264's default, yuv420p), as phone and action-camera footage arrives. It measures what a user's real
video gets from a model trained on clean frames (noise and block artefacts amplified or removed); the ground truth
stays the clean sharp frame.

Sizes:
- "small": 3 clips x 6 frames at 32x48 LR (scikit-image test photos, always installed) for CPU tests;
- "full": 4 clips x 20 frames at 180x320 LR, the paper's timing size (the three 1920x1080 GCompris test photos
  as backgrounds, cycled, so the 1280x720 HR view has room to move; the 12 Tux Typing test photos as cut-outs:
  run fmanet-fetch-sources first). The GCompris
  split depends on the file list of bookworm's gcompris-qt-data 3.1-2; should a later package move one of
  these images to the training split, ``benchmark`` refuses to run rather than leak it.
"""
from __future__ import annotations

import numbers
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .clip import render_clip
from .degrade import DegradationConfig
from .exposure_schedule import fixed_level, random_walk
from .pool import ImagePool
from .scene import sample_scene
from .sources import catalogue

__all__ = ["benchmark", "BENCHMARK_NAMES", "BenchmarkConfig", "BENCHMARK_SIZES", "REAL_WORLD"]

BENCHMARK_NAMES = ("syn-me-1", "syn-me-2", "syn-me-3", "syn-me-4", "syn-me-5", "syn-re", "syn-re-real")

#: the fixed degradations of ``syn-re-real`` (every clip gets both; see the module docstring).
REAL_WORLD = DegradationConfig(noise_probability=1.0, full_well=(4000.0, 4000.0), read_noise=(3.0, 3.0),
                               jpeg_probability=0.0, h264_probability=1.0, h264_crf=(23, 23))


@dataclass(frozen=True)
class BenchmarkConfig:
    """clips x frames at LR size (h, w); backgrounds cycle through ``images`` and foreground cut-outs come from
    ``cutouts`` (source-image ids, all test split); layers: (min, max) foreground layers; speed_range: camera
    peak speeds (HR px per frame interval)."""

    clips: int
    frames: int
    lr_size: tuple[int, int]
    images: tuple[str, ...]
    cutouts: tuple[str, ...]
    layers: tuple[int, int] = (0, 2)
    speed_range: tuple[float, float] = (2.0, 40.0)
    max_layer_speed: float = 40.0


_GC = "gcompris:rcc/{0}/gcompris/src/activities/{0}/resource/{1}.webp"
BENCHMARK_SIZES: dict[str, BenchmarkConfig] = {
    "small": BenchmarkConfig(clips=3, frames=6, lr_size=(32, 48),
                             images=("skimage:data/coffee.png", "skimage:data/chelsea.png"),
                             cutouts=("skimage:data/coffee.png", "skimage:data/chelsea.png")),
    "full": BenchmarkConfig(clips=4, frames=20, lr_size=(180, 320),
                            images=(_GC.format("erase", "caterpillar"), _GC.format("erase", "gosling"),
                                    _GC.format("erase", "penguin")),
                            cutouts=tuple(f"tuxtype:usr/share/tuxtype/images/kcas{i}.jpg" for i in range(12))),
}

_SCENE_SALT, _WALK_SALT, _REAL_SALT = 0x5CE7E, 0x4A1C, 0x2EA1


def _pool(ids: tuple[str, ...], size: str) -> ImagePool:
    by_id = {i.id: i for i in catalogue()}
    missing = [i for i in ids if i not in by_id]
    if missing:
        where = os.environ.get("VS_FMANET_SOURCES")
        hint = (f"; VS_FMANET_SOURCES={where} is used instead of the installed sources: if it is a bundle packed "
                "without the test split, pack it with --splits train,test or unset VS_FMANET_SOURCES") if where else ""
        raise FileNotFoundError(f"benchmark: size {size!r} needs source images that are not installed: "
                                f"{', '.join(missing)}; run fmanet-fetch-sources (Debian sources) or "
                                f"pip install 'vs-fmanet[data]' (PyPI sources){hint}")
    leaked = [i for i in ids if by_id[i].split != "test"]
    if leaked:
        raise ValueError(f"benchmark: images {leaked} are in the training split; benchmarks may use only test images")
    return ImagePool([by_id[i] for i in ids])


def benchmark(name: str, size: str = "small", seed: int = 0, *, scale: int = 4,
              device: str | torch.device = "cpu", flows: bool = False) -> Iterator[dict]:
    """Yield the clips of benchmark ``name`` ("syn-me-1".."syn-me-5", "syn-re", "syn-re-real") at ``size``
    ("small"/"full").

    Each clip is a dict: ``lr`` [T, 3, H, W] float32 sRGB in [0, 1] (blurry, x``scale`` down), ``gt``
    [T, 3, sH, sW] (sharp), ``lr_sharp`` [T, 3, H, W], ``exposure`` [T] (duty cycle, fraction of the frame
    interval), ``level`` [T] (1..5), ``subframes`` [T], plus ``name``, ``size``, ``seed``, ``clip`` (index) and
    ``sources`` (image ids); ``syn-re-real`` clips also carry ``degradations`` (what was applied to ``lr``).
    flows=True adds flow_fwd/flow_bwd/occ_fwd/occ_bwd on the LR grid (see flow.py).
    The same (name, size, seed, scale) always gives the same clips; tensors live on ``device``.
    """
    if name not in BENCHMARK_NAMES:
        raise ValueError(f"benchmark: unknown name {name!r}; choose from {', '.join(BENCHMARK_NAMES)}")
    if size not in BENCHMARK_SIZES:
        raise ValueError(f"benchmark: unknown size {size!r}; choose 'small' (CPU tests) or 'full' (180x320 LR)")
    for label, value, low in (("seed", seed, 0), ("scale", scale, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"benchmark: {label}={value!r} must be an integer >= {low}")
    return _clips(name, size, int(seed), int(scale), device, flows)   # checked now, not at the first next()


def _clips(name: str, size: str, seed: int, scale: int, device: str | torch.device, flows: bool
           ) -> Iterator[dict]:
    """The clips of :func:`benchmark` (arguments already checked)."""
    config = BENCHMARK_SIZES[size]
    backgrounds = _pool(config.images, size)
    cutouts = _pool(config.cutouts, size)
    lh, lw = config.lr_size
    hr = (lh * scale, lw * scale)
    lo, hi = np.log(config.speed_range[0]), np.log(config.speed_range[1])
    for k in range(config.clips):
        rng = np.random.default_rng([seed, k, _SCENE_SALT])
        bg = backgrounds.images[k % len(backgrounds)]
        background = ImagePool([bg])
        others = ImagePool([img for img in cutouts.images if img.id != bg.id] or cutouts.images)
        speed = float(np.exp(lo + (k + 0.5) / config.clips * (hi - lo)))
        spec = sample_scene(rng, background, size=hr, frames=config.frames, max_speed=config.max_layer_speed,
                            layers=config.layers, cutouts=others, sprites=None, text_probability=0.0,
                            camera_speed=speed)
        if name.startswith("syn-re"):
            schedule = random_walk(config.frames, np.random.default_rng([seed, k, _WALK_SALT]))
        else:
            schedule = fixed_level(int(name.rsplit("-", 1)[1]), config.frames)
        real = name == "syn-re-real"
        out = render_clip(spec, schedule, device=device, scales=(scale,), flow_step=scale if flows else None,
                          degradations=REAL_WORLD if real else None,
                          rng=np.random.default_rng([seed, k, _REAL_SALT]) if real else None)
        out["lr"] = out.pop(f"lr_x{scale}")
        out["lr_sharp"] = out.pop(f"lr_sharp_x{scale}")
        degradations = out.pop("degradations")
        if real:
            out["degradations"] = degradations
        out.update(name=name, size=size, seed=int(seed), clip=k)
        yield out
