"""The anti-flicker term of the joint loss: it sees only the part of the error that changes between frames."""
from __future__ import annotations

import pytest
import torch

from vs_fmanet.training.losses import temporal_difference_loss


def _clip(t: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.rand(2, t, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_an_error_constant_in_time_costs_nothing() -> None:
    gt = _clip()
    steady_error = 0.1 * torch.randn(2, 1, 3, 8, 8)   # the same wrong pixels in every frame: no flicker
    assert float(temporal_difference_loss(gt + steady_error, gt)) == pytest.approx(0.0, abs=1e-7)


def test_flicker_is_charged_by_its_frame_to_frame_size() -> None:
    gt = _clip()
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0]).reshape(1, 5, 1, 1, 1)
    flicker = gt + 0.02 * sign             # brightness jumping +-0.02: every change is off by 0.04
    assert float(temporal_difference_loss(flicker, gt)) == pytest.approx(0.04, rel=1e-5)
    drift = gt + 0.02 * torch.arange(5.0).reshape(1, 5, 1, 1, 1)   # slow drift: 0.02 per frame
    assert float(temporal_difference_loss(drift, gt)) == pytest.approx(0.02, rel=1e-5)


def test_a_single_frame_is_refused_by_name() -> None:
    gt = _clip(t=1)
    with pytest.raises(ValueError, match="temporal_difference_loss: needs at least 2 frames, got T=1"):
        temporal_difference_loss(gt, gt)
