"""Smooth random motion: screen -> texture homographies as functions of time, and their sampling.

Time tau is measured in frame intervals from the clip's centre frame (frame i of a T-frame clip sits at
tau = i - (T - 1) / 2), so excursions are symmetric and a texture crop needs the least margin.

A ``Trajectory`` holds six parameters that vary smoothly with time,

    p(tau) = base + velocity * tau + accel * tau**2 / 2 + sum_k amp_k * sin(freq_k * tau + phase_k)

namely (tx, ty) translation in texture pixels, theta rotation (rad), log_scale (texture px per screen px),
and (qx, qy) perspective (1 / screen px). They compose to the 3x3 matrix that maps a screen pixel
(x, y, 1) (pixel centres at integers) to the texture pixel it shows:

    H(tau) = T(texture_centre + t) @ [[s R(theta), 0], [0, 1]] @ [[1, 0, 0], [0, 1, 0], [qx, qy, 1]] @ T(-screen_centre)

Speeds are measured numerically as the largest screen-space displacement (HR pixels per frame interval) of
probe points that move with the texture; ``scale_to_speed`` rescales the time-varying part of a trajectory so
its peak speed hits a target (that is how blur extents from under 1 px to ~40 px are drawn).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Trajectory", "static_trajectory", "screen_speed", "peak_speed", "scale_to_speed",
           "sample_camera_trajectory", "sample_layer_trajectory", "sample_peak_speed", "frame_time"]

N_PARAMS = 6


def frame_time(index: int | np.ndarray, frames: int) -> np.ndarray:
    """tau of frame ``index`` in a clip of ``frames`` frames (frame intervals from the clip centre)."""
    return np.asarray(index, dtype=np.float64) - (frames - 1) / 2.0


@dataclass(frozen=True)
class Trajectory:
    """Screen -> texture homography as a smooth function of time (see module docstring).

    base, velocity, accel: [6]; shake_amp, shake_phase: [K, 6]; shake_freq: [K] (rad per frame interval).
    screen_centre, texture_centre: (x, y) in pixels.
    """

    base: np.ndarray
    velocity: np.ndarray
    accel: np.ndarray
    shake_amp: np.ndarray
    shake_freq: np.ndarray
    shake_phase: np.ndarray
    screen_centre: tuple[float, float]
    texture_centre: tuple[float, float]

    def params(self, times: np.ndarray) -> np.ndarray:
        """Parameters at ``times`` [S] -> [S, 6]."""
        t = np.asarray(times, dtype=np.float64).reshape(-1, 1)
        p = self.base + self.velocity * t + 0.5 * self.accel * t * t
        if self.shake_freq.size:
            ang = t[:, None, :] * self.shake_freq[None, :, None] + self.shake_phase[None]   # [S, K, 6]
            p = p + (self.shake_amp[None] * np.sin(ang)).sum(axis=1)
        return p

    def matrices(self, times: np.ndarray) -> np.ndarray:
        """Screen px -> texture px homographies at ``times`` [S] -> [S, 3, 3] float64."""
        p = self.params(times)
        s = np.exp(p[:, 3])
        c, sn = np.cos(p[:, 2]) * s, np.sin(p[:, 2]) * s
        n = p.shape[0]
        h = np.zeros((n, 3, 3))
        # linear part A = sR, perspective row (qx, qy, 1); composed with the two centring translations
        sx, sy = self.screen_centre
        tx = self.texture_centre[0] + p[:, 0]
        ty = self.texture_centre[1] + p[:, 1]
        qx, qy = p[:, 4], p[:, 5]
        # M = [[c, -sn, 0], [sn, c, 0], [qx, qy, 1]] then left-translate by (tx, ty) in the projective sense:
        # T(tx,ty) @ [[c,-sn,0],[sn,c,0],[0,0,1]] @ P(q)
        #   = [[c + tx qx, -sn + tx qy, tx], [sn + ty qx, c + ty qy, ty], [qx, qy, 1]]
        h[:, 0, 0] = c + tx * qx
        h[:, 0, 1] = -sn + tx * qy
        h[:, 0, 2] = tx
        h[:, 1, 0] = sn + ty * qx
        h[:, 1, 1] = c + ty * qy
        h[:, 1, 2] = ty
        h[:, 2, 0] = qx
        h[:, 2, 1] = qy
        h[:, 2, 2] = 1.0
        shift = np.array([[1.0, 0.0, -sx], [0.0, 1.0, -sy], [0.0, 0.0, 1.0]])
        return h @ shift

    def scaled(self, gain: float) -> "Trajectory":
        """The same path with every time-varying term multiplied by ``gain`` (speeds scale ~linearly)."""
        return replace(self, velocity=self.velocity * gain, accel=self.accel * gain, shake_amp=self.shake_amp * gain)


def static_trajectory(screen_centre: tuple[float, float], texture_centre: tuple[float, float],
                      base: np.ndarray | None = None) -> Trajectory:
    """A trajectory that does not move (identity mapping up to ``base``)."""
    z = np.zeros(N_PARAMS)
    return Trajectory(np.zeros(N_PARAMS) if base is None else np.asarray(base, dtype=np.float64), z, z.copy(),
                      np.zeros((0, N_PARAMS)), np.zeros(0), np.zeros((0, N_PARAMS)),
                      tuple(map(float, screen_centre)), tuple(map(float, texture_centre)))


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply homographies h [S, 3, 3] to points pts [S, P, 2] (or [P, 2]) -> [S, P, 2]."""
    pts = np.broadcast_to(pts, (h.shape[0],) + pts.shape[-2:])
    hom = np.concatenate([pts, np.ones(pts.shape[:-1] + (1,))], axis=-1) @ np.swapaxes(h, 1, 2)
    return hom[..., :2] / hom[..., 2:3]


