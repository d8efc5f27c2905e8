"""Sub-frame renderer: textured planes moving along homography trajectories, composited and integrated over
each frame's exposure window in linear light. Pure torch (grid_sample), runs on CPU or CUDA.

A ``Scene`` is an opaque background plane plus foreground layers (back to front), each a texture in linear
light with premultiplied alpha and a ``Trajectory`` mapping screen pixels to texture pixels at time tau.
Rendering one instant samples every surface with grid_sample (one batched call per surface per chunk of
instants) and composites "over". A blurred frame is the mean of instants spread evenly over the exposure
window [tau_i - r_i/2, tau_i + r_i/2] (midpoint rule), with enough instants that consecutive ones move less
than ``max_step`` HR pixels, so the box integral is sampled finer than a pixel. Layers are only sampled inside
their screen bounding box, which keeps the cost close to one full-frame sample per instant.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .motion import Trajectory, screen_speed, _screen_probes

__all__ = ["Surface", "Scene", "exposure_sample_times", "render_instants", "integrate_exposures"]

#: Pixels each side added to a layer's screen bounding box (cubic support is 2 px).
_BBOX_MARGIN = 3
#: Samples per chunk: keeps grids + outputs to a few hundred MB whatever the frame size.
_CHUNK_PIXELS = 6_000_000


@dataclass
class Surface:
    """A textured plane.

    texture: [C, h, w] float32 on the render device, linear light; C = 3 for the opaque background,
    C = 4 (premultiplied RGB, alpha) for a layer. trajectory maps screen px -> texture px at tau.
    """

    texture: torch.Tensor
    trajectory: Trajectory
    source_id: str = ""

    @property
    def opaque(self) -> bool:
        return self.texture.shape[0] == 3

    @property
    def texture_size(self) -> tuple[int, int]:
        return int(self.texture.shape[1]), int(self.texture.shape[2])

    def corners(self) -> np.ndarray:
        """Texture corners (pixel-edge coordinates) [4, 2] as (x, y)."""
        h, w = self.texture_size
        return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])


@dataclass
class Scene:
    """Background plus layers (back to front) seen by a screen of ``size`` = (H, W) HR pixels."""

    size: tuple[int, int]
    background: Surface
    layers: list[Surface] = field(default_factory=list)

    @property
    def device(self) -> torch.device:
        return self.background.texture.device

    def max_speed(self, times: np.ndarray) -> np.ndarray:
        """Largest screen speed of any surface at ``times`` [S] (HR px per frame interval) -> [S]."""
        speed = screen_speed(self.background.trajectory, times, screen_points=_screen_probes(self.size))
        for layer in self.layers:
            speed = np.maximum(speed, screen_speed(layer.trajectory, times, texture_points=layer.corners()))
        return speed


def exposure_sample_times(scene: Scene, centres: np.ndarray, fractions: np.ndarray,
                          max_step: float = 0.9) -> list[np.ndarray]:
    """Instants (tau) that sample each frame's exposure window, per frame.

    centres: [T] tau of each frame (window centres); fractions: [T] duty cycles r in (0, 1].
    Frame i gets N_i = max(1, ceil(v_i * r_i / max_step)) instants at tau_i - r_i/2 + (k + 1/2) r_i / N_i,
    where v_i is the peak screen speed inside the window, so consecutive instants move < max_step HR px.
    """
    out = []
    for centre, r in zip(np.asarray(centres, dtype=np.float64), np.asarray(fractions, dtype=np.float64)):
        probe_t = centre + r * np.linspace(-0.5, 0.5, 9)
        v = float(scene.max_speed(probe_t).max())
        n = max(1, int(np.ceil(v * r / max_step - 1e-9)))
        out.append(centre - r / 2 + (np.arange(n) + 0.5) * r / n)
    return out


def _normalised(traj: Trajectory, times: np.ndarray, tex_size: tuple[int, int], x0: int, y0: int) -> np.ndarray:
    """Homographies from local pixel coords of a screen box at (x0, y0) to grid_sample's [-1, 1] texture coords."""
    th, tw = tex_size
    norm = np.array([[2.0 / tw, 0.0, 1.0 / tw - 1.0], [0.0, 2.0 / th, 1.0 / th - 1.0], [0.0, 0.0, 1.0]])
    shift = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    return norm @ traj.matrices(times) @ shift


def _grid(hn: np.ndarray, h: int, w: int, device: torch.device) -> torch.Tensor:
    """Sampling grid [S, h, w, 2] for homographies hn [S, 3, 3] over local pixel coords 0..w-1, 0..h-1.

    Written with broadcasting so that only six full-size element-wise passes are made (this is, with
    grid_sample itself, the renderer's hot loop).
    """
    m = torch.as_tensor(hn, dtype=torch.float32, device=device)
    xs = torch.arange(w, dtype=torch.float32, device=device).view(1, 1, w)
    ys = torch.arange(h, dtype=torch.float32, device=device).view(1, h, 1)

    def c(i: int, j: int) -> torch.Tensor:
        return m[:, i, j].view(-1, 1, 1)

    inv = (c(2, 0) * xs + c(2, 2)) + c(2, 1) * ys
    inv.reciprocal_()
    grid = torch.empty(m.shape[0], h, w, 2, dtype=torch.float32, device=device)
    torch.mul((c(0, 0) * xs + c(0, 2)) + c(0, 1) * ys, inv, out=grid[..., 0])
    torch.mul((c(1, 0) * xs + c(1, 2)) + c(1, 1) * ys, inv, out=grid[..., 1])
    return grid


