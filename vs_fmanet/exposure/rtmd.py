"""Sony XAVC S/HS ``rtmd`` track reader: per-frame exposure time (exact rational) and capture frame rate.

Layout (exiftool Sony.pm, telemetry-parser sony): a header
whose first big-endian u16 is its own length (0x001C), then SMPTE-style local sets -- u16 tag, u16 length,
value -- all big-endian. Tag 0x8300 is a container to descend into. Read here:

* 0x8109 ExposureTime: u32 numerator, u32 denominator, seconds;
* 0x8106 capture FrameRate: u32 numerator, u32 denominator, frames per second (differs from playback in
  S&Q modes; the fraction then uses the capture interval).

Why our own parser: no maintained Python package reads rtmd (telemetry-parser's PyPI wheel is cp310-312
only). Verified only against fixtures built from those layouts, not against camera files.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np

from .container import TimedPacket
from .errors import ExposureFormatError
from .packet_series import PacketSamples, parsed_packets
from .track import SampleSeries

__all__ = ["TAG_EXPOSURE_TIME", "TAG_FRAME_RATE", "parse_rtmd_sample", "series_from_packets"]

TAG_CONTAINER = 0x8300
TAG_FRAME_RATE = 0x8106
TAG_EXPOSURE_TIME = 0x8109


def parse_rtmd_sample(buf: bytes, *, where: str = "rtmd sample") -> tuple[Fraction | None, Fraction | None]:
    """(exposure seconds, capture fps) of one rtmd sample; either may be None when absent.

    Raises :class:`ExposureFormatError` naming ``where`` on a bad header or a local set that overruns."""
    if len(buf) < 2:
        raise ExposureFormatError(f"{where}: {len(buf)} bytes is too short for an rtmd header")
    (header_len,) = struct.unpack_from(">H", buf, 0)
    if header_len < 2 or header_len > len(buf):
        raise ExposureFormatError(f"{where}: header length {header_len} does not fit the {len(buf)}-byte sample; "
                                  "the track is corrupt or not rtmd")
    found: dict[int, bytes] = {}
    _walk(buf[header_len:], found, where, header_len, 0)
    return _rational(found.get(TAG_EXPOSURE_TIME), where, "ExposureTime"), \
        _rational(found.get(TAG_FRAME_RATE), where, "FrameRate")


def _walk(buf: bytes, found: dict[int, bytes], where: str, base: int, depth: int) -> None:
    if depth > 4:
        raise ExposureFormatError(f"{where}: rtmd containers nested deeper than 4; corrupt")
    pos = 0
    while pos + 4 <= len(buf):
        tag, length = struct.unpack_from(">HH", buf, pos)
        if tag == 0 and length == 0 and not any(buf[pos:]):
            return  # zero fill
        if pos + 4 + length > len(buf):
            raise ExposureFormatError(f"{where}: local set 0x{tag:04X} at byte {base + pos} declares {length} bytes "
                                      f"but only {len(buf) - pos - 4} remain; the sample is truncated")
        value = buf[pos + 4: pos + 4 + length]
        if tag == TAG_CONTAINER:
            _walk(value, found, where, base + pos + 4, depth + 1)
        else:
            found.setdefault(tag, value)
        pos += 4 + length
    if pos != len(buf) and any(buf[pos:]):
        raise ExposureFormatError(f"{where}: {len(buf) - pos} stray bytes at the end; the sample is truncated")


def _rational(value: bytes | None, where: str, name: str) -> Fraction | None:
    if value is None:
        return None
    if len(value) != 8:
        raise ExposureFormatError(f"{where}: {name} holds {len(value)} bytes, expected 8 (u32/u32)")
    num, den = struct.unpack(">II", value)
    if den == 0:
        raise ExposureFormatError(f"{where}: {name} {num}/0 has a zero denominator")
    return Fraction(num, den)


def series_from_packets(packets: list[TimedPacket], label: str) -> SampleSeries:
    """Per-sample exposure [S] with each sample's capture interval (1 / capture fps, NaN when absent).
    Corrupt samples are dropped with a warning naming their index and time."""
    warnings: list[str] = []
    samples = PacketSamples()
    capture: list[float] = []
    for _k, packet, (exposure, fps) in parsed_packets(packets, f"rtmd ({label}) sample", parse_rtmd_sample,
                                                      warnings, "that frame gets no rtmd exposure"):
        if exposure is None:
            continue
        samples.add(packet, float(exposure))
        capture.append(float(1 / fps) if fps else math.nan)
    return samples.series("rtmd", label, warnings, capture_interval=np.asarray(capture))
