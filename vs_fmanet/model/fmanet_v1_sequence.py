"""FMA-Net as a sequence model with FMA-Net++'s interface, so the engine runs it like any other network.

``FMANetV1Sequence.forward(lr [B, T, 3, H, W] RGB in [0, 1], exposure=None) -> [B, T, 3, sH, sW] RGB`` restores
EVERY frame t from its window (t - 1, t, t + 1). At the ends of the sequence the missing neighbour is the edge frame
itself (replicate padding), where the official test code skips the first and last frame instead. The official
weights expect BGR (OpenCV) input, so channels are flipped on the way in and out here; callers always see RGB.
FMA-Net is not exposure-aware: an ``exposure`` argument is ignored (with a one-time notice on the log).

The module subclasses :class:`FMANetV1`, so its ``state_dict`` keys are exactly those of the official checkpoints
(``degradation_learning_network.*``, ``restoration_network.*``) and converted weights load without renaming.
"""
from __future__ import annotations

import logging
import threading

import torch

from .fmanet_v1 import FMANetV1, FMANetV1Config, get_v1_config

log = logging.getLogger(__name__)

_NOTICE_LOCK = threading.Lock()
_EXPOSURE_NOTICE_GIVEN = False


def _exposure_notice(exposure: torch.Tensor | object) -> None:
    """Log once per process that FMA-Net ignores exposure information (only when some value is known)."""
    global _EXPOSURE_NOTICE_GIVEN
    if _EXPOSURE_NOTICE_GIVEN:
        return
    known = True
    if isinstance(exposure, torch.Tensor):
        known = bool(torch.isfinite(exposure).any())
    if not known:
        return
    with _NOTICE_LOCK:
        if not _EXPOSURE_NOTICE_GIVEN:
            _EXPOSURE_NOTICE_GIVEN = True
            log.warning("FMA-Net (model='fmanet') is not exposure-aware: the per-frame exposure is ignored; "
                        "use model='fmanetpp' to condition the restoration on it")


class FMANetV1Sequence(FMANetV1):
    """FMA-Net restoring every frame of a sequence; the FMA-Net++ interface (``scale``, ``config``,
    ``temporal_radius``, ``forward(lr, exposure=None)``).

    ``max_windows`` caps how many 3-frame windows go through the network in one batch (None = all T at once);
    lower it to trade speed for memory.
    """

    def __init__(self, cfg: FMANetV1Config | None = None, scale: int = 4, max_windows: int | None = None) -> None:
        super().__init__(cfg, scale)
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"FMANetV1Sequence: max_windows={max_windows} must be >= 1 or None")
        self.max_windows = max_windows

    @property
    def temporal_radius(self) -> int:
        """Frames on each side that influence an output frame (1 for the 3-frame window)."""
        return self.config.frames // 2

    def forward(self, lr: torch.Tensor, exposure: torch.Tensor | None = None, **ignored) -> torch.Tensor:
        """Restore every frame.

        lr:       [B, T, 3, H, W] RGB in [0, 1], T >= 1, any H, W
        exposure: [B, T] fractions of the frame interval; ignored (FMA-Net has no exposure input)
        ignored:  other FMA-Net++ keyword arguments (e.g. ``exposure_weight``), accepted and ignored
        Returns [B, T, 3, s*H, s*W] RGB (not clamped).
        """
        if lr.dim() != 5 or lr.shape[2] != 3:
            raise ValueError(f"FMANetV1Sequence.forward: lr must be [B, T, 3, H, W] RGB, got {tuple(lr.shape)}")
        if exposure is not None:
            _exposure_notice(exposure)
        b, t, c, h, w = lr.shape
        r = self.temporal_radius
        offsets = torch.arange(-r, r + 1, device=lr.device)
        index = (torch.arange(t, device=lr.device)[:, None] + offsets[None]).clamp(0, t - 1)   # [T, 2r+1]
        bgr = lr.flip(2)                                                                       # RGB -> BGR
        windows = bgr[:, index].reshape(b * t, 2 * r + 1, c, h, w).transpose(1, 2)           # [B*T, 3, 2r+1, H, W]
        step = self.max_windows or b * t
        outs = [self.restore_window(chunk) for chunk in windows.split(step)]
        hr = torch.cat(outs).reshape(b, t, c, h * self.scale, w * self.scale)
        return hr.flip(2)                                                                      # BGR -> RGB


def build_fmanet_v1_sequence(preset: str | FMANetV1Config = "official", scale: int = 4,
                             max_windows: int | None = None) -> FMANetV1Sequence:
    """FMA-Net with the sequence interface for preset "official" (the published network) or "small" (tests)."""
    return FMANetV1Sequence(get_v1_config(preset), scale=scale, max_windows=max_windows)
