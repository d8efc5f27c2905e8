"""Align exposure samples of one source to video frames by presentation time (VFR-safe).

Rules (all times in seconds, 0 = first video frame):

* **Frame interval** ``dt[i]``: centred difference of the frame times (forward/backward at the ends), so
  variable-frame-rate clips get each frame's own interval. When every step is within
  :data:`CFR_JITTER_S` + :data:`CFR_JITTER_REL` of the mean (timestamps rounded to a 1 ms container clock,
  as Matroska stores them) the clip is constant-rate and every frame gets the mean interval.
* **Index mapping**, only for samples timed by the camera's own clock (GPMF): when the sample count is within
  2 of the frame count, both the samples and the frames are regularly spaced, and the sample period is within
  2 % of the frame interval, sample i -> frame i. This absorbs constant offsets such as GoPro's STMP delay.
  Surplus frames at the end get ``none``. Times on the video's own timeline (packet times, subtitle cues,
  sidecar ``pts_s``) are taken as they are: an offset there is a real offset.
* **Time mapping** otherwise: frame i takes the last sample that starts no later than half an interval
  after the frame (``t_i + dt_i / 2``), if that sample still covers the frame (``t_i < end - dt_i / 4``).
  A sample spanning several frames marks them ``held`` (half-rate SHUT, 1 Hz SRT). A sample with no
  duration lasts until the next one (the last one for one median sample period).
* **Instants** (a sidecar's ``pts_s`` rows, each one frame's time): each row goes to the nearest frame whose
  time it lies within half an interval of (``frame``), one row per frame; a frame without its own row is a gap.
* **Gaps**: a frame no sample covers is linearly interpolated between the neighbouring samples when they
  are at most :data:`MAX_INTERPOLATION_PERIODS` sample periods apart (``interpolated``); otherwise it is
  ``none``. Frames before the first or after the last sample are ``none``. Nothing is invented silently:
  every held, interpolated or missing frame is labelled and missing runs produce a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .track import SampleSeries

__all__ = ["AlignedValues", "frame_intervals", "align_series", "MAX_INTERPOLATION_PERIODS", "describe_frames"]

#: Largest distance between two samples' starts, in median sample periods, across which a gap is interpolated.
MAX_INTERPOLATION_PERIODS = 4.0
#: Frame-time jitter (seconds + fraction of the mean interval) still treated as a constant frame rate.
CFR_JITTER_S = 0.001
CFR_JITTER_REL = 0.01


@dataclass
class AlignedValues:
    """One source's values on the frame grid: ``seconds`` [N] (NaN = none), ``granularity`` [N],
    ``capture_interval`` [N] seconds (NaN = use the frame interval)."""

    source: str
    label: str
    seconds: np.ndarray
    granularity: list[str]
    capture_interval: np.ndarray
    warnings: list[str] = field(default_factory=list)


def frame_intervals(frame_times: np.ndarray | None, n_frames: int) -> np.ndarray:
    """[N] frame interval in seconds from presentation times [N] (centred differences); NaN when the times
    are unknown or there is a single frame."""
    if frame_times is None or n_frames == 0:
        return np.full(n_frames, np.nan)
    t = np.asarray(frame_times, dtype=np.float64)
    if t.shape[0] < 2 or not np.all(np.isfinite(t)):
        return np.full(n_frames, np.nan)
    diffs = np.diff(t)
    mean = float(t[-1] - t[0]) / (t.shape[0] - 1)
    if mean > 0 and np.all(np.abs(diffs - mean) <= CFR_JITTER_S + CFR_JITTER_REL * mean):
        # Constant rate whose timestamps were rounded to the container clock (Matroska: 1 ms).
        return np.full(n_frames, mean)
    dt = np.empty_like(t)
    dt[0] = diffs[0]
    dt[-1] = diffs[-1]
    if t.shape[0] > 2:
        dt[1:-1] = (t[2:] - t[:-2]) / 2.0
    dt[~(dt > 0)] = np.nan
    return dt


def align_series(series: SampleSeries, frame_times: np.ndarray | None, n_frames: int) -> AlignedValues:
    """Put ``series`` on the frame grid of ``n_frames`` frames at ``frame_times`` [N] seconds (None when
    unknown, allowed only for clip-level and frame-indexed series)."""
    seconds = np.full(n_frames, np.nan)
    granularity = ["none"] * n_frames
    capture = np.full(n_frames, np.nan)
    warnings = list(series.warnings)
    out = AlignedValues(series.source, series.label, seconds, granularity, capture, warnings)
    if len(series) == 0 or n_frames == 0:
        return out
    cap = series.capture_interval if series.capture_interval is not None else np.full(len(series), np.nan)

    if series.clip_level:
        seconds[:] = series.seconds[0]
        capture[:] = cap[0]
        granularity[:] = ["clip"] * n_frames
        return out

    if series.frame_index is not None:
        idx = series.frame_index
        inside = (idx >= 0) & (idx < n_frames)
        if not np.all(inside):
            bad = idx[~inside]
            warnings.append(f"{series.source} ({series.label}): {bad.size} entries name frames outside 0..{n_frames - 1} "
                            f"(e.g. frame {int(bad[0])}); ignored")
        seconds[idx[inside]] = series.seconds[inside]
        capture[idx[inside]] = cap[inside]
        for i in idx[inside]:
            granularity[int(i)] = "frame"
        _warn_missing(out, [i for i in range(n_frames) if granularity[i] == "none"], frame_times)
        return out

    if frame_times is None or not np.all(np.isfinite(frame_times)):
        warnings.append(f"{series.source} ({series.label}): samples are timed but the frame times are unknown; "
                        "pass fps= or frame_times= to align them")
        return out

    start, end, values, cap = _sorted_unique(series, cap, warnings)
    t = np.asarray(frame_times, dtype=np.float64)
    dt = frame_intervals(t, n_frames)
    if n_frames == 1 or not np.any(np.isfinite(dt)):
        period = np.median(np.diff(start)) if start.shape[0] > 1 else np.nan
        dt = np.full(n_frames, period if np.isfinite(period) else 0.0)

    if series.instants:
        _align_instants(out, start, values, cap, t, dt)
        return out
    if series.device_clock and _index_mappable(start, end, t, dt):
        m = min(start.shape[0], n_frames)
        seconds[:m] = values[:m]
        capture[:m] = cap[:m]
        granularity[:m] = ["frame"] * m
        if n_frames > m:
            _warn_missing(out, list(range(m, n_frames)), t, reason="track ends before the video")
        return out

    period = float(np.median(end - start)) if start.shape[0] else np.nan
    missing: list[int] = []
    half = np.where(np.isfinite(dt), dt / 2.0, 0.0)
    last = np.searchsorted(start, t + half, side="right") - 1
    for i in range(n_frames):
        j = int(last[i])
        if j >= 0 and t[i] < end[j] - half[i] / 2.0:
            seconds[i] = values[j]
            capture[i] = cap[j]
            granularity[i] = "frame" if (end[j] - start[j]) <= 1.5 * dt[i] else "held"
            continue
        if not _interpolate(out, i, j, start, values, cap, t[i], period):
            missing.append(i)
    _warn_gaps(out, missing, t)
    return out


def _align_instants(out: AlignedValues, start: np.ndarray, values: np.ndarray, cap: np.ndarray, t: np.ndarray,
                    dt: np.ndarray) -> None:
    """Instant samples (start [S] = one frame's time each) onto frames at ``t`` [N] with intervals ``dt`` [N].

    Each row goes to the nearest frame if it lies within half that frame's interval (a row exactly between two
    frames: the earlier one, unless another row has it); a frame that two rows claim keeps the nearer row. Rows
    that fit no frame, and rows crowded out, are reported."""
    half = np.where(np.isfinite(dt) & (dt > 0), dt / 2.0, 5e-4)    # 0.5 ms: one frame whose rate is unknown
    right = np.clip(np.searchsorted(t, start), 0, t.shape[0] - 1)
    left = np.clip(right - 1, 0, t.shape[0] - 1)
    owner: dict[int, int] = {}
    unmatched: list[int] = []
    crowded = 0
    for j in range(start.shape[0]):
        # the nearer neighbouring frame first; within 1 microsecond counts as a tie (0.06 s lies "between" 0.04 and
        # 0.08 however the floats round), and a tie goes to the earlier frame unless another row already has it
        near = sorted({int(left[j]), int(right[j])}, key=lambda i: (round(abs(t[i] - start[j]) * 1e6), t[i]))
        fits = [i for i in near if abs(t[i] - start[j]) <= half[i] + 1e-6]
        if not fits:
            unmatched.append(j)
            continue
        free = [i for i in fits if i not in owner]
        if free:
            owner[free[0]] = j
            continue
        crowded += 1
        i = fits[0]
        if abs(t[i] - start[j]) < abs(t[i] - start[owner[i]]):
            owner[i] = j
    for i, j in owner.items():
        out.seconds[i], out.capture_interval[i], out.granularity[i] = values[j], cap[j], "frame"
    period = float(np.median(np.diff(start))) if start.shape[0] > 1 else np.nan
    missing = []
    for i in range(t.shape[0]):
        if i not in owner:
            before = int(np.searchsorted(start, t[i], side="right")) - 1
            if not _interpolate(out, i, before, start, values, cap, t[i], period):
                missing.append(i)
    if unmatched:
        out.warnings.append(f"{out.source} ({out.label}): {len(unmatched)} row(s) match no frame time within half a "
                            f"frame interval (first: pts_s {start[unmatched[0]]:.6g}); not used")
    if crowded:
        out.warnings.append(f"{out.source} ({out.label}): {crowded} row(s) fall on a frame another row already "
                            "claims (rows closer together than the frames); the nearest row was kept")
    _warn_gaps(out, missing, t)


def _interpolate(out: AlignedValues, i: int, j: int, start: np.ndarray, values: np.ndarray, cap: np.ndarray,
                 time: float, period: float) -> bool:
    """Fill frame ``i`` (at ``time`` seconds) linearly between samples ``j`` and ``j + 1`` when both exist, hold
    numbers and start at most :data:`MAX_INTERPOLATION_PERIODS` sample ``period`` s apart; False when not."""
    k = j + 1
    if not (0 <= j and k < start.shape[0] and np.isfinite(values[j]) and np.isfinite(values[k])
            and (start[k] - start[j]) <= MAX_INTERPOLATION_PERIODS * period):
        return False
    w = min(max((time - start[j]) / (start[k] - start[j]), 0.0), 1.0)
    out.seconds[i] = (1.0 - w) * values[j] + w * values[k]
    out.capture_interval[i] = cap[j] if np.isfinite(cap[j]) else cap[k]
    out.granularity[i] = "interpolated"
    return True


def _warn_gaps(out: AlignedValues, missing: list[int], t: np.ndarray) -> None:
    interpolated = [i for i, g in enumerate(out.granularity) if g == "interpolated"]
    if interpolated:
        out.warnings.append(f"{out.source} ({out.label}): {len(interpolated)} frame(s) fall in short gaps between "
                            f"samples and were interpolated: {describe_frames(interpolated, t)}")
    _warn_missing(out, missing, t)


def describe_frames(frames: list[int], times: np.ndarray | None = None, limit: int = 6) -> str:
    """``"frames 3, 4, 9 (t=0.100 s, ...)"``-style text naming up to ``limit`` frames."""
    if not frames:
        return "no frames"
    shown = frames[:limit]
    parts = []
    for i in shown:
        if times is not None and i < len(times) and np.isfinite(times[i]):
            parts.append(f"{i} (t={times[i]:.3f} s)")
        else:
            parts.append(str(i))
    more = f" and {len(frames) - limit} more" if len(frames) > limit else ""
    noun = "frame" if len(frames) == 1 else "frames"
    return f"{noun} {', '.join(parts)}{more}"


def _warn_missing(out: AlignedValues, missing: list[int], times: np.ndarray | None,
                  reason: str = "no sample covers them") -> None:
    if missing:
        out.warnings.append(f"{out.source} ({out.label}): {len(missing)} frame(s) have no value ({reason}): "
                            f"{describe_frames(missing, times)}")


def _sorted_unique(series: SampleSeries, cap: np.ndarray, warnings: list[str]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    assert series.start is not None and series.end is not None
    order = np.argsort(series.start, kind="stable")
    start, end, values, cap = series.start[order], series.end[order], series.seconds[order], cap[order]
    if np.any(np.diff(series.start) < 0):
        warnings.append(f"{series.source} ({series.label}): samples were out of time order; sorted by start time")
    keep = np.ones(start.shape[0], dtype=bool)
    keep[1:] = np.diff(start) > 0
    if not np.all(keep):
        warnings.append(f"{series.source} ({series.label}): {int((~keep).sum())} sample(s) repeat an earlier start "
                        "time; the first of each was kept")
    start, end, values, cap = start[keep], end[keep], values[keep], cap[keep]
    bad_end = ~(end > start)
    if np.any(bad_end):
        # Unknown or zero duration: the sample lasts until the next one (the last one for one median period).
        nxt = np.append(start[1:], np.nan)
        period = float(np.median(np.diff(start))) if start.shape[0] > 1 else np.nan
        fill = np.where(np.isfinite(nxt), nxt, start + period)
        end = np.where(bad_end, fill, end)
    return start, end, values, cap


def _index_mappable(start: np.ndarray, end: np.ndarray, t: np.ndarray, dt: np.ndarray) -> bool:
    s, n = start.shape[0], t.shape[0]
    if s < 2 or n < 2 or abs(s - n) > 2:
        return False
    sample_period = np.diff(start)
    frame_period = np.diff(t)
    sp, fp = float(np.median(sample_period)), float(np.median(frame_period))
    if not (sp > 0 and fp > 0):
        return False
    regular = np.all(np.abs(sample_period - sp) <= 0.1 * sp) and np.all(np.abs(frame_period - fp) <= 0.1 * fp)
    return bool(regular and abs(sp - fp) <= 0.02 * fp)
