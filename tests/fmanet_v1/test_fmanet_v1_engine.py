"""The engine runs converted FMA-Net (v1) weights: model="fmanet", every frame restored, RGB in/out."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from vs_fmanet.engine import Engine, save_weights


@pytest.fixture()
def v1_card(tmp_path, small_weights):
    return save_weights(small_weights, tmp_path / "fmanet_v1_small.safetensors", preset="small", scale=4,
                        model="fmanet", channel_order="BGR")


def test_engine_reproduces_official_centre_output(v1_card, small_io) -> None:
    x = small_io["x"]                                        # [1, 3 (BGR), 3 frames, H, W]
    frames = x[0, [2, 1, 0]].permute(1, 2, 3, 0).numpy()     # [T, H, W, 3] RGB
    engine = Engine(model="fmanet", weights=v1_card, device="cpu", precision="fp32", tile=0)
    assert engine.temporal_radius == 1 and engine.overlap == 1
    out = engine.restore(frames)
    assert out.shape == (3, 96, 128, 3)
    ref = small_io["out_output"][0, [2, 1, 0]].permute(1, 2, 0).clamp(0, 1).numpy()
    np.testing.assert_allclose(out[1], ref, atol=1e-4)


def test_engine_fmanet_ignores_exposure_with_one_notice(v1_card, caplog) -> None:
    rng = np.random.default_rng(0)
    frames = rng.random((5, 12, 16, 3), dtype=np.float32)
    engine = Engine(model="fmanet", weights=v1_card, device="cpu", tile=0)
    with caplog.at_level(logging.WARNING):
        with_exp = engine.restore(frames, np.array([0.2, 0.4, 0.6, 0.8, 1.0]))
        engine.restore(frames, np.array([0.2, 0.4, 0.6, 0.8, 1.0]))
    without = engine.restore(frames)
    np.testing.assert_array_equal(with_exp, without)
    assert sum("not exposure-aware" in r.getMessage() for r in caplog.records) == 1


def test_engine_refuses_fmanetpp_card_for_fmanet(tmp_path) -> None:
    from vs_fmanet.engine import WeightsError
    from vs_fmanet.model import build_model

    card = save_weights(build_model("tiny").state_dict(), tmp_path / "pp.safetensors", preset="tiny", scale=4)
    with pytest.raises(WeightsError, match="model 'fmanetpp'.*model='fmanet'"):
        Engine(model="fmanet", weights=card, device="cpu")


def test_strength_mixes_fmanet_output_with_the_bicubic_upscale(v1_card) -> None:
    from vs_fmanet.evaluation.baseline import bicubic_upscale

    frames = np.random.default_rng(1).random((4, 12, 16, 3), dtype=np.float32)
    zero = Engine(model="fmanet", weights=v1_card, device="cpu", tile=0, strength=0).restore(frames)
    np.testing.assert_allclose(zero, bicubic_upscale(frames, 4), atol=1e-6)
    full = Engine(model="fmanet", weights=v1_card, device="cpu", tile=0).restore(frames)
    half = Engine(model="fmanet", weights=v1_card, device="cpu", tile=0, strength=0.5).restore(frames)
    inside = (full > 0) & (full < 1)
    np.testing.assert_allclose(half[inside], ((zero + full) / 2)[inside], atol=2e-6)
