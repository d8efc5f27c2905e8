"""EXIF reader for still-image sequences (JPEG, TIFF, PNG, WebP, HEIC/HEIF, DNG/CinemaDNG).

Per frame it reads (tag numbers from the EXIF 2.3 / DNG 1.4 specifications):

* ExposureTime 0x829A (RATIONAL seconds) from the Exif sub-IFD, or from IFD0 (TIFF-based raws);
* ShutterSpeedValue 0x9201 (APEX Tv, exposure = 2 ** -Tv; rounded, used only without ExposureTime);
* DateTimeOriginal 0x9003 + SubSecTimeOriginal 0x9291 (+ OffsetTimeOriginal 0x9011): capture time;
* CinemaDNG FrameRate 0xC764 (SRATIONAL fps) and TimeCodes 0xC763 (SMPTE 12M, 8 bytes) in IFD0.

Pillow (with pillow-heif registered for HEIC) reads everything it can open; ExifRead is the fallback for
files Pillow cannot identify (CFA DNG and other raws). A still
whose EXIF has no exposure (or no capture time) takes it from its XMP, embedded or an ``.xmp`` sidecar
(:mod:`.xmp`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExposureFormatError
from .track import SampleSeries
from .units import apex_to_seconds
from .xmp import embedded_xmp, read_xmp

__all__ = ["StillMetadata", "read_still_metadata", "series_from_stills", "timecode_to_frame", "sequence_frame_times"]

log = logging.getLogger(__name__)

TAG_EXIF_IFD = 0x8769
TAG_EXPOSURE_TIME = 0x829A
TAG_SHUTTER_SPEED_VALUE = 0x9201
TAG_DATETIME_ORIGINAL = 0x9003
TAG_SUBSEC_ORIGINAL = 0x9291
TAG_OFFSET_ORIGINAL = 0x9011
TAG_CDNG_TIMECODES = 0xC763
TAG_CDNG_FRAME_RATE = 0xC764

_heif_registered = False


@dataclass
class StillMetadata:
    """What one still says about itself. ``exposure`` seconds (None = absent), ``exposure_tag`` which tag
    gave it, ``capture_time`` seconds since the epoch (None without DateTimeOriginal), ``has_subsec``,
    ``frame_rate`` fps (CinemaDNG), ``timecode`` 8 raw SMPTE bytes, ``reader`` ("pillow"/"exifread"),
    ``error`` text when the file could not be read at all, ``xmp`` where XMP values came from ("embedded" or
    the sidecar's name; "" when none did), ``xmp_error`` text for an unreadable XMP packet or sidecar,
    ``exposure_problem`` why present exposure tags gave no exposure (e.g. ExposureTime 1/0)."""

    path: Path
    exposure: Fraction | None = None
    exposure_tag: str | None = None
    capture_time: float | None = None
    has_subsec: bool = False
    frame_rate: Fraction | None = None
    timecode: bytes | None = None
    reader: str = ""
    error: str | None = None
    xmp: str = ""
    xmp_error: str | None = None
    exposure_problem: str | None = None


def read_still_metadata(path: Path) -> StillMetadata:
    """Read the exposure and timing tags of one still; never raises for unreadable files (sets ``error``)."""
    meta = StillMetadata(Path(path))
    tags: dict[int, Any] | None = None
    xmp_packet: bytes | None = None
    errors = []
    try:
        tags, xmp_packet = _pillow_tags(meta.path)
        meta.reader = "pillow"
    except Exception as exc:  # noqa: BLE001 -- Pillow raises many types for non-images; ExifRead gets a try
        errors.append(f"Pillow: {type(exc).__name__}: {exc}")
    if tags is None:
        try:
            tags = _exifread_tags(meta.path)
            meta.reader = "exifread"
        except Exception as exc:  # noqa: BLE001 -- ExifRead raises bare exceptions on corrupt IFDs
            errors.append(f"ExifRead: {type(exc).__name__}: {exc}")
    if tags is None:
        meta.error = "; ".join(errors)
        return meta
    _exposure_from_tags(meta, tags)
    meta.frame_rate = _fraction(tags.get(TAG_CDNG_FRAME_RATE))
    timecode = tags.get(TAG_CDNG_TIMECODES)
    if isinstance(timecode, (bytes, bytearray, list, tuple)) and len(timecode) >= 4:
        meta.timecode = bytes(int(b) & 0xFF for b in timecode)[:8]
    meta.capture_time, meta.has_subsec = _capture_time(tags)
    if meta.exposure is None or meta.capture_time is None:
        _fill_from_xmp(meta, xmp_packet)
    return meta


def _exposure_from_tags(meta: StillMetadata, tags: dict[int, Any]) -> None:
    """ExposureTime when it is a positive time, else the APEX ShutterSpeedValue; what was wrong with tags that are
    present but unusable goes to ``meta.exposure_problem``."""
    problems = []
    exposure = _fraction(tags.get(TAG_EXPOSURE_TIME))
    if exposure is not None and exposure > 0:
        meta.exposure, meta.exposure_tag = exposure, "ExposureTime"
        return
    if TAG_EXPOSURE_TIME in tags:
        problems.append(f"ExposureTime {_shown(tags[TAG_EXPOSURE_TIME])} is not a positive time")
    tv = _fraction(tags.get(TAG_SHUTTER_SPEED_VALUE))
    if tv is not None:
        try:
            meta.exposure, meta.exposure_tag = Fraction(apex_to_seconds(tv)), "ShutterSpeedValue"
            return
        except ValueError as exc:
            problems.append(f"ShutterSpeedValue: {exc}")
    elif TAG_SHUTTER_SPEED_VALUE in tags:
        problems.append(f"ShutterSpeedValue {_shown(tags[TAG_SHUTTER_SPEED_VALUE])} is not a number")
    meta.exposure_problem = "; ".join(problems) or None


def _shown(value: Any) -> str:
    """A tag value as text for a message: rationals as num/den (also 1/0), anything else as repr."""
    parts = _rational_parts(value)
    return f"{parts[0]}/{parts[1]}" if parts is not None else repr(value)


def _fill_from_xmp(meta: StillMetadata, packet: bytes | None) -> None:
    """Exposure and capture time that EXIF lacked, from the still's XMP (the embedded ``packet``, else its
    sidecar)."""
    try:
        found = read_xmp(meta.path, packet)
    except (ExposureFormatError, OSError) as exc:
        meta.xmp_error = str(exc)
        return
    if found is None:
        return
    used = False
    if meta.exposure is None and found.exposure is not None:
        meta.exposure, meta.exposure_tag, used = found.exposure, found.exposure_tag, True
    if meta.capture_time is None and found.capture_time is not None:
        meta.capture_time, meta.has_subsec, used = found.capture_time, found.has_subsec, True
    if used:
        meta.xmp = found.origin


def series_from_stills(stills: list[StillMetadata]) -> SampleSeries:
    """Frame-indexed exposure samples (frame i = still i) with a warning per unreadable still."""
    index, values, warnings = [], [], []
    for i, meta in enumerate(stills):
        if meta.error:
            warnings.append(f"exif: frame {i} ({meta.path.name}) cannot be read ({meta.error}); no exposure")
            continue
        if meta.exposure is None:
            warnings.append(f"exif: frame {i} ({meta.path.name}): {meta.exposure_problem}; no exposure"
                            if meta.exposure_problem else
                            f"exif: frame {i} ({meta.path.name}) has neither ExposureTime nor ShutterSpeedValue")
            continue
        index.append(i)
        values.append(float(meta.exposure) if meta.exposure.denominator else math.nan)
    for i, meta in enumerate(stills):
        if meta.xmp_error:
            warnings.append(f"exif: frame {i} ({meta.path.name}): {meta.xmp_error}")
    from_xmp = [i for i, m in enumerate(stills) if m.exposure_tag and m.exposure_tag.startswith("XMP")]
    if from_xmp:
        first = stills[from_xmp[0]]
        warnings.append(f"exif: {len(from_xmp)} frame(s) have no EXIF exposure and took it from XMP (e.g. frame "
                        f"{from_xmp[0]}, {first.xmp if first.xmp != 'embedded' else 'embedded in ' + first.path.name})")
    apex = [i for i, m in enumerate(stills) if m.exposure_tag in ("ShutterSpeedValue", "XMP ShutterSpeedValue")]
    if apex:
        warnings.append(f"exif: {len(apex)} frame(s) had only the rounded APEX ShutterSpeedValue (e.g. frame {apex[0]}, "
                        f"{stills[apex[0]].path.name})")
    label = stills[0].path.parent.name + "/" + stills[0].path.name if stills else "images"
    return SampleSeries("exif", label, np.asarray(values, dtype=np.float64), frame_index=np.asarray(index, dtype=np.int64),
                        warnings=warnings)


def sequence_frame_times(stills: list[StillMetadata], fps: float | None) -> tuple[np.ndarray, float | None, list[str]]:
    """Frame times [N] seconds for a sequence, the frame rate used, and notes. Priority: ``fps`` from the
    caller, then CinemaDNG FrameRate (with TimeCodes when present and increasing), then EXIF capture times
    with sub-seconds; otherwise NaN times."""
    n = len(stills)
    notes: list[str] = []
    if fps:
        return np.arange(n, dtype=np.float64) / float(fps), float(fps), notes
    rates = {m.frame_rate for m in stills if m.frame_rate}
    if rates:
        rate = sorted(rates)[0]
        if len(rates) > 1:
            notes.append(f"exif: CinemaDNG FrameRate differs between frames ({sorted(map(float, rates))}); using "
                         f"{float(rate):g} fps")
        codes = [m.timecode for m in stills]
        if all(c is not None for c in codes):
            frames = [timecode_to_frame(c, rate) for c in codes]  # type: ignore[arg-type]
            if all(b > a for a, b in zip(frames, frames[1:])):
                times = np.array([float(Fraction(f - frames[0]) / rate) for f in frames])
                return times, float(rate), notes
            notes.append("exif: CinemaDNG TimeCodes do not increase frame by frame; frame times use FrameRate only")
        return np.arange(n, dtype=np.float64) / float(rate), float(rate), notes
    times = [m.capture_time for m in stills]
    if n > 1 and all(t is not None for t in times) and all(m.has_subsec for m in stills):
        arr = np.asarray(times, dtype=np.float64)
        if np.all(np.diff(arr) > 0):
            rel = arr - arr[0]
            notes.append("exif: no frame rate given; frame times come from DateTimeOriginal + SubSecTimeOriginal "
                         f"(about {1.0 / float(np.median(np.diff(rel))):.3g} fps); pass fps= (--fps on the command "
                         "line) to override")
            return rel, None, notes
    notes.append("exif: no frame rate (pass fps=, --fps on the command line, or use CinemaDNG FrameRate / EXIF "
                 "sub-second times); exposure seconds are known but fractions of the frame interval are not")
    return np.full(n, np.nan), None, notes


def timecode_to_frame(code: bytes, rate: Fraction | float) -> int:
    """SMPTE 12M timecode (DNG TimeCodes byte layout: frames, seconds, minutes, hours in BCD; bit 6 of byte 0
    is the drop-frame flag) -> absolute frame number at ``rate`` fps."""
    def bcd(byte: int, mask: int) -> int:
        byte &= mask
        return (byte >> 4) * 10 + (byte & 0x0F)

    frames, seconds, minutes, hours = bcd(code[0], 0x3F), bcd(code[1], 0x7F), bcd(code[2], 0x7F), bcd(code[3], 0x3F)
    nominal = round(float(rate))
    number = ((hours * 60 + minutes) * 60 + seconds) * nominal + frames
    if code[0] & 0x40 and nominal in (30, 60):
        drop = 2 if nominal == 30 else 4
        total_minutes = hours * 60 + minutes
        number -= drop * (total_minutes - total_minutes // 10)
    return number


def register_heif() -> None:
    """Register pillow-heif's opener with Pillow once, so ``Image.open`` reads HEIC/HEIF stills."""
    global _heif_registered
    if not _heif_registered:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:  # pillow-heif is a dependency, but a broken install should not break JPEG reading
            log.warning("pillow-heif is not importable; HEIC/HEIF stills cannot be read")
        _heif_registered = True


