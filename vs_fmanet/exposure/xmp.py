"""XMP exposure for stills whose EXIF has none: the packet embedded in the image (JPEG APP1, PNG iTXt
``XML:com.adobe.xmp``, WebP ``XMP``, TIFF tag 700) or an ``.xmp`` sidecar next to it -- ``IMG_0001.xmp`` as
Lightroom and Camera Raw write them, ``IMG_0001.png.xmp`` as darktable does.

Read from the ``exif`` namespace (``http://ns.adobe.com/exif/1.0/``, Adobe XMP Specification Part 2):

* ``exif:ExposureTime``: seconds as a rational (``"1/250"``) or a decimal;
* ``exif:ShutterSpeedValue``: APEX Tv (rounded; used only without ExposureTime);
* ``exif:DateTimeOriginal``: ISO 8601 capture time, optionally with a fraction of a second and an offset.

A property may be an attribute of ``rdf:Description`` or a child element; both are valid RDF/XML. Why the
standard library: XMP is RDF/XML and ``xml.etree.ElementTree`` parses it; the maintained XMP toolkits need the
Exempi C library. A packet that declares a DOCTYPE is refused, so no entity is ever expanded from a file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import ExposureFormatError
from .units import apex_to_seconds, parse_rational

__all__ = ["XmpExposure", "embedded_xmp", "parse_xmp", "read_xmp", "sidecar_for"]

EXIF_NS = "http://ns.adobe.com/exif/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
TIFF_XMP_TAG = 700


@dataclass
class XmpExposure:
    """What an XMP packet says: ``exposure`` seconds (None absent), ``exposure_tag`` (``"XMP ExposureTime"`` or
    ``"XMP ShutterSpeedValue"``), ``capture_time`` seconds since the epoch, ``has_subsec``, and ``origin``
    (``"embedded"`` or the sidecar's file name)."""

    exposure: Fraction | None = None
    exposure_tag: str | None = None
    capture_time: float | None = None
    has_subsec: bool = False
    origin: str = ""


def sidecar_for(image: Path) -> Path | None:
    """The ``.xmp`` sidecar of ``image`` if one exists: ``<name>.xmp`` (darktable) before ``<stem>.xmp`` (Adobe),
    either suffix in any letter case."""
    folder = image.parent
    try:
        by_lower = _xmp_files(str(folder), folder.stat().st_mtime_ns)
    except OSError:
        return None
    for name in (f"{image.name}.xmp".lower(), f"{image.stem}.xmp".lower()):
        if name in by_lower and by_lower[name].is_file():
            return by_lower[name]
    return None


@lru_cache(maxsize=8)
def _xmp_files(folder: str, mtime_ns: int) -> dict[str, Path]:
    """The ``.xmp`` files of a folder by lower-case name, listed once per folder state (``mtime_ns`` changes
    when files come or go), so a sequence of thousands of stills lists its folder once, not once per still."""
    return {p.name.lower(): p for p in Path(folder).iterdir() if p.suffix.lower() == ".xmp"}


def embedded_xmp(opened: Any) -> bytes | None:
    """The XMP packet embedded in an image Pillow has open (``info["xmp"]``, or TIFF tag 700), or None."""
    packet = opened.info.get("xmp")
    if packet is None and hasattr(opened, "tag_v2"):
        packet = opened.tag_v2.get(TIFF_XMP_TAG)
    if isinstance(packet, str):
        return packet.encode("utf-8")
    return bytes(packet) if packet else None


def parse_xmp(data: bytes, *, where: str = "XMP") -> XmpExposure:
    """The exposure and capture time in one XMP packet (absent fields stay None).

    Raises :class:`ExposureFormatError` naming ``where`` for a packet that is not well-formed XML, declares a
    DOCTYPE, or holds an exposure that is not a number."""
    if b"<!DOCTYPE" in data[:4096].upper():
        raise ExposureFormatError(f"{where}: the packet declares a DOCTYPE; refused (XMP needs none)")
    try:
        root = ET.fromstring(data.strip(b"\x00 \t\r\n"))
    except ET.ParseError as exc:
        raise ExposureFormatError(f"{where}: not well-formed XML ({exc}); fix or delete the file") from None
    found: dict[str, str] = {}
    for element in root.iter(f"{{{RDF_NS}}}Description"):
        for name in ("ExposureTime", "ShutterSpeedValue", "DateTimeOriginal"):
            value = element.get(f"{{{EXIF_NS}}}{name}")
            child = element.find(f"{{{EXIF_NS}}}{name}")
            if value is None and child is not None and child.text:
                value = child.text
            if value is not None and name not in found:
                found[name] = value.strip()
    out = XmpExposure()
    try:
        if "ExposureTime" in found:
            out.exposure, out.exposure_tag = parse_rational(found["ExposureTime"]), "XMP ExposureTime"
        elif "ShutterSpeedValue" in found:
            tv = parse_rational(found["ShutterSpeedValue"])
            out.exposure, out.exposure_tag = Fraction(apex_to_seconds(tv)), "XMP ShutterSpeedValue"
    except (ValueError, ZeroDivisionError) as exc:
        raise ExposureFormatError(f"{where}: exposure {found.get('ExposureTime', found.get('ShutterSpeedValue'))!r} "
                                  f"cannot be used ({exc})") from None
    if "DateTimeOriginal" in found:
        out.capture_time, out.has_subsec = _iso_time(found["DateTimeOriginal"])
    return out


def read_xmp(image: Path, packet: bytes | None) -> XmpExposure | None:
    """XMP of ``image``: its embedded ``packet`` (from :func:`embedded_xmp`, read while the image was open for
    its EXIF) when that has an exposure, else the sidecar's; None when neither exists. Raises
    :class:`ExposureFormatError` for a malformed sidecar, or a malformed embedded packet without a sidecar to fall
    back on."""
    result, embedded_error = None, None
    if packet:
        try:
            result = parse_xmp(packet, where=f"XMP in {image.name}")
        except ExposureFormatError as exc:          # a sidecar may still have what the broken packet lacks
            embedded_error = exc
        else:
            result.origin = "embedded"
            if result.exposure is not None:
                return result
    sidecar = sidecar_for(image)
    if sidecar is None:
        if embedded_error is not None:
            raise embedded_error
        return result
    side = parse_xmp(sidecar.read_bytes(), where=f"XMP sidecar {sidecar.name}")
    side.origin = sidecar.name
    if result is not None and side.capture_time is None:
        side.capture_time, side.has_subsec = result.capture_time, result.has_subsec
    return side


def _iso_time(text: str) -> tuple[float | None, bool]:
    """ISO 8601 ``2026-11-24T10:00:00.25+02:00`` -> (seconds since the epoch, has a fraction); no offset = UTC."""
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, False
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp(), "." in text.split("T")[-1]