def _sample(surface: Surface, times: np.ndarray, box: tuple[int, int, int, int], mode: str) -> torch.Tensor:
    """Sample ``surface`` at ``times`` [S] over screen box (x0, y0, x1, y1) -> [S, C, y1-y0, x1-x0]."""
    x0, y0, x1, y1 = box
    grid = _grid(_normalised(surface.trajectory, times, surface.texture_size, x0, y0), y1 - y0, x1 - x0,
                 surface.texture.device)
    tex = surface.texture.unsqueeze(0).expand(len(times), -1, -1, -1)
    pad = "reflection" if surface.opaque else "zeros"
    out = F.grid_sample(tex, grid, mode=mode, padding_mode=pad, align_corners=False)
    if mode == "bicubic" and not surface.opaque:
        # cubic overshoot: keep the compositing weight in [0, 1]; colour is left unclamped so that averaging
        # stays linear (light is conserved) and is clamped once, at the sRGB encode
        out = torch.cat([out[:, :3], out[:, 3:4].clamp(0.0, 1.0)], dim=1)
    return out


def _layer_box(layer: Surface, times: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Screen bounding box (x0, y0, x1, y1), end-exclusive, of a layer over ``times``; None if off-screen."""
    h_inv = np.linalg.inv(layer.trajectory.matrices(times))
    c = layer.corners()
    hom = np.concatenate([c, np.ones((4, 1))], axis=1) @ np.swapaxes(h_inv, 1, 2)   # [S, 4, 3]
    if np.any(hom[..., 2] <= 0):   # plane crosses the horizon: fall back to the full frame
        return 0, 0, size[1], size[0]
    pts = hom[..., :2] / hom[..., 2:3]
    x0 = max(0, int(np.floor(pts[..., 0].min())) - _BBOX_MARGIN)
    y0 = max(0, int(np.floor(pts[..., 1].min())) - _BBOX_MARGIN)
    x1 = min(size[1], int(np.ceil(pts[..., 0].max())) + _BBOX_MARGIN + 1)
    y1 = min(size[0], int(np.ceil(pts[..., 1].max())) + _BBOX_MARGIN + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _render_chunk(scene: Scene, times: np.ndarray, mode: str) -> torch.Tensor:
    h, w = scene.size
    out = _sample(scene.background, times, (0, 0, w, h), mode)
    for layer in scene.layers:
        box = _layer_box(layer, times, scene.size)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        rgba = _sample(layer, times, box, mode)
        region = out[:, :, y0:y1, x0:x1]
        out[:, :, y0:y1, x0:x1] = rgba[:, :3] + (1.0 - rgba[:, 3:4]) * region
    return out


def _chunks(n: int, size: tuple[int, int]):
    step = max(1, _CHUNK_PIXELS // (size[0] * size[1]))
    for start in range(0, n, step):
        yield start, min(n, start + step)


def render_instants(scene: Scene, times: np.ndarray, mode: str = "bicubic") -> torch.Tensor:
    """Linear-light frames of ``scene`` at instants ``times`` [S] -> [S, 3, H, W] float32 on the scene device.

    mode: grid_sample interpolation, "bicubic" (sharp; default for ground truth) or "bilinear" (faster).
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    return torch.cat([_render_chunk(scene, times[a:b], mode) for a, b in _chunks(times.size, scene.size)], dim=0)


def integrate_exposures(scene: Scene, window_times: list[np.ndarray], mode: str = "bilinear") -> torch.Tensor:
    """Mean linear-light image over each frame's instants -> [T, 3, H, W] float32 (the blurred frames).

    window_times: per frame, the instants from ``exposure_sample_times``. Averaging happens in linear light.
    """
    counts = np.array([len(t) for t in window_times])
    if np.any(counts < 1):
        raise ValueError(f"integrate_exposures: frame {int(np.argmin(counts))} has no sample instants")
    times = np.concatenate(window_times)
    owner = np.repeat(np.arange(len(window_times)), counts)
    h, w = scene.size
    acc = torch.zeros(len(window_times), 3, h, w, dtype=torch.float32, device=scene.device)
    for a, b in _chunks(times.size, scene.size):
        rendered = _render_chunk(scene, times[a:b], mode)
        # per-frame sums of contiguous runs (deterministic on CUDA, unlike index_add_)
        for frame in np.unique(owner[a:b]):
            rows = np.flatnonzero(owner[a:b] == frame)
            acc[frame] += rendered[rows[0]:rows[-1] + 1].sum(dim=0)
    return acc / torch.as_tensor(counts, dtype=torch.float32, device=scene.device).view(-1, 1, 1, 1)
