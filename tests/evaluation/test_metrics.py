"""Metrics agree with their definitions and with scikit-image's reference SSIM."""
import numpy as np
import pytest

from vs_fmanet.evaluation import psnr, ssim, tof


def test_psnr_matches_definition() -> None:
    rng = np.random.default_rng(0)
    gt = rng.random((2, 20, 24, 3))
    out = np.clip(gt + 0.01, 0, 1)
    mse = ((out[:, 4:-4, 4:-4] - gt[:, 4:-4, 4:-4]) ** 2).reshape(2, -1).mean(axis=1)
    assert psnr(out, gt) == pytest.approx(np.mean(10 * np.log10(1 / mse)))
    assert psnr(gt, gt) > 100


def test_ssim_matches_skimage_gaussian_ssim() -> None:
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(1)
    gt = rng.random((40, 36, 3))
    out = np.clip(gt + rng.normal(0, 0.05, gt.shape), 0, 1)
    ref = structural_similarity(out[4:-4, 4:-4], gt[4:-4, 4:-4], channel_axis=-1, gaussian_weights=True,
                                sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert ssim(out, gt) == pytest.approx(ref, abs=2e-3)
    assert ssim(gt, gt) == pytest.approx(1.0)


def test_tof_zero_for_identical_and_positive_for_jitter() -> None:
    rng = np.random.default_rng(2)
    base = rng.random((48, 48, 3))
    gt = np.stack([np.roll(base, s, axis=1) for s in range(3)])
    assert tof(gt, gt) == pytest.approx(0.0, abs=1e-6)
    jitter = np.stack([np.roll(base, s, axis=1) for s in (0, 3, 1)])
    assert tof(jitter, gt) > 0.3
