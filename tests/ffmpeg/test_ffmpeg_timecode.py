"""A cut output's timecode names its own first frame (it kept the source's first frame's timecode: a 0.5 s cut of
a 24 fps MOV starting at 01:00:00:00 said 01:00:00:00 instead of 01:00:00:12); drop-frame counting included."""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import pytest
from ffmpegfix import NearestRestorer

from ffmpeg_filter import cli, pipeline
from ffmpeg_filter.timecode import shift_timecode

NTSC = Fraction(30000, 1001)


@pytest.mark.parametrize("timecode, frames, rate, expected", [
    ("01:00:00:00", 12, 24, "01:00:00:12"),
    ("00:00:59:24", 1, 25, "00:01:00:00"),
    ("23:59:59:24", 1, 25, "00:00:00:00"),                     # wraps at 24 hours
    ("00:00:59;29", 1, NTSC, "00:01:00;02"),                   # drop-frame skips ;00 and ;01 at each minute
    ("00:09:59;29", 1, NTSC, "00:10:00;00"),                   # ... except every tenth
    ("00:00:00;00", 1800, NTSC, "00:01:00;02"),
    ("00:00:00;00", 17982, NTSC, "00:10:00;00"),               # 10 minutes of 29.97 fps
    ("00:00:59;59", 1, Fraction(60000, 1001), "00:01:00;04"),
    ("not a timecode", 1, 25, None),
    ("00:00:00:30", 1, 25, None),                               # frame field beyond the rate
    ("00:01:00;00", 1, NTSC, None),                             # a drop-frame label that is never used
    ("00:10:00;00", 1, NTSC, "00:10:00;01"),                    # ... but the tenth minute keeps ;00 and ;01
])
def test_shift_timecode(timecode, frames, rate, expected):
    assert shift_timecode(timecode, frames, rate) == expected


def test_a_cut_moves_the_timecode_tag(tmp_path: Path, ffmpeg_exe: str, monkeypatch: pytest.MonkeyPatch):
    src = tmp_path / "tc.mov"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=32x24:r=24", "-frames:v", "24",
                    "-timecode", "01:00:00:00", "-c:v", "mpeg4", str(src)], check=True)
    monkeypatch.setattr(pipeline, "build_restorer", lambda settings: NearestRestorer(scale=2))
    out = tmp_path / "cut.mov"
    assert cli.main(["--progress", "none", "--exposure-from", "none", "-i", str(src), "-o", str(out),
                     "-ss", "0.5", "-t", "0.25"]) == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].metadata.get("timecode") == "01:00:00:12"
