"""Probing a source with PyAV (there is no ffprobe): streams, frame timestamps, colour, HDR, chapters.

:func:`probe_source` returns a :class:`SourceInfo` holding everything later steps need: the presentation
timestamps of every video frame (read by demuxing packets, no decoding, so VFR timing and frame counts are
exact), the pixel format and bit depth, colour tags and HDR10 static metadata of the first frame, and what
else the container holds (audio, subtitles, attachments, chapters, tags) to be carried over by the muxer.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .colour import (ColourInfo, HdrStaticMetadata, bit_depth, colour_from_frame, hdr_from_frame, is_rgb_pixel_format,
                     side_data_of)
from .errors import InputError
from .imageseq import ImageSequence, find_sequence, looks_like_image_input

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SourceInfo:
    """What :func:`probe_source` learned about an input.

    Times are seconds on the source timeline *relative to the container start* (what ffmpeg's ``-ss``
    counts from). ``pts`` are in ``time_base`` units, one per frame in presentation order.
    """

    path: str
    kind: str                                  # "video" or "images"
    format_name: str
    video_index: int                           # absolute stream index of the video stream used
    video_ordinal: int                         # its position among the video streams (for -map 1:v:K)
    codec: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    sample_aspect_ratio: Fraction | None
    time_base: Fraction
    pts: np.ndarray                            # [N] int64, presentation order
    times: np.ndarray                          # [N] float64 seconds relative to container start
    durations: np.ndarray                      # [N] int64 frame durations in time_base units
    container_start: float                     # seconds (stream times minus this = times)
    frame_rate: Fraction | None                # average rate (None when unknown)
    colour: ColourInfo
    hdr: HdrStaticMetadata | None
    dynamic_hdr: list[str]
    rotation: float                            # display rotation in degrees (counter-clockwise), 0 = none
    audio_streams: int
    subtitle_streams: list[str]                # codec names of the subtitle streams
    subtitle_tags: list[dict[str, str]]        # their tags (language, title...)
    attachment_streams: int
    chapters: list[dict[str, Any]]
    metadata: dict[str, str]
    video_metadata: dict[str, str]             # tags of the video stream worth carrying (title, language...)
    image_sequence: ImageSequence | None = None
    interlaced: bool = False
    has_alpha: bool = False
    audio_codecs: list[str] = dataclasses.field(default_factory=list)   # codec names of the audio streams
    decode_order_pts: bool = False     # the container's pts follow decode order (AVI with B-frames): frames are
                                       # numbered by output order and ranges decode from the start (no seek)
    video_disposition: str = "0"       # ffmpeg -disposition value of the video stream ("default", "0"...)
    subtitle_dispositions: list[str] = dataclasses.field(default_factory=list)   # the same per subtitle stream
    telemetry_streams: list[str] = dataclasses.field(default_factory=list)   # handler names of data streams that
                                       # are neither a timecode nor a chapter track (GoPro MET, CAMM...): not copied

    @property
    def frame_count(self) -> int:
        return int(self.pts.shape[0])

    @property
    def is_vfr(self) -> bool:
        """True when frame durations differ by more than 1 tick (variable frame rate)."""
        if self.frame_count < 3:
            return False
        d = np.diff(self.pts)
        return bool(d.max() - d.min() > 1)

    @property
    def duration(self) -> float:
        """Seconds from the first frame's start to the last frame's end."""
        if self.frame_count == 0:
            return 0.0
        return float(self.times[-1] - self.times[0] + self.durations[-1] * self.time_base)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for logs and run reports."""
        return {
            "path": self.path, "kind": self.kind, "format": self.format_name, "codec": self.codec,
            "width": self.width, "height": self.height, "pix_fmt": self.pix_fmt, "bit_depth": self.bit_depth,
            "frames": self.frame_count, "frame_rate": str(self.frame_rate) if self.frame_rate else None,
            "vfr": self.is_vfr, "duration_s": round(self.duration, 6), "colour": self.colour.as_dict(),
            "hdr10": self.hdr.as_dict() if self.hdr else None, "dynamic_hdr": self.dynamic_hdr,
            "rotation": self.rotation, "audio_streams": self.audio_streams,
            "subtitle_streams": self.subtitle_streams, "attachments": self.attachment_streams,
            "chapters": len(self.chapters),
        }