def screen_speed(traj: Trajectory, times: np.ndarray, texture_points: np.ndarray | None = None,
                 screen_points: np.ndarray | None = None, dt: float = 1e-3) -> np.ndarray:
    """Largest screen-space speed (pixels per frame interval) at each of ``times`` [S] -> [S].

    Probe points move with the texture: either given in texture coordinates ``texture_points`` [P, 2] (a
    layer's corners), or given as screen positions ``screen_points`` [P, 2] at each time (background probes).
    """
    times = np.asarray(times, dtype=np.float64)
    h0, h1 = traj.matrices(times), traj.matrices(times + dt)
    if texture_points is not None:
        x0 = _apply(np.linalg.inv(h0), texture_points)
    else:
        x0 = np.broadcast_to(screen_points, (times.size,) + screen_points.shape)
    u = _apply(h0, x0)
    x1 = _apply(np.linalg.inv(h1), u)
    return np.linalg.norm(x1 - x0, axis=-1).max(axis=-1) / dt


def _screen_probes(size: tuple[int, int]) -> np.ndarray:
    h, w = size
    ys, xs = np.meshgrid(np.linspace(0, h - 1, 3), np.linspace(0, w - 1, 3), indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=-1)


def peak_speed(traj: Trajectory, frames: int, size: tuple[int, int], texture_points: np.ndarray | None = None,
               step: float = 0.125) -> float:
    """Largest probe speed over the clip's time span [tau_0 - 0.5, tau_{T-1} + 0.5] (px per frame interval)."""
    half = (frames - 1) / 2.0 + 0.5
    times = np.arange(-half, half + 1e-9, step)
    probes = None if texture_points is not None else _screen_probes(size)
    return float(screen_speed(traj, times, texture_points=texture_points, screen_points=probes).max())


def scale_to_speed(traj: Trajectory, target: float, frames: int, size: tuple[int, int],
                   texture_points: np.ndarray | None = None) -> Trajectory:
    """Rescale the time-varying part of ``traj`` so its peak screen speed is ``target`` px per frame interval."""
    if target <= 0:
        return traj.scaled(0.0)
    gain, cur = 1.0, traj
    for _ in range(4):   # secant-free fixed point: speed is close to linear in gain
        speed = peak_speed(cur, frames, size, texture_points)
        if speed <= 1e-9:
            return cur
        gain *= target / speed
        cur = traj.scaled(gain)
        if abs(speed - target) <= 0.01 * target:
            break
    return cur


