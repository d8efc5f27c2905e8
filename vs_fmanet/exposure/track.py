"""Data types: raw exposure samples from one source, and the per-frame :class:`ExposureTrack` result.

Units: every time and exposure here is in **seconds** except :attr:`ExposureTrack.fraction`, the duty cycle
(exposure / frame interval, in (0, 1], NaN = unknown) that the model consumes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SOURCES", "GRANULARITIES", "SampleSeries", "ExposureTrack"]

#: Source labels, one per frame in :attr:`ExposureTrack.source`.
SOURCES = ("override", "sidecar", "exif", "gpmf", "rtmd", "djmd", "srt", "camm", "mdpm", "tag", "none")

#: How a frame's value was obtained: one sample for this frame ("frame"), one sample spanning several
#: frames ("held": half-rate SHUT, 1 Hz SRT), linear interpolation across a short gap ("interpolated"),
#: one value for the whole clip ("clip"), or nothing ("none").
GRANULARITIES = ("frame", "held", "interpolated", "clip", "none")


@dataclass
class SampleSeries:
    """Exposure samples from one source, before alignment to video frames.

    Exactly one addressing mode is used:

    * ``clip_level=True``: one value for the whole clip (``seconds`` has shape [1]);
    * ``frame_index`` set: sample i belongs to frame ``frame_index[i]`` (image sequences, sidecars by index);
    * ``start``/``end`` set: sample i covers [start[i], end[i]) seconds on the video timeline, where 0 is
      the presentation time of the first video frame.

    ``seconds`` [S] float64: exposure in seconds; NaN marks a sample that was present but held NaN.
    ``capture_interval`` [S] float64 or None: seconds per *captured* frame when the source states a capture
    rate that can differ from playback (Sony S&Q, sidecar ``capture_fps``); NaN where not stated.
    ``device_clock``: the start times come from the camera's own clock, which can sit a constant offset away
    from the video's (GoPro STMP); when sample and frame counts and rates match, sample i is frame i.
    ``instants``: each start is one frame's presentation time (a sidecar's ``pts_s``), not the start of an
    interval; a sample belongs to the frame it matches within half a frame interval.
    """

    source: str
    label: str
    seconds: np.ndarray
    start: np.ndarray | None = None
    end: np.ndarray | None = None
    frame_index: np.ndarray | None = None
    capture_interval: np.ndarray | None = None
    clip_level: bool = False
    warnings: list[str] = field(default_factory=list)
    device_clock: bool = False
    instants: bool = False

    def __post_init__(self) -> None:
        self.seconds = np.asarray(self.seconds, dtype=np.float64).reshape(-1)
        n = self.seconds.shape[0]
        for name in ("start", "end", "capture_interval"):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, dtype=np.float64).reshape(-1)
                if value.shape[0] != n:
                    raise ValueError(f"SampleSeries({self.source}): {name} has {value.shape[0]} entries, seconds {n}")
                setattr(self, name, value)
        if self.frame_index is not None:
            self.frame_index = np.asarray(self.frame_index, dtype=np.int64).reshape(-1)
            if self.frame_index.shape[0] != n:
                raise ValueError(f"SampleSeries({self.source}): frame_index length differs from seconds")
        if (self.start is None) != (self.end is None):
            raise ValueError(f"SampleSeries({self.source}): start and end must be given together")
        modes = int(self.clip_level) + int(self.frame_index is not None) + int(self.start is not None)
        if modes != 1:
            raise ValueError(f"SampleSeries({self.source}): give exactly one of clip_level, frame_index, start/end")

    def __len__(self) -> int:
        return int(self.seconds.shape[0])


@dataclass
class ExposureTrack:
    """Per-frame exposure of one clip, aligned to its frames by presentation time.

    Attributes (N = number of frames):
        seconds: [N] float64 exposure time in seconds, NaN = unknown.
        fraction: [N] float64 duty cycle = exposure / frame interval, clamped to (0, 1], NaN = unknown
            (the model then estimates it). This is what the engine's ``exposure`` argument takes.
        source: [N] source label per frame, one of :data:`SOURCES`.
        frame_times: [N] float64 presentation time of each frame in seconds (0 = first frame); NaN when an
            image sequence has neither a frame rate nor timestamps.
        warnings: human-readable problems (rejected values, gaps, corrupt payloads), each naming frame and source.
        granularity: [N] one of :data:`GRANULARITIES`.
        interval: [N] float64 frame interval in seconds used as the fraction's denominator (capture interval
            when the source states one, else the centred difference of ``frame_times``).
        path: the probed input.
        detail: source label -> where it came from (track number, file name).
    """

    seconds: np.ndarray
    fraction: np.ndarray
    source: list[str]
    frame_times: np.ndarray
    warnings: list[str] = field(default_factory=list)
    granularity: list[str] = field(default_factory=list)
    interval: np.ndarray | None = None
    path: str = ""
    detail: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seconds = np.asarray(self.seconds, dtype=np.float64).reshape(-1)
        self.fraction = np.asarray(self.fraction, dtype=np.float64).reshape(-1)
        self.frame_times = np.asarray(self.frame_times, dtype=np.float64).reshape(-1)
        n = self.seconds.shape[0]
        if not self.granularity:
            self.granularity = ["none" if s == "none" else "frame" for s in self.source]
        if self.interval is None:
            self.interval = np.full(n, np.nan)
        self.interval = np.asarray(self.interval, dtype=np.float64).reshape(-1)
        lengths = {"seconds": n, "fraction": self.fraction.shape[0], "source": len(self.source),
                   "frame_times": self.frame_times.shape[0], "granularity": len(self.granularity),
                   "interval": self.interval.shape[0]}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"ExposureTrack: per-frame fields differ in length: {lengths}")

    def __len__(self) -> int:
        return int(self.seconds.shape[0])

    @property
    def known(self) -> np.ndarray:
        """[N] bool: frames with a usable fraction."""
        return np.isfinite(self.fraction)

    def summary(self) -> dict:
        """Plain-JSON summary: frame count, coverage, per-source and per-granularity counts, and
        min/median/max of seconds and fraction over known frames (None when nothing is known)."""
        n = len(self)
        known_seconds = self.seconds[np.isfinite(self.seconds)]
        known_fraction = self.fraction[np.isfinite(self.fraction)]
        sources = Counter(self.source)
        main = [s for s, _ in sources.most_common() if s != "none"]
        return {
            "path": self.path,
            "frames": n,
            "known_frames": int(known_fraction.size),
            "coverage": (float(known_fraction.size) / n) if n else 0.0,
            "known_seconds_frames": int(known_seconds.size),
            "source": main[0] if main else "none",
            "sources": dict(sorted(sources.items())),
            "granularity": dict(sorted(Counter(self.granularity).items())),
            "seconds": _stats(known_seconds),
            "fraction": _stats(known_fraction),
            "duration_s": _duration(self.frame_times, self.interval),
            "warnings": len(self.warnings),
            "detail": dict(self.detail),
        }

    def rows(self) -> list[dict]:
        """One plain dict per frame (for tables and JSON): index, time_s, seconds, fraction, source, granularity."""
        return [
            {
                "frame": i,
                "time_s": _none_if_nan(self.frame_times[i]),
                "seconds": _none_if_nan(self.seconds[i]),
                "fraction": _none_if_nan(self.fraction[i]),
                "interval_s": _none_if_nan(self.interval[i]),
                "source": self.source[i],
                "granularity": self.granularity[i],
            }
            for i in range(len(self))
        ]


def _stats(values: np.ndarray) -> dict:
    if values.size == 0:
        return {"min": None, "median": None, "max": None}
    return {"min": float(values.min()), "median": float(np.median(values)), "max": float(values.max())}


def _duration(times: np.ndarray, interval: np.ndarray) -> float | None:
    finite = times[np.isfinite(times)]
    if finite.size == 0:
        return None
    last = interval[-1] if interval.size and math.isfinite(interval[-1]) else 0.0
    return float(finite.max() - finite.min() + last)


def _none_if_nan(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