def _open(path: str, *, fps: Fraction | None, seq: ImageSequence | None) -> Any:
    import av

    try:
        if seq is not None:
            options = {"framerate": str(fps or Fraction(25)), "start_number": str(seq.start_number)}
            return av.open(seq.demuxer_pattern, format="image2", options=options)
        return av.open(path)
    except FileNotFoundError as exc:
        raise InputError(f"probe_source: input '{path}' does not exist; check the path") from exc
    except PermissionError as exc:
        raise InputError(f"probe_source: input '{path}' cannot be read (permission denied)") from exc
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"probe_source: '{path}' is not a media file FFmpeg can read ({exc}); "
                         "check that it is a complete video or image file") from exc


def open_source(info: SourceInfo) -> Any:
    """Open the source again (a fresh PyAV container positioned at the start)."""
    fps = info.frame_rate if info.kind == "images" else None
    return _open(info.path, fps=fps, seq=info.image_sequence)


def _rotation_from_display_matrix(data: bytes) -> float:
    """Rotation (degrees, counter-clockwise) of a 3x3 display matrix (9 int32, 16.16 fixed point)."""
    m = struct.unpack("<9i", data[:36])
    scale0 = math.hypot(m[0] / 65536.0, m[3] / 65536.0)
    scale1 = math.hypot(m[1] / 65536.0, m[4] / 65536.0)
    if scale0 == 0 or scale1 == 0:
        return 0.0
    angle = math.degrees(math.atan2(m[1] / 65536.0 / scale1, m[0] / 65536.0 / scale0))
    return round(-angle, 3) % 360.0


def _frame_index(container: Any, stream: Any) -> tuple[np.ndarray, np.ndarray]:
    """Presentation timestamps and durations of every frame, from packets (no decoding)."""
    pts: list[int] = []
    dur: list[int] = []
    missing = 0
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if getattr(packet, "is_discard", False):
            continue
        if packet.pts is None:
            missing += 1
            continue
        pts.append(int(packet.pts))
        dur.append(int(packet.duration or 0))
    if missing:
        raise InputError(
            f"probe_source: {missing} video packets of '{container.name}' carry no timestamps (a raw elementary "
            "stream?); remux it into a container first, e.g. ffmpeg -i in.h264 -c copy in.mkv")
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    p = np.asarray(pts, dtype=np.int64)[order]
    d = np.asarray(dur, dtype=np.int64)[order]
    if p.size and np.any(np.diff(p) == 0):
        raise InputError(f"probe_source: '{container.name}' has video frames with duplicate timestamps; "
                         "remux it with ffmpeg -i IN -c copy -fflags +genpts OUT.mkv")
    # durations: prefer the gap to the next frame (exact for VFR), keep the packet's own for the last one
    if p.size > 1:
        gaps = np.diff(p)
        d[:-1] = gaps
        if d[-1] <= 0:
            d[-1] = int(np.median(gaps))
    return p, d


