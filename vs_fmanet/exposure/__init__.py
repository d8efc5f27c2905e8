"""Per-frame exposure from camera metadata, as seconds and as fractions of the frame interval.

Entry points:

* :func:`probe_exposure` -- video file or image sequence -> :class:`ExposureTrack`;
* :func:`parse_exposure_override` -- ``"1/100"``, ``0.01`` or ``"180deg"`` -> seconds;
* :func:`attach_exposure_props` (in :mod:`.vs_props`, imported lazily because it needs VapourSynth) --
  writes ``FMANetExposure``, ``FMANetExposureSeconds`` and ``FMANetExposureSource`` frame props;
* ``fmanet-probe INPUT`` (:mod:`.cli`).

Readers, one module each: :mod:`.exif`, :mod:`.gpmf`, :mod:`.srt`, :mod:`.sidecar`, :mod:`.rtmd`,
:mod:`.camm`, :mod:`.djmd`, :mod:`.tags`; alignment in :mod:`.align`, precedence in :mod:`.combine`.
See README.md in this folder for the formats covered and their tests.
"""

from __future__ import annotations

from typing import Any

from .errors import ExposureError, ExposureFormatError, ExposureInputError
from .probe import PREFER_CHOICES, probe_exposure
from .track import ExposureTrack
from .units import parse_exposure_override

__all__ = [
    "probe_exposure",
    "ExposureTrack",
    "parse_exposure_override",
    "attach_exposure_props",
    "ExposureError",
    "ExposureInputError",
    "ExposureFormatError",
    "PREFER_CHOICES",
]


def __getattr__(name: str) -> Any:
    if name == "attach_exposure_props":
        from .vs_props import attach_exposure_props

        return attach_exposure_props
    raise AttributeError(f"module 'vs_fmanet.exposure' has no attribute {name!r}")
