"""Random scenes: a moving background photo plus 0..4 independently moving foreground layers.

``sample_scene`` draws everything from a numpy Generator on the CPU (image choice, crops, flips, shapes,
trajectories, speeds), so a seed fixes the scene whatever device renders it. The result is a ``SceneSpec``
(pixels + trajectories); ``SceneSpec.build(device)`` turns it into a renderer ``Scene`` on that device.

- Background: a crop of a photo, large enough to cover everything the moving camera sees over the clip (when
  the photo is too small the renderer mirrors it at the border), optionally shrunk by a random factor (scale
  diversity, never enlarged), optionally flipped, optionally with rendered text; crops with too little
  structure (mean |dx| + |dy| of grey < 3 levels) are redrawn a few times.
- Layers: soft-edged cut-outs of other photos (ellipse, rounded rectangle or random blob, feathered 0.7-2.5 px)
  or, where Tux Paint stamps are installed, sprites with their own alpha; each has its own trajectory and speed.
  Layer order (back to front) is the draw order, so layers occlude each other and the background.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .colour import srgb_uint8_to_linear
from .motion import (Trajectory, sample_camera_trajectory, sample_layer_trajectory, sample_peak_speed,
                     scale_to_speed)
from .pool import ImagePool
from .renderer import Scene, Surface
from .text import draw_text

__all__ = ["LayerSpec", "SceneSpec", "sample_scene", "structure", "blob_alpha"]

STRUCTURE_THRESHOLD = 3.0
_CROP_MARGIN = 4


@dataclass
class LayerSpec:
    """A foreground layer: sRGB uint8 pixels [h, w, 3], straight alpha float32 [h, w] in [0, 1], its motion."""

    pixels: np.ndarray
    alpha: np.ndarray
    trajectory: Trajectory
    source_id: str
    kind: str


@dataclass
class SceneSpec:
    """Everything needed to render a clip, device-independent. size = (H, W) HR; frames = T."""

    size: tuple[int, int]
    frames: int
    background: np.ndarray
    background_trajectory: Trajectory
    background_id: str
    layers: list[LayerSpec] = field(default_factory=list)
    camera_speed: float = 0.0

    @property
    def source_ids(self) -> list[str]:
        """Ids of every source image used (background first)."""
        return [self.background_id] + [l.source_id for l in self.layers]

    def build(self, device: str | torch.device = "cpu") -> Scene:
        """Upload textures (linear light; layers premultiplied) and return the renderer's Scene."""
        dev = torch.device(device)
        bg = srgb_uint8_to_linear(torch.from_numpy(np.array(self.background[..., :3], copy=True)).to(dev))
        layers = []
        for spec in self.layers:
            rgb = srgb_uint8_to_linear(torch.from_numpy(np.array(spec.pixels[..., :3], copy=True)).to(dev))
            alpha = torch.from_numpy(np.ascontiguousarray(spec.alpha, dtype=np.float32)).to(dev)
            rgba = torch.cat([rgb * alpha[..., None], alpha[..., None]], dim=-1).permute(2, 0, 1).contiguous()
            layers.append(Surface(rgba, spec.trajectory, spec.source_id))
        return Scene(self.size, Surface(bg.permute(2, 0, 1).contiguous(), self.background_trajectory,
                                        self.background_id), layers)


def structure(pixels: np.ndarray) -> float:
    """Mean |d/dx| + mean |d/dy| of the grey image (0..255 levels): < 3 is flat sky or bokeh."""
    grey = pixels[..., :3].astype(np.float32).mean(axis=-1)
    if grey.shape[0] < 2 or grey.shape[1] < 2:
        return 0.0
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


