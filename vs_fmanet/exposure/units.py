"""Exposure units: parse seconds, ``1/x`` rationals and shutter angles; convert APEX and duty cycles.

Conventions (project-wide): metadata readers produce exposure in **seconds**; everything past
:func:`vs_fmanet.exposure.probe_exposure` uses the **fraction of the frame interval** (duty cycle r in (0, 1]).

* ``1/80.0`` is legal in DJI files but ``Fraction("1/80.0")`` raises, so both sides of a ``/`` are parsed
  separately (each side may be a decimal).
* Shutter angle: exposure = (angle / 360) / fps seconds.
* APEX Tv (EXIF ShutterSpeedValue): exposure = 2 ** -Tv seconds.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from .errors import ExposureInputError

__all__ = [
    "DUTY_TOLERANCE",
    "MIN_EXPOSURE_S",
    "parse_rational",
    "parse_exposure_text",
    "parse_exposure_override",
    "shutter_angle_of",
    "angle_to_seconds",
    "apex_to_seconds",
    "parse_frame_rate",
    "format_seconds",
]

#: Largest magnitude (and, as 1 / it, the smallest non-zero one) of a parsed metadata number.
MAGNITUDE_LIMIT = Fraction(10) ** 12
#: Shortest exposure taken as real, in seconds: the fastest global-shutter sensors reach a few microseconds;
#: anything shorter is corrupt metadata (a float denormal, a value in the wrong unit).
MIN_EXPOSURE_S = 1e-6
#: An exposure may exceed the frame interval by this relative amount before it is rejected; inside the
#: tolerance the fraction is clamped to 1.0. Covers measured-vs-nominal rounding (a "360 degree" 1/29.97 s
#: exposure in a 1/30 s interval, GoPro readout steps, millisecond-rounded SRT times).
DUTY_TOLERANCE = 0.05

_DEGREE_RE = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*(?:deg|degrees?|°)\s*$", re.IGNORECASE)
_EXPONENT_RE = re.compile(r"[eE]\s*([+-]?\d+)")
_SECONDS_SUFFIX_RE = re.compile(r"\s*(?:s|sec|secs|seconds?)\s*$", re.IGNORECASE)


def parse_rational(text: str) -> Fraction:
    """Parse ``"1/100"``, ``"1/80.0"``, ``"0.01"``, ``"24000/1001"`` exactly into a :class:`Fraction`.

    Raises ``ValueError`` (not an :class:`ExposureError`; callers add the context) on anything else,
    including a zero denominator and a magnitude outside [:data:`MAGNITUDE_LIMIT` ** -1,
    :data:`MAGNITUDE_LIMIT`] (``"1e400"`` is exact as a Fraction but no float can hold it).
    """
    text = text.strip()
    if not text:
        raise ValueError("empty value")
    for exponent in _EXPONENT_RE.finditer(text):          # Fraction('1e100000000') takes minutes to build
        if abs(int(exponent.group(1))) > 40:
            raise ValueError(f"{text[:40]!r} is out of range (exponent {exponent.group(1)[:12]})")
    if "/" in text:
        num_text, _, den_text = text.partition("/")
        num, den = Fraction(num_text.strip()), Fraction(den_text.strip())
        if den == 0:
            raise ValueError(f"zero denominator in {text!r}")
        return within_range(num / den, text)
    return within_range(Fraction(text), text)


def within_range(value: Fraction, text: str) -> Fraction:
    """``value`` when zero or of a magnitude a metadata value can have; ``ValueError`` naming ``text`` otherwise."""
    if value != 0 and not (1 / MAGNITUDE_LIMIT <= abs(value) <= MAGNITUDE_LIMIT):
        raise ValueError(f"{text!r} is out of range (no exposure, angle or rate is that "
                         f"{'large' if abs(value) > 1 else 'small'})")
    return value


def parse_exposure_text(text: str | float | int | Fraction, fps: float | Fraction | None = None,
                        *, what: str = "exposure") -> Fraction | float:
    """Parse one exposure value written by a user or a sidecar into **seconds**.

    Accepted forms: a number of seconds (``0.01``, ``"0.01"``, ``"0.01s"``), a rational ``"1/100"`` /
    ``"1/80.0"``, or a shutter angle ``"180deg"`` / ``"180°"`` (needs ``fps``, the capture rate in frames
    per second). Strings give an exact :class:`Fraction` within :data:`MAGNITUDE_LIMIT` (see
    :func:`parse_rational`); Python floats stay floats and must be finite. Whether the value is a plausible
    exposure is checked by :func:`parse_exposure_override` and when sources are combined.

    Raises :class:`ExposureInputError` naming ``what`` and the text on failure.
    """
    if isinstance(text, bool):
        raise ExposureInputError(f"{what}: {text!r} is not an exposure; give seconds (0.01), '1/100' or '180deg'")
    if isinstance(text, (int, float, Fraction)):
        if isinstance(text, float) and not math.isfinite(text):
            raise ExposureInputError(f"{what}: {text!r} is not a finite number of seconds")
        return text
    if not isinstance(text, str):
        raise ExposureInputError(f"{what}: expected a string or number, got {type(text).__name__}")
    angle = shutter_angle_of(text)
    if angle is not None:
        try:
            angle = within_range(angle, text)
        except ValueError as exc:
            raise ExposureInputError(f"{what}: shutter angle {exc}; give at most 360deg") from None
        if fps is None or not _positive(fps):
            raise ExposureInputError(
                f"{what}: shutter angle {text!r} needs the capture frame rate; pass fps= (frames per second) "
                "or give the exposure in seconds ('1/100')")
        return angle_to_seconds(angle, fps)
    stripped = _SECONDS_SUFFIX_RE.sub("", text)
    try:
        return parse_rational(stripped)
    except (ValueError, ZeroDivisionError) as exc:
        raise ExposureInputError(
            f"{what}: cannot read {text!r} ({exc}); accepted forms are seconds ('0.01'), a rational ('1/100', "
            "'1/80.0') or a shutter angle ('180deg')") from None


def shutter_angle_of(text: str | float) -> Fraction | None:
    """The angle in degrees when ``text`` is a shutter angle (``"180deg"``, ``"180°"``), else None."""
    match = _DEGREE_RE.match(text) if isinstance(text, str) else None
    return Fraction(match.group(1)) if match else None


def parse_exposure_override(text: str | float, fps: float | None) -> float:
    """Parse a per-clip exposure override into **seconds** (float).

    ``text``: seconds (``0.01`` or ``"0.01"``), ``"1/100"``, or a shutter angle ``"180deg"``/``"180°"``
    (exposure = angle / 360 / fps). ``fps``: capture frame rate in frames per second; needed for angles and
    used to reject exposures longer than the frame interval (beyond :data:`DUTY_TOLERANCE`). ``None`` skips
    the bound (only allowed for non-angle forms).

    Raises :class:`ExposureInputError` with the accepted forms on bad input.
    """
    value = parse_exposure_text(text, fps, what="parse_exposure_override")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ExposureInputError(
            f"parse_exposure_override: exposure {text!r} gives {seconds} s; it must be a positive time "
            "such as '1/100' or 0.01")
    if seconds < MIN_EXPOSURE_S:
        raise ExposureInputError(
            f"parse_exposure_override: exposure {text!r} = {seconds:g} s is shorter than {MIN_EXPOSURE_S:g} s, "
            "which no camera exposes; give seconds (0.01), '1/100' or an angle such as '180deg'")
    if fps is not None and _positive(fps):
        interval = 1.0 / float(fps)
        if seconds > interval * (1.0 + DUTY_TOLERANCE):
            hint = f"; did you mean '1/{text}'?" if isinstance(text, (int, str)) and str(text).strip().isdigit() else ""
            raise ExposureInputError(
                f"parse_exposure_override: exposure {text!r} = {seconds:g} s is longer than the frame interval "
                f"{interval:g} s at {float(fps):g} fps{hint} (give seconds, '1/x' or an angle <= 360deg)")
    return seconds


def angle_to_seconds(angle_deg: float | Fraction, fps: float | Fraction) -> Fraction | float:
    """Shutter angle in degrees at ``fps`` frames per second -> exposure seconds (angle / 360 / fps).

    Exact when both inputs are :class:`Fraction` or int."""
    if isinstance(angle_deg, float) or isinstance(fps, float):
        return float(angle_deg) / 360.0 / float(fps)
    return Fraction(angle_deg) / 360 / Fraction(fps)


def apex_to_seconds(tv: float | Fraction) -> float:
    """APEX time value Tv (EXIF ShutterSpeedValue) -> exposure seconds, 2 ** -Tv. Rounded by design:
    for 1/120 s cameras write Tv = 6.906..., so use only when ExposureTime is absent. Raises ``ValueError`` for
    |Tv| > 40 (beyond 2 ** 40 s or 2 ** -40 s: corrupt, and 2 ** 2000 overflows a float)."""
    if not abs(float(tv)) <= 40:
        raise ValueError(f"APEX time value {float(tv):g} is out of range (|Tv| <= 40)")
    return float(2.0 ** (-float(tv)))


def parse_frame_rate(value: str | float | int | Fraction) -> Fraction | float:
    """Parse a frame rate: ``25``, ``"24000/1001"``, ``"59.94p"``, ``"29.97"`` -> frames per second."""
    if isinstance(value, (int, float, Fraction)) and not isinstance(value, bool):
        if not _positive(value):
            raise ExposureInputError(f"frame rate {value!r} must be a positive number of frames per second")
        return value
    text = str(value).strip().rstrip("pPiI").strip()
    try:
        rate = parse_rational(text)
    except (ValueError, ZeroDivisionError) as exc:
        reason = str(exc) if "out of range" in str(exc) else "is not a number"
        raise ExposureInputError(
            f"frame rate {value!r}: {reason}; give it as 25, 29.97 or 24000/1001") from None
    if rate <= 0:
        raise ExposureInputError(f"frame rate {value!r} must be positive")
    return rate


def format_seconds(seconds: float) -> str:
    """Human form of an exposure: ``1/100`` when the reciprocal is close to an integer or has one decimal,
    otherwise ``0.0123``; ``-`` for NaN."""
    if not math.isfinite(seconds):
        return "-"
    if seconds <= 0:
        return f"{seconds:g}"
    if seconds >= 1.0:
        return f"{seconds:g}"
    recip = 1.0 / seconds
    if abs(recip - round(recip)) < 1e-6 * recip:
        return f"1/{round(recip)}"
    if abs(recip * 100 - round(recip * 100)) < 1e-4 * recip:
        return f"1/{recip:.2f}".rstrip("0").rstrip(".")
    return f"{seconds:.6g}"


def _positive(value: float | Fraction | int) -> bool:
    try:
        return float(value) > 0 and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
