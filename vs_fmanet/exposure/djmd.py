"""DJI ``djmd`` track reader (protobuf samples, DJI models from about 2024): per-frame exposure seconds.

Each sample names its schema at field path 1-1-1 (``dvtm_<model>.proto``). The ShutterSpeed field path
depends on the schema (table below, from exiftool 13.58 ``DJI.pm``); its value is a LEN field holding two varints,
numerator and denominator, in seconds. Unknown
schemas are reported, never guessed: the frames get ``none`` and the message suggests the SRT sidecar.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .container import TimedPacket
from .errors import ExposureFormatError
from .packet_series import PacketSamples, parsed_packets
from .protobuf_wire import find_path, packed_varints
from .track import SampleSeries

__all__ = ["SHUTTER_PATHS", "schema_of", "parse_djmd_sample", "series_from_packets"]

#: Schema model name (from ``dvtm_<model>.proto``) -> protobuf field path of ShutterSpeed.
SHUTTER_PATHS: dict[str, tuple[int, ...]] = {
    **{m: (3, 2, 4, 1) for m in ("ac203", "ac204", "ac206", "AVATA2", "dji_neo", "oq101")},
    **{m: (3, 2, 3, 1) for m in ("wm265e", "pm320")},
    **{m: (3, 2, 10, 1) for m in ("Mini4_Pro", "Air3", "Air3s", "PP-101", "wm261", "Mavic4")},
}

_SCHEMA_RE = re.compile(r"dvtm_(.+?)\.proto")


def schema_of(sample: bytes, where: str = "djmd sample") -> str | None:
    """Model name from field 1-1-1 (``"wm265e"`` for ``dvtm_wm265e.proto``), or None when absent."""
    for value in find_path(sample, (1, 1, 1), where):
        if isinstance(value, bytes):
            match = _SCHEMA_RE.search(value.decode("utf-8", errors="replace"))
            if match:
                return match.group(1)
    return None


def parse_djmd_sample(sample: bytes, schema: str, *, where: str = "djmd sample") -> Fraction | None:
    """ShutterSpeed in seconds of one sample under ``schema`` (None when the field is absent).

    Raises :class:`ExposureFormatError` on corrupt protobuf or a malformed rational, ``KeyError`` for a
    schema not in :data:`SHUTTER_PATHS`."""
    path = SHUTTER_PATHS[schema]
    values = find_path(sample, path, where)
    if not values:
        return None
    raw = values[0]
    if not isinstance(raw, bytes):
        raise ExposureFormatError(f"{where}: ShutterSpeed at {'-'.join(map(str, path))} is not a LEN field")
    parts = packed_varints(raw, where)
    if len(parts) != 2 or parts[1] == 0:
        raise ExposureFormatError(f"{where}: ShutterSpeed holds {parts}, expected [numerator, denominator > 0]")
    return Fraction(parts[0], parts[1])


def series_from_packets(packets: list[TimedPacket], label: str) -> SampleSeries:
    """Exposure seconds [S] of a djmd track; corrupt samples are dropped with a warning, an unknown schema
    yields an empty series with one warning."""
    warnings: list[str] = []
    samples = PacketSamples()
    schema: str | None = None
    unknown: set[str] = set()

    def parse(payload: bytes, *, where: str) -> Fraction | None:
        # A sample without a schema name keeps the last one seen; an unknown schema is reported once, below.
        nonlocal schema
        schema = schema_of(payload, where) or schema
        if schema is None:
            raise ExposureFormatError(f"{where}: no dvtm_*.proto schema name at field 1-1-1")
        if schema not in SHUTTER_PATHS:
            unknown.add(schema)
            return None
        return parse_djmd_sample(payload, schema, where=where)

    for _k, packet, exposure in parsed_packets(packets, f"djmd ({label}) sample", parse, warnings, "skipped"):
        if exposure is not None:
            samples.add(packet, float(exposure))
    for name in sorted(unknown):
        warnings.append(f"djmd ({label}): schema dvtm_{name}.proto is not known to this reader (known: "
                        f"{', '.join(sorted(SHUTTER_PATHS))}); use the DJI .SRT sidecar or a sidecar CSV instead")
    return samples.series("djmd", label, warnings)
