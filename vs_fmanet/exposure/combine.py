"""Choose each frame's exposure from the sources in precedence order, rejecting impossible values.

Precedence (highest first): user override > user sidecar > per-frame track > per-clip tag > none. Within the
per-frame tracks the order is EXIF, GPMF, rtmd, djmd, SRT, CAMM (binary values written by the camera's own
firmware before the rounded SRT text; CAMM last because type-1 writers are rare third-party apps).

A frame takes the first source whose value is physically possible: finite, at least
:data:`~vs_fmanet.exposure.units.MIN_EXPOSURE_S` (1 microsecond), and not longer than the frame interval by more
than :data:`~vs_fmanet.exposure.units.DUTY_TOLERANCE`. A rejected value produces a
warning naming the frame(s) and the source, and the frame falls through to the next source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .align import AlignedValues, describe_frames
from .units import DUTY_TOLERANCE, MIN_EXPOSURE_S

__all__ = ["Combined", "combine_sources"]


@dataclass
class Combined:
    """Per-frame choice: ``seconds`` [N], ``fraction`` [N], ``source`` [N], ``granularity`` [N],
    ``interval`` [N] seconds used as the fraction's denominator, ``warnings``."""

    seconds: np.ndarray
    fraction: np.ndarray
    source: list[str]
    granularity: list[str]
    interval: np.ndarray
    warnings: list[str]


def combine_sources(tiers: list[AlignedValues], frame_interval: np.ndarray, frame_times: np.ndarray | None
                    ) -> Combined:
    """Merge aligned sources (already in precedence order) on a grid of N frames.

    ``frame_interval`` [N] seconds (NaN unknown: then no upper bound is checked and the fraction is NaN)."""
    n = frame_interval.shape[0]
    seconds = np.full(n, np.nan)
    interval = frame_interval.astype(np.float64).copy()
    source = ["none"] * n
    granularity = ["none"] * n
    filled = np.zeros(n, dtype=bool)
    warnings: list[str] = []
    for tier in tiers:
        values = tier.seconds
        present = np.array([g != "none" for g in tier.granularity], dtype=bool)
        eff = np.where(np.isfinite(tier.capture_interval), tier.capture_interval, frame_interval)
        finite = np.isfinite(values)
        positive = finite & (values > 0)
        too_long = positive & np.isfinite(eff) & (values > eff * (1.0 + DUTY_TOLERANCE))
        too_short = positive & (values < MIN_EXPOSURE_S)
        valid = positive & ~too_long & ~too_short
        open_frames = present & ~filled
        _reject(warnings, tier, open_frames & np.isnan(values), frame_times, "is not a number")
        _reject(warnings, tier, open_frames & np.isinf(values), frame_times, "is infinite")
        _reject(warnings, tier, open_frames & too_short, frame_times,
                f"is shorter than {MIN_EXPOSURE_S * 1e6:g} microsecond (corrupt or in the wrong unit)", values)
        _reject(warnings, tier, open_frames & finite & ~positive, frame_times, "is zero or negative", values)
        if np.any(open_frames & too_long):
            _reject(warnings, tier, open_frames & too_long, frame_times,
                    f"is longer than the frame interval (+{DUTY_TOLERANCE:.0%} tolerance)", values, eff)
        take = open_frames & valid
        seconds[take] = values[take]
        interval[take] = eff[take]
        for i in np.flatnonzero(take):
            source[i] = tier.source
            granularity[i] = tier.granularity[i]
        filled |= take
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(filled & np.isfinite(interval) & (interval > 0), seconds / interval, np.nan)
    fraction = np.minimum(fraction, 1.0)
    return Combined(seconds, fraction, source, granularity, interval, warnings)


def _reject(warnings: list[str], tier: AlignedValues, mask: np.ndarray, times: np.ndarray | None, reason: str,
            values: np.ndarray | None = None, interval: np.ndarray | None = None) -> None:
    frames = [int(i) for i in np.flatnonzero(mask)]
    if not frames:
        return
    first = frames[0]
    example = ""
    if values is not None:
        example = f" (frame {first}: {values[first]:.6g} s"
        example += f" vs interval {interval[first]:.6g} s)" if interval is not None else ")"
    warnings.append(f"{tier.source} ({tier.label}): exposure {reason}{example}; rejected for "
                    f"{describe_frames(frames, times)}")
