"""Engine(strength=s): the output is the bicubic upscale of the input plus s times the network's change to it, in
windows, tiles, the self-ensemble and the causal stream; bad values are refused by name."""
from __future__ import annotations

import numpy as np
import pytest

from vs_fmanet.engine import Engine
from vs_fmanet.evaluation.baseline import bicubic_upscale

from enginefix import TINY, make_clip

CAUSAL = {"model": "fmanetpp-causal", "preset": "causal-tiny", "weights": "random"}


def test_strength_zero_is_the_bicubic_upscale_and_one_is_the_default():
    frames = make_clip(5, 12, 14)
    bicubic = bicubic_upscale(frames, 4)
    np.testing.assert_allclose(Engine(**TINY, tile=0, window=4, overlap=2, strength=0).restore(frames), bicubic,
                               atol=1e-6)
    full = Engine(**TINY, tile=0, window=4, overlap=2).restore(frames)
    np.testing.assert_array_equal(Engine(**TINY, tile=0, window=4, overlap=2, strength=1.0).restore(frames), full)
    assert np.abs(full - bicubic).mean() > 1e-3                     # so the two ends really differ


@pytest.mark.parametrize("strength", [0.25, 0.7])
def test_strength_mixes_linearly_between_the_two(strength):
    frames = make_clip(4, 12, 14)
    full = Engine(**TINY, tile=0, window=4, overlap=2).restore(frames)
    bicubic = bicubic_upscale(frames, 4)
    got = Engine(**TINY, tile=0, window=4, overlap=2, strength=strength).restore(frames)
    inside = (full > 0) & (full < 1)                                  # where the full output was not clipped
    assert inside.mean() > 0.9
    np.testing.assert_allclose(got[inside], (bicubic + strength * (full - bicubic))[inside], atol=2e-6)


def test_tiles_and_the_ensemble_mix_the_same_way():
    frames = make_clip(4, 24, 28)
    bicubic = bicubic_upscale(frames, 4)
    tiled = Engine(**TINY, tile=16, tile_overlap=6, window=4, overlap=2, strength=0).restore(frames)
    # the mix comes after blending, with the whole frame's upscale as its base (not each tile's, whose replicated
    # edges used to differ by up to 0.015 at the seams), so strength 0 is the bicubic upscale, tiled or not
    np.testing.assert_allclose(tiled, bicubic, atol=1e-6)
    tiled_full = Engine(**TINY, tile=16, tile_overlap=6, window=4, overlap=2).restore(frames)
    tiled_half = Engine(**TINY, tile=16, tile_overlap=6, window=4, overlap=2, strength=0.5).restore(frames)
    inside = (tiled_full > 0) & (tiled_full < 1)
    np.testing.assert_allclose(tiled_half[inside], ((bicubic + tiled_full) / 2)[inside], atol=2e-6)
    ensemble = Engine(**TINY, tile=0, window=4, overlap=2, ensemble=4, strength=0).restore(frames)
    np.testing.assert_allclose(ensemble, bicubic, atol=1e-6)


def test_the_causal_stream_mixes_each_frame():
    frames = make_clip(4, 12, 14)
    engine = Engine(**CAUSAL, strength=0)
    np.testing.assert_allclose(engine.restore(frames), bicubic_upscale(frames, engine.scale), atol=1e-6)
    half = Engine(**CAUSAL, strength=0.5).restore(frames)
    full = Engine(**CAUSAL).restore(frames)
    inside = (full > 0) & (full < 1)
    np.testing.assert_allclose(half[inside], ((bicubic_upscale(frames, 4) + full) / 2)[inside], atol=2e-6)
    assert engine.describe()["strength"] == 0.0 and Engine(**CAUSAL).strength == 1.0
    tiled = Engine(**CAUSAL, strength=0, tile=16, tile_overlap=4).restore(make_clip(3, 24, 40))
    np.testing.assert_allclose(tiled, bicubic_upscale(make_clip(3, 24, 40), 4), atol=1e-6)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_bad_strength_values_are_refused(value):
    with pytest.raises(ValueError, match=r"Engine: strength=.* must be a number from 0 \(the bicubic upscale"):
        Engine(**TINY, strength=value)
