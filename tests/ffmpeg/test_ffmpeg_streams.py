"""fmanet-ffmpeg keeps everything but the blur: streams, tags, chapters, colour, HDR10, 10-bit, VFR timing, trims.

These tests drive the real command (``ffmpeg_filter.cli.main``), the real ffmpeg binary and PyAV; the restorer
is the pixel-repetition test double (see ffmpegfix.py) so that pixel values can be compared with the source.
The real engine runs in test_ffmpeg_engine.py.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from ffmpegfix import NearestRestorer, best_match, packet_digests, stream_summary, subtitle_cues, video_frames

from av.video.reformatter import Interpolation

from ffmpeg_filter import cli, pipeline
from ffmpeg_filter.colour import parse_content_light, parse_mastering_display
from ffmpeg_filter.decode import decode_range
from ffmpeg_filter.encode import encode_frames, mux_with_source
from ffmpeg_filter.probe import probe_source

FAST = ["--", "-preset", "ultrafast"]
LOSSLESS = ["--", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast"]


@pytest.fixture
def nearest(monkeypatch: pytest.MonkeyPatch) -> NearestRestorer:
    restorer = NearestRestorer(scale=2)
    monkeypatch.setattr(pipeline, "build_restorer", lambda settings: restorer)
    return restorer


def run_cli(*args: str) -> int:
    return cli.main(["--progress", "none", "--exposure-from", "none", *args])


def test_streams_tags_chapters_and_colour_are_preserved(sdr_clip: Path, tmp_path: Path, nearest: NearestRestorer):
    out = tmp_path / "out.mkv"
    assert run_cli("-i", str(sdr_clip), "-o", str(out), *FAST) == 0
    src, dst = stream_summary(sdr_clip), stream_summary(out)
    # audio: the same packets, bit for bit, at the same times
    assert packet_digests(out, "audio") == packet_digests(sdr_clip, "audio")
    assert dst["audio"] == src["audio"] == [{"codec": "aac", "language": "eng"}]
    # subtitles: same cues and language
    assert subtitle_cues(out) == subtitle_cues(sdr_clip) and len(subtitle_cues(out)) == 1
    assert dst["subtitles"] == src["subtitles"] and dst["subtitles"][0]["language"] == "fra"
    # chapters and container tags
    assert dst["chapters"] == src["chapters"] and [c[2] for c in dst["chapters"]] == ["First half", "Second half"]
    for key in ("title", "artist", "comment"):
        assert dst["format_tags"][key] == src["format_tags"][key]
    assert dst["video"]["tags"]["title"] == "test pattern"
    # colour tags (BT.709 = 1, limited range = 1), frame size and count
    for key in ("colorspace", "color_range", "color_primaries", "color_trc"):
        assert dst["video"][key] == src["video"][key] == 1, key
    assert (dst["video"]["width"], dst["video"]["height"]) == (128, 96)
    assert dst["video"]["pix_fmt"] == "yuv420p"
    assert nearest.frames_in == 24 and len(video_frames(out)[0]) == 24
    # nothing else left in the folder (temporary file renamed away)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]


@pytest.mark.parametrize("fixture", ["sdr_clip", "full_range_clip"])
def test_colours_survive_the_round_trip(fixture: str, request: pytest.FixtureRequest, tmp_path: Path,
                                        nearest: NearestRestorer):
    """Decode (YUV->RGB with the source's matrix and range) and encode (RGB->YUV) must agree. Lossless 4:4:4
    output plus pixel repetition: every 2x2 output block must give back the source pixel the engine saw."""
    clip = request.getfixturevalue(fixture)
    out = tmp_path / "out.mkv"
    assert run_cli("-i", str(clip), "-o", str(out), *LOSSLESS, "-pix_fmt", "yuv444p") == 0
    seen = [f.rgb for f in decode_range(probe_source(clip))]
    back = [f.rgb for f in decode_range(probe_source(out))]
    assert len(back) == len(seen)
    for a, b in zip(seen, back):
        small = b.reshape(a.shape[0], 2, a.shape[1], 2, 3).mean(axis=(1, 3))
        assert float(np.abs(small - a).mean()) < 0.75 / 255
        assert float(np.abs(small - a).max()) < 4.0 / 255
    # and the decoder used the file's own matrix and range: PyAV's tag-driven conversion (same interpolation)
    # gives the same pixels
    flags = (Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT)
    with av.open(str(clip)) as c:
        for a, f in zip(seen, c.decode(video=0)):
            ref = f.to_ndarray(format="rgb48le", interpolation=flags).astype(np.float32) / 65535
            assert float(np.abs(ref - a).max()) <= 1.0 / 65535
    _, _, src_first = video_frames(clip)
    _, _, out_first = video_frames(out)
    assert (out_first.colorspace, out_first.color_range) == (src_first.colorspace, src_first.color_range)


def test_hdr10_and_10bit_are_carried(hdr_clip: Path, tmp_path: Path, nearest: NearestRestorer):
    out = tmp_path / "hdr_out.mkv"
    assert run_cli("-i", str(hdr_clip), "-o", str(out), "--", "-preset", "ultrafast") == 0
    s = stream_summary(out)["video"]
    assert s["codec"] == "hevc" and s["pix_fmt"] == "yuv420p10le"  # 10-bit in, 10-bit out, x265 by default
    assert (s["colorspace"], s["color_primaries"], s["color_trc"], s["color_range"]) == (9, 9, 16, 1)
    from av.sidedata.sidedata import Type

    _, _, src_first = video_frames(hdr_clip)
    _, _, out_first = video_frames(out)
    side = out_first.side_data
    assert Type.MASTERING_DISPLAY_METADATA in set(side) and Type.CONTENT_LIGHT_LEVEL in set(side)
    assert parse_mastering_display(bytes(side[Type.MASTERING_DISPLAY_METADATA])) == \
        parse_mastering_display(bytes(src_first.side_data[Type.MASTERING_DISPLAY_METADATA]))
    assert parse_content_light(bytes(side[Type.CONTENT_LIGHT_LEVEL])) == (1000, 400)
    # 10-bit precision reaches the engine: the decoded input is not quantised to 8 bits
    frames = [f.rgb for f in decode_range(probe_source(hdr_clip), 0, 1)]
    levels = np.unique(np.round(frames[0] * 65535).astype(np.int64))
    assert np.any(levels % 257 != 0)


def test_vfr_timestamps_are_kept(vfr_clip: Path, tmp_path: Path, nearest: NearestRestorer):
    out = tmp_path / "vfr_out.mkv"
    assert run_cli("-i", str(vfr_clip), "-o", str(out), *FAST) == 0
    src_t = [t for t, _ in packet_digests(vfr_clip, "video")]
    out_t = [t for t, _ in packet_digests(out, "video")]
    assert len(out_t) == len(src_t) == 24
    assert np.allclose(sorted(out_t), sorted(src_t), atol=0.0011)
    gaps = np.diff(sorted(out_t))
    assert gaps.min() == pytest.approx(1 / 24, abs=0.0015) and gaps.max() == pytest.approx(2 / 24, abs=0.0015)
    assert packet_digests(out, "audio") == packet_digests(vfr_clip, "audio")


@pytest.mark.parametrize("trim", [("-ss", "0.5", "-to", "0.8"), ("-ss", "00:00:00.30", "-t", "0.5")])
def test_trimming_is_frame_accurate(trim: tuple[str, ...], sdr_clip: Path, tmp_path: Path,
                                    nearest: NearestRestorer):
    out = tmp_path / "cut.mkv"
    assert run_cli("-i", str(sdr_clip), "-o", str(out), *trim, *LOSSLESS, "-pix_fmt", "yuv444p") == 0
    start = float(trim[1].split(":")[-1])
    end = float(trim[3]) if trim[2] == "-to" else start + float(trim[3])
    info = probe_source(sdr_clip)
    wanted = [i for i, t in enumerate(info.times) if start - 1e-6 <= t < end - 1e-6]
    assert 5 <= len(wanted) < info.frame_count
    src_frames = [f.rgb for f in decode_range(info)]
    out_frames = [f.rgb for f in decode_range(probe_source(out))]
    assert len(out_frames) == len(wanted) == nearest.frames_in
    for k, frame in enumerate(out_frames):  # each output frame is the expected source frame, nearly exactly
        small = frame.reshape(48, 2, 64, 2, 3).mean(axis=(1, 3))
        assert best_match(small, src_frames) == wanted[k]
        assert float(np.abs(small - src_frames[wanted[k]]).mean()) < 0.75 / 255
    out_times = [t for t, _ in packet_digests(out, "video")]
    assert np.allclose(sorted(out_times), info.times[wanted] - start, atol=0.0011)
    # audio is cut to the same range (AAC packets are 1024 samples = 21.3 ms)
    audio = packet_digests(out, "audio")
    assert 0.0 <= audio[0][0] <= 0.022
    assert audio[-1][0] == pytest.approx(end - start, abs=0.045)
    src_audio = dict((d, t) for t, d in packet_digests(sdr_clip, "audio"))
    assert all(src_audio[d] == pytest.approx(t + start, abs=0.0011) for t, d in audio)  # same packets, shifted
    # chapters are shifted and clipped to the cut
    expected = [(round(max(c["start"], start) - start, 3), round(min(c["end"], end) - start, 3),
                 c["metadata"]["title"]) for c in info.chapters if c["end"] > start and c["start"] < end]
    got = stream_summary(out)["chapters"]
    assert [c[2] for c in got] == [c[2] for c in expected] and len(got) >= 1
    assert np.allclose([c[:2] for c in got], [c[:2] for c in expected], atol=0.0011)
    # the subtitle cue on screen at the cut is kept, moved to 0 and clipped to the cut's length
    assert subtitle_cues(out) == [(0.0, round(min(1.0, end) - start, 3), "Subtitle 1")]


def test_existing_output_needs_y(sdr_clip: Path, tmp_path: Path, nearest: NearestRestorer,
                                 capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "out.mkv"
    out.write_bytes(b"keep me")
    assert run_cli("-i", str(sdr_clip), "-o", str(out), *FAST) == 1
    assert "already exists; pass -y to overwrite" in capsys.readouterr().err
    assert run_cli("-i", str(sdr_clip), "-o", str(out), "-n", *FAST) == 1
    assert out.read_bytes() == b"keep me" and nearest.frames_in == 0
    assert run_cli("-i", str(sdr_clip), "-o", str(out), "-y", "-t", "0.2", *FAST) == 0
    assert len(video_frames(out)[0]) == 5


def test_rotation_and_attachments_are_kept(sdr_clip: Path, tmp_path: Path, ffmpeg_exe: str,
                                           nearest: NearestRestorer):
    """A phone-style display rotation (not applied to the pixels) and an MKV attachment (e.g. a subtitle font)."""
    import subprocess

    font = tmp_path / "font.txt"
    font.write_text("pretend this is a font\n")
    src = tmp_path / "rotated.mkv"
    subprocess.run([ffmpeg_exe, "-v", "error", "-display_rotation", "90", "-i", str(sdr_clip), "-map", "0",
                    "-c", "copy", "-attach", str(font), "-metadata:s:t", "mimetype=text/plain", str(src)],
                   check=True)
    assert probe_source(src).rotation == 90.0
    out = tmp_path / "out.mkv"
    assert run_cli("-i", str(src), "-o", str(out), *FAST) == 0
    info = probe_source(out)
    assert info.rotation == 90.0 and (info.width, info.height) == (128, 96)  # tagged, not rotated
    with av.open(str(out)) as c:
        (att,) = c.streams.attachments
        assert att.name == "font.txt" and att.mimetype == "text/plain"
        assert bytes(att.data) == font.read_bytes()


def test_dry_run_prints_the_command_and_writes_nothing(sdr_clip: Path, tmp_path: Path, nearest: NearestRestorer,
                                                       capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "out.mp4"
    assert run_cli("-i", str(sdr_clip), "-o", str(out), "--dry-run", "--", "-c:v", "libx265", "-crf", "20") == 0
    printed = capsys.readouterr().out.strip()
    assert printed.endswith(str(out)) and "-f nut -i pipe:0" in printed
    for part in ("-map '1:a?'", "-c:s:0 mov_text", "-colorspace bt709", "-color_primaries bt709",
                 "-map_chapters 1", "-c:v libx265 -crf 20", "-tag:v hvc1", "-fps_mode passthrough"):
        assert part in printed, part
    assert not out.exists() and list(tmp_path.iterdir()) == [] and nearest.frames_in == 0


def test_mp4_output_converts_subtitles_to_mov_text(sdr_clip: Path, tmp_path: Path, nearest: NearestRestorer):
    out = tmp_path / "out.mp4"
    assert run_cli("-i", str(sdr_clip), "-o", str(out), *FAST) == 0
    s = stream_summary(out)
    assert s["subtitles"] == [{"codec": "mov_text", "language": "fra"}]
    assert [c[2] for c in subtitle_cues(out)] == [c[2] for c in subtitle_cues(sdr_clip)]
    # mp4 stores audio in a sample-based time base: same payloads, times equal within a millisecond
    a, b = packet_digests(out, "audio"), packet_digests(sdr_clip, "audio")
    assert [d for _, d in a] == [d for _, d in b]
    assert np.allclose([t for t, _ in a], [t for t, _ in b], atol=0.0011)


def test_stdout_output_streams_nut(sdr_clip: Path, tmp_path: Path, nearest: NearestRestorer,
                                   monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "stdout.nut"
    with open(target, "wb") as raw:
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw))
        code = run_cli("-i", str(sdr_clip), "-o", "-", "-t", "0.25", "--", "-f", "nut", "-c:v", "ffv1")
        sys.stdout.flush()
    assert code == 0
    with av.open(str(target)) as c:
        assert c.format.name == "nut"
        assert sum(1 for _ in c.decode(video=0)) == 6


def test_encode_frames_and_mux_with_source_for_chunks(sdr_clip: Path, tmp_path: Path, ffmpeg_exe: str):
    """The reusable pieces farm chunks use: decode_range -> encode_frames (video only) -> mux_with_source."""
    info = probe_source(sdr_clip)
    chunk = tmp_path / "chunk.mkv"
    frames = ((f.rgb, f.pts) for f in decode_range(info, 0, info.frame_count))
    argv = [ffmpeg_exe, "-v", "error", "-y", *info.colour.pipe_input_args(), "-f", "nut", "-i", "pipe:0",
            "-c:v", "ffv1", "-fps_mode", "passthrough", *info.colour.output_args(), str(chunk)]
    n = encode_frames(frames, argv, width=info.width, height=info.height, time_base=info.time_base,
                      frame_rate=info.frame_rate)
    assert n == 24
    final = tmp_path / "final.mkv"
    mux_with_source(chunk, sdr_clip, final, ffmpeg=ffmpeg_exe, video_tags=info.video_metadata)
    assert packet_digests(final, "audio") == packet_digests(sdr_clip, "audio")
    assert [t for t, _ in packet_digests(final, "video")] == [t for t, _ in packet_digests(sdr_clip, "video")]
    assert stream_summary(final)["chapters"] == stream_summary(sdr_clip)["chapters"]
    # ffv1 is lossless: the file holds exactly the RGB frames that were sent (16-bit GBR planes)
    sent = [f.rgb for f in decode_range(info)]
    got = [f.rgb for f in decode_range(probe_source(final))]
    assert max(float(np.abs(x - y).max()) for x, y in zip(sent, got)) <= 1.0 / 65535


def test_decode_range_matches_full_decode(hdr_clip: Path):
    info = probe_source(hdr_clip)
    full = list(decode_range(info))
    part = list(decode_range(info, 5, 9))
    assert [f.index for f in part] == [5, 6, 7, 8]
    for f in part:
        assert np.array_equal(f.rgb, full[f.index].rgb) and f.pts == full[f.index].pts
