"""SMPTE timecodes moved by a number of frames, so that a cut output's timecode names its own first frame.

``HH:MM:SS:FF`` (non-drop) and ``HH:MM:SS;FF`` / ``HH:MM:SS.FF`` (drop-frame, 29.97 and 59.94 fps: frame numbers
0 and 1 (0-3 at 59.94) are skipped at the start of every minute except each tenth). Written here because the
arithmetic is a few lines and no maintained library covers drop-frame on strings as ffmpeg tags store them.
"""
from __future__ import annotations

import re
from fractions import Fraction

_TIMECODE_RE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def shift_timecode(timecode: str, frames: int, rate: Fraction | float) -> str | None:
    """``timecode`` moved ``frames`` frames later at ``rate`` frames per second (rounded to the timecode's own
    whole rate), or None when it is not a timecode this can read (then it is better dropped than wrong)."""
    match = _TIMECODE_RE.match(timecode.strip())
    base = round(float(rate)) if rate else 0
    if not match or base <= 0:
        return None
    hh, mm, ss, sep, ff = match.groups()
    h, m, s, f = int(hh), int(mm), int(ss), int(ff)
    drop = sep in ";.," and base % 30 == 0          # drop-frame exists for 29.97 and 59.94 (base 30 and 60) only
    if m >= 60 or s >= 60 or f >= base:
        return None
    number = ((h * 60 + m) * 60 + s) * base + f
    if drop:
        skipped = base // 15                         # 2 frame numbers per minute at 30, 4 at 60
        if s == 0 and f < skipped and m % 10 != 0:
            return None                              # a label drop-frame counting never uses
        minutes = h * 60 + m
        number -= skipped * (minutes - minutes // 10)
        number += frames
        per_ten = base * 600 - skipped * 9
        per_minute = base * 60 - skipped
        tens, rest = divmod(number, per_ten)
        number += skipped * 9 * tens + (skipped * ((rest - skipped) // per_minute) if rest > skipped else 0)
    else:
        number += frames
    number %= base * 86400                          # timecodes wrap at 24 hours
    f = number % base
    s = number // base % 60
    m = number // (base * 60) % 60
    h = number // (base * 3600)
    return f"{h:02d}:{m:02d}:{s:02d}{sep if drop else ':'}{f:02d}"
