"""Resolve an image-sequence argument to its ordered list of files.

Accepted forms: a directory (every still of one format in it), a printf pattern (``shot_%04d.dng``), a glob
(``frames/*.jpg``), or the first image of a numbered run (``img_0001.jpg`` -> ``img_0001.jpg``,
``img_0002.jpg``, ... with the same prefix, digit count and suffix, from that number on). Files are ordered
by their frame number, so ``img_10`` follows ``img_9``.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from .errors import ExposureInputError

__all__ = ["IMAGE_SUFFIXES", "is_image_sequence_input", "list_sequence", "numbering_gaps"]

#: Still formats read by :mod:`.exif` (Pillow + pillow-heif, ExifRead for DNG).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".tif", ".tiff", ".png", ".webp", ".heic", ".heif", ".dng")

_PRINTF_RE = re.compile(r"%(0?)(\d*)d")
_NUMBERED_RE = re.compile(r"^(.*?)(\d+)(\.[^.]+)$")
_NATURAL_RE = re.compile(r"(\d+)")


def is_image_sequence_input(path: str | os.PathLike) -> bool:
    """True for a directory, a printf/glob pattern, or a file with a still-image suffix."""
    text = os.fspath(path)
    if os.path.isdir(text):
        return True
    name = os.path.basename(text)
    if _PRINTF_RE.search(name) or any(ch in name for ch in "*?["):
        return True
    return Path(text).suffix.lower() in IMAGE_SUFFIXES


def list_sequence(path: str | os.PathLike) -> list[Path]:
    """Ordered files of the sequence named by ``path`` (see module docstring).

    Raises :class:`ExposureInputError` when nothing matches or a directory mixes still formats."""
    text = os.fspath(path)
    if os.path.isdir(text):
        files = [p for p in Path(text).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise ExposureInputError(f"probe_exposure: directory {text!r} holds no still images "
                                     f"({', '.join(IMAGE_SUFFIXES)})")
        suffixes = sorted({p.suffix.lower() for p in files})
        if len(suffixes) > 1:
            raise ExposureInputError(f"probe_exposure: directory {text!r} mixes {', '.join(suffixes)} files; pass a "
                                     "pattern such as 'dir/*.dng' to pick one sequence")
        return sorted(files, key=_natural_key)
    name = os.path.basename(text)
    existing = os.path.isfile(text)    # an existing file is the first image, even one named 'take [A]_0001.jpg'
    printf = None if existing else _PRINTF_RE.search(name)
    if printf:
        width = printf.group(2)
        digits = rf"\d{{{int(width)}}}" if printf.group(1) == "0" and width else r"\d+"
        regex = re.compile("^" + re.escape(name[:printf.start()]) + f"({digits})" + re.escape(name[printf.end():]) + "$")
        directory = Path(os.path.dirname(text) or ".")
        if not directory.is_dir():
            raise ExposureInputError(f"probe_exposure: directory of pattern {text!r} does not exist")
        matched = [(int(m.group(1)), p) for p in directory.iterdir() if (m := regex.match(p.name))]
        if not matched:
            raise ExposureInputError(f"probe_exposure: no file matches the pattern {text!r}")
        return [p for _, p in sorted(matched)]
    if any(ch in name for ch in "*?[") and not existing:
        files = [Path(p) for p in glob.glob(text) if os.path.isfile(p)]
        if not files:
            raise ExposureInputError(f"probe_exposure: no file matches the pattern {text!r}")
        return sorted(files, key=_natural_key)
    first = Path(text)
    if not first.is_file():
        raise ExposureInputError(f"probe_exposure: {text!r} does not exist; pass an image, a directory or a pattern "
                                 "such as 'img_%04d.jpg'")
    match = _NUMBERED_RE.match(first.name)
    if not match:
        return [first]
    prefix, number, suffix = match.groups()
    regex = re.compile("^" + re.escape(prefix) + rf"(\d{{{len(number)}}})" + re.escape(suffix) + "$")
    start = int(number)
    siblings = [(int(m.group(1)), p) for p in first.parent.iterdir() if (m := regex.match(p.name))]
    return [p for n, p in sorted(siblings) if n >= start]


def numbering_gaps(files: list[Path]) -> list[int]:
    """Frame numbers missing inside a numbered run (e.g. [3] for img_1, img_2, img_4); [] if unnumbered."""
    numbers = []
    for p in files:
        match = _NUMBERED_RE.match(p.name)
        if not match:
            return []
        numbers.append(int(match.group(2)))
    if len(numbers) < 2:
        return []
    present = set(numbers)
    return [n for n in range(min(numbers), max(numbers)) if n not in present][:100]


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in _NATURAL_RE.split(path.name)]
