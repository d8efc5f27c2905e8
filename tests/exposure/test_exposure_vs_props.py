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
