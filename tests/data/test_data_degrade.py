"""Optional degradations: exposure-scaled sensor noise and real JPEG / H.264 round trips."""
import numpy as np
import pytest
import torch

from vs_fmanet.data.degrade import h264_roundtrip, jpeg_roundtrip, sensor_noise


def test_shorter_exposure_is_noisier():
    flat = torch.full((2, 3, 48, 48), 0.2)
    noisy = sensor_noise(flat, np.array([0.2, 1.0]), np.random.default_rng(0), full_well=1000.0, read_noise=2.0)
    std_short, std_long = float(noisy[0].std()), float(noisy[1].std())
    # shot noise sqrt(x / (r * full_well)): 0.0316 at r = 0.2, 0.0141 at r = 1
    assert abs(std_short - 0.0316) < 0.004 and abs(std_long - 0.0141) < 0.002
    assert abs(float(noisy.mean()) - 0.2) < 0.003
    again = sensor_noise(flat, np.array([0.2, 1.0]), np.random.default_rng(0), full_well=1000.0, read_noise=2.0)
    assert torch.equal(noisy, again)


def _texture(seed=0, t=3, h=32, w=48):
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.interpolate(torch.rand(t, 3, h // 4, w // 4, generator=g), size=(h, w),
                                             mode="bilinear", align_corners=False)
    return (smooth + 0.1 * torch.rand(t, 3, h, w, generator=g)).clamp(0, 1)


def test_jpeg_roundtrip_quality_orders_error():
    x = _texture()
    hi, lo = jpeg_roundtrip(x, 95), jpeg_roundtrip(x, 20)
    assert hi.shape == x.shape
    e_hi, e_lo = float((hi - x).abs().mean()), float((lo - x).abs().mean())
    assert 0 < e_hi < e_lo < 0.1


def test_h264_roundtrip_is_real_and_deterministic():
    x = _texture(t=4)
    a, b = h264_roundtrip(x, 28), h264_roundtrip(x, 28)
    assert a.shape == x.shape and torch.equal(a, b)
    err = float((a - x).abs().mean())
    assert 0.002 < err < 0.08
    assert float((h264_roundtrip(x, 12) - x).abs().mean()) < err
    with pytest.raises(ValueError, match="must be even"):
        h264_roundtrip(torch.rand(2, 3, 9, 10), 20)
