"""Parsing ffmpeg-style time values for ``-ss``, ``-to`` and ``-t``.

Accepts the two forms of ffmpeg's "time duration" syntax (ffmpeg-utils(1)): ``[-][HH:]MM:SS[.m...]`` and
``[-]S+[.m...][s|ms|us]``. Written here rather than taken from a library because it is a dozen lines and
no maintained package exposes exactly ffmpeg's grammar.
"""

from __future__ import annotations

import math
import re

_SEXAGESIMAL = re.compile(r"^(-)?(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")
_PLAIN = re.compile(r"^(-)?(\d+(?:\.\d*)?|\.\d+)(s|ms|us)?$")


def parse_time(text: str, *, option: str = "time") -> float:
    """Seconds (float) for an ffmpeg time duration such as ``"90"``, ``"1.5"``, ``"01:30"``, ``"0:01:30.5"``,
    ``"250ms"``.

    Raises ValueError naming ``option`` and the accepted forms when ``text`` is not one of them.
    """
    s = str(text).strip()
    m = _SEXAGESIMAL.match(s)
    if m:
        sign, hours, minutes, seconds = m.groups()
        if int(minutes) >= 60 and hours is not None or float(seconds) >= 60:
            raise ValueError(f"{option}: {text!r} has minutes or seconds >= 60; use [HH:]MM:SS[.ms] or plain seconds")
        value = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        return -value if sign else value
    m = _PLAIN.match(s)
    if m:
        sign, number, unit = m.groups()
        value = float(number) * {None: 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}[unit]
        if not math.isfinite(value):
            raise ValueError(f"{option}: {text!r} is not a finite time")
        return -value if sign else value
    raise ValueError(
        f"{option}: cannot read {text!r} as a time; use seconds ('12.5', '250ms') or [HH:]MM:SS[.ms] ('01:02:03.5')"
    )
