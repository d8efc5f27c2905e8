"""One pass over a video container with PyAV: frame presentation times, tags, the timed packets of every
data (gpmd/rtmd/djmd/camm) and subtitle (DJI SRT) stream, and for H.264 video the SEI NAL units that carry
camcorder metadata (MDPM, see :mod:`.mdpm`). No pixel is decoded.

Times are seconds on the video timeline: 0 is the earliest presentation time of the video stream, and
metadata packet times are shifted by the same origin (all tracks of a container share one timeline, so a
metadata track that really starts late keeps its offset). Discarded packets (edit lists) are skipped.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np

from .errors import ExposureFormatError, ExposureInputError
from .h264_sei import MDPM_UUID, SeiScan, avcc_length_size
from .mp4_boxes import read_track_entries

__all__ = ["TimedPacket", "StreamPackets", "ContainerScan", "scan_container"]

_MP4_FAMILY = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2")


@dataclass(frozen=True)
class TimedPacket:
    """One demuxed sample: ``start`` seconds on the video timeline, ``duration`` seconds (NaN unknown)."""

    start: float
    duration: float
    payload: bytes


@dataclass
class StreamPackets:
    """All packets of one data or subtitle stream with what identifies it."""

    index: int
    track_id: int
    kind: str            # "data" | "subtitle"
    codec: str           # PyAV codec name for subtitles ("mov_text", "subrip"), "" for data streams
    fourcc: str          # MP4 sample-entry FourCC ("gpmd", "rtmd", "tx3g"), "" when unknown
    handler: str         # handler_name tag, e.g. "GoPro MET", "DJI.Subtitle"
    packets: list[TimedPacket] = field(default_factory=list)

    def describe(self) -> str:
        tag = self.fourcc or self.codec or "unknown"
        name = f" '{self.handler.strip()}'" if self.handler.strip() else ""
        return f"stream #{self.index} ({tag}{name})"


@dataclass
class ContainerScan:
    """Result of :func:`scan_container`. ``frame_times`` [N] seconds (None if not read),
    ``average_fps`` frames per second (None if unknown)."""

    path: str
    format_name: str
    frame_times: np.ndarray | None
    average_fps: float | None
    container_tags: dict[str, str]
    video_tags: dict[str, str]
    streams: list[StreamPackets]
    warnings: list[str] = field(default_factory=list)
    # SEI NAL units with MDPM by presentation time; duration NaN: a block holds until the next (see .mdpm)
    mdpm: list[TimedPacket] = field(default_factory=list)


def scan_container(path: str | os.PathLike, *, read_frame_times: bool = True) -> ContainerScan:
    """Demux ``path`` once. ``read_frame_times=False`` keeps no video times (the caller has them); the video
    packets of an H.264 stream are still looked at for MDPM SEI.

    Raises :class:`ExposureInputError` when the file cannot be opened or has no video stream. A read error
    part-way (truncated file) becomes a warning and the scan keeps what it had."""
    path = os.fspath(path)
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as exc:
        hint = "check the path, or for an image sequence pass the first image, a directory or a %04d pattern"
        if os.path.splitext(path)[1].lower() in (".mp4", ".mov", ".m4v", ".3gp", ".lrv", ".insv"):
            try:
                read_track_entries(path)
            except ExposureFormatError as box_error:
                hint = f"{box_error}"
            except OSError:
                pass
        raise ExposureInputError(f"probe_exposure: cannot open {path!r} as a video ({exc}); {hint}") from None
    with container:
        if not container.streams.video:
            raise ExposureInputError(f"probe_exposure: {path!r} has no video stream; exposure is aligned to video "
                                     "frames, so pass a video file or an image sequence")
        video = container.streams.video[0]
        fmt = container.format.name
        warnings: list[str] = []
        entries = {}
        if any(name in _MP4_FAMILY for name in fmt.split(",")):
            try:
                entries = read_track_entries(path)
            except ExposureFormatError as exc:
                warnings.append(str(exc))
        streams: list[StreamPackets] = []
        sei = SeiScan(MDPM_UUID, avcc_length_size(video.codec_context.extradata)) \
            if video.codec_context.name == "h264" else None
        selected = [video] if read_frame_times or sei is not None else []
        for stream in container.streams:
            if stream.type not in ("data", "subtitle"):
                continue
            entry = entries.get(stream.id)
            codec = stream.codec_context.name if (stream.type == "subtitle" and stream.codec_context) else ""
            streams.append(StreamPackets(
                index=stream.index, track_id=int(stream.id), kind=stream.type, codec=codec,
                fourcc=entry.fourcc if entry else "", handler=str(stream.metadata.get("handler_name", ""))))
            selected.append(stream)
        by_index = {s.index: s for s in streams}
        video_pts: list[int] = []
        raw: dict[int, list[tuple[int, int | None, bytes]]] = {s.index: [] for s in streams}
        seen = {s.index: 0 for s in streams}    # packets demuxed, empty and discarded ones included
        if selected:
            try:
                for packet in container.demux(*selected):
                    if packet.stream.index in seen:
                        seen[packet.stream.index] += 1
                    pts = packet.pts if packet.pts is not None else packet.dts
                    if pts is None or packet.size == 0 or packet.is_discard:
                        continue
                    if packet.stream.index == video.index:
                        if read_frame_times:
                            video_pts.append(int(pts))
                        if sei is not None and sei.looking:
                            sei.feed(int(pts), bytes(packet))
                        elif not read_frame_times and not streams:
                            break   # the video packets were read only for MDPM, and this stream has none
                    elif packet.stream.index in by_index:
                        raw[packet.stream.index].append((int(pts), packet.duration, bytes(packet)))
            except (av.error.FFmpegError, OSError) as exc:
                warnings.append(f"{path}: read error after {len(video_pts)} video packets ({exc}); the file is "
                                "truncated or damaged, later frames are missing from the probe")
        frame_times, origin = _video_times(video, video_pts, read_frame_times, warnings, path)
        _check_complete(container, video, len(video_pts) if read_frame_times else None, streams, seen, warnings, path)
        for s in streams:
            tb = container.streams[s.index].time_base or Fraction(1, 1000)
            for pts, duration, payload in raw[s.index]:
                start = float(pts * tb) - origin
                dur = float(duration * tb) if duration else math.nan
                s.packets.append(TimedPacket(start, dur, payload))
        mdpm = _timed_sei(sei, video, origin, warnings, path) if sei is not None else []
        rate = video.average_rate or video.guessed_rate or video.base_rate
        return ContainerScan(
            path=path, format_name=fmt, frame_times=frame_times,
            average_fps=float(rate) if rate else None,
            container_tags={str(k): str(v) for k, v in container.metadata.items()},
            video_tags={str(k): str(v) for k, v in video.metadata.items()},
            streams=streams, warnings=warnings, mdpm=mdpm)


def _timed_sei(sei: SeiScan, video: av.video.stream.VideoStream, origin: float, warnings: list[str], path: str
               ) -> list[TimedPacket]:
    """The collected SEI NAL units as packets on the video timeline, sorted by presentation time (demux order
    is decode order, which B-frames reorder), with no duration: a camera-metadata block describes the camera
    until the next one (per frame, or once per group of pictures)."""
    if sei.unreadable:
        warnings.append(f"{path}: {sei.unreadable} H.264 access units with camera metadata could not be split into "
                        "NAL units (truncated packets); those frames get no MDPM exposure")
    tb = video.time_base or Fraction(1, 90000)
    timed = [TimedPacket(float(pts * tb) - origin, math.nan, unit) for pts, unit in sei.found]
    return sorted(timed, key=lambda p: p.start)


def _video_times(video: av.video.stream.VideoStream, pts: list[int], read: bool, warnings: list[str],
                 path: str) -> tuple[np.ndarray | None, float]:
    tb = video.time_base or Fraction(1, 90000)
    if read and pts:
        unique = np.unique(np.asarray(pts, dtype=np.int64))
        if unique.shape[0] != len(pts):
            warnings.append(f"{path}: {len(pts) - unique.shape[0]} video packets repeat a timestamp; duplicates "
                            "were dropped from the frame list")
        origin_pts = int(unique[0])
        times = np.array([float(Fraction(int(p) - origin_pts) * tb) for p in unique], dtype=np.float64)
        return times, float(origin_pts * tb)
    start = video.start_time
    origin = float(start * tb) if start is not None else 0.0
    if read:
        warnings.append(f"{path}: the video stream has no timestamped packets")
        return np.zeros(0), origin
    return None, origin


def _check_complete(container: av.container.InputContainer, video: av.video.stream.VideoStream, video_read: int | None,
                    streams: list[StreamPackets], seen: dict[int, int], warnings: list[str], path: str) -> None:
    """Warn when the index (MP4 sample tables) lists more samples than could be read: a truncated file.

    ``seen`` counts every demuxed packet of a stream, empty and discarded ones included (MP4 timed text stores the
    gaps between cues as empty samples). QuickTime text tracks (codec "text": the chapter titles of an MP4, whose
    last sample FFmpeg does not deliver as a packet) and streams with no packets at all are not checked."""
    listed = int(video.frames or 0)
    if video_read is not None and listed and video_read < listed:
        warnings.append(f"{path}: the index lists {listed} video frames but only {video_read} could be read; the file "
                        "is truncated (re-copy it); exposure is reported for the readable frames only")
    for s in streams:
        if "text" in (s.codec, s.fourcc):
            continue
        listed = int(container.streams[s.index].frames or 0)
        got = seen[s.index]
        if listed and 0 < got < listed:
            warnings.append(f"{path}: {s.describe()} lists {listed} samples but only {got} could be read; the file is "
                            "truncated, later frames get no metadata from it")
