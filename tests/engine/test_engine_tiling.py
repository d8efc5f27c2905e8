"""Spatial tiles: blending, equivalence with whole frames, automatic size, out-of-memory retry, NaN guard."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from vs_fmanet.engine import Engine, save_weights
from vs_fmanet.engine import engine as engine_module
from vs_fmanet.engine.tiling import auto_tile, make_tiles, tile_starts

from enginefix import TINY, make_clip, tiny_state_dict


def test_tiles_cover_the_frame_and_weights_blend_to_one_across_overlaps():
    assert tile_starts(100, 40, 10) == [0, 30, 60]
    assert tile_starts(30, 40, 10) == [0]
    tiles = make_tiles(50, 70, (24, 32), 8, scale=2)
    acc = np.zeros((100, 140))
    for t in tiles:
        assert t.weight.shape == (2 * (t.y1 - t.y0), 2 * (t.x1 - t.x0)) and t.weight.min() > 0
        acc[2 * t.y0:2 * t.y1, 2 * t.x0:2 * t.x1] += t.weight
    assert acc.min() > 0.99   # every output pixel covered; sums are 1 where exactly two tiles share a ramp
    assert np.allclose(acc[:, :2 * 24], 1.0, atol=1e-6)


def _seam_excess(reference: np.ndarray, tiled: np.ndarray, columns: list[int]) -> float:
    """Largest increase, at the given output columns, of the mean horizontal gradient (a seam shows up there)."""
    g_ref = np.abs(np.diff(reference, axis=2)).mean(axis=(0, 1, 3))
    g_til = np.abs(np.diff(tiled, axis=2)).mean(axis=(0, 1, 3))
    return float(max(g_til[c] - g_ref[c] for c in columns))


def test_tiled_output_matches_untiled_without_seams(amplified_card):
    clip = make_clip(3, 40, 64, seed=3)
    whole = Engine(weights=amplified_card, window=3, overlap=0, tile=0).restore(clip)
    tiled_engine = Engine(weights=amplified_card, window=3, overlap=0, tile=40, tile_overlap=16)
    tiled = tiled_engine.restore(clip)
    assert tiled_engine.describe()["tiles_in_use"] == {"64x40": [40, 40]}
    diff = np.abs(whole - tiled)
    assert diff[:, 16:-16, 16:-16].max() < 1 / 255      # interior (the frame border has no context either way)
    assert diff.mean() < 0.2 / 255
    seam_cols = list(range(4 * 24 - 4, 4 * 40 + 4))    # the blended overlap: input columns 24..40
    assert _seam_excess(whole, tiled, seam_cols) < 0.1 / 255
    # hard-stitched tiles (no overlap to blend) do leave a seam at column 32: the metric can fail
    hard = Engine(weights=amplified_card, window=3, overlap=0, tile=32, tile_overlap=0).restore(clip)
    assert _seam_excess(whole, hard, [4 * 32 - 1]) > 1 / 255


def test_auto_tile_size_from_memory_budget(monkeypatch):
    assert auto_tile(100, 100, frames=10, budget_bytes=1e12, per_pixel_frame=5000, overlap=16) is None
    th, tw = auto_tile(1080, 1920, frames=48, budget_bytes=40e9, per_pixel_frame=22000, overlap=16)
    assert th % 8 == 0 and tw % 8 == 0 and 48 * th * tw * 22000 <= 40e9 and th * tw > 0.8 * 40e9 / (48 * 22000)
    # the engine asks the device for free memory once per frame size and keeps the answer
    calls = []
    monkeypatch.setattr(engine_module, "free_memory_bytes", lambda dev: calls.append(dev) or 60e6)
    eng = Engine(**TINY, window=2, overlap=0)
    clip = make_clip(2, 40, 48)
    out = eng.restore(clip)
    tile = eng.describe()["tiles_in_use"]["48x40"]
    assert tile is not None and tile[0] * tile[1] < 40 * 48
    eng.restore(clip)
    assert eng.describe()["tiles_in_use"]["48x40"] == tile
    np.testing.assert_allclose(out, Engine(**TINY, window=2, overlap=0, tile=0).restore(clip), atol=2 / 255)


def test_out_of_memory_retries_with_smaller_tiles(caplog):
    eng = Engine(**TINY, window=2, overlap=0, tile=0)
    net = eng._runner   # the module the engine calls (a channels-last copy on the CPU)
    real_forward = net.forward
    sizes = []

    def forward(lr, *args, **kw):   # behave like a GPU with room for 24x24-pixel tiles
        sizes.append(tuple(lr.shape[-2:]))
        if lr.shape[-1] * lr.shape[-2] > 24 * 24:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(lr, *args, **kw)

    clip = make_clip(2, 40, 48)
    with caplog.at_level(logging.WARNING, logger="vs_fmanet.engine"):
        net.forward = forward
        try:
            out = eng.restore(clip)
        finally:
            del net.forward
    assert sizes[0] == (40, 48) and eng.describe()["oom_retries"] == 1
    assert eng.describe()["tiles_in_use"]["48x40"] == [16, 24]
    assert max(h * w for h, w in sizes[1:]) <= 24 * 24
    assert "out of memory" in caplog.text and "retrying with 24x16 tiles" in caplog.text
    np.testing.assert_allclose(out, Engine(**TINY, window=2, overlap=0, tile=0).restore(clip), atol=4 / 255)


def test_out_of_memory_at_the_smallest_tile_is_a_clear_error():
    eng = Engine(**TINY, window=2, overlap=0, tile=16, tile_overlap=4)
    net = eng._runner   # the module the engine calls (a channels-last copy on the CPU)

    def forward(*args, **kw):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB")

    net.forward = forward
    try:
        with pytest.raises(RuntimeError, match="frames 0-1 even with 16x16 tiles; use a smaller window"):
            eng.restore(make_clip(2, 20, 20))
    finally:
        del net.forward


def test_nan_guard_recomputes_in_fp32_and_warns(tmp_path, caplog):
    """Weights whose activations overflow fp16 (but not fp32): the window is redone in fp32."""
    sd = tiny_state_dict()
    convs = [k for k in sd if k.startswith("net_r.upsampler") and k.endswith("weight")]
    sd[convs[0]] = sd[convs[0]] * 1e6      # first upsampler conv overflows fp16's 65504 ...
    sd[convs[-1]] = sd[convs[-1]] * 1e-6   # ... and the last one scales the result back
    card = save_weights(sd, tmp_path / "hot.safetensors", preset="tiny", scale=4)
    clip = make_clip(3, 16, 16)
    reference = Engine(weights=card, window=3, overlap=0).restore(clip)
    assert np.isfinite(reference).all()
    eng = Engine(weights=card, window=3, overlap=0, precision="fp16")
    with caplog.at_level(logging.WARNING, logger="vs_fmanet.engine"):
        out = eng.restore(clip)
    assert "NaN/Inf in fp16 for frames 0-2; recomputed in fp32" in caplog.text
    assert eng.describe()["fp32_fallbacks"] == 1
    np.testing.assert_array_equal(out, reference)
