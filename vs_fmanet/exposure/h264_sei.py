"""H.264 access units down to SEI messages: NAL unit splitting, emulation-prevention removal and the SEI
payload walk (ITU-T H.264 section 7.3.1 NAL unit syntax, 7.4.1.1 emulation prevention, 7.3.2.3 SEI RBSP).

A demuxed H.264 packet is one access unit, either in Annex B form (start codes ``00 00 01``; MPEG-TS/M2TS, raw
``.h264``) or in AVCC form (each NAL unit preceded by its big-endian length, 1, 2 or 4 bytes as the stream's
``avcC`` extradata says; MP4/MOV/MKV). Camcorders hide per-frame camera data in SEI "user data unregistered"
messages (payload type 5: a 16-byte UUID, then the data), which no pixel decoding is needed to reach.

Why our own code: PyAV exposes SEI user data only on *decoded* frames (``frame.side_data``), which would mean
decoding every picture of a long clip just to read a few bytes each; walking the NAL units of demuxed packets
costs a search per packet. No maintained Python package parses H.264 SEI from packets.
"""

from __future__ import annotations

from collections.abc import Iterator

from .errors import ExposureFormatError

__all__ = ["MDPM_UUID", "NAL_SEI", "SEI_USER_DATA_UNREGISTERED", "SeiScan", "avcc_length_size", "nal_units", "rbsp",
           "sei_messages", "user_data_unregistered"]

NAL_SEI = 6
SEI_USER_DATA_UNREGISTERED = 5
#: UUID of the camcorders' "Modified DV Pack Meta" user data (read by :mod:`.mdpm`).
MDPM_UUID = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66")
#: Access units searched for a UUID before a stream is taken not to carry it (camcorders repeat their SEI at
#: least once per group of pictures, about a second; Panasonic skips the first access unit).
GIVE_UP_AFTER = 300


def avcc_length_size(extradata: bytes | None) -> int | None:
    """Bytes of each NAL length prefix for an AVCC stream (from the ``avcC`` record: ``(byte 4 & 3) + 1``), or
    None when the packets are Annex B (no extradata, or extradata that is itself start-code framed)."""
    if extradata and len(extradata) >= 5 and extradata[0] == 1:
        return (extradata[4] & 0x03) + 1
    return None


def nal_units(packet: bytes, length_size: int | None) -> Iterator[bytes]:
    """The NAL units of one access unit, each starting at its header byte (still with emulation prevention).

    ``length_size`` as from :func:`avcc_length_size`; None for Annex B. An AVCC length that runs past the packet
    raises :class:`ExposureFormatError`."""
    if length_size is None:
        starts = []
        pos = packet.find(b"\x00\x00\x01")
        while pos >= 0:
            starts.append(pos + 3)
            pos = packet.find(b"\x00\x00\x01", pos + 3)
        for k, start in enumerate(starts):
            end = starts[k + 1] - 3 if k + 1 < len(starts) else len(packet)
            unit = packet[start:end].rstrip(b"\x00")      # trailing zero bytes belong to the next start code
            if unit:
                yield unit
        return
    pos = 0
    while pos + length_size <= len(packet):
        size = int.from_bytes(packet[pos:pos + length_size], "big")
        pos += length_size
        if pos + size > len(packet):
            raise ExposureFormatError(f"a NAL unit at byte {pos - length_size} declares {size} bytes but "
                                      f"{len(packet) - pos} remain; the packet is truncated")
        if size:
            yield packet[pos:pos + size]
        pos += size


def rbsp(nal_body: bytes) -> bytes:
    """Remove the emulation-prevention bytes (``00 00 03`` -> ``00 00``) from a NAL unit's body."""
    return nal_body.replace(b"\x00\x00\x03", b"\x00\x00")


def sei_messages(sei_rbsp: bytes) -> Iterator[tuple[int, bytes]]:
    """``(payload type, payload bytes)`` of every message in an SEI RBSP (the NAL body after its header byte,
    emulation prevention removed). Type and size are coded as runs of 0xFF plus a last byte.

    Raises :class:`ExposureFormatError` when a message's size runs past the RBSP."""
    pos, end = 0, len(sei_rbsp)
    while pos < end and sei_rbsp[pos:] != b"\x80":      # rbsp_trailing_bits: a stop bit, then zero alignment
        values = []
        for _field in ("type", "size"):
            value = 0
            while True:
                if pos >= end:
                    raise ExposureFormatError(f"an SEI message header is cut off at byte {pos}; the SEI is truncated")
                byte = sei_rbsp[pos]
                pos += 1
                value += byte
                if byte != 0xFF:
                    break
            values.append(value)
        payload_type, size = values
        if pos + size > end:
            raise ExposureFormatError(f"SEI message type {payload_type} declares {size} bytes but {end - pos} "
                                      "remain; the SEI is truncated")
        yield payload_type, sei_rbsp[pos:pos + size]
        pos += size


def user_data_unregistered(sei_nal: bytes, uuid: bytes) -> Iterator[bytes]:
    """The data after ``uuid`` of every "user data unregistered" message with that UUID in one SEI NAL unit
    (``sei_nal`` starts at its header byte, as :func:`nal_units` yields it)."""
    if not sei_nal or sei_nal[0] & 0x1F != NAL_SEI:
        return
    for payload_type, payload in sei_messages(rbsp(sei_nal[1:])):
        if payload_type == SEI_USER_DATA_UNREGISTERED and payload[:16] == uuid:
            yield payload[16:]


class SeiScan:
    """Collects, from the packets of one H.264 stream fed in demux order, the SEI NAL unit that carries ``uuid``
    in each access unit (at most one per unit). After :data:`GIVE_UP_AFTER` access units without one the stream
    is taken not to carry it and :attr:`looking` turns false, so an ordinary H.264 file costs little."""

    def __init__(self, uuid: bytes, length_size: int | None, give_up_after: int | None = None) -> None:
        self.uuid = uuid
        self.length_size = length_size
        self.give_up_after = GIVE_UP_AFTER if give_up_after is None else give_up_after
        self.found: list[tuple[int, bytes]] = []    # (pts in stream ticks, SEI NAL unit)
        self.unreadable = 0
        self.seen = 0

    @property
    def looking(self) -> bool:
        """True while packets should still be fed."""
        return bool(self.found) or self.seen < self.give_up_after

    def feed(self, pts: int, packet: bytes) -> None:
        """Look at one access unit presented at ``pts`` (stream time-base ticks)."""
        self.seen += 1
        if self.uuid not in packet:     # the UUID holds no 00 00 pair, so it appears unescaped in the NAL unit
            return
        try:
            for unit in nal_units(packet, self.length_size):
                if unit[0] & 0x1F == NAL_SEI and self.uuid in unit:
                    self.found.append((pts, unit))
                    return
        except ExposureFormatError:
            self.unreadable += 1
