"""AVCHD / H.264 camcorder metadata (MDPM in SEI user data): the exposure time of each frame.

Sony, Panasonic, Canon and JVC camcorders and many compact cameras (AVCHD ``.MTS``/``.M2TS``, and their H.264
MP4 files) store "Modified DV Pack Meta" in an H.264 SEI "user data unregistered" message with the UUID
``17ee8c60-f84d-11d9-8cd6-0800200c9a66``, repeated per frame or per group of pictures. Layout (exiftool
H264.pm): ``"MDPM"``, a u8 entry count, then entries of one tag byte
and four data bytes, tags in ascending order. Read here:

* 0xA0 ExposureTime: u16 numerator, u16 denominator (big-endian), seconds.

Canon camcorders also write a 0x7F "shutter" word whose scale exiftool has revised once; it is not read, and a
stream with MDPM but no 0xA0 entry says so in a warning (the model then estimates the exposure).

The SEI NAL units arrive from :func:`.container.scan_container`, one per access unit that carries MDPM, timed by
that access unit's presentation time (so B-frame reordering is already undone). Why our own parser: see
:mod:`.h264_sei`. Verified against fixtures written from that layout (and PyAV's decoder reading the same SEI
back), not against camera files.
"""

from __future__ import annotations

import struct

from .container import TimedPacket
from .errors import ExposureFormatError
from .h264_sei import MDPM_UUID, user_data_unregistered
from .packet_series import PacketSamples, parsed_packets
from .track import SampleSeries

__all__ = ["MDPM_UUID", "TAG_EXPOSURE_TIME", "parse_mdpm", "exposure_from_sei_nal", "series_from_packets"]

TAG_EXPOSURE_TIME = 0xA0


def parse_mdpm(data: bytes, *, where: str = "MDPM") -> dict[int, bytes]:
    """The entries of one MDPM block (``data`` starts with ``b"MDPM"``): tag -> 4 data bytes.

    Raises :class:`ExposureFormatError` naming ``where`` when the magic is missing, the count promises more
    entries than the bytes hold, or the tags are not in ascending order (the block is corrupt)."""
    if data[:4] != b"MDPM" or len(data) < 5:
        raise ExposureFormatError(f"{where}: user data with the MDPM UUID does not start with 'MDPM'; corrupt")
    count = data[4]
    if 5 + 5 * count > len(data):
        raise ExposureFormatError(f"{where}: {count} entries need {5 * count} bytes but {len(data) - 5} remain; "
                                  "the block is truncated")
    entries: dict[int, bytes] = {}
    last = -1
    for k in range(count):
        pos = 5 + 5 * k
        tag = data[pos]
        if tag <= last:
            raise ExposureFormatError(f"{where}: entry {k} has tag 0x{tag:02X} after 0x{last:02X}; MDPM tags ascend, "
                                      "so the block is corrupt")
        last = tag
        entries[tag] = data[pos + 1:pos + 5]
    return entries


def exposure_from_sei_nal(sei_nal: bytes, *, where: str = "SEI") -> float | None:
    """Exposure seconds from the MDPM in one SEI NAL unit, or None when it holds no MDPM or no 0xA0 entry.

    Raises :class:`ExposureFormatError` on a corrupt SEI or MDPM block, or a zero denominator."""
    for data in user_data_unregistered(sei_nal, MDPM_UUID):
        entries = parse_mdpm(data, where=where)
        raw = entries.get(TAG_EXPOSURE_TIME)
        if raw is None:
            return None
        numerator, denominator = struct.unpack(">HH", raw)
        if denominator == 0:
            raise ExposureFormatError(f"{where}: ExposureTime {numerator}/0 has a zero denominator; corrupt")
        return numerator / denominator
    return None


def series_from_packets(packets: list[TimedPacket], label: str) -> SampleSeries:
    """Exposure seconds [S] from the MDPM-bearing SEI NAL units of a video stream (one per access unit). Each
    value holds until the next block, so blocks written once per group of pictures cover the frames between."""
    warnings: list[str] = []
    samples = PacketSamples()
    without = 0
    for _k, packet, seconds in parsed_packets(packets, f"MDPM ({label}) in the access unit", exposure_from_sei_nal,
                                              warnings, "skipped"):
        if seconds is None:
            without += 1
        else:   # the packets carry no duration: a block holds until the next one
            samples.add(packet, seconds)
    if without and not samples.values:
        warnings.append(f"MDPM ({label}): {without} camera-metadata blocks carry no ExposureTime (0xA0) entry; the "
                        "exposure is estimated (Canon's 0x7F shutter word is not read: its scale is unverified)")
    return samples.series("mdpm", label, warnings)
