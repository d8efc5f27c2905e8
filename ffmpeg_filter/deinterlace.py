"""Deinterlacing of decoded frames before restoration: FFmpeg's ``bwdif`` through a PyAV filter graph.

The network restores progressive pictures; fed two fields woven into one frame it would sharpen the combing. With
``--deinterlace auto`` (the default) a source whose frames are flagged interlaced goes through ``bwdif`` in
``send_frame`` mode: one progressive frame per source frame, same timestamps and frame count, so audio, subtitles,
chapters and the farm's chunk grid are unaffected. ``on`` deinterlaces every frame (sources with wrong flags);
``off`` passes the fields through (with a warning when the source is interlaced).

bwdif builds frame i from the fields of frames i-1, i and i+1 only. :func:`ffmpeg_filter.decode.decode_range`
therefore decodes one frame on each side of the wanted range, so a range (an ``-ss`` cut, a farm chunk) gets
exactly the frames a pass over the whole file gives.

Why FFmpeg's filter and not our own: bwdif (w3fdif + yadif ideas) is the deinterlacer ffmpeg users already trust,
PyAV exposes it without a second process, and it reads each frame's field order itself.
"""
from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

from .errors import UsageError

log = logging.getLogger(__name__)

DEINTERLACE_MODES = ("auto", "on", "off")
FILTER = "bwdif"


def check_deinterlace_mode(mode: str) -> None:
    """Raise UsageError unless ``mode`` is one of :data:`DEINTERLACE_MODES`."""
    if mode not in DEINTERLACE_MODES:
        raise UsageError(f"--deinterlace {mode!r}: choose one of {', '.join(DEINTERLACE_MODES)}")


def resolve_deinterlace(mode: str, *, interlaced: bool, kind: str, label: str) -> str | None:
    """The bwdif ``deint`` setting for a source, or None to leave frames as decoded.

    ``mode``: "auto" (deinterlace frames flagged interlaced, when the source has any), "on" (every frame) or
    "off". ``interlaced``: what the probe found; ``kind``: "video" or "images"; ``label``: the source, for messages.
    Raises UsageError for an unknown mode or "on" with an image sequence.
    """
    check_deinterlace_mode(mode)
    if mode == "off":
        return None
    if kind != "video":
        if mode == "on":
            raise UsageError(f"--deinterlace on: '{label}' is an image sequence, whose pictures are progressive; "
                             "drop the option")
        return None
    if mode == "on":
        return "all"
    return "interlaced" if interlaced else None


def plan_deinterlace(mode: str, info: Any) -> tuple[str | None, list[str]]:
    """``(deint, warnings)`` for a probed source (:class:`.probe.SourceInfo`): the bwdif setting to hand to
    :func:`.decode.decode_range` (None = none) and the report's warnings; logs what was decided."""
    deint = resolve_deinterlace(mode, interlaced=info.interlaced, kind=info.kind, label=info.path)
    if deint is not None:
        log.info("%s: deinterlacing with %s (%s frames) before restoration", info.path, FILTER,
                 "every" if deint == "all" else "interlaced")
        return deint, []
    if info.interlaced:
        message = (f"'{info.path}' is interlaced and --deinterlace off keeps its fields woven: the combing will be "
                   "restored too; drop the option (default auto) to deinterlace with bwdif")
        log.warning("%s", message)
        return None, [message]
    return None, []


class Deinterlacer:
    """bwdif (``send_frame``) over PyAV frames; outputs carry the pts of their source frame.

    ``push(frame)`` returns the frames that became ready as ``(pts, frame)`` pairs, ``pts`` in ``time_base`` (the
    source stream's), typically the previous source frame's; ``flush()`` returns the last one at the end of the
    stream. ``deint``: "interlaced" (frames flagged interlaced only) or "all".
    """

    def __init__(self, first: Any, time_base: Fraction, deint: str) -> None:
        import av

        self._av = av
        self.time_base = Fraction(time_base)
        self.graph = av.filter.Graph()
        src = self.graph.add_buffer(width=first.width, height=first.height, format=first.format.name,
                                    time_base=self.time_base)
        bwdif = self.graph.add(FILTER, f"mode=send_frame:parity=auto:deint={deint}")
        sink = self.graph.add("buffersink")
        src.link_to(bwdif)
        bwdif.link_to(sink)
        self.graph.configure()

    def _ready(self) -> list[tuple[int, Any]]:
        out = []
        while True:
            try:
                frame = self.graph.pull()
            except (self._av.error.BlockingIOError, self._av.error.EOFError):
                return out
            # bwdif halves the time base (it can emit fields); map back to the source stream's units
            out.append((round(Fraction(frame.pts) * Fraction(frame.time_base) / self.time_base), frame))

    def push(self, frame: Any) -> list[tuple[int, Any]]:
        self.graph.push(frame)
        return self._ready()

    def flush(self) -> list[tuple[int, Any]]:
        self.graph.push(None)
        return self._ready()
