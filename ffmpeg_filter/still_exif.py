"""Camera metadata (EXIF) from input stills onto the restored output stills.

ffmpeg's image2 muxer writes bare images, so a restored burst or time-lapse would lose its capture time, camera,
lens, exposure settings, GPS position and orientation. After the encoder has written the output sequence (still in
its temporary folder), :func:`copy_sequence_exif` gives output image j the EXIF of input image ``first + j``:

* read with Pillow (pillow-heif registered for HEIC/HEIF), so JPEG, PNG, WebP, TIFF and HEIC sources work;
* rebuilt, not copied byte for byte: IFD0 keeps only descriptive tags (:data:`IFD0_KEEP`: camera, orientation,
  dates, authorship; never the image-structure tags of TIFF-based sources), the Exif and GPS sub-IFDs are kept
  whole except MakerNote and the interoperability pointer (vendor data with offsets into the original file), the
  thumbnail IFD is dropped (it shows the unrestored picture), and PixelXDimension/PixelYDimension give the
  restored size. The Orientation tag is kept as is because the pixels keep their stored orientation;
* inserted without re-encoding the pixels: into JPEG as an APP1 segment after the JFIF header, into PNG as an eXIf
  chunk before the first IDAT. Other output formats (TIFF, WebP, EXR, ...) keep none, with one warning.

A burst or time-lapse restored *into a video* keeps when it was shot: :func:`creation_time_of` gives the capture
time of the still behind the video's first frame (DateTimeOriginal + SubSecTimeOriginal, moved to UTC with
OffsetTimeOriginal; without an offset the camera's clock time is taken as UTC, as cameras stamp their own MP4s),
which the encode command writes as the container's ``creation_time`` (MP4/MOV ``mvhd``, Matroska ``DateUTC``).

Hand-written insertion instead of Pillow's ``save(exif=...)``: saving re-encodes the picture (a second lossy JPEG
generation, and Pillow cannot write 16-bit RGB PNG), while the container edit keeps ffmpeg's bytes.
"""
from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_INTEROP_IFD = 0xA005
TAG_MAKER_NOTE = 0x927C
TAG_PIXEL_X = 0xA002
TAG_PIXEL_Y = 0xA003
# ImageDescription, Make, Model, Orientation, XResolution, YResolution, ResolutionUnit, Software, DateTime,
# Artist, Copyright
IFD0_KEEP = (0x010E, 0x010F, 0x0110, 0x0112, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B, 0x8298)
EXIF_DROP = (TAG_MAKER_NOTE, TAG_INTEROP_IFD)
CARRYING_SUFFIXES = (".jpg", ".jpeg", ".png")
APP1_MAX_PAYLOAD = 65533   # a JPEG segment's length field counts itself: 65535 - 2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def creation_time_of(still: Path) -> str | None:
    """The capture time of ``still`` as ffmpeg's ``creation_time`` value (ISO 8601 UTC with microseconds, e.g.
    ``2026-11-23T08:00:00.250000Z``), or None when it has no readable DateTimeOriginal."""
    from vs_fmanet.exposure.exif import read_still_metadata

    seconds = read_still_metadata(Path(still)).capture_time
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def exif_for_output(source: Path, width: int, height: int) -> bytes | None:
    """The EXIF block (``b"Exif\\0\\0"`` + TIFF structure) to give a ``width`` x ``height`` restored copy of
    ``source``; None when the source has no EXIF or Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError

    from vs_fmanet.exposure.exif import register_heif

    register_heif()
    try:
        with Image.open(source) as img:
            src = img.getexif()
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        log.debug("still_exif: cannot read EXIF of %s: %s", source, exc)
        return None
    exif_ifd = {k: v for k, v in src.get_ifd(TAG_EXIF_IFD).items() if k not in EXIF_DROP}
    gps_ifd = dict(src.get_ifd(TAG_GPS_IFD))
    kept = {tag: src[tag] for tag in IFD0_KEEP if tag in src}
    if not (kept or exif_ifd or gps_ifd):
        return None
    out = Image.Exif()
    for tag, value in kept.items():
        out[tag] = value
    exif_ifd[TAG_PIXEL_X], exif_ifd[TAG_PIXEL_Y] = int(width), int(height)
    out.get_ifd(TAG_EXIF_IFD).update(exif_ifd)
    if gps_ifd:
        out.get_ifd(TAG_GPS_IFD).update(gps_ifd)
    return out.tobytes()


def insert_exif(path: Path, exif: bytes) -> None:
    """Put ``exif`` (``b"Exif\\0\\0"`` + TIFF) into the JPEG or PNG file ``path`` in place, replacing any EXIF it
    has; the pixel data is not touched. ValueError for other formats, a damaged file, or a block too large for a
    JPEG segment."""
    data = path.read_bytes()
    if data[:2] == b"\xff\xd8":
        new = _jpeg_with_exif(data, exif, path)
    elif data[:8] == PNG_SIGNATURE:
        new = _png_with_exif(data, exif[6:] if exif.startswith(b"Exif\x00\x00") else exif, path)
    else:
        raise ValueError(f"insert_exif: '{path}' is neither JPEG nor PNG")
    tmp = path.with_name(path.name + ".exif-tmp")
    try:
        tmp.write_bytes(new)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)   # never left among the output images


def copy_sequence_exif(sources: Sequence[Path], outputs: Sequence[Path], width: int, height: int
                       ) -> tuple[int, list[str]]:
    """Give ``outputs[j]`` (restored, ``width`` x ``height``) the EXIF of ``sources[j]``. Returns (files that got
    EXIF, warnings). Outputs in formats that cannot carry it, or a count that differs from the sources', are left
    alone with one warning."""
    warnings: list[str] = []
    if len(sources) != len(outputs):   # e.g. a frame-dropping filter after --: the pairing would be wrong
        warnings.append(f"the camera metadata (EXIF) of the input images is not carried: {len(outputs)} images were "
                        f"written for {len(sources)} inputs, so which input each came from is unknown")
        return 0, warnings
    if outputs and outputs[0].suffix.lower() not in CARRYING_SUFFIXES:
        if sources and exif_for_output(sources[0], width, height) is not None:
            warnings.append(f"the camera metadata (EXIF) of the input images is not carried to "
                            f"{outputs[0].suffix} output images; write .png or .jpg to keep it")
        return 0, warnings
    copied = 0
    for src, dst in zip(sources, outputs):
        # metadata is an extra: no failure here may cost the restored images, so every error becomes a warning
        try:
            exif = exif_for_output(src, width, height)
            if exif is None:
                continue
            insert_exif(dst, exif)
        except (ValueError, TypeError, struct.error, OSError) as exc:
            warnings.append(f"EXIF of '{src.name}' not carried to '{dst.name}': {exc}")
            continue
        copied += 1
    return copied, warnings


def _jpeg_with_exif(data: bytes, exif: bytes, path: Path) -> bytes:
    """SOI, the JFIF APP0 segments, the new APP1, then every other segment of ``data`` but an old Exif APP1."""
    if len(exif) > APP1_MAX_PAYLOAD:
        raise ValueError(f"the EXIF block ({len(exif)} bytes) is larger than a JPEG segment holds")
    head, rest, pos = [data[:2]], [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xDA, 0xD9):           # start of scan / end of image: the rest is entropy-coded data
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment = data[pos:pos + 2 + length]
        if len(segment) != 2 + length:
            raise ValueError(f"'{path}' is a damaged JPEG (segment at byte {pos} runs past the end)")
        if marker == 0xE0 and not rest:
            head.append(segment)
        elif not (marker == 0xE1 and segment[4:10] == b"Exif\x00\x00"):
            rest.append(segment)
        pos += 2 + length
    else:
        raise ValueError(f"'{path}' is a damaged JPEG (no image data after byte {pos})")
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    return b"".join(head) + app1 + b"".join(rest) + data[pos:]


def _png_with_exif(data: bytes, tiff: bytes, path: Path) -> bytes:
    """``data`` with an eXIf chunk holding ``tiff`` before the first IDAT (an old eXIf chunk removed)."""
    out, pos, placed = [PNG_SIGNATURE], 8, False
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        chunk = data[pos:pos + 12 + length]
        if len(chunk) != 12 + length:
            raise ValueError(f"'{path}' is a damaged PNG (chunk at byte {pos} runs past the end)")
        if kind == b"IDAT" and not placed:
            out.append(struct.pack(">I", len(tiff)) + b"eXIf" + tiff
                       + struct.pack(">I", zlib.crc32(b"eXIf" + tiff) & 0xFFFFFFFF))
            placed = True
        if kind != b"eXIf":
            out.append(chunk)
        pos += 12 + length
    if not placed:
        raise ValueError(f"'{path}' is a damaged PNG (no IDAT chunk)")
    return b"".join(out)
