"""Schema-less protobuf wire-format walker (varint, I64, LEN, I32), enough to follow a field path.

Why not the ``protobuf`` package: DJI's ``.proto`` files are not published with a licence we can ship and
differ per camera model; reading a handful of known field paths from the raw wire format (protobuf's public
"Encoding" specification) needs about forty lines and no schema.
"""

from __future__ import annotations

from .errors import ExposureFormatError

__all__ = ["read_varint", "parse_fields", "find_path", "packed_varints"]

VARINT, I64, LEN, I32 = 0, 1, 2, 5


def read_varint(buf: bytes, pos: int, where: str) -> tuple[int, int]:
    """Decode one base-128 varint at ``pos`` -> (value, next position)."""
    value = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ExposureFormatError(f"{where}: varint cut short at byte {pos}; the message is truncated")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ExposureFormatError(f"{where}: varint longer than 10 bytes at byte {pos}; the message is corrupt")


def parse_fields(buf: bytes, where: str = "protobuf message") -> list[tuple[int, int, int | bytes]]:
    """All top-level fields of a message as (field number, wire type, value); LEN values are raw bytes,
    I32/I64 values are unsigned ints of their little-endian bytes. Groups (wire types 3/4) are rejected."""
    fields: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ExposureFormatError(f"{where}: field number 0 at byte {pos}; the message is corrupt")
        if wire == VARINT:
            value, pos = read_varint(buf, pos, where)
            fields.append((number, wire, value))
        elif wire in (I64, I32):
            width = 8 if wire == I64 else 4
            if pos + width > len(buf):
                raise ExposureFormatError(f"{where}: field {number} needs {width} bytes at byte {pos}; truncated")
            fields.append((number, wire, int.from_bytes(buf[pos:pos + width], "little")))
            pos += width
        elif wire == LEN:
            length, pos = read_varint(buf, pos, where)
            if pos + length > len(buf):
                raise ExposureFormatError(f"{where}: field {number} declares {length} bytes at byte {pos} but only "
                                          f"{len(buf) - pos} remain; the message is truncated")
            fields.append((number, wire, buf[pos:pos + length]))
            pos += length
        else:
            raise ExposureFormatError(f"{where}: unsupported wire type {wire} for field {number}; corrupt or not protobuf")
    return fields


def find_path(buf: bytes, path: tuple[int, ...], where: str = "protobuf message") -> list[int | bytes]:
    """Values of every field reached by following ``path`` (e.g. (3, 2, 3, 1)) through nested LEN messages.

    The top-level message must parse (else :class:`ExposureFormatError`); a nested LEN value that is not a
    message (a string or packed field sharing the field number) is skipped."""
    current: list[bytes] = [buf]
    for depth, number in enumerate(path):
        last = depth == len(path) - 1
        found: list[int | bytes] = []
        for message in current:
            try:
                fields = parse_fields(message, where)
            except ExposureFormatError:
                if depth == 0:
                    raise
                continue
            for field_number, _wire, value in fields:
                if field_number == number:
                    found.append(value)
        if last:
            return found
        current = [v for v in found if isinstance(v, bytes)]
    return []


def packed_varints(buf: bytes, where: str = "packed field") -> list[int]:
    """Decode a LEN payload that is a run of varints (a packed repeated field)."""
    values: list[int] = []
    pos = 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos, where)
        values.append(value)
    return values
