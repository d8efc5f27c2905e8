"""``probe_exposure``: the one entry point from a video or image sequence to per-frame exposure.

It gathers every source the input offers, aligns each to the frames by presentation time
(:mod:`.align`), and picks per frame by the documented precedence (:mod:`.combine`):

    override > sidecar (CSV/JSON, or an .SRT passed as ``sidecar=``) > per-frame track
    (exif, gpmf, rtmd, djmd, srt, camm, mdpm) > per-clip tag > none

Sidecars found automatically (when ``sidecar=`` is not given): ``<video stem>.exposure.csv|json`` and the
DJI ``<video stem>.SRT`` next to a video (the SRT ranks as a per-frame ``srt`` track, before an embedded
subtitle track), and ``exposure.csv|json`` inside an image-sequence directory.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import numpy as np

from . import camm, djmd, gpmf, mdpm, rtmd, srt
from .align import AlignedValues, align_series, frame_intervals
from .combine import combine_sources
from .container import ContainerScan, StreamPackets, scan_container
from .errors import ExposureFormatError, ExposureInputError
from .exif import read_still_metadata, sequence_frame_times, series_from_stills
from .sequence import IMAGE_SUFFIXES, is_image_sequence_input, list_sequence, numbering_gaps
from .sidecar import read_sidecar
from .tags import series_from_tags
from .track import ExposureTrack, SampleSeries
from .units import parse_exposure_override, shutter_angle_of

__all__ = ["probe_exposure", "PREFER_CHOICES", "TRACK_ORDER"]

log = logging.getLogger(__name__)

#: Values accepted by ``prefer``: "auto" uses every source by precedence, "none" ignores all metadata
#: (the model estimates exposure; an override still applies), a source name uses only that source.
PREFER_CHOICES = ("auto", "none", "sidecar", "exif", "gpmf", "rtmd", "djmd", "srt", "camm", "mdpm", "tag")
#: Precedence among per-frame tracks.
TRACK_ORDER = ("exif", "gpmf", "rtmd", "djmd", "srt", "camm", "mdpm")
_MAX_WARNINGS_PER_SOURCE = 8
_DATA_READERS = {"gpmd": gpmf.series_from_packets, "rtmd": rtmd.series_from_packets,
                 "djmd": djmd.series_from_packets, "camm": camm.series_from_packets}


def probe_exposure(path: str | os.PathLike, *, frame_times: np.ndarray | None = None, fps: float | None = None,
                   override: str | float | None = None, prefer: str = "auto",
                   sidecar: str | os.PathLike | None = None) -> ExposureTrack:
    """Per-frame exposure of a video file or an image sequence.

    Args:
        path: video file; or image sequence as a directory, a ``%04d`` / glob pattern, or its first image.
        frame_times: [N] presentation times in seconds of the frames to describe, 0 = first video frame
            (None = read them from the container / derive them for stills). Its length sets N.
        fps: frames per second; needed for image sequences without CinemaDNG FrameRate or EXIF sub-second
            times, and used for shutter-angle overrides (default: the video's own rate).
        override: per-clip exposure that beats every other source: seconds, ``"1/100"`` or ``"180deg"``.
        prefer: one of :data:`PREFER_CHOICES`.
        sidecar: CSV/JSON exposure sidecar or DJI ``.SRT`` file (None = look for the default names).

    Returns:
        :class:`ExposureTrack` with seconds, fractions (NaN = unknown) and the source of every frame.

    Raises:
        ExposureInputError: bad arguments, unreadable input, a malformed user sidecar, or ``prefer`` naming a
            source the input does not have. Corrupt camera metadata does not raise: those frames get
            ``none`` and the track's ``warnings`` say why.
    """
    if prefer not in PREFER_CHOICES:
        raise ExposureInputError(f"probe_exposure: prefer={prefer!r} is not one of {', '.join(PREFER_CHOICES)}")
    text = os.fspath(path)
    if frame_times is not None:
        frame_times = np.asarray(frame_times, dtype=np.float64).reshape(-1)
        if frame_times.size == 0 or not np.all(np.isfinite(frame_times)) or np.any(np.diff(frame_times) <= 0):
            raise ExposureInputError("probe_exposure: frame_times must be a non-empty, finite, strictly increasing "
                                     "array of seconds")
    if fps is not None and not (float(fps) > 0):
        raise ExposureInputError(f"probe_exposure: fps={fps!r} must be a positive number of frames per second")

    warnings: list[str] = []
    tracks: list[SampleSeries] = []
    sidecars: list[SampleSeries] = []
    tags: list[SampleSeries] = []
    detail: dict[str, str] = {}
    if is_image_sequence_input(text) and not _is_video_file(text):
        times, nominal_fps, n = _probe_stills(text, frame_times, fps, tracks, warnings)
        auto_sidecar_dir = Path(text) if os.path.isdir(text) else Path(os.path.dirname(text) or ".")
        auto_sidecars = [auto_sidecar_dir / "exposure.csv", auto_sidecar_dir / "exposure.json"]
        auto_srt: list[Path] = []
    else:
        if not os.path.isfile(text):
            raise ExposureInputError(f"probe_exposure: {text!r} does not exist; pass a video file or an image "
                                     "sequence (first image, directory or %04d pattern)")
        scan = scan_container(text, read_frame_times=frame_times is None)
        warnings.extend(scan.warnings)
        times = frame_times if frame_times is not None else scan.frame_times
        n = int(times.shape[0]) if times is not None else 0
        if n == 0:
            raise ExposureInputError(f"probe_exposure: {text!r} has no video frames")
        nominal_fps = float(fps) if fps else _nominal_fps(times, scan)
        tracks.extend(_container_tracks(scan, warnings))
        tag_series = series_from_tags({**scan.container_tags, **scan.video_tags}, nominal_fps, Path(text).name)
        if tag_series is not None:
            tags.append(tag_series)
        stem = Path(text).with_suffix("")
        auto_sidecars = _siblings_named(stem, (".exposure.csv", ".exposure.json"))
        auto_srt = _siblings_named(stem, (".srt",))[:1]

    if sidecar is not None:
        sidecar_path = Path(sidecar)
        if not sidecar_path.is_file():
            raise ExposureInputError(f"probe_exposure: sidecar {str(sidecar_path)!r} does not exist")
        if sidecar_path.suffix.lower() == ".srt":
            sidecars.append(srt.series_from_cues(srt.read_srt_file(sidecar_path), sidecar_path.name))
        else:
            sidecars.append(read_sidecar(sidecar_path, fps=nominal_fps))
    else:
        found = [p for p in auto_sidecars if p.is_file()][:1]
        if found:
            sidecars.append(read_sidecar(found[0], fps=nominal_fps))
            warnings.append(f"sidecar: using {found[0].name} found next to the input")
        for srt_path in auto_srt:
            # A sibling .SRT outranks an embedded subtitle track but is still a per-frame track, not a user sidecar.
            try:
                tracks.insert(0, srt.series_from_cues(srt.read_srt_file(srt_path), srt_path.name))
            except ExposureInputError as exc:
                warnings.append(f"srt: sidecar {srt_path.name} ignored ({exc})")

    overrides: list[SampleSeries] = []
    if override is not None:
        seconds = parse_exposure_override(override, fps if fps else nominal_fps)
        overrides.append(_override_series(override, seconds, frame_intervals(times, n)))

    candidates = sidecars + sorted(tracks, key=lambda s: TRACK_ORDER.index(s.source)) + tags
    chosen = _apply_prefer(prefer, candidates, text)
    ordered = overrides + chosen
    aligned: list[AlignedValues] = [align_series(s, times, n) for s in ordered]
    for a in aligned:
        warnings.extend(_limit(a.warnings))
        if len(ordered) and a.source not in detail:
            detail[a.source] = a.label
    interval = frame_intervals(times, n)
    if n and nominal_fps and not np.isfinite(interval).any():
        # one frame (a single still, a one-frame clip): no timestamps to difference, but a known rate
        interval = np.full(n, 1.0 / float(nominal_fps))
    combined = combine_sources(aligned, interval, times)
    warnings.extend(combined.warnings)
    for message in warnings:
        log.warning("%s", message)
    return ExposureTrack(seconds=combined.seconds, fraction=combined.fraction, source=combined.source,
                         frame_times=times if times is not None else np.full(n, np.nan), warnings=warnings,
                         granularity=combined.granularity, interval=combined.interval, path=text, detail=detail)


def _override_series(override: str | float, seconds: float, interval: np.ndarray) -> SampleSeries:
    """The user's override as a series: one value for the clip, except a shutter angle on a clip whose frame
    intervals [N] (seconds) vary, which is that angle of each frame's own interval (180deg is half of every
    interval of a variable-rate clip, not half of the nominal one)."""
    label = f"override {override}"
    angle = shutter_angle_of(override)
    if angle is not None and np.isfinite(interval).all() and np.ptp(interval) > 0:
        return SampleSeries("override", label, float(angle) / 360.0 * interval, frame_index=np.arange(interval.size))
    return SampleSeries("override", label, np.array([seconds]), clip_level=True)


def _probe_stills(text: str, frame_times: np.ndarray | None, fps: float | None, tracks: list[SampleSeries],
                  warnings: list[str]) -> tuple[np.ndarray, float | None, int]:
    files = list_sequence(text)
    gaps = numbering_gaps(files)
    if gaps:
        warnings.append(f"exif: the file numbering skips {len(gaps)} number(s) (first: {gaps[0]}); frames are "
                        "timed by position in the sequence")
    stills = [read_still_metadata(f) for f in files]
    tracks.append(series_from_stills(stills))
    if frame_times is not None:
        if frame_times.shape[0] != len(files):
            raise ExposureInputError(f"probe_exposure: frame_times has {frame_times.shape[0]} entries but {text!r} "
                                     f"holds {len(files)} images")
        return frame_times, float(fps) if fps else _median_rate(frame_times), len(files)
    times, rate, notes = sequence_frame_times(stills, fps)
    warnings.extend(notes)
    return times, rate if rate else _median_rate(times), len(files)


def _container_tracks(scan: ContainerScan, warnings: list[str]) -> list[SampleSeries]:
    series: list[SampleSeries] = []
    for stream in scan.streams:
        try:
            if stream.kind == "data":
                kind = stream.fourcc or _sniff(stream)
                reader = _DATA_READERS.get(kind)
                if reader is not None and stream.packets:
                    series.append(reader(stream.packets, stream.describe()))
            elif stream.kind == "subtitle":
                found = srt.series_from_cues(srt.cues_from_subtitle_stream(stream), stream.describe())
                if len(found) or (found.warnings and _mentions_shutter(stream)):
                    series.append(found)
        except (ExposureFormatError, ValueError, IndexError, struct.error) as exc:
            # Per-sample errors are handled inside the readers; this is the last guard for a whole track.
            warnings.append(f"{scan.path}: {stream.describe()} could not be parsed ({type(exc).__name__}: {exc}); "
                            "its frames get no exposure from it")
    if scan.mdpm:
        series.append(mdpm.series_from_packets(scan.mdpm, "H.264 SEI"))
    return series


def _sniff(stream: StreamPackets) -> str:
    """Identify a data stream without an MP4 sample-entry tag (non-MP4 containers) by its payload."""
    first = stream.packets[0].payload if stream.packets else b""
    if first.startswith(b"DEVC"):
        return "gpmd"
    return ""


def _mentions_shutter(stream: StreamPackets) -> bool:
    return any(b"hutter" in p.payload or b"SS " in p.payload for p in stream.packets[:50])


def _apply_prefer(prefer: str, candidates: list[SampleSeries], text: str) -> list[SampleSeries]:
    if prefer == "auto":
        return candidates
    if prefer == "none":
        return []
    chosen = [s for s in candidates if s.source == prefer]
    if not chosen:
        available = sorted({s.source for s in candidates}) or ["none"]
        raise ExposureInputError(f"probe_exposure: prefer={prefer!r} but {text!r} has no {prefer} exposure "
                                 f"(available: {', '.join(available)}); use prefer='auto'")
    return chosen


def _nominal_fps(times: np.ndarray, scan: ContainerScan) -> float | None:
    """The clip's frame rate for angles and tags: from the same frame intervals the fractions use (so 180deg is a
    fraction of exactly 0.5, also when Matroska's 1 ms clock rounds each timestamp), else the container's rate."""
    rate = _median_rate(times)
    return rate if rate else scan.average_fps


def _median_rate(times: np.ndarray) -> float | None:
    if times is None or times.shape[0] < 2 or not np.all(np.isfinite(times)):
        return None
    intervals = frame_intervals(times, int(times.shape[0]))
    intervals = intervals[np.isfinite(intervals)]
    if intervals.size == 0:
        return None
    step = float(np.median(intervals))
    return 1.0 / step if step > 0 else None


def _is_video_file(text: str) -> bool:
    return os.path.isfile(text) and Path(text).suffix.lower() not in IMAGE_SUFFIXES


def _limit(messages: list[str]) -> list[str]:
    if len(messages) <= _MAX_WARNINGS_PER_SOURCE:
        return messages
    kept = messages[:_MAX_WARNINGS_PER_SOURCE - 1]
    return kept + [f"... and {len(messages) - len(kept)} more warnings like the above"]


def _siblings_named(stem: Path, endings: tuple[str, ...]) -> list[Path]:
    """Files next to the input named ``<stem name><ending>`` in any letter case (cameras and card readers write
    ``CLIP.MP4`` beside ``CLIP.SRT`` or ``CLIP.EXPOSURE.CSV``), in the order of ``endings``; an exact-case name
    first where several differ only in case."""
    files = [p for p in stem.parent.iterdir() if p.is_file()]
    found = []
    for ending in endings:
        wanted = f"{stem.name}{ending}"
        same_name = (p for p in files if p.name.lower() == wanted.lower())
        found += sorted(same_name, key=lambda p: (p.name != wanted, p.name))
    return found
