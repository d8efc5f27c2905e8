"""On-the-fly training batches for the trainer: ``TrainingSampler(...).sample(batch_size) -> dict``.

Clip k of a sampler is a pure function of (seed, k): its scene, exposure schedule and degradations are drawn
from ``numpy.random.default_rng([seed, k])`` on the CPU, and the render runs on ``device``. The sampler keeps a
counter of clips handed out (``state_dict`` / ``load_state_dict`` to resume a run), so the same seed gives
the same stream of batches on any device (equal to float tolerance; 8-bit rounding can differ by one code
value on a few pixels between CPU and GPU).

Batch layout (B clips of T frames, HR = scale * LR):
- ``lr`` [B, T, 3, h, w]: blurry (optionally degraded) LR frames, sRGB in [0, 1];
- ``gt`` [B, T, 3, s*h, s*w]: sharp HR ground truth (the instant at each exposure window's centre);
- ``lr_sharp`` [B, T, 3, h, w]: the ground truth downsampled like ``lr`` but without blur or degradation;
- ``exposure`` [B, T] float32: duty cycle r (fraction of the frame interval); ``level`` [B, T] int64: 1..5
  for the paper's levels 5:1..5:5, 0 for continuous r;
- ``flow_fwd`` / ``flow_bwd`` [B, T, 2, h, w] float32 (flow_resolution="lr": LR grid, in LR pixels;
  "hr": [B, T, 2, s*h, s*w] in HR pixels). flow_fwd[:, t] maps frame t to t+1 as a backward-warping flow:
  ``frame_{t+1}(x + flow_fwd[:, t](x)) ~= frame_t(x)``; flow_bwd[:, t] maps t to t-1 the same way; channel 0
  is x, 1 is y; flow_fwd[:, T-1] = flow_bwd[:, 0] = 0 (edge frame replicated);
- ``occ_fwd`` / ``occ_bwd`` [B, T, 1, h, w] float32: 1 where the pixel of frame t is occluded or leaves the
  view in frame t+1 (t-1), or lies on a soft layer edge; use (1 - occ) as the valid mask for flow losses;
- ``subframes`` [B, T] int64 (instants integrated per frame), ``sources`` list of B lists of image ids,
  ``index`` [B] int64 (clip numbers), ``degradations`` list of B dicts.
"""
from __future__ import annotations

import numbers
import os

import numpy as np
import torch

from .clip import render_clip
from .degrade import DegradationConfig
from .exposure_schedule import sample_schedule
from .pool import ImagePool
from .scene import sample_scene
from .sources import catalogue

__all__ = ["TrainingSampler"]

_TENSOR_KEYS = ("lr", "gt", "lr_sharp", "exposure", "level", "flow_fwd", "flow_bwd", "occ_fwd", "occ_bwd",
                "subframes")


