"""fmanet() on YUV, GRAY and integer RGB clips: converted to RGB for the network and back to the source format.

Colour checks use a pass-through engine (pixel repetition instead of the network), so the output must be the source
repeated 4x in every plane: luma within one code value, whatever the matrix and range, which only holds when the
way back uses the source's matrix and range. The network path itself is checked against the conversion a user
would write by hand.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import vapoursynth as vs

import vs_fmanet
from vs_fmanet.engine import Engine

from vsfix import clip_from_array
from enginefix import TINY

core = vs.core
SETTINGS = {**TINY, "window": 2, "overlap": 1}


def smooth_frames(num: int = 3, height: int = 16, width: int = 24) -> np.ndarray:
    """[T, H, W, 3] smooth colours inside [0.15, 0.85]: no clipping anywhere on the way to YUV and back."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([np.stack([0.5 + 0.35 * np.sin(xx / 6 + 0.4 * t + 2.1 * c) * np.cos(yy / 9 - 0.3 * t + c)
                               for c in range(3)], axis=-1) for t in range(num)]).astype(np.float32)


@pytest.fixture()
def pass_through(monkeypatch):
    """Engine.restore_piece repeats each produced frame's pixels ``scale`` times: restoration = nearest upscale."""
    def repeat(self, frames, exposure, piece):
        s = self.scale
        return np.repeat(np.repeat(frames[piece.produced], s, axis=1), s, axis=2), "fp32"
    monkeypatch.setattr(Engine, "restore_piece", repeat)


def planes(frame: vs.VideoFrame) -> list[np.ndarray]:
    return [np.asarray(frame[p]).astype(np.float64) for p in range(frame.format.num_planes)]


def nearest(plane: np.ndarray, s: int) -> np.ndarray:
    return np.repeat(np.repeat(plane, s, axis=0), s, axis=1)


YUV_CASES = [   # format, matrix (709 / 2020 ncl / 601), range, chroma location, one code value
    (vs.YUV420P8, 1, "limited", "left", 1.0),
    (vs.YUV420P10, 9, "full", "top_left", 1.0),
    (vs.YUV444PS, 6, "limited", "left", 1e-4),
]


@pytest.mark.parametrize("fmt, matrix, rng, location, code", YUV_CASES)
def test_yuv_comes_back_in_its_format_with_its_matrix_range_and_chroma_location(pass_through, fmt, matrix, rng,
                                                                               location, code):
    src = core.resize.Bicubic(clip_from_array(smooth_frames()), format=fmt, matrix=matrix, range_s=rng,
                              chromaloc_s=location)
    out = vs_fmanet.fmanet(src, **SETTINGS)
    assert (out.format.id, out.width, out.height, out.num_frames) == (fmt, 96, 64, 3)
    by_hand = core.resize.Bicubic(core.resize.Point(core.resize.Bicubic(src, format=vs.RGBS), 96, 64), format=fmt,
                                  matrix=matrix, range_s=rng, chromaloc_s=location)
    for n in range(3):
        fin, fout = src.get_frame(n), out.get_frame(n)
        for key in ("_Matrix", "_Range", "_ChromaLocation"):
            assert fout.props.get(key) == fin.props.get(key), key
        y_in, *uv_in = planes(fin)
        y_out, *uv_out = planes(fout)
        # luma survives YUV -> RGB -> YUV exactly (up to rounding) only with the same matrix and range both ways
        assert np.abs(y_out - nearest(y_in, 4)).max() <= code
        # chroma is resampled around its sited positions: compare with the conversion written by hand
        for c_out, c_ref in zip(uv_out, planes(by_hand.get_frame(n))[1:]):
            assert np.abs(c_out - c_ref).max() <= code


