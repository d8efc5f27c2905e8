"""Frame-accurate decoding of a frame range with PyAV, to float RGB.

:func:`decode_range` is the one decoder used by the command-line tool and (later) by farm chunks: it seeks
to the keyframe at or before the first wanted frame, decodes forward and drops frames until the wanted
presentation timestamp, so ranges need not start on keyframes. Frames are identified by their PTS in the
index built by :func:`ffmpeg_filter.probe.probe_source`, which makes VFR sources safe.

Pixels: every source (8 to 16 bit, YUV or RGB) is converted by swscale to ``rgb48le`` with the source's own
matrix and range (explicit, because PyAV's ``reformat`` defaults the range to "unspecified"), then to
float32 in [0, 1]; so 10-bit sources keep their precision.

Size changes mid-stream (broadcast captures and recorded adaptive streams switch resolution; image sequences can
mix sizes): like the ffmpeg command line (its default ``-autoscale``), every frame is scaled to the size the stream
started with, bicubic in its own pixel format, with a warning naming the first frame of each new size
(:func:`conform_size`). The output thus keeps one size, which every encoder and the engine's windows need.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from .deinterlace import Deinterlacer
from .errors import InputError
from .probe import SourceInfo, open_source, probe_source

log = logging.getLogger(__name__)

_RANGE_CODES = {"tv": 1, "pc": 2}


@dataclasses.dataclass
class DecodedFrame:
    """One decoded frame. ``rgb``: [H, W, 3] float32 RGB in [0, 1]; ``index``: 0-based frame number in the
    source; ``pts``: timestamp in the source stream's time base; ``time``: seconds from the container start."""

    index: int
    pts: int
    time: float
    rgb: np.ndarray


def frame_to_rgb(frame: Any, info: SourceInfo) -> np.ndarray:
    """Convert a PyAV ``VideoFrame`` to [H, W, 3] float32 RGB in [0, 1] using the source's matrix and range."""
    import av

    kwargs: dict[str, Any] = {"format": "rgb48le"}
    if info.colour.matrix is not None:  # YUV source: state matrix and range explicitly
        if info.colour.sws_matrix:
            kwargs["src_colorspace"] = info.colour.sws_matrix
        if info.colour.range:
            kwargs["src_color_range"] = _RANGE_CODES[info.colour.range]
        kwargs["interpolation"] = (av.video.reformatter.Interpolation.BICUBIC
                                   | av.video.reformatter.Interpolation.ACCURATE_RND
                                   | av.video.reformatter.Interpolation.FULL_CHR_H_INT)
    arr = frame.to_ndarray(**kwargs)
    return arr.astype(np.float32) * np.float32(1.0 / 65535.0)


def conform_size(frame: Any, width: int, height: int) -> Any:
    """``frame`` (a PyAV ``VideoFrame``) scaled to ``width`` x ``height`` pixels in its own pixel format (bicubic;
    timestamps kept), or ``frame`` itself when it already has that size."""
    if (frame.width, frame.height) == (width, height):
        return frame
    import av

    return frame.reformat(width=width, height=height, interpolation=av.video.reformatter.Interpolation.BICUBIC)


class SizeConformer:
    """``conform(frame, index)``: the frame at the stream's first size (``width`` x ``height``, see
    :func:`conform_size`), warning once per new size; ``where`` names the input in the message."""

    def __init__(self, where: str, width: int, height: int) -> None:
        self.where, self.size = where, (width, height)
        self.seen: set[tuple[int, int]] = {self.size}

    def conform(self, frame: Any, index: int) -> Any:
        size = (frame.width, frame.height)
        if size not in self.seen:
            self.seen.add(size)
            log.warning("%s: frame %d is %dx%d but the stream started at %dx%d; scaling such frames to %dx%d as "
                        "ffmpeg does (-autoscale). Split the input at the change to restore each part at its own "
                        "size.", self.where, index, *size, *self.size, *self.size)
        return conform_size(frame, *self.size)


