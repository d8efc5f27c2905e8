"""vs_fmanet.fmanet with real VapourSynth: format, props, determinism, scene cuts, exposure, errors."""
from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import vapoursynth as vs

import vs_fmanet
from vs_fmanet.engine import Engine

from vsfix import clip_from_array, to_array
from enginefix import TINY, make_clip

core = vs.core
SETTINGS = {**TINY, "window": 4, "overlap": 4}


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return make_clip(10, 16, 20)


def test_rgbs_output_format_size_props_and_values(frames):
    durations = [(1001, 24000 if n % 3 else 12000) for n in range(10)]   # variable frame rate survives
    props = [{"Custom": f"frame{n}", "_DurationNum": d[0], "_DurationDen": d[1], "_Matrix": 0} for n, d in
             enumerate(durations)]
    out = vs_fmanet.fmanet(clip_from_array(frames, props=props), **SETTINGS)
    assert (out.format.id, out.width, out.height, out.num_frames, out.fps) == (vs.RGBS, 80, 64, 10, Fraction(24000, 1001))
    rendered = list(out.frames())
    for n, f in enumerate(rendered):
        p = f.props
        assert (p["Custom"], p["_DurationNum"], p["_DurationDen"], p["_Matrix"]) == (f"frame{n}", *durations[n], 0)
        assert (p["FMANetModel"], p["FMANetScale"], p["FMANetExposureSource"], p["FMANetPrecision"]) == \
            ("random-tiny", 4, "estimated", "fp32")
        assert list(p["FMANetWindow"]) == [max(0, n // 4 * 4 - 4), min(9, n // 4 * 4 + 7)]
        assert not any(k.startswith("_FMANetOut") for k in p)
    # the plugin is a thin front end: bit-identical to the engine on the same frames
    np.testing.assert_array_equal(to_array(out, rendered), Engine(**SETTINGS).restore(frames))


def test_rgbh_is_accepted_and_precision_does_not_follow_the_format(frames):
    out = vs_fmanet.fmanet(clip_from_array(frames, fmt=vs.RGBH), **SETTINGS)
    assert out.format.id == vs.RGBH and (out.width, out.height) == (80, 64)
    f = out.get_frame(3)
    assert f.props["FMANetPrecision"] == "fp32"
    reference = Engine(**SETTINGS).restore(frames.astype(np.float16).astype(np.float32))[3]
    np.testing.assert_allclose(to_array(out, [f])[0], reference, atol=1e-3)


def test_same_bytes_whatever_the_order_and_thread_count(frames, monkeypatch):
    runs = []
    real = Engine.restore_piece

    def counting(self, frames_, exposure, piece):
        runs.append((piece.start, piece.stop))
        return real(self, frames_, exposure, piece)

    monkeypatch.setattr(Engine, "restore_piece", counting)
    threads = core.num_threads
    try:
        core.num_threads = 1
        sequential = [bytes(np.asarray(f[0])) + bytes(np.asarray(f[2]))
                      for f in vs_fmanet.fmanet(clip_from_array(frames), **SETTINGS).frames()]
        assert sorted(runs) == [(0, 4), (4, 8), (8, 10)]       # one inference per window, nothing at build time
        out = vs_fmanet.fmanet(clip_from_array(frames), **SETTINGS)   # fresh graph: nothing cached
        backwards = {n: out.get_frame(n) for n in reversed(range(10))}
        core.num_threads = 4
        out = vs_fmanet.fmanet(clip_from_array(frames), **SETTINGS)
        order = list(range(10)) * 2
        random.Random(5).shuffle(order)
        futures = [(n, out.get_frame_async(n)) for n in order]      # several windows in flight at once
        concurrent = {n: fut.result() for n, fut in futures}
    finally:
        core.num_threads = threads
    for n in range(10):
        for other in (backwards[n], concurrent[n]):
            assert bytes(np.asarray(other[0])) + bytes(np.asarray(other[2])) == sequential[n]


def test_scene_cut_from_props_blocks_information_flow(frames):
    changed = frames.copy()
    changed[5:] = 1.0 - changed[5:]
    for cut_props in ([{}] * 5 + [{"_SceneChangePrev": 1}] + [{}] * 4,
                      [{}] * 4 + [{"_SceneChangeNext": 1}] + [{}] * 5):
        a = vs_fmanet.fmanet(clip_from_array(frames, props=cut_props), **SETTINGS)
        b = vs_fmanet.fmanet(clip_from_array(changed, props=cut_props), **SETTINGS)
        np.testing.assert_array_equal(to_array(a[:5]), to_array(b[:5]))
        assert list(a.get_frame(4).props["FMANetWindow"]) == [0, 4]
        assert list(a.get_frame(5).props["FMANetWindow"]) == [5, 9]
    # with scene_change=False the change leaks across (so the equality above can fail)
    a = vs_fmanet.fmanet(clip_from_array(frames, props=cut_props), **SETTINGS, scene_change=False)
    b = vs_fmanet.fmanet(clip_from_array(changed, props=cut_props), **SETTINGS, scene_change=False)
    assert np.abs(to_array(a[4]) - to_array(b[4])).max() > 1e-4


def test_scene_change_detect_uses_scd(frames):
    hard_cut = np.concatenate([frames[:6] * 0.2, 1.0 - frames[6:] * 0.2])
    out = vs_fmanet.fmanet(clip_from_array(hard_cut), **SETTINGS, scene_change="detect")
    assert list(out.get_frame(5).props["FMANetWindow"]) == [0, 5]
    assert list(out.get_frame(6).props["FMANetWindow"]) == [6, 9]
    assert out.get_frame(6).props["_SceneChangePrev"] == 1


def test_exposure_from_prop_or_argument(frames, amplified_card):
    kw = {"weights": amplified_card, "window": 4, "overlap": 0}
    short = [{"FMANetExposure": 0.1}] * 4
    long = [{"FMANetExposure": 0.9}] * 4
    a = vs_fmanet.fmanet(clip_from_array(frames[:4], props=short), **kw)
    b = vs_fmanet.fmanet(clip_from_array(frames[:4], props=long), **kw)
    fa, fb = a.get_frame(2), b.get_frame(2)
    assert fa.props["FMANetExposureSource"] == "prop" and fa.props["FMANetExposure"] == 0.1
    assert np.abs(to_array(a, [fa]) - to_array(b, [fb])).max() > 1e-3
    # the argument overrides the prop where it is a number; NaN entries fall back to the prop
    c = vs_fmanet.fmanet(clip_from_array(frames[:4], props=short), **kw, exposure=[0.9, 0.9, 0.9, float("nan")])
    assert [f.props["FMANetExposureSource"] for f in c.frames()] == ["argument"] * 3 + ["prop"]
    mixed = vs_fmanet.fmanet(clip_from_array(frames[:4], props=long[:3] + short[:1]), **kw)
    np.testing.assert_array_equal(to_array(c), to_array(mixed))
    d = vs_fmanet.fmanet(clip_from_array(frames[:4], props=short), **kw, exposure=0.9, exposure_prop="Other")
    np.testing.assert_array_equal(to_array(d), to_array(b))
    # text overrides: seconds or shutter angle at the clip's rate (24000/1001 fps: 180deg = 0.5 = 1001/48000 s)
    half = to_array(vs_fmanet.fmanet(clip_from_array(frames[:4]), **kw, exposure=0.5))
    np.testing.assert_allclose(to_array(vs_fmanet.fmanet(clip_from_array(frames[:4]), **kw, exposure="180deg")),
                               half, atol=1e-6)
    np.testing.assert_allclose(to_array(vs_fmanet.fmanet(clip_from_array(frames[:4]), **kw, exposure="1001/48000")),
                               half, atol=1e-6)
    # props written by vs_fmanet.exposure.attach_exposure_props: NaN = unknown, the source name is kept
    tagged = [{"FMANetExposure": 0.9, "FMANetExposureSource": "gpmf"}] * 3 + \
        [{"FMANetExposure": float("nan"), "FMANetExposureSource": "none"}]
    e = vs_fmanet.fmanet(clip_from_array(frames[:4], props=tagged), **kw)
    assert [f.props["FMANetExposureSource"] for f in e.frames()] == ["gpmf"] * 3 + ["estimated"]


def test_odd_sizes_and_tiles_pass_through(frames):
    odd = make_clip(3, 13, 17)
    out = vs_fmanet.fmanet(clip_from_array(odd), **SETTINGS)
    assert (out.width, out.height) == (68, 52)
    tiled = vs_fmanet.fmanet(clip_from_array(odd), **SETTINGS, tile=[16, 16], tile_overlap=4)
    engine = Engine(**SETTINGS, tile=16, tile_overlap=4)
    np.testing.assert_array_equal(to_array(tiled), engine.restore(odd))


def test_x2_weights_give_a_x2_clip_without_naming_the_scale(tmp_path):
    import torch

    from vs_fmanet.engine import save_weights
    from vs_fmanet.model import build_model

    torch.manual_seed(5)
    card = save_weights(build_model("tiny", 2).state_dict(), tmp_path / "x2.safetensors", preset="tiny", scale=2)
    small = make_clip(3, 13, 17)
    out = vs_fmanet.fmanet(clip_from_array(small), weights=str(card), window=4, overlap=4)
    assert (out.width, out.height) == (34, 26) and out.get_frame(1).props["FMANetScale"] == 2
    np.testing.assert_array_equal(to_array(out), Engine(weights=card, window=4, overlap=4).restore(small))
    with pytest.raises(vs.Error, match="holds x2 weights but scale=4 was asked"):
        vs_fmanet.fmanet(clip_from_array(small), weights=str(card), scale=4)


def test_nothing_is_printed_to_stdout(frames, capfd):
    out = vs_fmanet.fmanet(clip_from_array(frames[:3]), **SETTINGS, scene_change="detect")
    for _ in out.frames():
        pass
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("make, message", [
    (lambda f: core.std.RemoveFrameProps(core.resize.Bicubic(clip_from_array(f), format=vs.YUV420P8, matrix_s="709"),
                                         "_Matrix"),
     r"the YUV420P8 clip has no _Matrix frame prop.*core.resize.Bicubic\(clip, format=vs.RGBS, matrix_in_s='709'\)"),
    (lambda f: core.std.Splice([clip_from_array(f), clip_from_array(f[:, :8])], mismatch=True),
     "variable format or size"),
    (lambda f: "not a clip", "clip must be a vapoursynth.VideoNode"),
])
def test_unsupported_clips_are_refused_at_build_time(frames, make, message):
    with pytest.raises(vs.Error, match=f"^fmanet: .*{message}"):
        vs_fmanet.fmanet(make(frames[:2]), **SETTINGS)


@pytest.mark.parametrize("kwargs, message", [
    ({"exposure": [0.5, 0.5]}, r"exposure has shape \(2,\) but there are 4 frames"),
    ({"exposure": 2.0}, "exposure of frame 0 is 2.0; .*fraction = seconds \\* fps"),
    ({"scene_change": "maybe"}, "scene_change='maybe' must be True"),
    ({"exposure": "1/10"}, "longer than the frame interval"),
    ({"precision": "fp64"}, "precision='fp64' is not supported"),
    ({"weights": "/nonexistent/w.safetensors"}, "weights file /nonexistent/w.safetensors does not exist"),
])
def test_bad_arguments_are_refused_at_build_time(frames, kwargs, message):
    settings = {**SETTINGS, **kwargs}
    with pytest.raises(vs.Error, match=f"^fmanet: .*{message}"):
        vs_fmanet.fmanet(clip_from_array(frames[:4]), **settings)


@pytest.mark.parametrize("props, message", [
    ({"FMANetExposure": "1/100"}, r"frame 2 has FMANetExposure='1/100' \(str\); it must be a float fraction"),
    ({"FMANetExposure": 0.01 * 100}, None),
    ({"FMANetExposure": 8.0}, "exposure of frame 2 is 8.0; it must be a fraction of the frame interval"),
    ({"_SceneChangePrev": 7}, "frame 2 has _SceneChangePrev=7; it must be the integer 0 or 1"),
    ({"_FieldBased": 2}, r"frame 2 is interlaced \(_FieldBased=2\); deinterlace first"),
])
def test_bad_frame_props_name_the_frame_at_render_time(frames, props, message):
    per_frame = [{}, {}, props, {}]
    out = vs_fmanet.fmanet(clip_from_array(frames[:4], props=per_frame), **SETTINGS)
    if message is None:      # 1.0 is a valid duty cycle
        out.get_frame(0)
        return
    with pytest.raises(vs.Error, match=message):
        out.get_frame(0)


@pytest.mark.parametrize("window, overlap", [(1, 0), (1, 2), (5, 0), (2, 1)])
def test_window_shapes_match_the_engine(window, overlap):
    """Windows of one frame, windows longer than the clip, no context: same bytes as the engine."""
    small = make_clip(3, 12, 12)
    out = vs_fmanet.fmanet(clip_from_array(small), **TINY, window=window, overlap=overlap)
    np.testing.assert_array_equal(to_array(out), Engine(**TINY, window=window, overlap=overlap).restore(small))


def test_ensemble_is_the_engines_and_bad_values_name_the_fix():
    small = make_clip(4, 12, 14)
    out = vs_fmanet.fmanet(clip_from_array(small), **SETTINGS, ensemble=2)
    np.testing.assert_array_equal(to_array(out), Engine(**SETTINGS, ensemble=2).restore(small))
    assert np.abs(to_array(out) - to_array(vs_fmanet.fmanet(clip_from_array(small), **SETTINGS))).max() > 1e-3
    with pytest.raises(vs.Error, match=r"fmanet: Engine: ensemble=3 must be one of 1, 2, 4, 8"):
        vs_fmanet.fmanet(clip_from_array(small), **SETTINGS, ensemble=3)


def test_strength_is_the_engines_and_recorded_on_each_frame():
    small = make_clip(4, 12, 14)
    out = vs_fmanet.fmanet(clip_from_array(small), **SETTINGS, strength=0.5)
    np.testing.assert_array_equal(to_array(out), Engine(**SETTINGS, strength=0.5).restore(small))
    assert out.get_frame(2).props["FMANetStrength"] == 0.5
    assert vs_fmanet.fmanet(clip_from_array(small), **SETTINGS).get_frame(0).props["FMANetStrength"] == 1.0
    with pytest.raises(vs.Error, match=r"fmanet: Engine: strength=2 must be a number from 0"):
        vs_fmanet.fmanet(clip_from_array(small), **SETTINGS, strength=2)


def test_rgb_planes_carrying_a_yuv_matrix_and_causal_options_in_window_mode():
    """Planes of a YUV clip shuffled into RGB keep its _Matrix: every frame failed in zimg ('RGB color family cannot
    have YUV matrix coefficients'); reorder/out_of_order typos were accepted and ignored in window mode."""
    core = vs.core
    yuv = core.std.SetFrameProps(core.std.BlankClip(format=vs.YUV420P8, width=16, height=12, length=3,
                                                    color=[120, 128, 128], keep=True), _Matrix=1)
    luma = core.std.ShufflePlanes(yuv, 0, vs.GRAY)
    rgb = core.std.ShufflePlanes([luma] * 3, [0, 0, 0], vs.RGB)
    out = vs_fmanet.fmanet(rgb, **TINY, tile=0, strength=0)
    assert (out.format.name, out.width) == ("RGB24", 64)
    assert np.abs(to_array(out) - 120).max() <= 1          # a flat grey comes back (strength=0: the upscale)
    # float RGB, and a _Matrix that appears only from frame 1 on: the output is RGB-tagged and converts onwards
    flt = core.resize.Point(core.std.RemoveFrameProps(rgb, "_Matrix"), format=vs.RGBS)
    late = flt[0] + core.std.SetFrameProps(flt[1:], _Matrix=1)
    restored = vs_fmanet.fmanet(late, **TINY, tile=0, strength=0)
    assert [restored.get_frame(i).props["_Matrix"] for i in range(3)] == [0, 0, 0]
    core.resize.Bicubic(restored, format=vs.YUV420P8, matrix=1).get_frame(2)
    for bad, says in (({"out_of_order": "junk"}, "out_of_order='junk'"), ({"reorder": -5}, "reorder=-5")):
        with pytest.raises(vs.Error, match=says):
            vs_fmanet.fmanet(rgb, **TINY, **bad)
