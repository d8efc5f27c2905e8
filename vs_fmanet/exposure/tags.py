"""Per-clip exposure from container tags (MP4 ``udta``/``ilst``/mdta keys, Matroska tags), as one value.

Keys are matched case-insensitively on the container's and the video stream's tags (what PyAV returns):

* ``exposure_time`` / ``exposuretime`` -- seconds, ``1/x`` (MP4 written with
  ``-movflags use_metadata_tags``, Matroska ``EXPOSURE_TIME``);
* ``shutter_angle`` / ``shutterangle`` / ``org.smpte.rdd18.camera.shutterspeed_angle`` -- degrees
  (``"180"``, ``"179.2deg"``), converted with the capture frame rate;
* ``com.apple.proapps.exif.{exif}.shutterspeedvalue`` -- APEX Tv, exposure = 2 ** -Tv (ProRes RAW recorders).
"""

from __future__ import annotations

import re

import numpy as np

from .errors import ExposureInputError
from .track import SampleSeries
from .units import angle_to_seconds, apex_to_seconds, parse_exposure_text, parse_rational

__all__ = ["EXPOSURE_KEYS", "ANGLE_KEYS", "APEX_KEYS", "series_from_tags"]

EXPOSURE_KEYS = ("exposure_time", "exposuretime")
ANGLE_KEYS = ("shutter_angle", "shutterangle", "org.smpte.rdd18.camera.shutterspeed_angle")
APEX_KEYS = ("com.apple.proapps.exif.{exif}.shutterspeedvalue",)

_ANGLE_RE = re.compile(r"^\s*([0-9.]+)\s*(?:deg|degrees?|°)?\s*$", re.IGNORECASE)


def series_from_tags(tags: dict[str, str], fps: float | None, label: str) -> SampleSeries | None:
    """A clip-level series from ``tags`` (key -> value, as merged from container and video stream), or None
    when no exposure key is present. ``fps`` (frames per second) converts shutter angles.
    A present but unreadable tag gives an empty series with a warning."""
    lowered = {k.lower(): (k, v) for k, v in tags.items()}
    for key in EXPOSURE_KEYS:
        if key in lowered:
            name, text = lowered[key]
            try:
                seconds = float(parse_exposure_text(text, fps, what=f"tag {name}"))
            except ExposureInputError as exc:
                return _unreadable(label, str(exc))
            return SampleSeries("tag", f"{label} {name}={text}", np.array([seconds]), clip_level=True)
    for key in ANGLE_KEYS:
        if key in lowered:
            name, text = lowered[key]
            match = _ANGLE_RE.match(text)
            if not match:
                return _unreadable(label, f"tag {name}={text!r} is not a shutter angle in degrees")
            if not fps:
                return _unreadable(label, f"tag {name}={text!r} needs the frame rate, which is unknown")
            seconds = float(angle_to_seconds(float(match.group(1)), fps))
            return SampleSeries("tag", f"{label} {name}={text}", np.array([seconds]), clip_level=True)
    for key in APEX_KEYS:
        if key in lowered:
            name, text = lowered[key]
            try:
                seconds = apex_to_seconds(parse_rational(text))
            except (ValueError, ZeroDivisionError):
                return _unreadable(label, f"tag {name}={text!r} is not an APEX time value")
            return SampleSeries("tag", f"{label} {name}={text}", np.array([seconds]), clip_level=True)
    return None


def _unreadable(label: str, message: str) -> SampleSeries:
    return SampleSeries("tag", label, np.zeros(0), clip_level=True, warnings=[f"tag ({label}): {message}; ignored"])
