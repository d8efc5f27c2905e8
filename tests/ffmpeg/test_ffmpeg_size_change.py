"""Streams that change frame size part-way (broadcast captures, recorded adaptive streams): like the ffmpeg command
line, every frame is scaled to the size the stream started with, so the output keeps one size, the frame count and
the timestamps, and a warning names the first frame of the new size.

The clip is two lossless H.264 transport-stream parts joined with ffmpeg's concat demuxer: frames 0-11 of a
pattern at 64x48, then frames 12-23 of the same pattern scaled down to 48x36. The reference is what the ffmpeg
command line itself makes of that clip (re-encoded losslessly: it scales the second part back to 64x48).
"""
from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ffmpegfix import NearestRestorer, video_frames

from ffmpeg_filter import cli
from ffmpeg_filter.decode import decode_range
from ffmpeg_filter.pipeline import RunOptions, run

PATTERN = "testsrc2=size=64x48:rate=24:duration=1"
LOSSLESS = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", "-f", "mpegts"]


@pytest.fixture(scope="module")
def switching(ffmpeg_exe: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the clip that switches from 64x48 to 48x36 at frame 12, the same clip as the ffmpeg command line decodes it:
    every frame at 64x48, lossless)."""
    d = tmp_path_factory.mktemp("size_change")

    def ff(*args: str) -> None:
        subprocess.run([ffmpeg_exe, "-v", "error", "-y", "-f", "lavfi", "-i", PATTERN, *args], check=True)

    ff("-frames:v", "12", *LOSSLESS, str(d / "a.ts"))
    ff("-vf", "trim=start_frame=12,setpts=PTS-STARTPTS,scale=48:36", *LOSSLESS, str(d / "b.ts"))
    (d / "parts.txt").write_text("file 'a.ts'\nfile 'b.ts'\n")
    subprocess.run([ffmpeg_exe, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(d / "parts.txt"),
                    "-c", "copy", str(d / "switching.ts")], check=True)
    subprocess.run([ffmpeg_exe, "-v", "error", "-y", "-i", str(d / "switching.ts"), *LOSSLESS,
                    str(d / "by_ffmpeg.ts")], check=True)
    return d / "switching.ts", d / "by_ffmpeg.ts"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_frames_of_the_new_size_are_scaled_back_to_the_first_size(switching, caplog):
    clip, by_ffmpeg = switching
    ref = [d.rgb for d in decode_range(by_ffmpeg)]
    with caplog.at_level(logging.WARNING, logger="ffmpeg_filter.decode"):
        frames = list(decode_range(clip))
    assert [d.index for d in frames] == list(range(24))
    assert all(d.rgb.shape == (48, 64, 3) for d in frames)
    for d in frames[:12]:                                   # the first part is untouched (lossless)
        np.testing.assert_array_equal(d.rgb, ref[d.index])
    scaled = [psnr(d.rgb, ref[d.index]) for d in frames[12:]]
    assert min(scaled) > 35.0, scaled     # ffmpeg's own picture of them (39 dB: its scaler's rounding differs)
    warned = [r.getMessage() for r in caplog.records if "started at" in r.getMessage()]
    assert len(warned) == 1 and "frame 12 is 48x36 but the stream started at 64x48" in warned[0]


def test_a_range_across_the_switch_equals_a_whole_pass(switching):
    clip, _ = switching
    whole = [d.rgb for d in decode_range(clip)]
    part = list(decode_range(clip, 9, 16))
    assert [d.index for d in part] == list(range(9, 16))
    for d in part:
        np.testing.assert_array_equal(d.rgb, whole[d.index])


def test_the_tool_writes_one_size_with_every_frame_and_timestamp(switching, tmp_path):
    clip, _ = switching
    out = tmp_path / "out.mkv"
    run(RunOptions(input=str(clip), output=str(out), progress="none", exposure_from="none",
                   user_args=["-c:v", "ffv1"]), restorer=NearestRestorer(2))
    frames, times, _ = video_frames(out)
    _, src_times, _ = video_frames(clip)
    assert len(frames) == 24 and {f.shape for f in frames} == {(96, 128, 3)}
    assert times == pytest.approx([t - src_times[0] for t in src_times], abs=1e-3)   # shifted to 0, as ffmpeg does


def test_live_mode_keeps_going_across_the_switch(switching, tmp_path, capsys):
    clip, _ = switching
    out = tmp_path / "live.mkv"
    code = cli.main(["--live", "-i", str(clip), "-o", str(out), "--preset", "causal-tiny", "--weights", "random",
                     "--device", "cpu", "--progress", "none", "--scale", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "frame 12 is 48x36 but the stream started at 64x48" in err
    frames, _, _ = video_frames(out)
    assert len(frames) == 24 and {f.shape for f in frames} == {(96, 128, 3)}