def _pillow_tags(path: Path) -> tuple[dict[int, Any], bytes | None]:
    """EXIF tags by number (the Exif sub-IFD merged in) and the embedded XMP packet, from one open."""
    from PIL import Image

    register_heif()
    with Image.open(path) as image:
        exif = image.getexif()
        tags: dict[int, Any] = dict(exif.items())
        sub = exif.get_ifd(TAG_EXIF_IFD)
        xmp_packet = embedded_xmp(image)
    tags.pop(TAG_EXIF_IFD, None)
    for key, value in sub.items():
        tags[key] = value  # the Exif sub-IFD wins over IFD0 duplicates
    return tags, xmp_packet


def _exifread_tags(path: Path) -> dict[int, Any]:
    import exifread

    with open(path, "rb") as fh:
        raw = exifread.process_file(fh, details=False)
    if not raw:
        raise ValueError("no EXIF/TIFF tags found")
    tags: dict[int, Any] = {}
    for name, tag in raw.items():
        ifd = name.split(" ", 1)[0]
        if ifd not in ("Image", "EXIF"):
            continue
        values = tag.values
        if isinstance(values, str):
            value: Any = values
        elif isinstance(values, list) and len(values) == 1 and tag.tag not in (TAG_CDNG_TIMECODES,):
            value = values[0]
        else:
            value = values
        if ifd == "EXIF" or tag.tag not in tags:
            tags[tag.tag] = value
    return tags