def blob_alpha(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Soft-edged random shape filling most of an h x w box: ellipse, rounded rectangle or smooth blob.

    Returns straight alpha float32 [h, w]; the edge ramps over 0.7..2.5 px and stays inside the box.
    """
    soft = float(rng.uniform(0.7, 2.5))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    ax, ay = (w - 1) / 2.0 - soft - 1, (h - 1) / 2.0 - soft - 1
    u, v = (xs - (w - 1) / 2.0) / ax, (ys - (h - 1) / 2.0) / ay
    shape = rng.choice(["ellipse", "rounded", "blob"])
    if shape == "rounded":
        n = float(rng.uniform(3.0, 8.0))
        rho = (np.abs(u) ** n + np.abs(v) ** n) ** (1.0 / n)
        limit = np.ones_like(rho)
    else:
        rho = np.hypot(u, v)
        phi = np.arctan2(v, u)
        limit = np.ones_like(rho)
        if shape == "blob":
            for k in range(2, 6):
                limit += rng.normal(scale=0.12 / k) * np.cos(k * phi + rng.uniform(0, 2 * np.pi))
            limit /= limit.max()   # keep the shape inside the box
    # signed distance in pixels, approximately (radial difference times the local radius)
    dist = (rho - limit) * np.minimum(ax, ay)
    return np.clip(0.5 - dist / soft, 0.0, 1.0).astype(np.float32)


def _extent(traj: Trajectory, size: tuple[int, int], frames: int) -> tuple[float, float, float, float]:
    """Texture-space box (xmin, xmax, ymin, ymax) seen by the screen over the clip, for texture_centre (0, 0)."""
    h, w = size
    half = (frames - 1) / 2.0 + 0.5
    times = np.arange(-half, half + 1e-9, 0.25)
    xs = np.array([-0.5, (w - 1) / 2.0, w - 0.5])
    ys = np.array([-0.5, (h - 1) / 2.0, h - 0.5])
    pts = np.array([[x, y, 1.0] for x in xs for y in ys])
    hom = pts @ np.swapaxes(traj.matrices(times), 1, 2)
    uv = hom[..., :2] / hom[..., 2:3]
    return float(uv[..., 0].min()), float(uv[..., 0].max()), float(uv[..., 1].min()), float(uv[..., 1].max())


def _resized_crop(img: np.ndarray, x0: float, y0: float, cw: int, ch: int, shrink: float) -> np.ndarray:
    """The region of ``img`` at (x0, y0) spanning (cw/shrink, ch/shrink) source px, resampled to ch x cw."""
    from PIL import Image

    if shrink == 1.0:
        ix, iy = int(round(x0)), int(round(y0))
        return np.ascontiguousarray(img[iy:iy + ch, ix:ix + cw])
    src = Image.fromarray(np.ascontiguousarray(img))
    box = (x0, y0, x0 + cw / shrink, y0 + ch / shrink)
    return np.asarray(src.resize((cw, ch), Image.Resampling.LANCZOS, box=box))


def _background(rng: np.random.Generator, pool: ImagePool, size: tuple[int, int], frames: int, speed: float,
                text_probability: float, tries: int = 8, fit_tries: int = 4) -> tuple[np.ndarray, Trajectory, str, int]:
    best = None
    for attempt in range(tries):
        index = pool.pick(rng)
        img = pool.image(index)[..., :3]
        if rng.random() < 0.5:
            img = img[:, ::-1]
        ih, iw = img.shape[:2]
        for _ in range(fit_tries):   # prefer a camera path whose view stays inside the photo
            shape = sample_camera_trajectory(rng, size, (0.0, 0.0), base_scale=float(rng.uniform(0.9, 1.1)))
            traj = scale_to_speed(shape, speed, frames, size)
            xmin, xmax, ymin, ymax = _extent(traj, size, frames)
            need_w = int(np.ceil(xmax - xmin)) + 2 * _CROP_MARGIN
            need_h = int(np.ceil(ymax - ymin)) + 2 * _CROP_MARGIN
            if need_w <= iw and need_h <= ih:
                break
        # random shrink (never enlarge) when the photo is larger than the region needed
        room = min(iw / need_w, ih / need_h)
        shrink = 1.0
        if room > 1.0 and rng.random() < 0.5:
            shrink = float(rng.uniform(max(0.5, 1.0 / room), 1.0))
        cw, ch = min(need_w, int(iw * shrink)), min(need_h, int(ih * shrink))
        x0 = float(rng.uniform(0, iw - cw / shrink))
        y0 = float(rng.uniform(0, ih - ch / shrink))
        crop = _resized_crop(img, x0, y0, cw, ch, shrink)
        centre = (_CROP_MARGIN - xmin + (cw - need_w) / 2.0, _CROP_MARGIN - ymin + (ch - need_h) / 2.0)
        traj = Trajectory(traj.base, traj.velocity, traj.accel, traj.shake_amp, traj.shake_freq, traj.shake_phase,
                          traj.screen_centre, centre)
        h, w = size
        cx, cy = int(centre[0]), int(centre[1])
        view = crop[max(0, cy - h // 2):cy + h // 2, max(0, cx - w // 2):cx + w // 2]
        score = structure(view)
        if best is None or score > best[0]:
            best = (score, crop, traj, pool.images[index].id, index)
        if score >= STRUCTURE_THRESHOLD:
            break
    _, crop, traj, image_id, index = best
    if rng.random() < text_probability:
        crop = draw_text(crop, rng)
    return crop, traj, image_id, index


def _cutout(rng: np.random.Generator, pool: ImagePool, size: tuple[int, int], exclude_id: str
            ) -> tuple[np.ndarray, np.ndarray, str]:
    h, w = size
    base = min(h, w)
    lh = max(8, int(base * rng.uniform(0.2, 0.55)))
    lw = max(8, int(lh * np.exp(rng.uniform(-0.5, 0.5))))
    same = [j for j, im in enumerate(pool.images) if im.id == exclude_id]   # not the background photo
    index = pool.pick(rng, exclude=same[0] if same else None)
    img = pool.image(index)[..., :3]
    ih, iw = img.shape[:2]
    shrink = float(rng.uniform(max(0.4, lw / iw, lh / ih), 1.0)) if min(iw / lw, ih / lh) >= 1 else 1.0
    cw, ch = min(lw, int(iw * shrink)), min(lh, int(ih * shrink))
    x0 = float(rng.uniform(0, iw - cw / shrink))
    y0 = float(rng.uniform(0, ih - ch / shrink))
    pixels = _resized_crop(img, x0, y0, cw, ch, shrink)
    return pixels, blob_alpha(ch, cw, rng), pool.images[index].id


def _sprite(rng: np.random.Generator, pool: ImagePool, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, str]:
    from PIL import Image

    index = pool.pick(rng)
    img = pool.image(index)
    if img.shape[-1] != 4:
        return img, blob_alpha(img.shape[0], img.shape[1], rng), pool.images[index].id
    target = min(size) * rng.uniform(0.25, 0.6)
    factor = min(1.0, target / max(img.shape[:2]))
    if factor < 1.0:
        im = Image.fromarray(img).resize((max(4, int(img.shape[1] * factor)), max(4, int(img.shape[0] * factor))),
                                         Image.Resampling.LANCZOS)
        img = np.asarray(im)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    return np.ascontiguousarray(img[..., :3]), (img[..., 3].astype(np.float32) / 255.0), pool.images[index].id


def sample_scene(rng: np.random.Generator, backgrounds: ImagePool, *, size: tuple[int, int], frames: int,
                 max_speed: float = 40.0, min_speed: float = 0.3, static_probability: float = 0.05,
                 layers: tuple[int, int] = (0, 4), cutouts: ImagePool | None = None,
                 sprites: ImagePool | None = None, sprite_probability: float = 0.5,
                 text_probability: float = 0.1, camera_speed: float | None = None) -> SceneSpec:
    """Draw a random scene of HR ``size`` (H, W) for a clip of ``frames`` frames.

    Speeds (HR px per frame interval; blur extent ~ r * speed) are log-uniform in [min_speed, max_speed] for the
    camera (0 with ``static_probability``, or exactly ``camera_speed`` if given) and for each layer.
    layers: (min, max) number of foreground layers. cutouts: pool for photo cut-outs (default: backgrounds).
    """
    speed = sample_peak_speed(rng, max_speed, min_speed, static_probability) if camera_speed is None \
        else float(camera_speed)
    crop, traj, bg_id, _ = _background(rng, backgrounds, size, frames, speed, text_probability)
    spec = SceneSpec(tuple(size), int(frames), crop, traj, bg_id, camera_speed=speed)
    cut_pool = cutouts if cutouts is not None else backgrounds
    for _ in range(int(rng.integers(layers[0], layers[1] + 1))):
        if sprites and rng.random() < sprite_probability:
            pixels, alpha, sid = _sprite(rng, sprites, size)
            kind = "sprite"
        else:
            pixels, alpha, sid = _cutout(rng, cut_pool, size, bg_id)
            kind = "cutout"
        lh, lw = alpha.shape
        shape = sample_layer_trajectory(rng, size, (lh, lw), scale=float(rng.uniform(0.85, 1.15)))
        corners = np.array([[-0.5, -0.5], [lw - 0.5, -0.5], [-0.5, lh - 0.5], [lw - 0.5, lh - 0.5]])
        layer_speed = sample_peak_speed(rng, max_speed, min_speed, static_probability)
        spec.layers.append(LayerSpec(pixels, alpha, scale_to_speed(shape, layer_speed, frames, size, corners),
                                     sid, kind))
    return spec