def probe_source(path: str | os.PathLike, *, fps: Fraction | None = None, ffmpeg: str | None = None) -> SourceInfo:
    """Probe a video file or image sequence (pattern, folder or first image).

    ``fps`` is the frame rate of an image sequence (default 25, like ffmpeg's image2); ignored for video.
    ``ffmpeg``: path of an ffmpeg binary, only used to name a codec PyAV cannot decode in the error message.
    Raises :class:`InputError` for a missing or unreadable file, no video stream, or a codec this PyAV
    build cannot decode.
    """
    import av

    text = os.fspath(path)
    seq: ImageSequence | None = None
    if looks_like_image_input(text):
        if not Path(text).exists() and "%" not in os.path.basename(text):
            raise InputError(f"probe_source: input '{text}' does not exist; check the path")
        seq = find_sequence(text)
    elif not Path(text).exists():
        raise InputError(f"probe_source: input '{text}' does not exist; check the path")
    elif Path(text).is_dir():
        raise InputError(f"probe_source: input '{text}' is a folder without numbered images")

    container = _open(text, fps=fps, seq=seq)
    try:
        videos = list(container.streams.video)
        if not videos:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
            raise InputError(f"probe_source: '{text}' has no video stream (it holds {kinds}); "
                             "give a file with video, or an image sequence")
        # the first video stream that is not a cover picture
        stream = next((s for s in videos if not (s.disposition & av.stream.Disposition.attached_pic)), None)
        if stream is None:
            raise InputError(f"probe_source: the only video in '{text}' is an attached cover picture")
        ordinal = videos.index(stream)
        if stream.codec_context is None:
            raise InputError(
                f"probe_source: video stream #{stream.index} of '{text}' uses a codec this PyAV/FFmpeg build "
                f"cannot decode ({_codec_name_hint(text, stream.index, ffmpeg)}); transcode it first, e.g. "
                "ffmpeg -i IN -c:v ffv1 -c:a copy OUT.mkv")
        codec = stream.codec_context.name
        stream.thread_type = "AUTO"
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except av.FFmpegError as exc:
            raise InputError(f"probe_source: cannot decode the first video frame of '{text}' with {codec} "
                             f"({exc}); the file may be damaged or use an unsupported profile") from exc
        if first is None:
            raise InputError(f"probe_source: the video stream of '{text}' has no frames")
        pix_fmt = first.format.name
        colour = colour_from_frame(first, is_rgb=is_rgb_pixel_format(pix_fmt) or pix_fmt.startswith("pal"))
        hdr, dynamic = hdr_from_frame(first)
        rotation = 0.0
        from av.sidedata.sidedata import Type

        side = side_data_of(first)
        if Type.DISPLAYMATRIX in side:
            rotation = _rotation_from_display_matrix(side[Type.DISPLAYMATRIX])
        has_alpha = any(c.is_alpha for c in first.format.components)
        # AVI stores no presentation times: its "pts" count packets in decode order, so a codec with B-frames
        # decodes into frames whose pts are out of order; those frames are numbered by their output order instead
        decode_order_pts = seq is None and "avi" in container.format.name.split(",") and \
            bool(stream.codec_context.has_b_frames)

        time_base = Fraction(stream.time_base.numerator, stream.time_base.denominator) if stream.time_base \
            else Fraction(1, 25)
        container.seek(0)
        if seq is not None:
            rate = fps or Fraction(25)
            pts = np.arange(seq.count, dtype=np.int64)
            time_base = Fraction(1) / rate
            durations = np.ones(seq.count, dtype=np.int64)
        else:
            index = stream.index
            container.close()
            container = _open(text, fps=None, seq=None)
            stream = container.streams[index]
            pts, durations = _frame_index(container, stream)
        if pts.size == 0:
            raise InputError(f"probe_source: the video stream of '{text}' has no frames")
        start = (container.start_time or 0) / 1_000_000 if seq is None else 0.0
        times = pts.astype(np.float64) * float(time_base) - start
        rate = None
        if seq is not None:
            rate = fps or Fraction(25)
        elif stream.average_rate:
            rate = Fraction(stream.average_rate.numerator, stream.average_rate.denominator)
        sar = stream.sample_aspect_ratio
        sar_f = Fraction(sar.numerator, sar.denominator) if sar and sar.numerator and sar.denominator else None
        chapters = []
        if seq is None:
            for ch in container.chapters():
                tb = ch["time_base"]
                tbf = Fraction(tb.numerator, tb.denominator)
                chapters.append({"start": float(ch["start"] * tbf) - start, "end": float(ch["end"] * tbf) - start,
                                 "metadata": dict(ch.get("metadata") or {})})
        info = SourceInfo(
            path=text, kind="images" if seq is not None else "video",
            format_name=container.format.name, video_index=stream.index, video_ordinal=ordinal,
            codec=codec, width=first.width, height=first.height, pix_fmt=pix_fmt, bit_depth=bit_depth(pix_fmt),
            sample_aspect_ratio=sar_f, time_base=time_base, pts=pts, times=times, durations=durations,
            container_start=start, frame_rate=rate, colour=colour, hdr=hdr, dynamic_hdr=dynamic,
            rotation=rotation,
            audio_streams=len(container.streams.audio),
            subtitle_streams=[s.codec_context.name if s.codec_context else "unknown"
                              for s in container.streams.subtitles],
            subtitle_tags=[dict(s.metadata) for s in container.streams.subtitles],
            attachment_streams=len(container.streams.attachments),
            chapters=chapters, metadata=dict(container.metadata), image_sequence=seq,
            video_metadata=carried_stream_tags(dict(stream.metadata)),
            interlaced=bool(getattr(first, "interlaced_frame", False)), has_alpha=has_alpha,
            audio_codecs=[s.codec_context.name if s.codec_context else "unknown" for s in container.streams.audio],
            decode_order_pts=decode_order_pts, video_disposition=disposition_of(stream),
            subtitle_dispositions=[disposition_of(s) for s in container.streams.subtitles],
            telemetry_streams=telemetry_handlers(container.streams.data, bool(chapters)),
        )
    finally:
        container.close()
    if info.colour.assumed_matrix:
        log.warning("%s: colour matrix not tagged; assuming %s from the frame height (%d lines)", text,
                    info.colour.matrix, info.height)
    if info.dynamic_hdr:
        log.warning("%s: dynamic HDR metadata (%s) cannot be carried to the output; only HDR10 static "
                    "metadata is kept", text, ", ".join(info.dynamic_hdr))
    if info.has_alpha:
        log.warning("%s: the alpha channel (%s) is dropped; the model restores colour only", text, info.pix_fmt)
    return info


