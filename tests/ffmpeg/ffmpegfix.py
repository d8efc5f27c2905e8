"""Helpers for the fmanet-ffmpeg tests: media inspection with PyAV and two restorers.

``NearestRestorer`` is a test double for the engine with the same ``scale``/``stream``/``describe`` shape:
it upscales by pixel repetition, so pixel values and colours can be checked exactly against the source
(the random-weight engine's output cannot be). ``Recording`` wraps any restorer (the real Engine in the
exposure tests) and records what it was given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

DJI_SHUTTERS = [100, 100, 120, 120, 160, 160, 200, 200, 250, 250]


def dji_lines() -> list[str]:
    """DJI Mavic-style telemetry cue text, one per frame, with the shutter in DJI_SHUTTERS."""
    return [f'<font size="28">FrameCnt: {i + 1}, DiffTime: 33ms\n[iso : 100] [shutter : 1/{s}.0] [fnum : 280] '
            f"[ev : 0] [ct : 5500]</font>" for i, s in enumerate(DJI_SHUTTERS)]


class NearestRestorer:
    """Pixel-repetition upscaler with the engine's streaming interface; records exposures and frame count."""

    def __init__(self, scale: int = 2) -> None:
        self.scale = scale
        self.exposures: list[float] = []
        self.frames_in = 0

    def stream(self, frames: Iterable[np.ndarray], exposure: Iterable[float] | None = None,
               scene_starts: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        exp = iter(exposure) if exposure is not None else None
        for f in frames:
            self.frames_in += 1
            if exp is not None:
                self.exposures.append(next(exp))
            yield np.repeat(np.repeat(f, self.scale, axis=0), self.scale, axis=1)

    def describe(self) -> dict[str, Any]:
        return {"model": "nearest-test-double", "scale": self.scale}


class FailingRestorer(NearestRestorer):
    """:class:`NearestRestorer` whose stream raises ``RuntimeError(message)`` in place of output frame ``at``: an
    engine failing mid-run."""

    def __init__(self, scale: int = 2, *, at: int = 5, message: str = "engine failed at frame 5") -> None:
        super().__init__(scale)
        self.at, self.message = at, message

    def stream(self, frames: Iterable[np.ndarray], exposure: Iterable[float] | None = None,
               scene_starts: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        for k, out in enumerate(super().stream(frames, exposure, scene_starts)):
            if k == self.at:
                raise RuntimeError(self.message)
            yield out


class Recording:
    """Wraps a restorer; keeps the per-frame exposure values and frame shapes it received."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.scale = inner.scale
        self.exposures: list[float] = []
        self.shapes: list[tuple[int, ...]] = []

    def stream(self, frames: Iterable[np.ndarray], exposure: Iterable[float] | None = None,
               scene_starts: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        def frames_seen() -> Iterator[np.ndarray]:
            for f in frames:
                self.shapes.append(tuple(f.shape))
                yield f

        def exposure_seen() -> Iterator[float]:
            assert exposure is not None
            for e in exposure:
                self.exposures.append(float(e))
                yield e

        return self.inner.stream(frames_seen(), None if exposure is None else exposure_seen(), scene_starts)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


# ------------------------------------------------------------------------------------------------ inspection
def packet_digests(path: Path, kind: str, index: int = 0) -> list[tuple[float, str]]:
    """(presentation time in s, md5 of payload) of every packet of the index-th stream of ``kind``."""
    with av.open(str(path)) as c:
        stream = getattr(c.streams, kind)[index]
        out = []
        for p in c.demux(stream):
            if p.size == 0:
                continue
            t = float(p.pts * p.time_base) if p.pts is not None else float("nan")
            out.append((t, hashlib.md5(bytes(p)).hexdigest()))
    return out


def subtitle_cues(path: Path) -> list[tuple[float, float, str]]:
    """(start s, end s, text) of the first subtitle stream's packets."""
    with av.open(str(path)) as c:
        s = c.streams.subtitles[0]
        cues = []
        for p in c.demux(s):
            if p.size == 0 or p.pts is None:
                continue
            data = bytes(p)
            if s.codec_context.name == "mov_text":
                data = data[2:2 + int.from_bytes(data[:2], "big")]
            start = float(p.pts * p.time_base)
            cues.append((round(start, 3), round(start + float((p.duration or 0) * p.time_base), 3),
                         data.decode("utf-8", "replace")))
    return cues


def video_frames(path: Path) -> tuple[list[np.ndarray], list[float], Any]:
    """Decoded frames as float RGB [H, W, 3] in [0,1] (using the file's own matrix and range), their times,
    and the first frame (for its tags and side data)."""
    frames, times, first = [], [], None
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        for f in c.decode(v):
            if first is None:
                first = f
            kw: dict[str, Any] = {"format": "rgb48le"}
            if f.color_range:
                kw["src_color_range"] = int(f.color_range)
            frames.append(f.to_ndarray(**kw).astype(np.float32) / 65535.0)
            times.append(float(f.pts * f.time_base))
    return frames, times, first


def _tb(chapter: dict[str, Any]) -> Fraction:
    return Fraction(chapter["time_base"].numerator, chapter["time_base"].denominator)


def stream_summary(path: Path) -> dict[str, Any]:
    """Streams, tags, chapters and colour properties of a file, via PyAV."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        cc = v.codec_context
        return {
            "format_tags": {k.lower(): val for k, val in c.metadata.items()},
            "chapters": [(round(float(ch["start"] * _tb(ch)), 3), round(float(ch["end"] * _tb(ch)), 3),
                          ch["metadata"].get("title")) for ch in c.chapters()],
            "video": {"codec": cc.name, "width": cc.width, "height": cc.height, "pix_fmt": cc.pix_fmt,
                      "colorspace": int(cc.colorspace), "color_range": int(cc.color_range),
                      "color_primaries": int(cc.color_primaries), "color_trc": int(cc.color_trc),
                      "tags": {k.lower(): val for k, val in v.metadata.items()}},
            "audio": [{"codec": s.codec_context.name, "language": s.language} for s in c.streams.audio],
            "subtitles": [{"codec": s.codec_context.name, "language": s.language} for s in c.streams.subtitles],
        }


def best_match(frame: np.ndarray, candidates: list[np.ndarray]) -> int:
    """Index of the candidate closest (mean absolute difference) to ``frame``."""
    errs = [float(np.mean(np.abs(frame - c))) for c in candidates]
    return int(np.argmin(errs))
