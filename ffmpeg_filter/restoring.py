"""The one place where the command-line tool touches the model: building the restorer.

Everything else in :mod:`ffmpeg_filter` only needs an object with the :class:`Restorer` shape, which
``vs_fmanet.engine.Engine`` has (windows, overlap, tiles, devices and weights all live in the engine; the front
ends only adapt frames). Farm workers build theirs with the same function.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import numpy as np

from .errors import InputError, UsageError


class Restorer(Protocol):
    """What the tool needs from the engine: ``scale`` (output/input size ratio), streaming restoration and
    a provenance description."""

    scale: int

    def stream(self, frames: Iterable[np.ndarray], exposure: Iterable[float] | None = None,
               scene_starts: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        """One [H, W, 3] float32 RGB frame in, one [sH, sW, 3] frame out, in order."""
        ...

    def describe(self) -> dict[str, Any]:
        ...


@dataclasses.dataclass
class EngineSettings:
    """Engine options exposed by the command line (see ``vs_fmanet.engine.Engine`` for their meaning)."""

    model: str = "fmanetpp"
    scale: int | None = None                      # None = the weights card's scale (4 for the shipped default)
    preset: str | None = None
    weights: str | os.PathLike | None = None      # None = shipped weights; "random" = seeded random (tests)
    device: str | None = None
    precision: str | None = None
    window: int | None = None
    overlap: int | None = None
    tile: int | tuple[int, int] | None = None
    tile_overlap: int | None = None
    ensemble: int | None = None                   # views averaged per window (1, 2, 4, 8); None = 1
    strength: float | None = None                 # 0..1 mix with the bicubic upscale; None = 1 (full restoration)


def build_restorer(settings: EngineSettings) -> Restorer:
    """Create the engine for ``settings`` (loads weights, picks the device).

    Raises :class:`UsageError` for option values the engine rejects (unknown preset, bad device, tile too
    small...) and :class:`InputError` for missing or corrupt weights files.
    """
    from vs_fmanet.engine import Engine, WeightsError

    try:
        return Engine(model=settings.model, scale=settings.scale, preset=settings.preset, weights=settings.weights,
                      device=settings.device, precision=settings.precision, window=settings.window,
                      overlap=settings.overlap, tile=settings.tile, tile_overlap=settings.tile_overlap,
                      ensemble=settings.ensemble, strength=settings.strength)
    except (WeightsError, FileNotFoundError) as exc:
        raise InputError(f"engine weights: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise UsageError(f"engine settings: {exc}") from exc
