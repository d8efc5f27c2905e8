"""DJI SRT: every dialect, as a sidecar (BOM, CRLF, counters not starting at 1, 1 Hz legacy files) and muxed
into MP4 (mov_text) and MKV (subrip) by the ffmpeg binary; corrupt and truncated variants."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureInputError, probe_exposure
from vs_fmanet.exposure.srt import parse_dji_shutter

N = 30  # frames at 30 fps


def _cue_times(n: int = N) -> list[tuple[int, int]]:
    """DJI-style cue times: durations alternate 33/34 ms (33.33 ms frames rounded to ms)."""
    edges = [round(i * 1000 / 30) for i in range(n + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _per_frame_srt(path: Path, dialect: str, first_counter: int, n: int = N, skip: set[int] = frozenset(),
                   shutter=lambda i: f"1/{100 + i}.0") -> Path:
    cues = [(s, e, fx.dji_cue(dialect, first_counter + i, shutter(i), s))
            for i, (s, e) in enumerate(_cue_times(n)) if i not in skip]
    return fx.write_srt(path, cues)


@pytest.mark.parametrize("text, expected, dialect", [
    ("[iso: 220] [shutter: 1/8000.0] [fnum: 3.2]", Fraction(1, 8000), "bracket"),
    ("[iso : 100] [shutter : 1/80.0] [fnum : 280]", Fraction(1, 80), "bracket"),
    ("[ SHUTTER:1/50 ]", Fraction(1, 50), "bracket"),
    ("ISO:100 Shutter:60 EV: Fnum:2.2", Fraction(1, 60), "shutter"),
    ("ISO:100 TV:60 EV:0", Fraction(1, 60), "tv"),
    ("F/5.6, SS 400, ISO 100, EV 0, GPS (8.6, 46.2, 12)", Fraction(1, 400), "ss"),
    ("F/2.8, SS 30.15, ISO 100, EV 0", Fraction(100, 3015), "ss"),
    ("HOME(8.6,46.2) GPS(8.6,46.2,12) BAROMETER:1.2", None, None),
])
def test_cue_dialects(text, expected, dialect):
    assert parse_dji_shutter(text) == (expected, dialect)


def test_unreadable_shutter_field_raises_value_error():
    with pytest.raises(ValueError):
        parse_dji_shutter("[shutter: fast]")


@pytest.mark.parametrize("dialect, first_counter", [("mavic3", 218), ("air2", 1)])
def test_per_frame_sidecar_with_bom_crlf_and_counters(tmp_path, dialect, first_counter):
    video = fx.write_video(tmp_path / "DJI_0001.MP4", N, 30)
    srt = _per_frame_srt(tmp_path / "DJI_0001.SRT", dialect, first_counter)
    assert srt.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in srt.read_bytes()
    track = probe_exposure(video)  # the sibling .SRT is found automatically
    assert np.array_equal(track.seconds, [1 / (100 + i) for i in range(N)])
    assert track.source == ["srt"] * N
    assert track.granularity == ["frame"] * N
    assert track.detail["srt"] == "DJI_0001.SRT"
    explicit = probe_exposure(video, sidecar=srt)
    assert np.array_equal(explicit.seconds, track.seconds)


@pytest.mark.parametrize("dialect, values, expected", [
    ("phantom", ["60", "120", "250"], [1 / 60, 1 / 120, 1 / 250]),
    ("tv", ["50", "100", "200"], [1 / 50, 1 / 100, 1 / 200]),
    ("p4p", ["400", "30.15", "1000"], [1 / 400, 100 / 3015, 1 / 1000]),
])
def test_one_hertz_legacy_files_are_held_per_second(tmp_path, dialect, values, expected):
    video = fx.write_video(tmp_path / "old.mp4", 30, 10)  # 3 s at 10 fps
    cues = [(k * 1000, (k + 1) * 1000, fx.dji_cue(dialect, k + 1, v, 0)) for k, v in enumerate(values)]
    srt = fx.write_srt(tmp_path / "old.srt", cues, bom=False)
    track = probe_exposure(video, sidecar=srt)
    assert np.array_equal(track.seconds, np.repeat(expected, 10))
    assert track.granularity == ["held"] * 30
    assert track.source == ["srt"] * 30


@pytest.mark.parametrize("container, codec", [("mp4", "mov_text"), ("mkv", "srt")])
def test_embedded_subtitle_track(tmp_path, container, codec):
    base = fx.write_video(tmp_path / "base.mp4", N, 30)
    srt = _per_frame_srt(tmp_path / "cues.srt", "mavic3", 1)
    muxed = fx.mux_subtitle(base, srt, tmp_path / f"DJI_0002.{container}", codec)
    track = probe_exposure(muxed)
    assert np.array_equal(track.seconds, [1 / (100 + i) for i in range(N)])
    assert track.source == ["srt"] * N
    # Matroska stores times on a 1 ms clock (0, 33, 67, ... 967 ms): the mean interval is 1/30 s within 0.1 %
    assert np.allclose(track.fraction, np.array([1 / (100 + i) for i in range(N)]) * 30,
                       rtol=1e-6 if container == "mp4" else 1e-3)


def test_missing_cue_is_interpolated_and_flagged(tmp_path):
    video = fx.write_video(tmp_path / "gap.mp4", N, 30)
    srt = _per_frame_srt(tmp_path / "gap.SRT", "mavic3", 1, skip={10})
    track = probe_exposure(video, sidecar=srt)
    assert track.granularity[10] == "interpolated"
    assert track.seconds[10] == pytest.approx((1 / 109 + 1 / 111) / 2, rel=1e-3)
    assert track.seconds[9] == 1 / 109 and track.seconds[11] == 1 / 111
    assert any("interpolated" in w and "frame 10" in w for w in track.warnings)


def test_unreadable_cue_is_reported_by_time(tmp_path):
    video = fx.write_video(tmp_path / "bad.mp4", N, 30)
    srt = _per_frame_srt(tmp_path / "bad.SRT", "mavic3", 1,
                         shutter=lambda i: "1/x0.0" if i == 5 else f"1/{100 + i}.0")
    track = probe_exposure(video, sidecar=srt)
    assert any("t=0.167 s" in w and "unreadable shutter" in w for w in track.warnings)
    assert track.granularity[5] == "interpolated"
    assert track.source[:5] == ["srt"] * 5


def test_truncated_srt_leaves_later_frames_unknown(tmp_path):
    video = fx.write_video(tmp_path / "cut.mp4", N, 30)
    srt = _per_frame_srt(tmp_path / "cut.SRT", "air2", 1)
    data = srt.read_bytes()
    srt.write_bytes(data[: len(data) // 2])
    track = probe_exposure(video, sidecar=srt)
    known = [i for i, s in enumerate(track.source) if s == "srt"]
    assert 10 <= len(known) < N and known == list(range(len(known)))
    assert np.array_equal(track.seconds[known], [1 / (100 + i) for i in known])
    assert any("no value" in w and "srt" in w for w in track.warnings)


def test_garbage_srt_sidecar_is_a_clear_error(tmp_path):
    video = fx.write_video(tmp_path / "v.mp4", 5, 30)
    garbage = tmp_path / "v_garbage.SRT"
    garbage.write_bytes(bytes(range(256)) * 2)
    with pytest.raises(ExposureInputError, match="holds no SRT cues"):
        probe_exposure(video, sidecar=garbage)


def test_subtitles_without_shutter_are_ignored(tmp_path):
    base = fx.write_video(tmp_path / "base.mp4", 10, 30)
    srt = fx.write_srt(tmp_path / "movie.srt", [(0, 300, "Hello there"), (300, 600, "General Kenobi")])
    muxed = fx.mux_subtitle(base, srt, tmp_path / "movie.mkv", "srt")
    track = probe_exposure(muxed)
    assert track.source == ["none"] * 10


def test_cues_that_start_late_stay_on_their_times(tmp_path):
    """Cue times are on the video's own timeline: 30 cues that start 0.5 s late belong to frames 15.. (they used
    to be mapped index by index onto frames 0..29, every value on the wrong frame and no warning)."""
    video = fx.write_video(tmp_path / "late.mp4", N, 30)
    cues = [(s + 500, e + 500, fx.dji_cue("mavic3", i, f"1/{100 + i}.0", s)) for i, (s, e) in enumerate(_cue_times())]
    track = probe_exposure(video, sidecar=fx.write_srt(tmp_path / "late.SRT", cues))
    assert track.source == ["none"] * 15 + ["srt"] * 15
    assert np.allclose(track.seconds[15:], [1 / (100 + i) for i in range(15)])
    assert any("15 frame(s) have no value" in w for w in track.warnings)
