"""Small pieces of fmanet-ffmpeg checked directly: time parsing, pixel-format choice, HDR10 metadata encoding,
option merging, trims, atomic commits, progress lines, trimmed subtitles and the sample clip."""

from __future__ import annotations

import io
import json
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from ffmpegfix import stream_summary, subtitle_cues

from ffmpeg_filter import atomic
from ffmpeg_filter.binary import encoder_pixel_formats, find_ffmpeg
from ffmpeg_filter.colour import (HdrStaticMetadata, merge_codec_params, parse_content_light,
                                  parse_mastering_display, pick_pixel_format)
from ffmpeg_filter.command import StreamPolicy, Trim, build_encode_command, enc_pairs_to_args
from ffmpeg_filter.errors import OutputError, UsageError
from ffmpeg_filter.pipeline import compute_trim
from ffmpeg_filter.probe import probe_source
from ffmpeg_filter.progress import Progress
from ffmpeg_filter.sample import make_sample_clip
from ffmpeg_filter.subtitles import write_trimmed_subtitles
from ffmpeg_filter.timespec import parse_time


@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("1.5", 1.5), ("01:30", 90.0), ("0:01:30.5", 90.5),
                                           ("250ms", 0.25), ("1:00:00", 3600.0), (".5", 0.5)])
def test_parse_time(text: str, seconds: float):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["abc", "1:61", "", "1:2:3:4", "5 s"])
def test_parse_time_rejects(text: str):
    with pytest.raises(ValueError, match="-ss"):
        parse_time(text, option="-ss")


def test_pixel_format_follows_the_source(ffmpeg_exe: str):
    x264, x265 = encoder_pixel_formats(ffmpeg_exe, "libx264"), encoder_pixel_formats(ffmpeg_exe, "libx265")
    assert pick_pixel_format("yuv420p", x264) == "yuv420p"
    assert pick_pixel_format("yuv420p10le", x264) == "yuv420p10le"  # 10-bit in, 10-bit out
    assert pick_pixel_format("yuv422p10le", x265) == "yuv422p10le"
    assert pick_pixel_format("yuv420p12le", x264) == "yuv420p10le"  # best the encoder can do
    assert pick_pixel_format("yuvj420p", x264) == "yuv420p"  # full range is a tag, not a layout
    assert pick_pixel_format("rgb48le", encoder_pixel_formats(ffmpeg_exe, "png")) == "rgb48be"
    assert pick_pixel_format("yuv420p", None) is None
    assert encoder_pixel_formats(ffmpeg_exe, "no_such_encoder") is None


def test_hdr10_structs_and_encoder_params():
    # AVMasteringDisplayMetadata: R, G, B primaries, white point, min, max luminance (AVRationals) + 2 flags
    rationals = [(34000, 50000), (16000, 50000), (13250, 50000), (34500, 50000), (7500, 50000), (3000, 50000),
                 (15635, 50000), (16450, 50000), (1, 10000), (1000, 1)]
    blob = b"".join(struct.pack("<ii", n, d) for n, d in rationals) + struct.pack("<ii", 1, 1)
    prim, white, lo, hi = parse_mastering_display(blob)
    assert prim[1] == (Fraction(13250, 50000), Fraction(34500, 50000)) and hi == 1000
    hdr = HdrStaticMetadata(prim, white, lo, hi, *parse_content_light(struct.pack("<II", 1000, 400)))
    assert hdr.x265_params() == ["hdr10=1", "repeat-headers=1",
                                 "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)"
                                 "L(10000000,1)", "max-cll=1000,400"]
    assert hdr.svtav1_params()[1] == "content-light=1000,400"
    assert hdr.svtav1_params()[0].startswith("mastering-display=G(0.2650,0.6900)B(0.1500,0.0600)")
    with pytest.raises(ValueError, match="88 bytes"):
        parse_mastering_display(blob[:40])