def _rational_parts(value: Any) -> tuple[int, int] | None:
    """(numerator, denominator) of an IFDRational / exifread Ratio / (num, den) pair, also in a 1-list; None for
    anything else."""
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, int) for v in value):
            return value[0], value[1]
        return _rational_parts(value[0]) if len(value) == 1 else None
    for num_attr, den_attr in (("numerator", "denominator"), ("num", "den")):
        if hasattr(value, num_attr) and hasattr(value, den_attr):
            try:
                return int(getattr(value, num_attr)), int(getattr(value, den_attr))
            except (TypeError, ValueError):
                return None
    return None


def _fraction(value: Any) -> Fraction | None:
    """IFDRational / exifread Ratio / (num, den) / number -> Fraction; None when absent or 0-denominator."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if value is None:
        return None
    parts = _rational_parts(value)
    if parts is not None:
        return Fraction(*parts) if parts[1] else None
    if isinstance(value, (list, tuple)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return Fraction(number) if math.isfinite(number) else None


def _capture_time(tags: dict[int, Any]) -> tuple[float | None, bool]:
    text = tags.get(TAG_DATETIME_ORIGINAL)
    if not isinstance(text, str):
        return None, False
    try:
        stamp = datetime.strptime(text.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, False
    offset = tags.get(TAG_OFFSET_ORIGINAL)
    tz = timezone.utc
    if isinstance(offset, str) and len(offset.strip()) >= 6:
        try:
            sign = -1 if offset.strip()[0] == "-" else 1
            hours, minutes = offset.strip()[1:6].split(":")
            tz = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
        except ValueError:
            pass
    seconds = stamp.replace(tzinfo=tz).timestamp()
    subsec = tags.get(TAG_SUBSEC_ORIGINAL)
    if isinstance(subsec, str) and subsec.strip().rstrip("\x00").strip().isdigit():
        digits = subsec.strip().rstrip("\x00").strip()
        return seconds + int(digits) / 10 ** len(digits), True
    return seconds, False