def sample_peak_speed(rng: np.random.Generator, max_speed: float = 40.0, min_speed: float = 0.3,
                      static_probability: float = 0.05) -> float:
    """Peak speed in HR px per frame interval: 0 with ``static_probability``, else log-uniform in [min, max].

    At duty cycle r the blur extent of a frame is about r times this speed.
    """
    if rng.random() < static_probability:
        return 0.0
    return float(np.exp(rng.uniform(np.log(min_speed), np.log(max_speed))))


def _shake(rng: np.random.Generator, k: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    freq = rng.uniform(0.3, 2.5, size=k)
    amp = rng.normal(size=(k, N_PARAMS)) * weights / freq[:, None]   # speed amplitude ~ weights
    phase = rng.uniform(0, 2 * np.pi, size=(k, N_PARAMS))
    return amp, freq, phase


def sample_camera_trajectory(rng: np.random.Generator, size: tuple[int, int], texture_centre: tuple[float, float],
                             base_scale: float = 1.0, flip: bool = False) -> Trajectory:
    """Random smooth camera path shape for a screen of ``size`` (H, W): pan + handheld shake + rotation,
    zoom and mild perspective. Its speed is arbitrary; use ``scale_to_speed`` to set it."""
    h, w = size
    radius = 0.5 * float(np.hypot(h, w))
    pan = rng.uniform(0.0, 1.0)
    # per-parameter speed weights (texture px, rad, log-scale, 1/px), each contributing comparable pixels
    weights = np.array([1.0, 1.0, rng.uniform(0, 0.4) / radius, rng.uniform(0, 0.3) / radius,
                        rng.uniform(0, 0.1) / radius ** 2, rng.uniform(0, 0.1) / radius ** 2])
    direction = rng.normal(size=N_PARAMS)
    velocity = pan * direction * weights
    accel = pan * rng.normal(scale=0.15, size=N_PARAMS) * weights
    amp, freq, phase = _shake(rng, 2, (1.0 - pan) * weights)
    # static pose: small roll, zoom, and a mild perspective tilt (corners off by ~5 % of the radius)
    base = np.array([0.0, 0.0, rng.uniform(-0.15, 0.15), np.log(base_scale), 0.0, 0.0])
    base[4:] = rng.normal(scale=0.05, size=2) / radius
    traj = Trajectory(base, velocity, accel, amp, freq, phase, ((w - 1) / 2.0, (h - 1) / 2.0),
                      (float(texture_centre[0]), float(texture_centre[1])))
    if flip:
        traj = replace(traj, base=traj.base * np.array([1, 1, -1, 1, -1, 1]))
    return traj


def sample_layer_trajectory(rng: np.random.Generator, size: tuple[int, int], layer_size: tuple[int, int],
                            scale: float) -> Trajectory:
    """Random path shape for a foreground layer of texture size ``layer_size`` (h, w) on a screen of ``size``:
    its centre starts at a random on-screen position and moves with its own translation, rotation and zoom."""
    h, w = size
    lh, lw = layer_size
    start = (rng.uniform(0.15, 0.85) * (w - 1), rng.uniform(0.15, 0.85) * (h - 1))
    radius = 0.5 * float(np.hypot(lh, lw))
    pan = rng.uniform(0.3, 1.0)
    weights = np.array([1.0, 1.0, rng.uniform(0, 0.6) / radius, rng.uniform(0, 0.3) / radius, 0.0, 0.0])
    velocity = pan * rng.normal(size=N_PARAMS) * weights
    accel = pan * rng.normal(scale=0.1, size=N_PARAMS) * weights
    amp, freq, phase = _shake(rng, 1, (1.0 - pan) * weights)
    base = np.array([0.0, 0.0, rng.uniform(-np.pi, np.pi), np.log(scale), 0.0, 0.0])
    return Trajectory(base, velocity, accel, amp, freq, phase, start, ((lw - 1) / 2.0, (lh - 1) / 2.0))