@pytest.mark.parametrize("fmt, code", [(vs.GRAY8, 1.0), (vs.GRAY16, 1.0), (vs.GRAYS, 1e-6)])
@pytest.mark.parametrize("rng", ["limited", "full"])
def test_gray_comes_back_grey_in_its_format_and_range(pass_through, fmt, code, rng):
    rgb = clip_from_array(smooth_frames())
    src = core.resize.Point(rgb, format=fmt, matrix_s="709", range_s=rng) if fmt != vs.GRAYS else \
        core.resize.Point(rgb, format=fmt, matrix_s="709")
    out = vs_fmanet.fmanet(src, **SETTINGS)
    assert (out.format.id, out.width, out.height) == (fmt, 96, 64)
    for n in range(3):
        fin, fout = src.get_frame(n), out.get_frame(n)
        assert fout.props.get("_Range") == fin.props.get("_Range")
        assert np.abs(planes(fout)[0] - nearest(planes(fin)[0], 4)).max() <= code


@pytest.mark.parametrize("fmt", [vs.RGB24, vs.RGB30, vs.RGB48])
def test_integer_rgb_comes_back_bit_exact_through_a_pass_through_engine(pass_through, fmt):
    src = core.resize.Point(clip_from_array(smooth_frames()), format=fmt)
    out = vs_fmanet.fmanet(src, **SETTINGS)
    assert (out.format.id, out.width, out.height) == (fmt, 96, 64)
    for n in range(3):
        for p_in, p_out in zip(planes(src.get_frame(n)), planes(out.get_frame(n))):
            np.testing.assert_array_equal(p_out, nearest(p_in, 4))


def test_yuv_through_the_network_equals_converting_by_hand():
    """No double: the tiny network on a YUV clip = RGBS in, the RGBS result back to YUV with the source's tags."""
    src = core.resize.Bicubic(clip_from_array(smooth_frames()), format=vs.YUV420P10, matrix_s="709",
                              range_s="full", chromaloc_s="top_left")
    out = vs_fmanet.fmanet(src, **SETTINGS)
    rgb_out = vs_fmanet.fmanet(core.resize.Bicubic(src, format=vs.RGBS), **SETTINGS)
    by_hand = core.resize.Bicubic(rgb_out, format=vs.YUV420P10, matrix_s="709", range_s="full",
                                  chromaloc_s="top_left")
    for n in range(3):
        for a, b in zip(planes(out.get_frame(n)), planes(by_hand.get_frame(n))):
            np.testing.assert_array_equal(a, b)
    assert out.get_frame(0).props["FMANetModel"] == "random-tiny"


def test_causal_mode_also_returns_the_source_format():
    src = core.resize.Bicubic(clip_from_array(smooth_frames()), format=vs.YUV420P8, matrix_s="709")
    out = vs_fmanet.fmanet(src, mode="causal", preset="causal-tiny", weights="random")
    assert (out.format.id, out.width, out.height) == (vs.YUV420P8, 96, 64)
    assert [f.props["_Matrix"] for f in out.frames()] == [1, 1, 1]


@pytest.mark.parametrize("tag, message", [
    (None, "the YUV420P8 clip has no _Matrix frame prop"),
    (2, r"has _Matrix=2 \(unspecified\)"),
    (0, r"has _Matrix=0 \(RGB\), which a YUV clip cannot have"),
])
def test_yuv_without_a_usable_matrix_is_refused_with_the_fix(tag, message):
    src = core.resize.Bicubic(clip_from_array(smooth_frames()), format=vs.YUV420P8, matrix_s="709")
    src = core.std.RemoveFrameProps(src, "_Matrix") if tag is None else core.std.SetFrameProps(src, _Matrix=tag)
    with pytest.raises(vs.Error, match=f"^fmanet: .*{message}.*SetFrameProps\\(clip, _Matrix=1\\).*matrix_in_s='709'"):
        vs_fmanet.fmanet(src, **SETTINGS)


def test_the_older_colorrange_prop_is_honoured_both_ways(pass_through):
    """_ColorRange (0 = full), still written by older source filters, means the opposite numbers of _Range (R81 maps
    it onto _Range itself; vs_formats reads it on older VapourSynth)."""
    src = core.resize.Bicubic(clip_from_array(smooth_frames()), format=vs.YUV420P8, matrix_s="709", range_s="full")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        src = core.std.SetFrameProps(core.std.RemoveFrameProps(src, "_Range"), _ColorRange=0)
    out = vs_fmanet.fmanet(src, **SETTINGS)
    fin, fout = src.get_frame(1), out.get_frame(1)
    assert np.abs(planes(fout)[0] - nearest(planes(fin)[0], 4)).max() <= 1.0
    assert fout.props["_Range"] == vs.RANGE_FULL


