"""User sidecars (CSV/JSON, by frame index or by timestamp, seconds / 1/x / degrees) and their error messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureInputError, probe_exposure


def test_csv_by_frame_index_with_every_value_form(tmp_path):
    video = fx.write_video(tmp_path / "clip.mp4", 6, 25)
    csv = tmp_path / "clip.csv"
    csv.write_text("frame_index,exposure_s,source\n"
                   "0,1/100,meter\n"
                   "1,0.008,\n"
                   "2,180deg,\n"
                   "3,,\n"
                   "4,1/80.0,\n"
                   "5,90°,\n", encoding="utf-8")
    track = probe_exposure(video, sidecar=csv)
    expected = [0.01, 0.008, 0.02, np.nan, 0.0125, 0.01]
    assert np.array_equal(track.seconds, expected, equal_nan=True)
    assert track.source == ["sidecar"] * 3 + ["none"] + ["sidecar"] * 2
    assert np.allclose(track.fraction, np.array(expected) * 25, equal_nan=True)
    assert any("frame 3" in w and "sidecar" in w for w in track.warnings)


def test_csv_by_timestamp_and_shutter_angle_column(tmp_path):
    video = fx.write_video(tmp_path / "clip.mp4", 4, 25)
    csv = tmp_path / "times.csv"
    csv.write_text("pts_s,shutter_angle_deg,capture_fps\n0.00,180,25\n0.04,90,25\n0.08,45,25\n0.12,360,25\n")
    track = probe_exposure(video, sidecar=csv)
    assert np.allclose(track.seconds, [0.02, 0.01, 0.005, 0.04], rtol=1e-12)
    assert np.allclose(track.fraction, [0.5, 0.25, 0.125, 1.0], rtol=1e-12)


def test_json_frames_with_capture_rate_differing_from_playback(tmp_path):
    # 120 fps capture played at 30 fps: the fraction is relative to the 1/120 s capture interval
    video = fx.write_video(tmp_path / "slowmo.mp4", 3, 30)
    side = tmp_path / "slowmo.json"
    side.write_text(json.dumps({"version": 1, "capture_fps": "120", "frames": [
        {"i": 0, "exposure": "1/480"}, {"i": 1, "shutter_angle_deg": 180}, {"i": 2, "exposure": 0.004}]}))
    track = probe_exposure(video, sidecar=side)
    assert np.allclose(track.seconds, [1 / 480, 1 / 240, 0.004], rtol=1e-12)
    assert np.allclose(track.interval, 1 / 120)
    assert np.allclose(track.fraction, [0.25, 0.5, 0.48], rtol=1e-12)


def test_json_clip_level_and_automatic_discovery(tmp_path):
    video = fx.write_video(tmp_path / "cam.mp4", 5, 25)
    (tmp_path / "cam.exposure.json").write_text(json.dumps({"capture_fps": "25", "exposure": "1/200"}))
    track = probe_exposure(video)
    assert np.array_equal(track.seconds, [0.005] * 5)
    assert track.granularity == ["clip"] * 5 and track.source == ["sidecar"] * 5
    assert any("cam.exposure.json" in w for w in track.warnings)


def test_ntsc_angle_uses_capture_fps_exactly(tmp_path):
    video = fx.write_video(tmp_path / "c.mp4", 2, 24)
    side = tmp_path / "c.csv"
    side.write_text("frame,shutter_angle,capture_fps\n0,180,24000/1001\n1,172.8,24000/1001\n")
    track = probe_exposure(video, sidecar=side)
    assert track.seconds[0] == 1001 / 48000
    assert track.seconds[1] == pytest.approx(172.8 / 360 * 1001 / 24000, rel=1e-15)


@pytest.mark.parametrize("content, needle", [
    ("frame_index,iso\n0,100\n", "no exposure_s or shutter_angle_deg"),
    ("exposure_s\n1/100\n", "no frame_index or pts_s"),
    ("frame_index,exposure_s\n0,1/100\n1,fast\n", "line 3"),
    ("frame_index,exposure_s\n0,1/100\n0,1/200\n", "more than once"),
    ("frame_index,exposure_s\n-1,1/100\n", "whole frame number"),
    ("frame_index,shutter_angle_deg\n0,abc\n", "is not a number"),
    ("frame_index,exposure_s\n", "no rows"),
    ("frame_index,exposure_s\n0,1/100\n1,1/", "line 3"),  # file cut in the middle of a row
    ("", "is empty"),
    ("frame_index,exposure_s\n0,1e400\n", "out of range"),             # used to end in an OverflowError
    ("frame_index,exposure_s,capture_fps\n0,180deg,1e400\n", "out of range"),
])
def test_csv_errors_name_file_line_and_fix(tmp_path, content, needle):
    video = fx.write_video(tmp_path / "v.mp4", 2, 25)
    side = tmp_path / "bad.csv"
    side.write_text(content)
    with pytest.raises(ExposureInputError) as info:
        probe_exposure(video, sidecar=side)
    assert needle in str(info.value)
    assert "read_sidecar" in str(info.value)


@pytest.mark.parametrize("content, needle", [
    ("{not json", "not valid JSON"),
    ('{"frames": {"i": 0}}', "'frames' must be a list"),
    ('{"capture_fps": "fast", "frames": [{"i": 0, "exposure": "1/100"}]}', "capture_fps"),
    ('{"frames": [{"i": 0, "shutter_angle_deg": 180}]}', None),
    ('{"comment": "nothing"}', "neither 'frames' nor a clip-level 'exposure'"),
    ('[1, 2]', "must be an object"),
    ('{"exposure": null}', "has 'exposure': null; give the clip's value"),
    ('[]', "lists no frames"),
    ('{"frames": []}', "lists no frames"),
])
def test_json_errors(tmp_path, content, needle):
    video = fx.write_video(tmp_path / "v.mp4", 2, 25)
    side = tmp_path / "bad.json"
    side.write_text(content)
    if needle is None:  # angle without capture_fps falls back to the video's own 25 fps: valid
        assert probe_exposure(video, sidecar=side).seconds[0] == pytest.approx(0.02)
        return
    with pytest.raises(ExposureInputError, match="read_sidecar") as info:
        probe_exposure(video, sidecar=side)
    assert needle in str(info.value)


def test_sidecar_argument_errors(tmp_path):
    video = fx.write_video(tmp_path / "v.mp4", 2, 25)
    with pytest.raises(ExposureInputError, match="does not exist"):
        probe_exposure(video, sidecar=tmp_path / "missing.csv")
    other = tmp_path / "v.txt"
    other.write_text("frame_index,exposure_s\n0,1/100\n")
    with pytest.raises(ExposureInputError, match="sidecars are .csv or .json"):
        probe_exposure(video, sidecar=other)


def test_angle_in_image_sequence_sidecar_needs_fps(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    fx.write_exif_still(folder / "s_0001.png", None)
    (folder / "exposure.csv").write_text("frame_index,shutter_angle_deg\n0,180\n")
    with pytest.raises(ExposureInputError, match="needs a frame rate"):
        probe_exposure(folder)
    track = probe_exposure(folder, fps=50)
    assert track.seconds[0] == pytest.approx(0.01) and track.source == ["sidecar"]


def test_pts_rows_belong_to_their_own_frames(tmp_path):
    """A pts_s row is one frame's exposure. Rows offset by 0.2 s used to be mapped index by index (no warning); a
    row used to be stretched over later frames and past the end of the sidecar, and an exact row labelled held."""
    video = fx.write_video(tmp_path / "clip.mp4", 10, 25)
    late = tmp_path / "late.csv"
    late.write_text("pts_s,exposure_s\n" + "".join(f"{0.2 + 0.04 * i:.2f},1/{100 + i}\n" for i in range(10)))
    track = probe_exposure(video, sidecar=late)
    assert track.source == ["none"] * 5 + ["sidecar"] * 5
    assert np.allclose(track.seconds[5:], [1 / (100 + i) for i in range(5)])

    sparse = tmp_path / "sparse.csv"
    sparse.write_text("pts_s,exposure_s\n0,1/100\n0.04,1/100\n0.08,1/100\n0.16,1/50\n0.2,1/50\n")
    track = probe_exposure(video, sidecar=sparse)
    assert track.granularity[:6] == ["frame", "frame", "frame", "interpolated", "frame", "frame"]
    assert track.seconds[3] == pytest.approx((1 / 100 + 1 / 50) / 2)
    assert track.source[6:] == ["none"] * 4                       # after the last row: nothing is invented
    text = "\n".join(track.warnings)
    assert "1 frame(s) fall in short gaps" in text and "4 frame(s) have no value" in text


def test_exposures_below_a_microsecond_are_rejected_per_frame(tmp_path):
    """A denormal or a value in the wrong unit (1.4e-45 s from a corrupt float) used to reach the model as a
    fraction of 3.5e-44."""
    video = fx.write_video(tmp_path / "v.mp4", 3, 25)
    side = tmp_path / "v.csv"
    side.write_text("frame_index,exposure_s\n0,1/100\n1,1e-9\n2,1/8000\n")
    track = probe_exposure(video, sidecar=side)
    assert track.source == ["sidecar", "none", "sidecar"]
    assert any("shorter than 1 microsecond" in w and "frame 1" in w for w in track.warnings)


def test_sidecars_next_to_the_input_are_found_in_any_letter_case(tmp_path):
    """Cameras and card readers write upper-case names: CLIP.MP4 beside CLIP.EXPOSURE.CSV was not found (the SRT
    sibling already was, in any case)."""
    video = fx.write_video(tmp_path / "CLIP.MP4", 2, 25)
    (tmp_path / "CLIP.EXPOSURE.CSV").write_text("frame_index,exposure_s\n0,1/100\n1,1/200\n")
    track = probe_exposure(video)
    assert track.source == ["sidecar", "sidecar"] and np.allclose(track.seconds, [0.01, 0.005])


def test_pts_rows_half_a_frame_late_go_one_to_a_frame(tmp_path):
    """Rows stamped at mid-frame (t + 20 ms at 25 fps) sit exactly between two frames: one row used to fill two
    frames and the next row vanished, every frame labelled exact and no warning."""
    video = fx.write_video(tmp_path / "clip.mp4", 6, 25)
    side = tmp_path / "mid.csv"
    side.write_text("pts_s,exposure_s\n" + "".join(f"{0.02 + 0.04 * k:.2f},1/{100 + k}\n" for k in range(6)))
    track = probe_exposure(video, sidecar=side)
    assert np.allclose(track.seconds, [1 / (100 + k) for k in range(6)])
    assert track.granularity == ["frame"] * 6

    nudged = tmp_path / "nudged.csv"              # 0.4 microsecond past the midpoint: the later frame's row
    nudged.write_text("pts_s,exposure_s\n0,1/100\n0.0200004,1/200\n0.08,1/300\n0.12,1/400\n")
    track = probe_exposure(video, sidecar=nudged)
    assert track.granularity[:4] == ["frame"] * 4 and track.seconds[1] == 1 / 200

    crowded = tmp_path / "crowded.csv"
    crowded.write_text("pts_s,exposure_s\n0,1/100\n0.01,1/200\n0.04,1/300\n")
    track = probe_exposure(video, sidecar=crowded)
    assert track.seconds[0] == 1 / 100 and track.seconds[1] == 1 / 300
    assert any("1 row(s) fall on a frame another row already claims" in w for w in track.warnings)
