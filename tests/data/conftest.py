"""Shared helpers for the data-engine tests: hand-built scenes whose motion is known exactly."""
from __future__ import annotations

import numpy as np
import pytest

from vs_fmanet.data.motion import Trajectory, static_trajectory
from vs_fmanet.data.scene import LayerSpec, SceneSpec


def translating(screen: tuple[int, int], texture_centre: tuple[float, float], vx: float, vy: float = 0.0
                ) -> Trajectory:
    """Texture slides so that a screen point sees texture point x + (vx, vy) * tau: the image moves by
    (-vx, -vy) px per frame interval on screen."""
    traj = static_trajectory(((screen[1] - 1) / 2.0, (screen[0] - 1) / 2.0), texture_centre)
    vel = np.zeros(6)
    vel[0], vel[1] = vx, vy
    return Trajectory(traj.base, vel, traj.accel, traj.shake_amp, traj.shake_freq, traj.shake_phase,
                      traj.screen_centre, traj.texture_centre)


@pytest.fixture
def make_scene():
    """Factory: a SceneSpec from a background uint8 texture [h, w, 3] and a translation speed (px/frame)."""

    def build(background: np.ndarray, size: tuple[int, int], frames: int, vx: float = 0.0, vy: float = 0.0,
              layers: list[LayerSpec] | None = None) -> SceneSpec:
        th, tw = background.shape[:2]
        traj = translating(size, ((tw - 1) / 2.0, (th - 1) / 2.0), vx, vy)
        return SceneSpec(size, frames, background, traj, "test:background", layers or [])

    return build


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
