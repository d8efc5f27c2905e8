"""Locating the ffmpeg executable and asking it what it can do.

Order of preference: an explicit ``--ffmpeg PATH``; else ``ffmpeg``
on ``PATH``; else the static build shipped in the ``imageio-ffmpeg`` wheel (a project dependency, so the
project's set-up always provides one). Capability queries run the binary with argument lists (never a
shell) and are cached per executable.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess

from .errors import FilterError, UsageError

log = logging.getLogger(__name__)

_HOW_TO_GET = (
    "install one (e.g. 'apt-get install ffmpeg'), or reinstall the project's dependencies "
    "('pip install imageio-ffmpeg' ships a static ffmpeg), or pass --ffmpeg /path/to/ffmpeg"
)


def find_ffmpeg(explicit: str | os.PathLike | None = None) -> str:
    """Return the path of the ffmpeg executable to use.

    ``explicit`` (the ``--ffmpeg`` option) must name an executable file or a command on PATH.
    Raises :class:`UsageError` for a bad explicit path and :class:`FilterError` when none is found.
    """
    if explicit:
        text = os.fspath(explicit)
        found = shutil.which(text) or (text if os.path.isfile(text) and os.access(text, os.X_OK) else None)
        if not found:
            raise UsageError(f"find_ffmpeg: --ffmpeg {text!r} is not an executable file; {_HOW_TO_GET}")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        bundled = imageio_ffmpeg.get_ffmpeg_exe()
        if bundled and os.path.isfile(bundled):
            return bundled
    except (ImportError, RuntimeError) as exc:  # wheel missing or no binary for this platform
        log.debug("imageio-ffmpeg has no usable binary: %s", exc)
    raise FilterError(f"find_ffmpeg: no ffmpeg executable found (not on PATH, none in imageio-ffmpeg); {_HOW_TO_GET}")


@functools.lru_cache(maxsize=8)
def ffmpeg_version(exe: str) -> str:
    """First line of ``ffmpeg -version`` (e.g. ``"ffmpeg version n9.0.2 ..."``), for logs and reports."""
    out = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else "unknown"


@functools.lru_cache(maxsize=8)
def ffmpeg_major_version(exe: str) -> int | None:
    """Major version number of the binary, or None for git builds without one (treated as new)."""
    m = re.search(r"version\s+n?(\d+)\.", ffmpeg_version(exe))
    return int(m.group(1)) if m else None


@functools.lru_cache(maxsize=64)
def encoder_pixel_formats(exe: str, encoder: str) -> tuple[str, ...] | None:
    """Pixel formats an encoder accepts (from ``ffmpeg -h encoder=NAME``).

    Returns None when the binary does not have the encoder, and an empty tuple when the encoder does
    not list its formats (ffmpeg then negotiates one itself).
    """
    out = subprocess.run([exe, "-hide_banner", "-h", f"encoder={encoder}"], capture_output=True, text=True,
                         timeout=30)
    text = out.stdout + out.stderr
    if f"Encoder {encoder} " not in text and f"Encoder {encoder}\n" not in text:
        return None
    m = re.search(r"Supported pixel formats:\s*(.+)", text)
    return tuple(m.group(1).split()) if m else ()
