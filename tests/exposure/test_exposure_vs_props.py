"""VapourSynth helper: FMANetExposure / FMANetExposureSeconds / FMANetExposureSource on every frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
import vapoursynth as vs

import expofix as fx
from vs_fmanet.exposure import ExposureInputError, ExposureTrack, attach_exposure_props, probe_exposure


def _props(clip: vs.VideoNode, n: int) -> dict:
    frame = clip.get_frame(n)
    return {k: frame.props[k] for k in ("FMANetExposure", "FMANetExposureSeconds", "FMANetExposureSource")}


def test_props_from_a_track_including_unknown_frames():
    track = ExposureTrack(seconds=np.array([0.01, np.nan, 0.02]), fraction=np.array([0.25, np.nan, 0.5]),
                          source=["srt", "none", "srt"], frame_times=np.array([0.0, 0.04, 0.08]))
    clip = vs.core.std.BlankClip(width=16, height=16, length=3, fpsnum=25, fpsden=1)
    out = attach_exposure_props(clip, track)
    first, second, third = (_props(out, i) for i in range(3))
    assert first == {"FMANetExposure": 0.25, "FMANetExposureSeconds": 0.01, "FMANetExposureSource": "srt"}
    assert math.isnan(second["FMANetExposure"]) and math.isnan(second["FMANetExposureSeconds"])
    assert second["FMANetExposureSource"] == "none"
    assert third["FMANetExposure"] == 0.5
    assert out.num_frames == 3 and out.format.id == clip.format.id


def test_props_from_a_path_with_options(tmp_path):
    payload = fx.gpmf_payload([1 / (120 + i) for i in range(10)])
    path = fx.write_video(tmp_path / "g.mp4", 10, 30, data_tracks=[[(0, 333, payload)]])
    clip = vs.core.std.BlankClip(width=16, height=16, length=10, fpsnum=30, fpsden=1)
    out = attach_exposure_props(clip, path)
    expected = probe_exposure(path)
    for i in (0, 4, 9):
        props = _props(out, i)
        assert props["FMANetExposureSeconds"] == expected.seconds[i] == np.float32(1 / (120 + i))
        assert props["FMANetExposure"] == expected.fraction[i]
        assert props["FMANetExposureSource"] == "gpmf"
    forced = attach_exposure_props(clip, path, override="1/60")
    assert _props(forced, 3) == {"FMANetExposure": pytest.approx(0.5), "FMANetExposureSeconds": pytest.approx(1 / 60),
                                 "FMANetExposureSource": "override"}


def test_frame_count_mismatch():
    track = ExposureTrack(seconds=np.array([0.01, 0.01]), fraction=np.array([0.25, 0.25]),
                          source=["tag", "tag"], frame_times=np.array([0.0, 0.04]))
    clip = vs.core.std.BlankClip(width=16, height=16, length=4)
    with pytest.raises(ExposureInputError, match="clip has 4 frames but the exposure track"):
        attach_exposure_props(clip, track)
    padded = attach_exposure_props(clip, track, strict=False)
    assert _props(padded, 1)["FMANetExposure"] == 0.25
    assert _props(padded, 3)["FMANetExposureSource"] == "none"
    with pytest.raises(ExposureInputError, match="only when a path is given"):
        attach_exposure_props(clip, track, override="1/50")


def test_double_rate_deinterlaced_clip_gets_each_fields_exposure(tmp_path):
    """1080i camcorder footage bobbed to 50p (QTGMC, bwdif at field rate): twice the frames at twice the rate.
    Both fields of source frame k get its exposure, as a fraction of the 1/50 s field interval."""
    denominators = [100, 125, 160, 200, 250, 320, 400, 500]
    path = fx.write_h264_with_sei(tmp_path / "00001.MTS", [fx.mdpm_block((1, d)) for d in denominators], 25,
                                  interlaced=True)
    bobbed = vs.core.std.BlankClip(width=16, height=16, length=16, fpsnum=50, fpsden=1)
    out = attach_exposure_props(bobbed, path)
    for n in (0, 1, 6, 7, 15):
        props = _props(out, n)
        assert props["FMANetExposureSeconds"] == pytest.approx(1 / denominators[n // 2])
        assert props["FMANetExposure"] == pytest.approx(50 / denominators[n // 2])
        assert props["FMANetExposureSource"] == "mdpm"
    same_rate = vs.core.std.BlankClip(width=16, height=16, length=16, fpsnum=25, fpsden=1)
    with pytest.raises(ExposureInputError, match="twice the frames at twice the rate"):
        attach_exposure_props(same_rate, path)


def test_double_rate_exposure_longer_than_a_field_is_left_to_the_model():
    track = ExposureTrack(seconds=np.array([1 / 100, 1 / 30]), fraction=np.array([0.25, 0.833]),
                          source=["mdpm", "mdpm"], frame_times=np.array([0.0, 0.04]), interval=np.array([0.04, 0.04]))
    out = attach_exposure_props(vs.core.std.BlankClip(width=16, height=16, length=4, fpsnum=50, fpsden=1), track)
    assert _props(out, 1)["FMANetExposure"] == pytest.approx(0.5)
    assert math.isnan(_props(out, 2)["FMANetExposure"]) and _props(out, 3)["FMANetExposureSource"] == "none"
    assert _props(out, 2)["FMANetExposureSeconds"] == pytest.approx(1 / 30)


def test_a_track_without_a_frame_rate_takes_the_clips(tmp_path):
    """Stills probed without fps= know their exposure in seconds but no fraction: attached to a 25 fps clip they
    used to give NaN fractions (exposure left to the estimator) and fps= was silently ignored."""
    for i, exposure in enumerate([(1, 100), (1, 50), (1, 10)]):
        fx.write_exif_still(tmp_path / f"p_{i + 1:04d}.jpg", exposure)
    track = probe_exposure(tmp_path / "p_0001.jpg")
    assert np.isnan(track.fraction).all() and np.allclose(track.seconds, [0.01, 0.02, 0.1])
    clip = vs.core.std.BlankClip(width=16, height=16, length=3, fpsnum=25, fpsden=1)
    out = attach_exposure_props(clip, track)
    assert [_props(out, i)["FMANetExposure"] for i in (0, 1)] == [pytest.approx(0.25), pytest.approx(0.5)]
    assert math.isnan(_props(out, 2)["FMANetExposure"]) and _props(out, 2)["FMANetExposureSource"] == "none"
    with pytest.raises(ExposureInputError, match="fps apply only when a path is given"):
        attach_exposure_props(clip, track, fps=50)


def test_a_variable_rate_clip_takes_each_frames_duration():
    """fps 0 and a track of seconds only: the props said source 'exif' with a NaN fraction (left to the estimator,
    silently); each frame's _DurationNum/_DurationDen now gives its fraction."""
    a = vs.core.std.BlankClip(format=vs.RGBS, width=16, height=12, length=2, fpsnum=25, keep=True)
    b = vs.core.std.BlankClip(format=vs.RGBS, width=16, height=12, length=2, fpsnum=50, keep=True)
    vfr = vs.core.std.Splice([a, b], mismatch=True)
    assert vfr.fps_num == 0
    track = ExposureTrack(seconds=np.array([0.01, 0.01, 0.01, 0.04]), fraction=np.full(4, np.nan),
                          source=["exif"] * 4, frame_times=np.full(4, np.nan), path="stills/")
    out = attach_exposure_props(vfr, track)
    fractions = [_props(out, i)["FMANetExposure"] for i in range(3)]
    assert fractions == [pytest.approx(0.25), pytest.approx(0.25), pytest.approx(0.5)]
    last = _props(out, 3)                       # 1/25 s in a 1/50 s frame: impossible, left to the model
    assert math.isnan(last["FMANetExposure"]) and last["FMANetExposureSource"] == "none"