def test_merge_codec_params_keeps_the_users_keys():
    ours = ["hdr10=1", "max-cll=1000,400"]
    assert merge_codec_params(["-crf", "18"], "-x265-params", ours) == ["-crf", "18", "-x265-params",
                                                                         "hdr10=1:max-cll=1000,400"]
    merged = merge_codec_params(["-x265-params", "aq-mode=3:max-cll=500,100"], "-x265-params", ours)
    assert merged == ["-x265-params", "aq-mode=3:max-cll=500,100:hdr10=1"]


def test_enc_pairs():
    assert enc_pairs_to_args(["crf=16", "x265-params=aq-mode=3", "an"]) == ["-crf", "16", "-x265-params",
                                                                          "aq-mode=3", "-an"]
    with pytest.raises(UsageError):
        enc_pairs_to_args(["=1"])


def test_compute_trim(sdr_clip: Path):
    info = probe_source(sdr_clip)  # 24 frames at 24000/1001
    assert compute_trim(info, None, None, None) is None
    t = compute_trim(info, 0.5, None, None)
    assert (t.start_frame, t.end_frame, t.duration_s) == (12, 24, None)
    t = compute_trim(info, None, 0.25, None)
    assert (t.start_frame, t.end_frame) == (0, 6)  # frame 6 starts at 0.2502 s: not before 0.25
    t = compute_trim(info, 0.2, None, 0.1)
    assert (t.start_frame, t.end_frame) == (5, 8) and t.duration_s == pytest.approx(0.1)
    for bad in ((0.5, 0.4, None), (-1.0, None, None), (0.0, None, 0.0), (5.0, None, None)):
        with pytest.raises(UsageError):
            compute_trim(info, *bad)


def test_container_rules_in_the_command(sdr_clip: Path, tmp_path: Path, ffmpeg_exe: str):
    info = probe_source(sdr_clip)
    webm = build_encode_command(info, ffmpeg=ffmpeg_exe, output_file=str(tmp_path / "o.webm"), out_width=256,
                                out_height=192, user_args=[], trim=None, policy=StreamPolicy())
    assert webm.video_codec == "libvpx-vp9" and "-c:s:0" in webm.argv and "webvtt" in webm.argv
    bare = build_encode_command(info, ffmpeg=ffmpeg_exe, output_file=str(tmp_path / "o.avi"), out_width=256,
                                out_height=192, user_args=[], trim=None,
                                policy=StreamPolicy(audio=False, subtitles=True, metadata=False))
    assert "1:a?" not in bare.argv and any("cannot be stored in avi" in w for w in bare.warnings)
    assert bare.argv[bare.argv.index("-map_metadata") + 1] == "-1"
    info.sample_aspect_ratio = Fraction(4, 3)  # anamorphic source: the display aspect is restated
    ana = build_encode_command(info, ffmpeg=ffmpeg_exe, output_file=str(tmp_path / "o.mkv"), out_width=256,
                               out_height=192, user_args=["-c:v", "libx265"], trim=None, policy=StreamPolicy())
    assert ana.argv[ana.argv.index("-aspect") + 1] == "16:9"
    assert ana.argv.count("-c:v") == 1 and ana.video_codec == "libx265"


def test_atomic_commit_never_clobbers(tmp_path: Path):
    out = tmp_path / "o.mkv"
    tmp = atomic.temp_path_for(out)
    assert tmp.name.startswith(".o.fmanet-") and tmp.name.endswith(".part.mkv")
    tmp.write_bytes(b"new")
    out.write_bytes(b"appeared meanwhile")
    with pytest.raises(OutputError, match="appeared while processing"):
        atomic.commit_file(tmp, out, overwrite=False)
    assert out.read_bytes() == b"appeared meanwhile" and tmp.exists()
    atomic.commit_file(tmp, out, overwrite=True)
    assert out.read_bytes() == b"new" and not tmp.exists()