_NOT_CARRIED = {"duration", "encoder", "number_of_frames", "number_of_bytes", "bps", "rotate", "creation_time",
                "_statistics_writing_app", "_statistics_writing_date_utc", "_statistics_tags", "vendor_id"}


def carried_stream_tags(tags: dict[str, str]) -> dict[str, str]:
    """Video stream tags that describe the content (title, language, handler...), without the ones that
    describe the old encode (encoder, duration, bitrate statistics) and would be wrong on the output."""
    return {k: v for k, v in tags.items() if k.lower() not in _NOT_CARRIED and not k.lower().startswith("_statistics")
            and not k.upper().startswith(("BPS-", "DURATION-", "NUMBER_OF_"))}


def _codec_name_hint(path: str, index: int, ffmpeg: str | None) -> str:
    """Name of the codec of stream ``index`` as the ffmpeg binary reports it (PyAV exposes none when it has
    no decoder for it)."""
    import re
    import subprocess

    if ffmpeg:
        try:
            out = subprocess.run([ffmpeg, "-hide_banner", "-i", path], capture_output=True, text=True, timeout=30)
            m = re.search(rf"Stream #0:{index}\b[^:]*: Video: ([\w-]+)", out.stderr)
            if m:
                return f"codec '{m.group(1)}'"
        except (OSError, subprocess.TimeoutExpired):
            pass
    return "no decoder for its codec"


#: Stream dispositions carried to the output (ffmpeg's names; PyAV's Disposition flags have the same ones).
CARRIED_DISPOSITIONS = ("default", "forced", "comment", "hearing_impaired", "visual_impaired", "original", "dub",
                        "lyrics", "karaoke", "captions", "descriptions")


def disposition_of(stream: Any) -> str:
    """``stream``'s disposition as ffmpeg's ``-disposition`` takes it: "default+forced", or "0" for none."""
    import av

    flags = [name for name in CARRIED_DISPOSITIONS
             if stream.disposition & getattr(av.stream.Disposition, name, 0)]
    return "+".join(flags) or "0"


def telemetry_handlers(data_streams: Any, has_chapters: bool) -> list[str]:
    """Handler names of the data streams that hold neither a timecode (carried as a tag) nor, in a file with
    chapters, the chapter text track (carried as chapters)."""
    names = []
    for stream in data_streams:
        tags = dict(stream.metadata)
        handler = tags.get("handler_name", "") or f"stream {stream.index}"
        if "timecode" in tags or (has_chapters and any(w in handler for w in ("Subtitle", "Chapter", "Text"))):
            continue
        names.append(handler)
    return names
