"""--deinterlace: interlaced sources go through bwdif before restoration, one frame per frame, timestamps kept.

The interlaced clip is woven from a pattern rendered at twice the frame rate; the same pattern rendered
progressively at that rate is the reference: deinterlaced frame i must look like progressive frame 2i (the time of
its top field), which the woven frame does not.
"""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ffmpegfix import NearestRestorer, stream_summary, video_frames

from ffmpeg_filter import cli
from ffmpeg_filter.decode import decode_range
from ffmpeg_filter.deinterlace import resolve_deinterlace
from ffmpeg_filter.errors import UsageError
from ffmpeg_filter.pipeline import RunOptions, run
from ffmpeg_filter.probe import probe_source
from ffmpeg_filter.sample import make_sample_clip

RATE = Fraction(24000, 1001)


@pytest.fixture(scope="module")
def interlaced_clip(clips: Path) -> Path:
    """12 top-field-first interlaced H.264 frames (64x48 at 24000/1001), audio, subtitles, chapters."""
    return make_sample_clip(clips / "interlaced.mkv", frames=12, size=(64, 48), fps=RATE, interlaced=True)


@pytest.fixture(scope="module")
def progressive_reference(clips: Path) -> list[np.ndarray]:
    """The same pattern, progressive at twice the rate: frame 2i is the moment of interlaced frame i's top field."""
    path = make_sample_clip(clips / "progressive_2x.mkv", frames=24, size=(64, 48), fps=2 * RATE, audio=False,
                            subtitles=False, chapters=False, tags=False)
    return [d.rgb for d in decode_range(path)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_bwdif_turns_woven_fields_into_the_progressive_picture(interlaced_clip, progressive_reference):
    info = probe_source(interlaced_clip)
    assert info.interlaced and info.frame_count == 12
    woven = list(decode_range(info))
    clean = list(decode_range(info, deinterlace="interlaced"))
    assert [(d.index, d.pts) for d in clean] == [(d.index, d.pts) for d in woven]      # same frames, same times
    ref = progressive_reference
    woven_psnr = np.mean([psnr(d.rgb, ref[2 * d.index]) for d in woven])
    clean_psnr = np.mean([psnr(d.rgb, ref[2 * d.index]) for d in clean])
    assert clean_psnr > woven_psnr + 8.0, (woven_psnr, clean_psnr)


@pytest.mark.parametrize("start, stop", [(0, 3), (5, 9), (9, 12), (11, 12)])
def test_a_range_gets_exactly_the_frames_of_a_whole_pass(interlaced_clip, start, stop):
    """bwdif reads frames i-1..i+1: decode_range decodes one extra frame each side, so -ss cuts and farm chunks
    match a whole-file pass bit for bit."""
    info = probe_source(interlaced_clip)
    whole = [d.rgb for d in decode_range(info, deinterlace="interlaced")]
    part = list(decode_range(info, start, stop, deinterlace="interlaced"))
    assert [d.index for d in part] == list(range(start, stop))
    for d in part:
        np.testing.assert_array_equal(d.rgb, whole[d.index])


def test_auto_on_off_and_what_is_refused():
    kw = {"kind": "video", "label": "x.mkv"}
    assert resolve_deinterlace("auto", interlaced=True, **kw) == "interlaced"
    assert resolve_deinterlace("auto", interlaced=False, **kw) is None
    assert resolve_deinterlace("on", interlaced=False, **kw) == "all"
    assert resolve_deinterlace("off", interlaced=True, **kw) is None
    assert resolve_deinterlace("auto", interlaced=True, kind="images", label="f_%03d.png") is None
    with pytest.raises(UsageError, match="--deinterlace on: 'f_%03d.png' is an image sequence"):
        resolve_deinterlace("on", interlaced=False, kind="images", label="f_%03d.png")
    with pytest.raises(UsageError, match="--deinterlace 'yes': choose one of auto, on, off"):
        resolve_deinterlace("yes", interlaced=False, **kw)


def test_the_tool_deinterlaces_by_default_and_keeps_streams_and_timing(interlaced_clip, progressive_reference,
                                                                      tmp_path):
    outs = {}
    for mode in ("auto", "off"):
        out = tmp_path / f"{mode}.mkv"
        report = run(RunOptions(input=str(interlaced_clip), output=str(out), deinterlace=mode, progress="none",
                                exposure_from="none", user_args=["-c:v", "ffv1"]), restorer=NearestRestorer(2))
        outs[mode] = (out, report)
    auto, off = outs["auto"][1], outs["off"][1]
    assert auto.deinterlace == "interlaced" and not any("interlaced" in w for w in auto.warnings)
    assert off.deinterlace is None and any("--deinterlace off keeps its fields woven" in w for w in off.warnings)
    frames, times, first = video_frames(outs["auto"][0])
    _, src_times, _ = video_frames(interlaced_clip)
    assert len(frames) == 12 and times == pytest.approx(src_times, abs=1e-3)
    assert not first.interlaced_frame                                          # the output is progressive
    summary = stream_summary(outs["auto"][0])
    assert summary["audio"] and summary["subtitles"] and len(summary["chapters"]) == 2
    off_frames, _, _ = video_frames(outs["off"][0])
    ref = progressive_reference
    clean = np.mean([psnr(f[::2, ::2], ref[2 * i]) for i, f in enumerate(frames)])
    woven = np.mean([psnr(f[::2, ::2], ref[2 * i]) for i, f in enumerate(off_frames)])
    assert clean > woven + 8.0, (woven, clean)


def test_the_command_line_option(interlaced_clip, tmp_path, capsys):
    out = tmp_path / "o.mkv"
    code = cli.main(["-i", str(interlaced_clip), "-o", str(out), "--preset", "tiny", "--weights", "random",
                     "--scale", "2", "--device", "cpu", "--deinterlace", "on", "--exposure-from", "none",
                     "--progress", "none", "-t", "0.2", "--report", str(tmp_path / "r.json")])
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["deinterlace"] == "all"
    assert cli.main(["-i", str(interlaced_clip), "-o", str(tmp_path / "x.mkv"), "--deinterlace", "maybe"]) == 2