def test_progress_json_lines():
    buf = io.StringIO()
    p = Progress(4, mode="json", interval=0.0, stream=buf)
    p.start(input="a")
    for k in range(1, 5):
        p.update(k, out_time_s=k / 24)
    p.close("done")
    events = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["start"] + ["progress"] * 4 + ["end"]
    assert events[-2]["percent"] == 100.0 and events[-1]["state"] == "done"
    assert Progress(4, mode="auto", stream=io.StringIO()).mode == "none"  # not a terminal


def test_trimmed_ass_subtitles_keep_styles(tmp_path: Path, ffmpeg_exe: str):
    """ASS cues crossing the cut are moved and clipped; the [V4+ Styles] header is kept."""
    import subprocess

    src = make_sample_clip(tmp_path / "src.mkv", frames=12, size=(32, 24), fps="12", audio=False, chapters=False,
                           tags=False, blur=False)
    ass = tmp_path / "ass.mkv"
    subprocess.run([ffmpeg_exe, "-v", "error", "-i", str(src), "-map", "0", "-c:v", "copy", "-c:s", "ass",
                    str(ass)], check=True)
    path = write_trimmed_subtitles(str(ass), 0, "ass", Trim(6, 12, 0.5, 0.25), 0.0, tmp_path)
    text = path.read_text()
    assert "[V4+ Styles]" in text and "Dialogue: 0,0:00:00.00,0:00:00.25,Default,,0,0,0,,Subtitle 1" in text
    assert write_trimmed_subtitles(str(ass), 0, "dvd_subtitle", Trim(6, 12, 0.5, None), 0.0, tmp_path) is None


def test_make_sample_clip_has_what_the_demo_needs(tmp_path: Path):
    clip = make_sample_clip(tmp_path / "demo.mp4", frames=12, size=(48, 32), audio=True, subtitles=True)
    s = stream_summary(clip)
    assert (s["video"]["width"], s["video"]["height"], s["video"]["codec"]) == (48, 32, "h264")
    assert s["audio"] == [{"codec": "aac", "language": "eng"}]
    assert s["subtitles"] == [{"codec": "mov_text", "language": "fra"}] and subtitle_cues(clip)
    assert len(s["chapters"]) == 2 and s["format_tags"]["title"] == "FMA-Net++ sample clip"
    with pytest.raises(OutputError, match="already exists"):
        make_sample_clip(clip)
    assert find_ffmpeg() == find_ffmpeg(None)
    assert np.isfinite(probe_source(clip).times).all()


def test_inspect_reports_what_was_preserved(sdr_clip: Path, tmp_path: Path, ffmpeg_exe: str, capsys):
    import subprocess

    from ffmpeg_filter.inspect import compare, main, media_summary

    same = compare(media_summary(sdr_clip), media_summary(sdr_clip))
    assert all(same.values()) and "audio_bit_exact" in same
    reencoded = tmp_path / "reencoded.mkv"
    subprocess.run([ffmpeg_exe, "-v", "error", "-i", str(sdr_clip), "-map", "0", "-c:v", "copy", "-c:s", "copy",
                    "-c:a", "aac", "-b:a", "32k", "-map_chapters", "-1", str(reencoded)], check=True)
    diff = compare(media_summary(sdr_clip), media_summary(reencoded))
    assert not diff["audio_bit_exact"] and not diff["chapters"] and diff["frame_timing"] and diff["colour_tags"]
    assert main([str(sdr_clip), str(reencoded)]) == 0
    assert json.loads(capsys.readouterr().out)["preserved"] == diff


def test_cli_runtime_restores_logger_levels_and_handlers() -> None:
    """Calling a tool from Python must not leave its handlers or its log level on the caller's loggers."""
    import logging

    from ffmpeg_filter.cli import main

    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    root.setLevel(logging.DEBUG)
    try:
        assert main(["-i", "/nonexistent/x.mkv", "-o", "/tmp/never.mkv"]) != 0
        assert root.level == logging.DEBUG and root.handlers == before[1]
    finally:
        root.setLevel(before[0])
