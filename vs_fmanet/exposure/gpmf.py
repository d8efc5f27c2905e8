"""GoPro GPMF (``gpmd`` track) reader: per-frame ``SHUT`` exposure in seconds (float32).

Written from GoPro's public GPMF specification (github.com/gopro/gpmf-parser, README "KLV design"): each item
is a FourCC key, a 1-byte type (0 = nested), a 1-byte structure size, a 2-byte big-endian repeat count, then
``size * repeat`` payload bytes padded to 4. The exposure lives at DEVC -> STRM -> SHUT ('f', one float32 per
video frame, seconds). Why our own parser: the PyPI GPMF packages either pull heavy GIS dependencies, clash
on the ``gpmf`` import name, or ship cp310-312 wheels only.

Timing: each MP4 sample is one payload covering [pts, pts + duration); its n SHUT values are spread evenly,
sample j at ``pts + j * duration / n``. :mod:`.align` then maps by index when the SHUT rate equals the video
rate, by time otherwise (e.g. SHUT at half the video rate on GoPro MAX).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from .container import TimedPacket
from .errors import ExposureFormatError
from .packet_series import parsed_packets
from .track import SampleSeries

__all__ = ["KlvItem", "parse_klv", "shutter_from_payload", "series_from_packets"]

_SCALAR_FORMATS = {"b": "b", "B": "B", "s": "h", "S": "H", "l": "i", "L": "I", "f": "f", "d": "d", "j": "q", "J": "Q"}


@dataclass
class KlvItem:
    """One GPMF item: ``key`` FourCC, ``type`` char ("\\0" when nested), ``size`` bytes per structure,
    ``repeat`` structure count, ``data`` raw payload (unpadded), ``children`` for nested items."""

    key: str
    type: str
    size: int
    repeat: int
    data: bytes
    children: list["KlvItem"] | None = None

    def find(self, key: str) -> "KlvItem | None":
        """First direct child with ``key``."""
        for child in self.children or ():
            if child.key == key:
                return child
        return None

    def values(self) -> list:
        """Decode a scalar item ('b','B','s','S','l','L','f','d','j','J') or a 'c' string."""
        if self.type == "c":
            return [self.data.split(b"\0", 1)[0].decode("latin-1")]
        fmt = _SCALAR_FORMATS.get(self.type)
        if fmt is None:
            raise ExposureFormatError(f"GPMF item {self.key} has type {self.type!r}, which this reader does not decode")
        width = struct.calcsize(fmt)
        count = (self.size * self.repeat) // width
        return list(struct.unpack(f">{count}{fmt}", self.data[: count * width]))


def parse_klv(buf: bytes, *, where: str = "GPMF payload", _depth: int = 0) -> list[KlvItem]:
    """Parse a GPMF KLV byte string into items (nested items parsed recursively).

    Raises :class:`ExposureFormatError` naming ``where``, the key and the byte offset when an item claims
    more bytes than remain (a truncated or corrupt payload)."""
    if _depth > 8:
        raise ExposureFormatError(f"{where}: GPMF nesting deeper than 8 levels; the payload is corrupt")
    items: list[KlvItem] = []
    pos = 0
    while pos + 8 <= len(buf):
        key_bytes = buf[pos:pos + 4]
        if key_bytes == b"\0\0\0\0":
            if not any(buf[pos:]):
                break  # zero padding at the end of a payload
            raise ExposureFormatError(f"{where}: zero GPMF key at byte {pos} followed by data; the payload is corrupt")
        try:
            key = key_bytes.decode("ascii")
        except UnicodeDecodeError:
            key = ""
        if not key.isprintable() or len(key) != 4:
            raise ExposureFormatError(f"{where}: byte {pos} holds {key_bytes!r}, not a GPMF FourCC; the payload is "
                                      "corrupt")
        type_code, size, repeat = struct.unpack_from(">BBH", buf, pos + 4)
        length = size * repeat
        padded = (length + 3) & ~3
        body_start = pos + 8
        if body_start + length > len(buf):
            raise ExposureFormatError(
                f"{where}: GPMF item {key} at byte {pos} declares {length} bytes but only {len(buf) - body_start} "
                "remain; the payload is truncated")
        data = buf[body_start:body_start + length]
        item = KlvItem(key, chr(type_code) if type_code else "\0", size, repeat, data)
        if type_code == 0:
            item.children = parse_klv(data, where=f"{where} > {key}", _depth=_depth + 1)
        items.append(item)
        pos = body_start + padded
    if 0 < len(buf) - pos < 8 and any(buf[pos:]):
        raise ExposureFormatError(f"{where}: {len(buf) - pos} stray bytes after the last GPMF item; the payload is "
                                  "truncated")
    return items


def shutter_from_payload(buf: bytes, *, where: str = "GPMF payload") -> np.ndarray:
    """SHUT values [n] float64 (exact float32 values) of one gpmd payload; empty when it has no SHUT.

    Only the first device stream carrying SHUT is read (a multi-sensor camera such as Fusion writes one per
    sensor; concatenating them would double the sample count). Raises :class:`ExposureFormatError` on
    corrupt KLV or a SHUT that is not float32."""
    for devc in parse_klv(buf, where=where):
        if devc.key != "DEVC" or devc.children is None:
            continue
        for strm in devc.children:
            if strm.key != "STRM" or strm.children is None:
                continue
            shut = strm.find("SHUT")
            if shut is None:
                continue
            if shut.type != "f" or shut.size % 4:
                raise ExposureFormatError(f"{where}: SHUT has type {shut.type!r} size {shut.size}; GoPro writes "
                                          "float32 seconds ('f', 4) -- the payload is corrupt")
            return np.asarray(struct.unpack(f">{len(shut.data) // 4}f", shut.data), dtype=np.float64)
    return np.zeros(0, dtype=np.float64)


def series_from_packets(packets: list[TimedPacket], label: str) -> SampleSeries:
    """SHUT samples of a whole gpmd track. A corrupt payload costs its own samples (with a warning naming
    its index and time), never the whole track."""
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    values: list[np.ndarray] = []
    warnings: list[str] = []
    durations = [p.duration for p in packets if math.isfinite(p.duration) and p.duration > 0]
    typical = float(np.median(durations)) if durations else 1.0
    for k, packet, shut in parsed_packets(packets, f"gpmf ({label}) payload", shutter_from_payload, warnings,
                                          "its frames get no GPMF exposure"):
        if shut.size == 0:
            continue
        duration = packet.duration
        if not (math.isfinite(duration) and duration > 0):
            nxt = packets[k + 1].start if k + 1 < len(packets) else math.nan
            duration = nxt - packet.start if math.isfinite(nxt) and nxt > packet.start else typical
        step = duration / shut.size
        s = packet.start + step * np.arange(shut.size)
        starts.append(s)
        ends.append(s + step)
        values.append(shut)
    if not values:
        return SampleSeries("gpmf", label, np.zeros(0), start=np.zeros(0), end=np.zeros(0), warnings=warnings)
    return SampleSeries("gpmf", label, np.concatenate(values), start=np.concatenate(starts),
                        end=np.concatenate(ends), warnings=warnings, device_clock=True)
