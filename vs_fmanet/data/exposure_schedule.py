"""Per-frame exposure schedules for synthetic clips: duty cycle r in (0, 1] and a level label.

r is the exposure time as a fraction of the frame interval (r = 1: the shutter is open the whole interval).
Level labels follow the paper's REDS-ME notation "5:N": level N in 1..5 means r = N/5. Label 0 marks a
continuous r that belongs to no level (the exposure-embedding pretraining skips those for its contrastive loss).

Schedules:
- ``fixed_level``: one level for the whole clip (REDS-ME).
- ``continuous``: one r drawn uniformly from a range for the whole clip (label 0).
- ``random_walk``: REDS-RE (paper Algorithm S1): start at E0 in 1..5; at frame 0 and then every I frames
  (I in {5, 7}, per clip) draw dE from {-1, 0, +1} and set E <- clip(E + dE, 1, 5).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ExposureSchedule", "LEVELS", "level_fraction", "fixed_level", "continuous", "random_walk",
           "sample_schedule", "DEFAULT_MODE_WEIGHTS"]

LEVELS = (1, 2, 3, 4, 5)
#: Training mixture of schedule kinds (probabilities). Fixed levels dominate, as in REDS-ME training.
DEFAULT_MODE_WEIGHTS = {"fixed": 0.6, "random_walk": 0.25, "continuous": 0.15}


def level_fraction(level: int) -> float:
    """Duty cycle of paper level ``level`` (1..5): r = level / 5."""
    if int(level) not in LEVELS:
        raise ValueError(f"level_fraction: level must be one of {LEVELS} (paper 5:1 .. 5:5), got {level!r}")
    return int(level) / 5.0


@dataclass(frozen=True)
class ExposureSchedule:
    """Exposure of each frame of a clip.

    fraction: [T] float64, duty cycle r in (0, 1] (exposure time / frame interval).
    level: [T] int64, paper level 1..5, or 0 where r is continuous.
    kind: "fixed", "continuous" or "random_walk".
    """

    fraction: np.ndarray
    level: np.ndarray
    kind: str

    def __post_init__(self) -> None:
        if self.fraction.shape != self.level.shape or self.fraction.ndim != 1:
            raise ValueError(f"ExposureSchedule: fraction {self.fraction.shape} and level {self.level.shape} "
                             "must both be 1-D of length T")
        bad = np.flatnonzero(~((self.fraction > 0) & (self.fraction <= 1)))
        if bad.size:
            raise ValueError(f"ExposureSchedule: frame {int(bad[0])} has duty cycle {self.fraction[bad[0]]!r}; "
                             "exposure must be a fraction of the frame interval in (0, 1]")

    @property
    def frames(self) -> int:
        return int(self.fraction.shape[0])


def fixed_level(level: int, frames: int) -> ExposureSchedule:
    """All ``frames`` frames at paper level ``level`` (r = level/5)."""
    r = level_fraction(level)
    return ExposureSchedule(np.full(frames, r), np.full(frames, int(level), dtype=np.int64), "fixed")


def continuous(frames: int, rng: np.random.Generator, low: float = 0.05, high: float = 1.0) -> ExposureSchedule:
    """One duty cycle drawn uniformly from [low, high] for the whole clip; level label 0."""
    if not 0 < low <= high <= 1:
        raise ValueError(f"continuous: need 0 < low <= high <= 1 (fractions of the frame interval), got {low}, {high}")
    r = float(rng.uniform(low, high))
    return ExposureSchedule(np.full(frames, r), np.zeros(frames, dtype=np.int64), "continuous")


def random_walk(frames: int, rng: np.random.Generator, start: int | None = None,
                interval: int | None = None) -> ExposureSchedule:
    """REDS-RE random walk over levels 1..5 (paper Algorithm S1).

    start: E0 in 1..5 (None = uniform). interval: I, frames between steps (None = 5 or 7 with equal chance).
    A step is taken at frame 0 and then at every multiple of I.
    """
    e = int(rng.integers(1, 6)) if start is None else int(start)
    step = int(rng.choice([5, 7])) if interval is None else int(interval)
    if e not in LEVELS or step < 1:
        raise ValueError(f"random_walk: start must be in 1..5 and interval >= 1, "
                         f"got start={start}, interval={interval}")
    levels = np.empty(frames, dtype=np.int64)
    for i in range(frames):
        if i % step == 0:
            e = int(np.clip(e + int(rng.integers(-1, 2)), 1, 5))
        levels[i] = e
    return ExposureSchedule(levels / 5.0, levels, "random_walk")


def sample_schedule(frames: int, rng: np.random.Generator,
                    mode_weights: dict[str, float] | None = None) -> ExposureSchedule:
    """Draw a schedule kind from ``mode_weights`` (default DEFAULT_MODE_WEIGHTS), then a schedule of that kind."""
    weights = dict(DEFAULT_MODE_WEIGHTS if mode_weights is None else mode_weights)
    unknown = set(weights) - {"fixed", "random_walk", "continuous"}
    if unknown or not weights or sum(weights.values()) <= 0:
        raise ValueError(f"sample_schedule: mode_weights must map some of 'fixed', 'random_walk', 'continuous' "
                         f"to non-negative weights, got {mode_weights!r}")
    kinds = sorted(weights)
    p = np.array([weights[k] for k in kinds], dtype=np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    if kind == "fixed":
        return fixed_level(int(rng.integers(1, 6)), frames)
    if kind == "continuous":
        return continuous(frames, rng)
    return random_walk(frames, rng)
