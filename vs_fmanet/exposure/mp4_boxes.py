"""Read each MP4/MOV track's sample-entry FourCC (``gpmd``, ``rtmd``, ``djmd``, ``camm``, ``tx3g`` ...).

Why hand-written: PyAV (19.x) does not expose the codec tag of data streams (``codec_context`` is None for
them), and the timed-metadata readers must pick tracks by that tag, not by index or handler name (FFmpeg
labels every muxed ``bin_data`` track "GoPro MET"). The walk reads only box headers plus the small
``moov`` subtree -- never ``mdat`` -- so it is cheap on multi-gigabyte camera files. It follows ISO/IEC
14496-12 box framing: 32-bit size + type, 64-bit ``largesize`` when size == 1, "to end of file" when 0.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from .errors import ExposureFormatError

__all__ = ["TrackEntry", "read_track_entries"]

_CONTAINERS = {b"mdia", b"minf", b"stbl"}
_MAX_MOOV_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class TrackEntry:
    """One ``trak``: ``track_id`` (equals PyAV ``stream.id`` for the mov demuxer), ``handler`` (hdlr type,
    e.g. ``meta``, ``vide``, ``text``, ``sbtl``) and ``fourcc`` (first stsd sample entry)."""

    track_id: int
    handler: str
    fourcc: str


def read_track_entries(path: str | os.PathLike) -> dict[int, TrackEntry]:
    """Map track id -> :class:`TrackEntry` for every track of the MP4/MOV file at ``path``.

    Raises :class:`ExposureFormatError` when the file has no readable ``moov`` box (truncated download,
    not an ISO-BMFF file)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        for box_type, payload_start, payload_size in _iter_boxes(fh, 0, size, str(path)):
            if box_type == b"moov":
                if payload_size > _MAX_MOOV_BYTES:
                    raise ExposureFormatError(f"read_track_entries: {path}: moov box of {payload_size} bytes is "
                                              "implausibly large; the file is corrupt")
                fh.seek(payload_start)
                moov = fh.read(payload_size)
                if len(moov) != payload_size:
                    raise ExposureFormatError(f"read_track_entries: {path}: moov box is truncated "
                                              f"({len(moov)} of {payload_size} bytes); re-copy the file")
                return _parse_moov(moov, str(path))
    raise ExposureFormatError(f"read_track_entries: {path}: no moov box found; the MP4/MOV file is truncated or "
                              "not an MP4 (re-copy it, or remux it with ffmpeg -c copy)")


def _iter_boxes(fh: BinaryIO, start: int, end: int, where: str) -> Iterator[tuple[bytes, int, int]]:
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        header = fh.read(16)
        if len(header) < 8:
            return
        size, box_type = struct.unpack(">I4s", header[:8])
        header_len = 8
        if size == 1:
            if len(header) < 16:
                raise ExposureFormatError(f"read_track_entries: {where}: box {box_type!r} at byte {pos} has a cut "
                                          "64-bit size")
            size = struct.unpack(">Q", header[8:16])[0]
            header_len = 16
        elif size == 0:
            size = end - pos
        if size < header_len:
            raise ExposureFormatError(f"read_track_entries: {where}: box {box_type!r} at byte {pos} declares size "
                                      f"{size}; the file is corrupt")
        yield box_type, pos + header_len, min(size, end - pos) - header_len
        pos += size


def _iter_buffer(buf: bytes, where: str) -> Iterator[tuple[bytes, bytes]]:
    pos = 0
    while pos + 8 <= len(buf):
        size, box_type = struct.unpack_from(">I4s", buf, pos)
        header_len = 8
        if size == 1:
            if pos + 16 > len(buf):
                raise ExposureFormatError(f"read_track_entries: {where}: box {box_type!r} has a cut 64-bit size")
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            header_len = 16
        elif size == 0:
            size = len(buf) - pos
        if size < header_len or pos + size > len(buf):
            raise ExposureFormatError(f"read_track_entries: {where}: box {box_type!r} at moov offset {pos} "
                                      f"declares {size} bytes but only {len(buf) - pos} remain; moov is corrupt")
        yield box_type, buf[pos + header_len: pos + size]
        pos += size


def _parse_moov(moov: bytes, where: str) -> dict[int, TrackEntry]:
    tracks: dict[int, TrackEntry] = {}
    for box_type, payload in _iter_buffer(moov, where):
        if box_type != b"trak":
            continue
        found: dict[str, object] = {}
        _walk_trak(payload, found, where)
        if "track_id" in found:
            track_id = int(found["track_id"])  # type: ignore[arg-type]
            tracks[track_id] = TrackEntry(track_id, str(found.get("handler", "")), str(found.get("fourcc", "")))
    return tracks


def _walk_trak(buf: bytes, found: dict[str, object], where: str) -> None:
    for box_type, payload in _iter_buffer(buf, where):
        if box_type == b"tkhd" and len(payload) >= 24:
            version = payload[0]
            offset = 4 + (16 if version == 1 else 8)
            found["track_id"] = struct.unpack_from(">I", payload, offset)[0]
        elif box_type == b"hdlr" and len(payload) >= 12 and "handler" not in found:
            found["handler"] = payload[8:12].decode("latin-1")
        elif box_type == b"stsd" and len(payload) >= 16:
            count = struct.unpack_from(">I", payload, 4)[0]
            if count >= 1:
                found["fourcc"] = payload[12:16].decode("latin-1")
        elif box_type in _CONTAINERS:
            _walk_trak(payload, found, where)