class TrainingSampler:
    """Random synthetic training clips rendered on the fly (see the module docstring for the batch layout).

    split: "train" or "test" source images (the fixed split of split.py). scale: SR factor (LR -> HR).
    frames: T. lr_size: LR crop, int or (h, w). seed: stream seed. device: render device ("cpu", "cuda", ...).
    layers: (min, max) foreground layers per clip. max_blur: largest speed in HR px per frame interval (blur
    extent at r = 1). exposure_modes: weights of "fixed" / "random_walk" / "continuous" schedules.
    degradations: False (clean), True (DegradationConfig() defaults) or a DegradationConfig.
    flow_resolution: "lr" (LR grid, LR px; the model's image-flow head) or "hr". text_probability: chance of
    rendered text on the background. sources_root: Debian source folder (default sources.source_root()).
    cache_bytes: decoded-image cache. max_step: largest sub-frame motion in HR px.
    """

    def __init__(self, split: str = "train", scale: int = 4, frames: int = 10, lr_size: int | tuple[int, int] = 64,
                 seed: int = 0, device: str | torch.device = "cpu", *, layers: tuple[int, int] = (0, 4),
                 max_blur: float = 40.0, exposure_modes: dict[str, float] | None = None,
                 degradations: bool | DegradationConfig = False, flow_resolution: str = "lr",
                 text_probability: float = 0.1, sources_root: str | os.PathLike | None = None,
                 cache_bytes: int = 1 << 30, max_step: float = 0.9) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"TrainingSampler: split must be 'train' or 'test', got {split!r}")
        if flow_resolution not in ("lr", "hr"):
            raise ValueError(f"TrainingSampler: flow_resolution must be 'lr' or 'hr', got {flow_resolution!r}")
        if int(scale) != scale or scale < 1:
            raise ValueError(f"TrainingSampler: scale must be a positive integer, got {scale!r}")
        if frames < 1:
            raise ValueError(f"TrainingSampler: frames must be >= 1, got {frames}")
        sides = (lr_size, lr_size) if isinstance(lr_size, numbers.Integral) else lr_size
        if not (isinstance(sides, (tuple, list)) and len(sides) == 2
                and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in sides)):
            raise ValueError(f"TrainingSampler: lr_size must be a whole number of pixels >= 1 or (height, width) of "
                             f"them, got {lr_size!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"TrainingSampler: seed must be an integer >= 0, got {seed!r}")
        if not (len(tuple(layers)) == 2 and 0 <= layers[0] <= layers[1]):
            raise ValueError(f"TrainingSampler: layers must be (fewest, most) foreground layers with 0 <= fewest <= "
                             f"most, got {layers!r}")
        lh, lw = sides
        self.split, self.scale, self.frames, self.seed = split, int(scale), int(frames), int(seed)
        self.lr_size = (int(lh), int(lw))
        self.hr_size = (int(lh) * self.scale, int(lw) * self.scale)
        self.device = torch.device(device)
        self.layers, self.max_blur, self.exposure_modes = tuple(layers), float(max_blur), exposure_modes
        self.degradations = DegradationConfig() if degradations is True else (degradations or None)
        self.flow_resolution, self.text_probability, self.max_step = flow_resolution, float(text_probability), max_step
        images = [i for i in catalogue(root=sources_root) if i.split == split]
        self.backgrounds = ImagePool([i for i in images if i.kind in ("photo", "texture")], cache_bytes)
        self.cutouts = ImagePool([i for i in images if i.kind == "photo"], cache_bytes // 4)
        self.sprites = ImagePool([i for i in images if i.kind == "sprite"], cache_bytes // 4)
        if not self.backgrounds:
            raise ValueError(f"TrainingSampler: no '{split}' source images are installed; install the wheels "
                             "(pip install 'vs-fmanet[data]') and/or run fmanet-fetch-sources")
        self._next = 0

    # -- resumable stream -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Position in the clip stream (with the seed), for resuming training."""
        return {"seed": self.seed, "next_clip": self._next}

    def load_state_dict(self, state: dict) -> None:
        if int(state["seed"]) != self.seed:
            raise ValueError(f"TrainingSampler.load_state_dict: state is for seed {state['seed']}, "
                             f"this sampler has seed {self.seed}")
        self._next = int(state["next_clip"])

    # -- clips and batches -------------------------------------------------------------------------------
    def clip(self, index: int) -> dict:
        """Clip number ``index`` of this sampler's stream (a pure function of seed and index)."""
        rng = np.random.default_rng([self.seed, int(index)])
        spec = sample_scene(rng, self.backgrounds, size=self.hr_size, frames=self.frames, max_speed=self.max_blur,
                            layers=self.layers, cutouts=self.cutouts, sprites=self.sprites,
                            text_probability=self.text_probability)
        schedule = sample_schedule(self.frames, rng, self.exposure_modes)
        step = self.scale if self.flow_resolution == "lr" else 1
        out = render_clip(spec, schedule, device=self.device, scales=(self.scale,), flow_step=step,
                          degradations=self.degradations, rng=rng, max_step=self.max_step)
        out["lr"] = out.pop(f"lr_x{self.scale}")
        out["lr_sharp"] = out.pop(f"lr_sharp_x{self.scale}")
        out["index"] = int(index)
        return out

    def sample(self, batch_size: int) -> dict:
        """The next ``batch_size`` clips of the stream, stacked (see the module docstring for keys and shapes)."""
        if batch_size < 1:
            raise ValueError(f"TrainingSampler.sample: batch_size must be >= 1, got {batch_size}")
        clips = [self.clip(self._next + b) for b in range(batch_size)]
        self._next += batch_size
        batch = {k: torch.stack([c[k] for c in clips]) for k in _TENSOR_KEYS}
        batch["sources"] = [c["sources"] for c in clips]
        batch["degradations"] = [c["degradations"] for c in clips]
        batch["index"] = torch.tensor([c["index"] for c in clips], dtype=torch.int64)
        return batch