def decode_range(source: str | os.PathLike | SourceInfo, start_frame: int = 0, end_frame: int | None = None,
                 *, threads: int = 0, deinterlace: str | None = None) -> Iterator[DecodedFrame]:
    """Yield frames ``start_frame`` (inclusive) to ``end_frame`` (exclusive; None = to the end) in
    presentation order, each exactly once.

    ``source`` is a path (probed first) or a :class:`SourceInfo` from :func:`probe_source`. ``threads``: decoder
    threads (0 = FFmpeg's choice). ``deinterlace``: None (frames as decoded) or the bwdif ``deint`` setting
    ("interlaced" or "all", see :mod:`.deinterlace`); one more frame is decoded on each side of the range so that
    a range gets exactly the frames of a whole-file pass. Raises :class:`InputError` if the range is outside the
    source or the file ends early (damaged).
    """
    info = source if isinstance(source, SourceInfo) else probe_source(source)
    n = info.frame_count
    end = n if end_frame is None else int(end_frame)
    start = int(start_frame)
    if not (0 <= start <= end <= n):
        raise InputError(f"decode_range: frame range [{start}, {end}) is outside '{info.path}' "
                         f"which has {n} frames (0..{n - 1})")
    if start == end:
        return
    if deinterlace is None:
        for index, frame in _decoded_frames(info, start, end, threads):
            yield DecodedFrame(index, int(info.pts[index]), float(info.times[index]), frame_to_rgb(frame, info))
        return
    if info.kind != "video":
        raise InputError(f"decode_range: '{info.path}' is an image sequence; deinterlacing needs a video stream")
    lo, hi = max(start - 1, 0), min(end + 1, n)
    deinterlacer: Deinterlacer | None = None
    expected = start

    def wanted(ready: list[tuple[int, Any]]) -> Iterator[DecodedFrame]:
        nonlocal expected
        for pts, out in ready:
            index = int(np.searchsorted(info.pts, pts))
            if index >= n or info.pts[index] != pts:
                raise InputError(f"decode_range: the deinterlacer returned a frame with pts {pts}, which "
                                 f"'{info.path}' does not have; use --deinterlace off")
            if start <= index < end:
                if index != expected:
                    raise InputError(f"decode_range: the deinterlacer skipped frame {expected} of '{info.path}'; "
                                     "use --deinterlace off")
                expected = index + 1
                yield DecodedFrame(index, pts, float(info.times[index]), frame_to_rgb(out, info))

    with contextlib.closing(_decoded_frames(info, lo, hi, threads)) as decoded:
        for _index, frame in decoded:
            if deinterlacer is None:
                deinterlacer = Deinterlacer(frame, info.time_base, deinterlace)
            yield from wanted(deinterlacer.push(frame))
            if expected >= end:
                return
    if deinterlacer is not None:
        yield from wanted(deinterlacer.flush())
    if expected < end:
        raise InputError(f"decode_range: the deinterlacer returned no frame {expected} of '{info.path}'; "
                         "use --deinterlace off")


def _decoded_frames(info: SourceInfo, start: int, end: int, threads: int) -> Iterator[tuple[int, Any]]:
    """(frame index, PyAV frame) for frames ``start .. end - 1`` (a valid, non-empty range), see decode_range."""
    import av

    n = info.frame_count
    first_pts, last_pts = int(info.pts[start]), int(info.pts[end - 1])
    by_output_order = info.decode_order_pts
    seek_pts = first_pts if start > 0 and info.kind == "video" and not by_output_order else None
    expected = start
    sizes = SizeConformer(f"'{info.path}'", info.width, info.height)
    for attempt in range(2):
        container = _open_at(info, start if info.kind == "images" else 0)
        try:
            stream = container.streams[info.video_index]
            stream.thread_type = "AUTO"
            if threads:
                stream.codec_context.thread_count = threads
            if seek_pts is not None:
                container.seek(seek_pts, stream=stream, backward=True)
            overshoot = False
            output_index = -1
            for frame in container.decode(stream):
                output_index += 1
                if info.kind == "images":
                    index = expected
                elif by_output_order:       # see SourceInfo.decode_order_pts: the k-th decoded frame is frame k
                    if output_index < start:
                        continue
                    index = output_index
                    if index >= n:
                        break
                else:
                    if frame.pts is None:
                        raise InputError(f"decode_range: a decoded frame of '{info.path}' has no timestamp; "
                                         "remux the file with ffmpeg -i IN -c copy OUT.mkv")
                    if frame.pts < first_pts:
                        continue
                    index = int(np.searchsorted(info.pts, frame.pts))
                    if index >= n or info.pts[index] != frame.pts:
                        log.debug("decode_range: dropping frame with pts %s not in the index", frame.pts)
                        continue
                    if index > expected:
                        if index > expected and expected == start and seek_pts is not None and attempt == 0:
                            overshoot = True  # the seek landed after the wanted frame: decode from the start
                            break
                        raise InputError(f"decode_range: frame {expected} of '{info.path}' could not be "
                                         f"decoded (next decodable frame is {index}); the file may be damaged")
                    if index < expected:
                        continue
                yield index, sizes.conform(frame, index)
                expected = index + 1
                if expected >= end or (info.kind == "video" and not by_output_order and frame.pts >= last_pts):
                    break
        except av.FFmpegError as exc:
            raise InputError(f"decode_range: decoding '{info.path}' failed at frame {expected}: {exc}") from exc
        finally:
            container.close()
        if overshoot:
            seek_pts = None
            log.debug("decode_range: seek overshoot in %s, decoding from the start", info.path)
            continue
        break
    if expected < end:
        raise InputError(f"decode_range: '{info.path}' ended after frame {expected - 1} but {end} frames were "
                         "expected; the file may be truncated")


def _open_at(info: SourceInfo, offset: int) -> Any:
    """Open the source; image sequences start ``offset`` frames later (image2 ``start_number``)."""
    if info.kind == "images" and offset:
        import av

        assert info.image_sequence is not None
        seq = info.image_sequence
        options = {"framerate": str(info.frame_rate), "start_number": str(seq.start_number + offset)}
        return av.open(seq.demuxer_pattern, format="image2", options=options)
    return open_source(info)
