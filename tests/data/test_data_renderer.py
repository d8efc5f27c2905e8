"""Physics of the renderer: static scenes stay sharp, blur grows with exposure, light is conserved."""
import numpy as np
import pytest
import torch

from vs_fmanet.data.clip import render_clip
from vs_fmanet.data.colour import linear_to_srgb, srgb_to_linear, srgb_uint8_to_linear
from vs_fmanet.data.exposure_schedule import continuous, fixed_level
from vs_fmanet.data.motion import static_trajectory
from vs_fmanet.data.scene import LayerSpec, blob_alpha


def test_srgb_roundtrip_and_table():
    x = torch.linspace(0, 1, 1001)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, atol=2e-6, rtol=0)
    codes = torch.arange(256, dtype=torch.uint8)
    torch.testing.assert_close(srgb_uint8_to_linear(codes), srgb_to_linear(codes.float() / 255))
    assert abs(float(srgb_to_linear(torch.tensor(0.5))) - 0.214041) < 1e-5   # IEC 61966-2-1 value
    with pytest.raises(TypeError, match="uint8"):
        srgb_uint8_to_linear(codes.float())


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_zero_motion_is_sharp_source_at_every_exposure(make_scene, rng, mode):
    h, w = 32, 48
    source = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    layer_pixels = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
    layer = LayerSpec(layer_pixels, np.ones((12, 16), np.float32),
                      static_trajectory((20.5, 10.5), (7.5, 5.5)), "test:layer", "cutout")
    expected = source.copy()
    expected[5:17, 13:29] = layer_pixels          # the static layer covers screen x 13..28, y 5..16 exactly
    spec = make_scene(source, (h, w), frames=3, layers=[layer])
    for level in range(1, 6):
        out = render_clip(spec, fixed_level(level, 3), scales=(1, 4), subframe_mode=mode, flow_step=1)
        want = torch.from_numpy(expected).permute(2, 0, 1).float().div(255).expand(3, -1, -1, -1)
        assert torch.equal(out["gt"], want), f"level {level}: ground truth differs from the source"
        assert torch.equal(out["lr_x1"], want), f"level {level}: blurred frame of a static scene is not sharp"
        assert torch.equal(out["lr_x4"], out["lr_sharp_x4"])
        assert torch.all(out["subframes"] == 1)
        for key in ("flow_fwd", "flow_bwd", "occ_fwd", "occ_bwd"):
            assert float(out[key].abs().max()) == 0.0, key


def _bar_scene(make_scene, speed: float):
    tex = np.zeros((24, 320, 3), np.uint8)
    tex[:, 158:162] = 255                            # 4 px white bar in the middle of a black texture
    return make_scene(tex, (8, 160), frames=1, vx=speed)


def test_blur_extent_grows_monotonically_with_exposure(make_scene):
    spec = _bar_scene(make_scene, speed=24.0)
    extents, energy = [], []
    for r in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0):
        sched = continuous(1, np.random.default_rng(0), low=r, high=r)
        out = render_clip(spec, sched, scales=(1,), quantize=False, subframe_mode="bilinear")
        row = srgb_to_linear(out["lr_x1"][0, 0, 4]).double()
        lit = torch.nonzero(row > 0.01).flatten()
        extents.append(float(lit[-1] - lit[0] + 1))
        energy.append(float(row.sum()))
    assert all(b > a for a, b in zip(extents, extents[1:])), extents
    for r, e in zip((0.05, 0.2, 0.4, 0.6, 0.8, 1.0), extents):   # box of width 4 + r * speed (+ filter tails)
        assert abs(e - (4 + 24 * r)) <= 3, (r, e)
    np.testing.assert_allclose(energy, 4.0, rtol=0.01)            # the bar's light is only spread out


def test_blur_preserves_mean_intensity_in_linear_light(make_scene, rng):
    tile = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    tex = np.tile(tile, (4, 12, 1))                              # periodic texture, 64 x 192
    spec = make_scene(tex, (32, 64), frames=3, vx=16.0 / 3.0, vy=2.0)
    expected = srgb_uint8_to_linear(torch.from_numpy(tile)).mean(dim=(0, 1))      # mean light of the pattern
    for level in (1, 2, 5):
        out = render_clip(spec, fixed_level(level, 3), scales=(1,), quantize=False, subframe_mode="bilinear")
        blurred = out["lr_x1"]
        if level > 1:
            assert float((blurred - out["gt"]).abs().mean()) > 0.05     # it really is blurred
        lin_mean = srgb_to_linear(blurred).mean(dim=(2, 3))
        torch.testing.assert_close(lin_mean, expected.expand(3, 3), atol=2e-4, rtol=0)
        # averaging gamma-encoded frames (the paper's shortcut) would keep the encoded mean; light-averaging raises it
        if level == 5:
            assert float(blurred.mean() - linear_to_srgb(srgb_uint8_to_linear(torch.from_numpy(tile))).mean()) > 0.01


def test_soft_blob_alpha_is_inside_its_box():
    a = blob_alpha(40, 30, np.random.default_rng(5))
    assert a.shape == (40, 30) and a.dtype == np.float32
    assert a.max() == 1.0 and a[0].max() == 0 and a[-1].max() == 0 and a[:, 0].max() == 0 and a[:, -1].max() == 0
    assert 0 < float(((a > 0) & (a < 1)).mean()) < 0.3            # a soft but thin edge
