"""DJI SRT telemetry reader (sidecar ``DJI_xxxx.SRT`` or an embedded mov_text / subrip track).

Cue structure comes from FFmpeg's SRT demuxer through PyAV (handles the UTF-8 BOM, CRLF and cue numbering),
so only the DJI cue *text* is parsed here, with these dialects:

* ``[shutter: 1/8000.0]`` / ``[shutter : 1/80.0]`` (2018+ per-frame models; value is a rational in seconds);
* ``Shutter:60`` and ``TV:60`` (Phantom 3/4, Mavic Pro, 1 Hz; the value is the denominator);
* ``SS 400`` / ``SS 30.15`` (P4P, Mavic Mini, Matrice, 1 Hz; denominator).

Cues are timed by their start and end timestamps, never by their ``FrameCnt``/``SrtCnt`` counters (those may
start at any number) nor by cue index (DJI cue durations vary and can have gaps).
"""

from __future__ import annotations

import math
import os
import re
import struct
from fractions import Fraction

import av

from .container import StreamPackets, TimedPacket
from .errors import ExposureInputError
from .packet_series import PacketSamples
from .track import SampleSeries
from .units import parse_rational

__all__ = ["parse_dji_shutter", "cues_from_subtitle_stream", "read_srt_file", "series_from_cues"]

_BRACKET_RE = re.compile(r"\[\s*shutter\s*:\s*([^\]]+?)\s*\]", re.IGNORECASE)
_LEGACY_RES = (
    ("shutter", re.compile(r"\bshutter\s*:\s*([0-9./]+)", re.IGNORECASE)),
    ("tv", re.compile(r"\bTV\s*:\s*([0-9./]+)")),
    ("ss", re.compile(r"\bSS\s+([0-9./]+)")),
)


def parse_dji_shutter(text: str) -> tuple[Fraction | None, str | None]:
    """Exposure seconds from one DJI SRT cue, and the dialect that matched (``"bracket"``, ``"shutter"``,
    ``"tv"``, ``"ss"``); ``(None, None)`` when the cue carries no shutter field.

    A value with a ``/`` is a rational in seconds (``1/80.0``); a bare number is the denominator, as all DJI
    dialects write it (``Shutter:60`` = 1/60 s, ``SS 30.15`` = 1/30.15 s). Raises ``ValueError`` when the
    field is present but unreadable (``[shutter: abc]``)."""
    match = _BRACKET_RE.search(text)
    dialect = "bracket"
    if match is None:
        for name, regex in _LEGACY_RES:
            match = regex.search(text)
            if match is not None:
                dialect = name
                break
    if match is None:
        return None, None
    value = match.group(1).strip().rstrip(",;")
    if "/" in value:
        return parse_rational(value), dialect
    denominator = parse_rational(value)
    if denominator <= 0:
        raise ValueError(f"shutter denominator {value!r} is not positive")
    return 1 / denominator, dialect


def cues_from_subtitle_stream(stream: StreamPackets) -> list[TimedPacket]:
    """Decode an embedded subtitle track's packets to text cues (payload = UTF-8 text).

    mov_text/tx3g samples are a 16-bit big-endian text length, the text, then optional style boxes."""
    cues = []
    for packet in stream.packets:
        payload = packet.payload
        if stream.codec == "mov_text" or stream.fourcc in ("tx3g", "text"):
            if len(payload) < 2:
                continue
            (length,) = struct.unpack_from(">H", payload, 0)
            payload = payload[2:2 + length]
        cues.append(TimedPacket(packet.start, packet.duration, payload))
    return cues


def read_srt_file(path: str | os.PathLike) -> list[TimedPacket]:
    """Cues of an ``.SRT`` sidecar (start seconds, duration seconds, UTF-8 payload).

    Raises :class:`ExposureInputError` when the file is not a readable SRT."""
    try:
        container = av.open(os.fspath(path), format="srt")
    except (av.error.FFmpegError, OSError) as exc:
        raise ExposureInputError(f"read_srt_file: cannot read {os.fspath(path)!r} as SRT ({exc}); check that it is "
                                 "a DJI .SRT text file") from None
    cues: list[TimedPacket] = []
    with container:
        if not container.streams.subtitles:
            raise ExposureInputError(f"read_srt_file: {os.fspath(path)!r} holds no subtitle cues")
        stream = container.streams.subtitles[0]
        tb = stream.time_base or Fraction(1, 1000)
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                duration = float(packet.duration * tb) if packet.duration else math.nan
                cues.append(TimedPacket(float(packet.pts * tb), duration, bytes(packet)))
        except (av.error.FFmpegError, OSError) as exc:
            raise ExposureInputError(f"read_srt_file: {os.fspath(path)!r} is damaged after {len(cues)} cues ({exc})") \
                from None
    if not cues:
        raise ExposureInputError(f"read_srt_file: {os.fspath(path)!r} holds no SRT cues; is it a DJI .SRT text file "
                                 "(numbered cues with 'hh:mm:ss,mmm --> hh:mm:ss,mmm' lines)?")
    return cues


def series_from_cues(cues: list[TimedPacket], label: str) -> SampleSeries:
    """Exposure samples [S] from DJI cues; cues without a shutter field are skipped, unreadable ones are
    skipped with a warning naming the cue time."""
    samples = PacketSamples()
    warnings: list[str] = []
    dialects: set[str] = set()
    for cue in cues:
        text = cue.payload.decode("utf-8", errors="replace")
        try:
            seconds, dialect = parse_dji_shutter(text)
        except (ValueError, ZeroDivisionError) as exc:
            warnings.append(f"srt ({label}): cue at t={cue.start:.3f} s has an unreadable shutter field ({exc}); "
                            "skipped")
            continue
        if seconds is None:
            continue
        dialects.add(dialect or "")
        samples.add(cue, float(seconds))
    if cues and not samples.values and not warnings:
        warnings.append(f"srt ({label}): {len(cues)} cues but none has a shutter field "
                        "([shutter: 1/x], Shutter:x, TV:x or SS x)")
    return samples.series("srt", label, warnings)
