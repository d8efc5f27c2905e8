"""Container tags, source precedence (override > sidecar > per-frame track > tag > none), ``prefer``, and
variable-frame-rate alignment by presentation time."""

from __future__ import annotations

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureInputError, probe_exposure


def test_mp4_mdta_tag_with_use_metadata_tags(tmp_path):
    path = fx.write_video(tmp_path / "tag.mp4", 5, 25, metadata={"exposure_time": "1/100"},
                          options={"movflags": "use_metadata_tags"})
    track = probe_exposure(path)
    assert np.array_equal(track.seconds, [0.01] * 5)
    assert track.source == ["tag"] * 5 and track.granularity == ["clip"] * 5
    assert np.allclose(track.fraction, 0.25)


@pytest.mark.parametrize("key, value, expected", [
    ("SHUTTER_ANGLE", "180", 0.02),
    ("EXPOSURE_TIME", "1/50", 0.02),
    ("org.smpte.rdd18.camera.shutterspeed_angle", "90.0deg", 0.01),
])
def test_matroska_tags(tmp_path, key, value, expected):
    path = fx.write_video(tmp_path / "tag.mkv", 5, 25, metadata={key: value})
    track = probe_exposure(path)
    assert np.allclose(track.seconds, expected, rtol=1e-12)
    assert track.source == ["tag"] * 5


def test_plain_mp4_drops_custom_tags_and_reports_none(tmp_path):
    path = fx.write_video(tmp_path / "plain.mp4", 5, 25, metadata={"exposure_time": "1/100"})
    track = probe_exposure(path)
    assert track.source == ["none"] * 5
    assert np.all(np.isnan(track.fraction))
    summary = track.summary()
    assert summary["coverage"] == 0.0 and summary["source"] == "none" and summary["seconds"]["min"] is None


def test_unreadable_tag_is_a_warning(tmp_path):
    path = fx.write_video(tmp_path / "t.mkv", 3, 25, metadata={"EXPOSURE_TIME": "fast"})
    track = probe_exposure(path)
    assert track.source == ["none"] * 3
    assert any("EXPOSURE_TIME" in w and "fast" in w for w in track.warnings)


def _layered(tmp_path):
    """GPMF for all 30 frames (1/500 s), a clip tag (1/50 s), a sidecar for frames 10-14 (1/100 s) whose
    frame 12 is impossible (1 s), in an MP4 that keeps its custom tags."""
    payload = fx.gpmf_payload([1 / 500] * 30)
    path = fx.write_video(tmp_path / "GX01.mp4", 30, 30, data_tracks=[[(0, 1000, payload)]],
                          metadata={"exposure_time": "1/50"}, options={"movflags": "use_metadata_tags"})
    side = tmp_path / "GX01.csv"
    side.write_text("frame_index,exposure_s\n" + "".join(f"{i},{'1' if i == 12 else '1/100'}\n" for i in range(10, 15)))
    return path, side


def test_precedence_per_frame(tmp_path):
    path, side = _layered(tmp_path)
    track = probe_exposure(path, sidecar=side)
    expected_source = ["gpmf"] * 10 + ["sidecar", "sidecar", "gpmf", "sidecar", "sidecar"] + ["gpmf"] * 15
    assert track.source == expected_source
    assert track.seconds[10] == 0.01 and track.seconds[12] == np.float32(1 / 500) and track.seconds[0] == np.float32(1 / 500)
    assert any("sidecar" in w and "frame 12" in w and "longer than the frame interval" in w for w in track.warnings)


def test_override_beats_everything(tmp_path):
    path, side = _layered(tmp_path)
    track = probe_exposure(path, sidecar=side, override="180deg")
    assert track.source == ["override"] * 30
    assert np.allclose(track.seconds, 1 / 60) and np.allclose(track.fraction, 0.5)
    with pytest.raises(ExposureInputError, match="longer than the frame interval"):
        probe_exposure(path, override="1/10")


def test_prefer_restricts_sources(tmp_path):
    path, side = _layered(tmp_path)
    assert probe_exposure(path, prefer="tag").source == ["tag"] * 30
    assert probe_exposure(path, prefer="gpmf").source == ["gpmf"] * 30
    assert probe_exposure(path, prefer="none").source == ["none"] * 30
    assert probe_exposure(path, prefer="none", override="1/120").source == ["override"] * 30
    with pytest.raises(ExposureInputError) as info:
        probe_exposure(path, prefer="srt")
    assert "available: gpmf, tag" in str(info.value)
    with pytest.raises(ExposureInputError, match="is not one of"):
        probe_exposure(path, prefer="exiftool")


def test_vfr_clip_aligned_by_presentation_time(tmp_path):
    pts = [0, 33, 67, 100, 150, 200, 250, 283, 317, 400]  # 30 fps, then 20 fps, then 30 fps, then a 83 ms hole
    path = fx.write_video(tmp_path / "phone.mp4", len(pts), 30, frame_pts_ms=pts)
    side = tmp_path / "phone.csv"
    side.write_text("pts_s,exposure_s\n" + "".join(f"{t / 1000:.3f},1/{200 + i}\n" for i, t in enumerate(pts)))
    srt = fx.write_srt(tmp_path / "phone.srt", [(t, (pts + [450])[i + 1], f"[shutter: 1/{300 + i}.0]")
                                                for i, t in enumerate(pts)])
    by_csv = probe_exposure(path, sidecar=side)
    by_srt = probe_exposure(path, sidecar=srt)
    times = np.array(pts) / 1000
    assert np.allclose(by_csv.frame_times, times, atol=1e-9)
    assert np.array_equal(by_csv.seconds, [1 / (200 + i) for i in range(len(pts))])
    assert np.array_equal(by_srt.seconds, [1 / (300 + i) for i in range(len(pts))])
    expected_interval = np.empty(len(pts))
    expected_interval[0], expected_interval[-1] = times[1] - times[0], times[-1] - times[-2]
    expected_interval[1:-1] = (times[2:] - times[:-2]) / 2
    assert np.allclose(by_csv.interval, expected_interval)
    assert np.allclose(by_csv.fraction, by_csv.seconds / expected_interval)
    assert by_csv.granularity == ["frame"] * len(pts)       # exact rows: not "held" (the 20 fps frames used to be)

    # 180deg is half of each frame's own interval (it was half the nominal one: fractions 0.24..0.71, one rejected)
    angled = probe_exposure(path, override="180deg")
    assert np.allclose(angled.fraction, 0.5) and angled.source == ["override"] * len(pts)
    assert np.allclose(angled.seconds, expected_interval / 2) and angled.warnings == []


def test_frame_times_argument_and_validation(tmp_path):
    payload = fx.gpmf_payload([1 / (100 + i) for i in range(30)])
    path = fx.write_video(tmp_path / "g.mp4", 30, 30, data_tracks=[[(0, 1000, payload)]])
    # a caller that decoded only the first 10 frames
    track = probe_exposure(path, frame_times=np.arange(10) / 30)
    assert len(track) == 10
    assert np.array_equal(track.seconds, np.float32([1 / (100 + i) for i in range(10)]).astype(float))
    with pytest.raises(ExposureInputError, match="strictly increasing"):
        probe_exposure(path, frame_times=np.array([0.0, 0.0, 0.1]))
    with pytest.raises(ExposureInputError, match="does not exist"):
        probe_exposure(tmp_path / "missing.mp4")
    with pytest.raises(ExposureInputError, match="fps"):
        probe_exposure(path, fps=-1)
