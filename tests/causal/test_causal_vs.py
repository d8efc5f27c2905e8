"""``fmanet(clip, mode="causal")`` in real VapourSynth: in-order serving equals the engine, slightly out-of-order
requests are still exact, seeks give a clear error or a warm-up restart, and bad arguments are refused."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import vapoursynth as vs
from enginefix import make_clip
from vsfix import clip_from_array, to_array

import vs_fmanet
from vs_fmanet.engine import Engine

ARGS = {"weights": "random", "device": "cpu"}
CUT = 7


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return make_clip(12, 12, 16, seed=7)


@pytest.fixture(scope="module")
def clip(frames) -> vs.VideoNode:
    return clip_from_array(frames, props=[{"_SceneChangePrev": int(i == CUT)} for i in range(len(frames))])


@pytest.fixture(scope="module")
def reference(frames) -> dict[str, np.ndarray]:
    return {p: Engine(model="fmanetpp-causal", preset=p, **ARGS).restore(frames, scene_cuts=[CUT])
            for p in ("causal-tiny", "causal-tiny-k1")}


def test_in_order_render_equals_the_engine(clip, reference):
    vs.core.num_threads = 2
    out = vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny-k1", **ARGS)
    assert (out.width, out.height, out.num_frames, out.format.id) == (64, 48, 12, vs.RGBS)
    rendered = list(out.frames())
    assert np.array_equal(to_array(out, rendered), reference["causal-tiny-k1"])
    props = [dict(f.props) for f in rendered]
    assert props[0]["FMANetWindow"] == [0, 1] and props[CUT - 1]["FMANetWindow"] == [0, CUT - 1]
    assert props[CUT]["FMANetWindow"] == [CUT, CUT + 1] and props[-1]["FMANetWindow"] == [CUT, 11]
    assert props[3]["FMANetModel"] == "random-causal-tiny-k1" and props[3]["FMANetExposureSource"] == "estimated"


def test_model_alone_selects_causal_mode_and_requests_slightly_ahead_are_exact(clip, reference):
    out = vs_fmanet.fmanet(clip, model="fmanetpp-causal", preset="causal-tiny", reorder=4, **ARGS)
    order = [3, 0, 1, 2, 5, 4, 8, 6, 7, 9, 11, 10]     # each within reorder=4 of the stream position
    got = {n: to_array(out, [out.get_frame(n)])[0] for n in order}
    assert np.array_equal(np.stack([got[n] for n in range(12)]), reference["causal-tiny"])


def test_a_seek_is_a_clear_error_by_default(clip):
    out = vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny", reorder=2, **ARGS)
    out.get_frame(0)
    with pytest.raises(vs.Error, match=r"mode='causal' restores frames in order, but frame 9 was requested while "
                                       r"the stream is at frame 1.*out_of_order='warmup'"):
        out.get_frame(9)


def test_warmup_restarts_the_state(clip, reference, caplog):
    out = vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny", reorder=2, out_of_order="warmup", **ARGS)
    ref = reference["causal-tiny"]
    with caplog.at_level(logging.WARNING, logger="vs_fmanet.vs_causal"):
        f9 = out.get_frame(9)            # restart at the scene start 7 (inside the 2-frame span): exact
        f4 = out.get_frame(4)            # restart at frame 2 with a 2-frame warm-up: approximate
    assert np.array_equal(to_array(out, [f9])[0], ref[9])
    assert f9.props["FMANetWindow"] == [CUT, 9]
    assert f4.props["FMANetWindow"] == [2, 4]
    diff = np.abs(to_array(out, [f4])[0] - ref[4]).max()
    assert 0 < diff < 0.05
    text = caplog.text
    assert "restarting the recurrent state at frame 7 (a scene start: exact)" in text
    assert "restarting the recurrent state at frame 2 with a 2-frame warm-up" in text


def test_bad_arguments(clip):
    with pytest.raises(vs.Error, match="mode='window' does not fit model='fmanetpp-causal'"):
        vs_fmanet.fmanet(clip, mode="window", model="fmanetpp-causal", preset="causal-tiny", **ARGS)
    with pytest.raises(vs.Error, match="mode='live' must be 'window'"):
        vs_fmanet.fmanet(clip, mode="live", preset="causal-tiny", **ARGS)
    with pytest.raises(vs.Error, match="reorder=-1 must be an integer in 0..256"):
        vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny", reorder=-1, **ARGS)
    with pytest.raises(vs.Error, match="out_of_order='skip' must be 'error'"):
        vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny", out_of_order="skip", **ARGS)
    with pytest.raises(vs.Error, match="window= and overlap= do not apply"):
        vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny", window=4, **ARGS)


def test_a_causal_card_selects_causal_mode(clip, reference, tmp_path):
    from vs_fmanet.engine import save_weights

    net = Engine(model="fmanetpp-causal", preset="causal-tiny", **ARGS)._net
    card = save_weights(net.state_dict(), tmp_path / "live.safetensors", preset="causal-tiny", scale=4,
                        model="fmanetpp-causal")
    out = vs_fmanet.fmanet(clip, weights=str(card), device="cpu")
    assert np.array_equal(to_array(out, list(out.frames())), reference["causal-tiny"])
    with pytest.raises(vs.Error, match=r"fmanet: .*no model card named 'missing_card'"):
        vs_fmanet.fmanet(clip, weights="missing_card", device="cpu")


def test_strength_reaches_the_causal_stream_and_each_frame(frames, clip):
    out = vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny", strength=0.25, **ARGS)
    expected = Engine(model="fmanetpp-causal", preset="causal-tiny", strength=0.25, **ARGS).restore(
        frames, scene_cuts=[CUT])
    rendered = list(out.frames())
    assert np.array_equal(to_array(out, rendered), expected)
    assert {f.props["FMANetStrength"] for f in rendered} == {0.25}


def test_reorder_zero_without_look_ahead_serves_frames_in_order(clip, reference):
    """One input clip (reorder=0, k=0): ModifyFrame hands the callback a frame instead of a list."""
    out = vs_fmanet.fmanet(clip, mode="causal", preset="causal-tiny", reorder=0, **ARGS)
    # one request at a time: with reorder=0 a prefetching reader (clip.frames() on several threads) runs ahead
    got = np.stack([to_array(out, [out.get_frame(n)])[0] for n in range(out.num_frames)])
    assert np.array_equal(got, reference["causal-tiny"])
