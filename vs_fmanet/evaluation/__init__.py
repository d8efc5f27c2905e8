"""Quality metrics (PSNR, SSIM, tOF) and benchmark evaluation used by scripts/evaluate.py and the tests."""
from .metrics import psnr, ssim, tof

__all__ = ["psnr", "ssim", "tof"]
