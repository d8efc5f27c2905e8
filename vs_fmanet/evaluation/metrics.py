"""Image/video quality metrics as the FMA-Net papers compute them (spec §7).

All functions take numpy arrays ``[T, H, W, 3]`` or ``[H, W, 3]`` float in [0, 1] (RGB) and crop ``border`` pixels
from every side first (4 px for x4 results, as in FMA-Net).

* PSNR on RGB: 10 log10(1 / MSE) over all channels and pixels of a frame, averaged over frames.
* SSIM: MATLAB-style (11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, data range 1), per channel, averaged.
  Computed with scipy-free numpy separable filtering (small and exact; no extra dependency).
* tOF: mean per-pixel Euclidean norm of the difference between OpenCV Farneback flows of consecutive ground-truth
  frames and of consecutive output frames (grey, parameters 0.5, 3, 15, 3, 5, 1.2, 0), averaged over frame pairs.
  Needs opencv (the ``dev`` extra).
"""
from __future__ import annotations

import numpy as np


def _crop(x: np.ndarray, border: int) -> np.ndarray:
    if border <= 0:
        return x
    return x[..., border:-border, border:-border, :]


def _frames(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"metrics: expected [T, H, W, 3] or [H, W, 3] RGB arrays, got shape {x.shape}")
    return x


def psnr(output: np.ndarray, target: np.ndarray, border: int = 4) -> float:
    """Mean over frames of the RGB PSNR (dB) between ``output`` and ``target`` after a ``border`` crop."""
    a, b = _crop(_frames(output), border), _crop(_frames(target), border)
    if a.shape != b.shape:
        raise ValueError(f"psnr: shapes differ: {a.shape} vs {b.shape}")
    mse = ((np.clip(a, 0, 1) - b) ** 2).reshape(a.shape[0], -1).mean(axis=1)
    return float(np.mean(10 * np.log10(1.0 / np.maximum(mse, 1e-12))))


def _gaussian_kernel(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of [..., H, W] with the 1-D kernel g along H then W."""
    k = g.size
    h, w = img.shape[-2:]
    out = sum(g[i] * img[..., i:h - k + 1 + i, :] for i in range(k))
    return sum(g[i] * out[..., :, i:w - k + 1 + i] for i in range(k))


def ssim(output: np.ndarray, target: np.ndarray, border: int = 4) -> float:
    """Mean SSIM over frames and RGB channels (MATLAB-style Gaussian SSIM, data range 1)."""
    a = np.moveaxis(_crop(np.clip(_frames(output), 0, 1), border), -1, 1)   # [T, 3, H, W]
    b = np.moveaxis(_crop(_frames(target), border), -1, 1)
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes differ: {a.shape} vs {b.shape}")
    if min(a.shape[-2:]) < 11:
        raise ValueError(f"ssim: frames of {a.shape[-2:]} after the crop are smaller than the 11x11 window")
    g = _gaussian_kernel()
    c1, c2 = (0.01) ** 2, (0.03) ** 2
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    saa = _filter_valid(a * a, g) - mu_a ** 2
    sbb = _filter_valid(b * b, g) - mu_b ** 2
    sab = _filter_valid(a * b, g) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return float(m.mean())


def _grey_u8(frame: np.ndarray) -> np.ndarray:
    f = np.clip(frame, 0, 1)
    grey = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    return np.round(grey * 255).astype(np.uint8)


def tof(output: np.ndarray, target: np.ndarray, border: int = 4) -> float:
    """Temporal optical-flow error: mean |Farneback(out_t, out_t+1) - Farneback(gt_t, gt_t+1)| over pairs."""
    import cv2

    a, b = _crop(_frames(output), border), _crop(_frames(target), border)
    if a.shape[0] < 2:
        raise ValueError("tof: needs at least 2 frames")
    errs = []
    params = (None, 0.5, 3, 15, 3, 5, 1.2, 0)
    for t in range(a.shape[0] - 1):
        fo = cv2.calcOpticalFlowFarneback(_grey_u8(a[t]), _grey_u8(a[t + 1]), *params)
        fg = cv2.calcOpticalFlowFarneback(_grey_u8(b[t]), _grey_u8(b[t + 1]), *params)
        errs.append(np.linalg.norm(fo - fg, axis=-1).mean())
    return float(np.mean(errs))