def test_a_colour_prop_of_the_wrong_type_names_the_prop():
    src = core.resize.Bicubic(clip_from_array(smooth_frames()), format=vs.YUV420P8, matrix_s="709")
    src = core.std.SetFrameProps(src, _ChromaLocation="left")
    with pytest.raises(vs.Error, match=r"^fmanet: frame 0 has _ChromaLocation='left' \(str\); it must be an integer"):
        vs_fmanet.fmanet(src, **SETTINGS)


@pytest.mark.parametrize("change, message", [
    ({"remove": "_Matrix"}, "frame 4 of the YUV420P8 clip has no _Matrix frame prop"),
    ({"_Matrix": 99}, "frame 4 of the YUV420P8 clip has _Matrix=99, which is not a matrix coefficient code"),
    ({"_Range": 5}, "frame 4 has a colour range prop of 5; it must be 0 or 1"),
])
def test_a_later_frame_with_a_bad_colour_tag_is_named_at_render_time(change, message):
    """Frame 0 is checked when the clip is built; a later frame (a spliced clip) fails with the same message, naming
    that frame, instead of zimg's "no path between colorspaces"."""
    src = core.resize.Bicubic(clip_from_array(smooth_frames(6)), format=vs.YUV420P8, matrix_s="709")
    bad = (core.std.RemoveFrameProps(src[4], change["remove"]) if "remove" in change
           else core.std.SetFrameProps(src[4], **change))
    out = vs_fmanet.fmanet(src[:4] + bad + src[5], **SETTINGS)
    assert out.get_frame(0).props["_Matrix"] == 1        # frame 0's window (window 2, overlap 1) stops at frame 2
    with pytest.raises(vs.Error, match=f"fmanet: {message}"):
        out.get_frame(4)


def test_scene_detection_works_on_grey_clips_that_carry_a_yuv_matrix():
    """A luma clip cut out of YUV keeps _Matrix=1; converted to RGB for the network it must not reach zimg's RGB ->
    GRAY conversion with that matrix (error 1026)."""
    yuv = core.resize.Bicubic(clip_from_array(smooth_frames(4)), format=vs.YUV420P8, matrix_s="709")
    luma = core.std.ShufflePlanes(yuv, 0, vs.GRAY)
    out = vs_fmanet.fmanet(luma, **SETTINGS, scene_change="detect")
    frame = out.get_frame(1)
    assert (out.format.id, frame.props["_Matrix"], frame.props["_SceneChangePrev"]) == (vs.GRAY8, 1, 0)


def test_alpha_is_upscaled_with_the_frame(pass_through):
    rgb = clip_from_array(smooth_frames(3))
    ramp = np.linspace(0.0, 1.0, 24, dtype=np.float32)[None, :].repeat(16, axis=0)
    mask = core.std.ModifyFrame(core.std.BlankClip(format=vs.GRAYS, width=24, height=16, length=3), rgb,
                                lambda n, f: _alpha_frame(f, ramp, n))
    src = core.std.ClipToProp(rgb, mask, prop="_Alpha")
    for out in (vs_fmanet.fmanet(src, **SETTINGS), vs_fmanet.fmanet(src, mode="causal", preset="causal-tiny",
                                                                      weights="random", device="cpu")):
        frame = out.get_frame(2)
        alpha = frame.props["_Alpha"]
        assert (alpha.width, alpha.height) == (96, 64)
        expected = core.resize.Bicubic(mask, width=96, height=64).get_frame(2)
        np.testing.assert_array_equal(np.asarray(alpha[0]), np.asarray(expected[0]))


def _alpha_frame(template: vs.VideoFrame, ramp: np.ndarray, n: int) -> vs.VideoFrame:
    """A GRAYS frame holding ``ramp`` shifted by n/10 (so each frame's alpha differs)."""
    out = vs.core.create_video_frame(vs.core.get_video_format(vs.GRAYS), ramp.shape[1], ramp.shape[0])
    np.copyto(np.asarray(out[0]), np.clip(ramp + n / 10, 0, 1))
    return out

