"""Image sequences as input and output (``frame_%06d.png``, a folder of numbered images, or its first file).

Input sequences are read with PyAV's ``image2`` demuxer (the same one ffmpeg uses), given an explicit
pattern and start number; numbering must be contiguous because image2 stops at the first gap. Output
sequences are written by ffmpeg's image2 muxer into a hidden temporary folder next to the target and moved
into place file by file when the run succeeded (see :mod:`ffmpeg_filter.atomic`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from .errors import InputError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".dpx", ".exr", ".tga",
                              ".ppm", ".pgm", ".jxl", ".heic", ".heif", ".avif", ".dng"})
_PRINTF = re.compile(r"%(0?\d*)d")
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


@dataclasses.dataclass(frozen=True)
class ImageSequence:
    """A contiguous run of numbered image files.

    ``pattern``: printf-style path (``/dir/frame_%06d.png``) as ffmpeg's image2 expects it;
    ``start_number``: the first frame's number; ``files``: the files in frame order.
    """

    pattern: str
    start_number: int
    files: tuple[Path, ...]

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def demuxer_pattern(self) -> str:
        """``pattern`` with literal ``%`` in the folder part escaped, for the image2 demuxer."""
        folder, name = os.path.split(self.pattern)
        return os.path.join(folder.replace("%", "%%"), name) if folder else name


def is_sequence_pattern(path: str | os.PathLike) -> bool:
    """True when the file name contains a printf frame-number field such as ``%06d`` or ``%d``."""
    return bool(_PRINTF.search(os.path.basename(os.fspath(path))))


def names_one_image(path: str | os.PathLike, user_args: Sequence[str] = ()) -> bool:
    """True when an output name is a single image file (``photo.png``: an image extension, no frame-number field),
    unless the user forces a container with ``-f`` (e.g. ``-f mp4`` into an oddly named file)."""
    if "-f" in user_args[:-1] or is_sequence_pattern(path):
        return False
    return Path(os.fspath(path)).suffix.lower() in IMAGE_EXTENSIONS


def looks_like_image_input(path: str | os.PathLike) -> bool:
    """True for a sequence pattern, a folder, or a single file with an image extension."""
    p = Path(os.fspath(path))
    return is_sequence_pattern(p) or p.is_dir() or p.suffix.lower() in IMAGE_EXTENSIONS


def _number_width(pattern_field: str) -> int | None:
    """Zero-padded width of a ``%0Nd`` field, None for ``%d``."""
    return int(pattern_field) if pattern_field.startswith("0") and len(pattern_field) > 1 else None


def _collect(folder: Path, prefix: str, suffix: str, width: int | None) -> dict[int, Path]:
    numbered: dict[int, Path] = {}
    if not folder.is_dir():
        return numbered
    for entry in folder.iterdir():
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) <= len(prefix) + len(suffix):
            continue
        digits = name[len(prefix): len(name) - len(suffix)]
        if not digits.isdigit() or (width is not None and len(digits) < width):
            continue
        numbered[int(digits)] = entry
    return numbered


def _contiguous(numbered: dict[int, Path], start: int | None, where: str) -> tuple[int, tuple[Path, ...]]:
    if not numbered:
        raise InputError(f"find_sequence: no numbered image files match {where}; check the path and the "
                         "%0Nd field (e.g. frame_%06d.png for frame_000001.png)")
    first = min(numbered) if start is None else start
    if first not in numbered:
        raise InputError(f"find_sequence: the sequence {where} has no frame number {first}")
    files = []
    n = first
    while n in numbered:
        files.append(numbered[n])
        n += 1
    rest = sorted(k for k in numbered if k > n)
    if rest:
        raise InputError(f"find_sequence: the sequence {where} has a gap: frame number {n} is missing "
                         f"(frames {first}..{n - 1} exist, {len(rest)} more after the gap); renumber the files "
                         "or point -i at the part you want")
    return first, tuple(files)


def find_sequence(path: str | os.PathLike) -> ImageSequence:
    """Resolve a pattern (``shots/frame_%06d.png``), a folder of numbered images, or the first image of a
    sequence into an :class:`ImageSequence`. Raises :class:`InputError` when nothing matches or the numbering
    has gaps."""
    p = Path(os.fspath(path))
    if is_sequence_pattern(p):
        m = _PRINTF.search(p.name)
        assert m is not None
        prefix, suffix = p.name[: m.start()], p.name[m.end():]
        numbered = _collect(p.parent, prefix, suffix, _number_width(m.group(1)))
        start, files = _contiguous(numbered, None, f"'{p}'")
        return ImageSequence(str(p), start, files)
    if p.is_dir():
        groups: dict[tuple[str, str, int], dict[int, Path]] = defaultdict(dict)
        for entry in p.iterdir():
            if entry.suffix.lower() not in IMAGE_EXTENSIONS or not entry.is_file():
                continue
            m = _TRAILING_NUMBER.match(entry.stem)
            if m:
                groups[(m.group(1), entry.suffix, len(m.group(2)))][int(m.group(2))] = entry
        if not groups:
            raise InputError(f"find_sequence: folder '{p}' holds no numbered images "
                             f"({', '.join(sorted(IMAGE_EXTENSIONS))}); pass a pattern like frame_%06d.png")
        (prefix, suffix, width), numbered = max(groups.items(), key=lambda kv: len(kv[1]))
        start, files = _contiguous(numbered, None, f"in folder '{p}'")
        return ImageSequence(str(p / f"{prefix}%0{width}d{suffix}"), start, files)
    if p.is_file():
        m = _TRAILING_NUMBER.match(p.stem)
        if not m:
            return ImageSequence(str(p), 0, (p,))  # a single still image: a one-frame "sequence"
        prefix, digits = m.group(1), m.group(2)
        numbered = _collect(p.parent, prefix, p.suffix, len(digits))
        numbered = {k: v for k, v in numbered.items() if len(v.stem) - len(prefix) == len(digits)}
        start, files = _contiguous(numbered, int(digits), f"starting at '{p}'")
        return ImageSequence(str(p.parent / f"{prefix}%0{len(digits)}d{p.suffix}"), start, files)
    raise InputError(f"find_sequence: input '{p}' does not exist; check the path")


def sequence_output_files(pattern: str | os.PathLike) -> list[Path]:
    """Existing files that an output pattern (``out/frame_%06d.png``) would write over or mix with."""
    p = Path(os.fspath(pattern))
    m = _PRINTF.search(p.name)
    if not m:
        return [p] if p.exists() else []
    numbered = _collect(p.parent, p.name[: m.start()], p.name[m.end():], _number_width(m.group(1)))
    return [numbered[k] for k in sorted(numbered)]
