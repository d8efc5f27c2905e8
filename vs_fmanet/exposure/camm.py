"""Google Camera Motion Metadata (``camm`` track) reader: type-1 records, pixel exposure time per sample.

Layout (Google's public CAMM specification, "Camera Motion Metadata Spec"): every record is little-endian,
``u16 reserved, u16 type`` then a type-specific body. Type 1 = ``i32 pixel_exposure_time`` (ns) and
``i32 rolling_shutter_skew_time`` (ns). Body sizes of the other types are listed so that several records in
one sample can be walked. Why our own parser: it is a 10-line struct read; no maintained package exists.
"""

from __future__ import annotations

import struct

import numpy as np

from .container import TimedPacket
from .errors import ExposureFormatError
from .packet_series import PacketSamples, parsed_packets
from .track import SampleSeries

__all__ = ["BODY_SIZES", "parse_camm_sample", "series_from_packets"]

#: Body size in bytes of each CAMM record type (after the 4-byte header).
BODY_SIZES = {
    0: 12,   # angle axis, 3 x float32
    1: 8,    # pixel exposure time, rolling shutter skew: 2 x int32 ns
    2: 12,   # gyro, 3 x float32
    3: 12,   # acceleration, 3 x float32
    4: 12,   # position, 3 x float32
    5: 24,   # latitude, longitude, altitude: 3 x float64
    6: 56,   # GPS: f64 time, i32 fix, f64 lat, f64 lon, 7 x float32 (8+4+8+8+28)
    7: 12,   # magnetic field, 3 x float32
}


def parse_camm_sample(buf: bytes, *, where: str = "camm sample") -> list[int]:
    """Pixel exposure times in **nanoseconds** of every type-1 record in one sample (usually 0 or 1).

    Raises :class:`ExposureFormatError` on an unknown record type or a truncated record."""
    exposures: list[int] = []
    pos = 0
    while pos < len(buf):
        if pos + 4 > len(buf):
            raise ExposureFormatError(f"{where}: {len(buf) - pos} stray bytes at byte {pos}; the sample is truncated")
        _reserved, record_type = struct.unpack_from("<HH", buf, pos)
        size = BODY_SIZES.get(record_type)
        if size is None:
            raise ExposureFormatError(f"{where}: unknown CAMM record type {record_type} at byte {pos}; the sample is "
                                      "corrupt or not camm")
        if pos + 4 + size > len(buf):
            raise ExposureFormatError(f"{where}: type-{record_type} record at byte {pos} needs {size} bytes but "
                                      f"{len(buf) - pos - 4} remain; the sample is truncated")
        if record_type == 1:
            exposure_ns, _skew_ns = struct.unpack_from("<ii", buf, pos + 4)
            exposures.append(exposure_ns)
        pos += 4 + size
    return exposures


def series_from_packets(packets: list[TimedPacket], label: str) -> SampleSeries:
    """Exposure seconds [S] from a camm track's type-1 records (ns -> s); other record types are ignored. A record
    lasts one period of the exposure records (their median spacing): its packet's duration belongs to the
    interleaved stream (gyro and accelerometer samples at 100 Hz and more), not to the exposure, and a missing
    record stays a gap."""
    warnings: list[str] = []
    samples = PacketSamples()
    for _k, packet, exposures in parsed_packets(packets, f"camm ({label}) sample", parse_camm_sample, warnings,
                                                "skipped"):
        if exposures:
            samples.add(packet, exposures[-1] * 1e-9)
    series = samples.series("camm", label, warnings)
    if series.start is not None and series.end is not None and len(series) > 1:
        series.end = series.start + float(np.median(np.diff(series.start)))
    return series
