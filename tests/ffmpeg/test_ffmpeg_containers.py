"""Outputs whose container decides more than the extension suggests: one image file, GIF, WebM with AAC audio,
AVI (no timestamps), odd sizes in a 4:2:0 source, and PyAV's two ways of listing a frame's side data.

Each case failed before (found by driving the command as a user would): H.264 written into ``photo.png`` with
exit 0, "gif muxer supports only codec gif", "Only ... Vorbis or Opus audio ... supported for WebM", a 600 fps AVI,
libx264's "width not divisible by 2" at scale 1, and rotation and HDR10 metadata silently lost with PyAV 18.
The restorer is the pixel-repetition test double, so only the container handling is under test.
"""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
from ffmpegfix import NearestRestorer, stream_summary
from PIL import Image

from ffmpeg_filter import cli, live, pipeline
from ffmpeg_filter.colour import side_data_of


def run_cli(*args: str) -> int:
    return cli.main(["--progress", "none", "--exposure-from", "none", *args])


@pytest.fixture
def nearest(monkeypatch: pytest.MonkeyPatch) -> NearestRestorer:
    restorer = NearestRestorer(scale=2)
    monkeypatch.setattr(pipeline, "build_restorer", lambda settings: restorer)
    return restorer


def decoded(path: Path) -> tuple[list[np.ndarray], Fraction | None, str, str]:
    """RGB frames, average frame rate, codec and pixel format of the first video stream."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        rate, codec, pix_fmt = v.average_rate, v.codec_context.name, v.codec_context.pix_fmt
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return frames, (Fraction(rate.numerator, rate.denominator) if rate else None), codec, pix_fmt


def test_one_image_file_in_gives_one_image_file_out(tmp_path: Path, nearest: NearestRestorer, ffmpeg_exe: str):
    still = tmp_path / "photo.png"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=24x16:r=1", "-frames:v", "1",
                    str(still)], check=True)
    out = tmp_path / "photo_x2.png"
    assert run_cli("-i", str(still), "-o", str(out)) == 0
    with Image.open(out) as im:
        assert (im.format, im.size) == ("PNG", (48, 32))
        restored = np.asarray(im.convert("RGB"))
    with Image.open(still) as im:
        source = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(restored, np.repeat(np.repeat(source, 2, axis=0), 2, axis=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "photo_x2.png"]   # no temporary left


def test_a_video_into_one_image_name_is_refused_unless_one_frame_is_cut(sdr_clip: Path, tmp_path: Path,
                                                                       nearest: NearestRestorer,
                                                                       capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "frame.png"
    assert run_cli("-i", str(sdr_clip), "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert "names one image, but 24 frames would be restored" in err and "frame_%04d.png" in err
    assert not out.exists() and nearest.frames_in == 0
    jpg = tmp_path / "frame.jpg"
    assert run_cli("-i", str(sdr_clip), "-o", str(jpg), "-ss", "0.5", "-t", "0.04") == 0
    with Image.open(jpg) as im:
        assert (im.format, im.size) == ("JPEG", (128, 96))
    assert nearest.frames_in == 1


def test_gif_output_gets_the_gif_encoder_and_drops_the_other_streams(sdr_clip: Path, tmp_path: Path,
                                                                      nearest: NearestRestorer):
    out = tmp_path / "clip.gif"
    assert run_cli("-i", str(sdr_clip), "-o", str(out), "-t", "0.3") == 0
    frames, _, codec, _ = decoded(out)
    assert codec == "gif" and len(frames) == 8 and frames[0].shape == (96, 128, 3)
    src, _, _, _ = decoded(sdr_clip)
    # the palette is made from the clip itself: mean error 7.2 code values here, against 13.1 with ffmpeg's fixed
    # palette (measured with -- -vf null)
    reference = np.repeat(np.repeat(src[3], 2, axis=0), 2, axis=1).astype(np.float64)
    assert np.abs(frames[3].astype(np.float64) - reference).mean() < 9.0


def test_webm_output_encodes_aac_audio_as_opus(sdr_clip: Path, tmp_path: Path, nearest: NearestRestorer,
                                               capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "clip.webm"
    assert run_cli("-i", str(sdr_clip), "-o", str(out), "-t", "0.3", "--", "-deadline", "realtime") == 0
    s = stream_summary(out)
    assert s["video"]["codec"] == "vp9" and [a["codec"] for a in s["audio"]] == ["opus"]
    assert "audio (aac) cannot be copied into WebM; encoding it as Opus" in capsys.readouterr().err
    explicit = tmp_path / "vorbis.webm"
    assert run_cli("-i", str(sdr_clip), "-o", str(explicit), "-t", "0.3", "--audio-codec", "libvorbis",
                   "--", "-deadline", "realtime") == 0
    assert [a["codec"] for a in stream_summary(explicit)["audio"]] == ["vorbis"]


def test_avi_output_keeps_the_frame_rate(sdr_clip: Path, tmp_path: Path, nearest: NearestRestorer):
    out = tmp_path / "clip.avi"
    assert run_cli("-i", str(sdr_clip), "-o", str(out), "--", "-preset", "ultrafast") == 0
    frames, rate, codec, _ = decoded(out)
    assert (codec, len(frames), rate) == ("h264", 24, Fraction(24000, 1001))


def test_odd_sizes_from_a_420_source_are_written_as_444(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        ffmpeg_exe: str, capsys: pytest.CaptureFixture[str]):
    """Scale 1 keeps a 33x17 picture, which 4:2:0 cannot hold: the closest format that can (4:4:4) is chosen, in
    file mode and in live mode."""
    src = tmp_path / "odd.mkv"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-frames:v", "4",
                    "-vf", "scale=33:17", "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(src)], check=True)
    monkeypatch.setattr(pipeline, "build_restorer", lambda settings: NearestRestorer(scale=1))
    monkeypatch.setattr(live, "build_restorer", lambda settings: NearestRestorer(scale=1))
    for mode in ([], ["--live"]):
        out = tmp_path / f"odd_x1{''.join(mode)}.mkv"
        assert run_cli(*mode, "-i", str(src), "-o", str(out), "--", "-preset", "ultrafast") == 0
        frames, _, _, pix_fmt = decoded(out)
        assert (len(frames), frames[0].shape, pix_fmt) == (4, (17, 33, 3), "yuv444p"), mode
        assert "the 33x17 output cannot be stored with the source's chroma subsampling (yuv420p)" in \
            capsys.readouterr().err


def test_side_data_is_read_with_either_pyav_iteration_style():
    """PyAV 19 iterates frame.side_data over types (container[type] is the entry); PyAV 14-18 over the entries,
    each with .type. Both must give {type: bytes}: with the second, rotation and HDR10 used to be lost."""
    from av.sidedata.sidedata import Type

    payload = {Type.DISPLAYMATRIX: b"\x00\x01", Type.CONTENT_LIGHT_LEVEL: b"\x03\xe8\x01\x90"}

    class Entry(bytes):
        type: Type

    class NewStyle(dict):                  # iterates over keys, like PyAV >= 19
        pass

    old_entries = []
    for key, data in payload.items():
        entry = Entry(data)
        entry.type = key
        old_entries.append(entry)
    for container in (NewStyle(payload), old_entries):
        assert side_data_of(SimpleNamespace(side_data=container)) == payload


def test_sigterm_is_reported_as_143():
    from ffmpeg_filter.errors import EXIT_TERMINATED, Terminated

    assert getattr(Terminated(), "exit_code") == EXIT_TERMINATED == 143


def test_an_avi_with_b_frames_decodes_in_display_order(tmp_path: Path, nearest: NearestRestorer, ffmpeg_exe: str):
    """AVI stores no presentation times: its packet "pts" count in decode order, so H.264 with B-frames decodes
    into frames whose pts are out of order, and the tool used to stop with "frame 1 could not be decoded". Frames
    are now numbered by output order (ranges decode from the start): the same pictures, in the same order, as the
    source the AVI was made from."""
    from ffmpeg_filter.decode import decode_range
    from ffmpeg_filter.probe import probe_source

    src = tmp_path / "src.mkv"
    # every frame differs (luma shifted by 9 code values per frame), and x264 uses B-frames on it at this size
    moving = "testsrc2=s=128x96:r=25,geq=lum='mod(p(X\\,Y)+N*9\\,256)':cb='cb(X\\,Y)':cr='cr(X\\,Y)'"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", moving, "-frames:v", "12", "-c:v", "ffv1",
                    str(src)], check=True)
    avi = tmp_path / "camera.avi"
    subprocess.run([ffmpeg_exe, "-v", "error", "-i", str(src), "-c:v", "libx264", "-crf", "18", str(avi)], check=True)
    with av.open(str(avi)) as c:
        assert [f.pts for f in c.decode(video=0)] != sorted(range(1, 13))   # the reordered "pts" this is about
    info = probe_source(avi)
    assert info.decode_order_pts
    ref = [f.rgb.astype(np.float64) for f in decode_range(probe_source(src), 0, 12)]
    got = [f.rgb.astype(np.float64) for f in decode_range(info, 0, 12)]
    assert [int(np.argmin([np.abs(g - r).mean() for r in ref])) for g in got] == list(range(12))
    part = [f.rgb for f in decode_range(info, 5, 9)]
    assert all(np.array_equal(a, b.astype(np.float32)) for a, b in zip(part, got[5:9]))
    out = tmp_path / "restored.mkv"
    assert run_cli("-i", str(avi), "-o", str(out), "--", "-preset", "ultrafast") == 0
    assert len(decoded(out)[0]) == 12


def test_one_still_keeps_its_exif(tmp_path: Path, nearest: NearestRestorer):
    """A single photo restored to a single photo keeps its camera metadata, as image sequences do."""
    still = tmp_path / "IMG_0001.jpg"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"                      # Make
    Image.fromarray(np.full((16, 24, 3), 128, np.uint8)).save(still, exif=exif, quality=95)
    out = tmp_path / "IMG_0001_x2.jpg"
    assert run_cli("-i", str(still), "-o", str(out)) == 0
    with Image.open(out) as im:
        assert im.size == (48, 32) and im.getexif().get(0x010F) == "TestCam"


def _dispositions(path: Path) -> list[tuple[str, int]]:
    with av.open(str(path)) as c:
        return [(s.type, int(s.disposition)) for s in c.streams if s.type in ("video", "subtitle")]


def test_a_trim_keeps_subtitle_flags_and_the_video_stays_default(tmp_path: Path, nearest: NearestRestorer,
                                                                 ffmpeg_exe: str, capsys: pytest.CaptureFixture[str]):
    """Cut subtitles are re-read from a new input: 'forced' and 'default' were lost and ffmpeg made the first
    subtitle the default; the piped video lost its own default flag in Matroska. A telemetry data stream is now
    named in a warning instead of vanishing at the info level."""
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,900\nhello\n")
    src = tmp_path / "flags.mkv"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=32x24:r=10", "-i", str(srt),
                    "-i", str(srt), "-frames:v", "12", "-map", "0:v", "-map", "1:s", "-map", "2:s", "-c:v", "ffv1",
                    "-c:s", "srt", "-disposition:v:0", "default", "-disposition:s:0", "0",
                    "-disposition:s:1", "default+forced", str(src)], check=True)
    flags = _dispositions(src)
    assert flags[0][1] & 1 and flags[1][1] == 0 and flags[2][1] & 0x40
    for extra in ([], ["-ss", "0.3", "-t", "0.5"]):
        out = tmp_path / f"out{len(extra)}.mkv"
        assert run_cli("-i", str(src), "-o", str(out), *extra) == 0
        assert _dispositions(out) == flags, extra
    # a cut with no cue in it: the empty SRT file used to make ffmpeg, and so the whole run, fail
    capsys.readouterr()
    assert run_cli("-i", str(src), "-o", str(tmp_path / "late.mkv"), "-ss", "1.0") == 0
    assert _dispositions(tmp_path / "late.mkv") == flags[:1]
    assert "has no cue inside the cut; left out" in capsys.readouterr().err
    # --dry-run of a cut names files that exist only during a run: it says so instead of printing a dead command
    assert run_cli("-i", str(src), "-o", str(tmp_path / "dry.mkv"), "-ss", "0.3", "--dry-run") == 0
    assert "they are removed now, so run the command through fmanet-ffmpeg" in capsys.readouterr().err

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exposure"))
    import expofix                    # writes GoPro-style GPMF data tracks ('GoPro MET' handler)

    gpmd = expofix.write_video(tmp_path / "telemetry.mp4", 4, 25,
                               data_tracks=[[(0, 160, expofix.gpmf_payload([0.01] * 4))]])
    capsys.readouterr()
    assert run_cli("-i", str(gpmd), "-o", str(tmp_path / "t.mp4")) == 0
    assert "'GoPro MET' (telemetry) are not copied" in capsys.readouterr().err
