"""FMANetV1Sequence: the FMA-Net++ interface (RGB [B,T,3,H,W] in, every frame out) around the 3-frame network."""
from __future__ import annotations

import logging

import pytest
import torch

import vs_fmanet.model.fmanet_v1_sequence as seq_module
from vs_fmanet.model.fmanet_v1_sequence import build_fmanet_v1_sequence


def _rgb_clip(x_bgr: torch.Tensor) -> torch.Tensor:
    """Fixture input [B, 3(BGR), T, H, W] -> [B, T, 3(RGB), H, W]."""
    return x_bgr.flip(1).transpose(1, 2).contiguous()


def test_interface_attributes(small_seq) -> None:
    assert small_seq.scale == 4
    assert small_seq.temporal_radius == 1
    assert small_seq.config.name == "small"


@pytest.fixture(scope="module")
def fixture_clip_output(small_seq, small_io) -> torch.Tensor:
    """The sequence model's output for the fixture's 3 frames (as an RGB clip)."""
    with torch.no_grad():
        return small_seq(_rgb_clip(small_io["x"]))


def test_centre_frame_reproduces_the_official_output(fixture_clip_output, small_io) -> None:
    hr = fixture_clip_output
    assert hr.shape == (1, 3, 3, 96, 128)
    ref_rgb = small_io["out_output"].flip(1)
    assert (hr[:, 1] - ref_rgb).abs().max().item() < 1e-4


def test_every_frame_restored_with_replicated_borders(small_seq, small_io, fixture_clip_output) -> None:
    hr = fixture_clip_output
    x = small_io["x"]                                     # BGR [1, 3, 3, H, W]
    with torch.no_grad():
        first = small_seq.restore_window(x[:, :, [0, 0, 1]]).flip(1)
        last = small_seq.restore_window(x[:, :, [1, 2, 2]]).flip(1)
    assert torch.allclose(hr[:, 0], first, atol=1e-5)
    assert torch.allclose(hr[:, 2], last, atol=1e-5)
    assert not torch.allclose(hr[:, 0], hr[:, 1], atol=1e-3)


def test_official_window_outputs_stay_reachable(small_seq, small_io) -> None:
    with torch.no_grad():
        out = small_seq.forward_window(small_io["x"], small_io["y"])
    assert (out["recon"] - small_io["out_recon"]).abs().max().item() < 1e-4


def test_single_frame_clip(small_seq) -> None:
    with torch.no_grad():
        hr = small_seq(torch.rand(1, 1, 3, 6, 5))
    assert hr.shape == (1, 1, 3, 24, 20)
    assert torch.isfinite(hr).all()


def test_temporal_radius_is_one(small_seq) -> None:
    torch.manual_seed(0)
    lr = torch.rand(1, 6, 3, 8, 10)
    changed = lr.clone()
    changed[:, 4] = torch.rand(3, 8, 10)
    with torch.no_grad():
        a, b = small_seq(lr), small_seq(changed)
    diff = (a - b).abs().amax(dim=(0, 2, 3, 4))
    assert torch.all(diff[:3] == 0), diff
    assert torch.all(diff[3:] > 1e-4), diff


def test_batches_and_window_chunks_agree(small_weights) -> None:
    torch.manual_seed(1)
    lr = torch.rand(2, 3, 3, 8, 8)
    net = build_fmanet_v1_sequence("small", max_windows=4).eval()
    net.load_state_dict(small_weights)
    with torch.no_grad():
        b = net(lr)                                       # 6 windows in chunks of 4 and 2
        net.max_windows = None
        a = net(lr)                                       # all 6 at once
        single = net(lr[1:2])
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(a[1:2], single, atol=1e-5)
    with pytest.raises(ValueError, match="max_windows=0"):
        build_fmanet_v1_sequence("small", max_windows=0)


def test_exposure_is_ignored_with_a_one_time_notice(small_seq, monkeypatch, caplog) -> None:
    monkeypatch.setattr(seq_module, "_EXPOSURE_NOTICE_GIVEN", False)
    lr = torch.rand(1, 3, 3, 6, 6)
    with torch.no_grad():
        plain = small_seq(lr)
        with caplog.at_level(logging.WARNING, logger=seq_module.__name__):
            unknown = small_seq(lr, torch.full((1, 3), float("nan")))
            assert not caplog.records                  # nothing known, nothing ignored
            known = small_seq(lr, torch.tensor([[0.5, 0.25, 1.0]]), exposure_weight=torch.ones(1, 3))
            again = small_seq(lr, torch.tensor([[0.1, 0.1, 0.1]]))
    notices = [r for r in caplog.records if "not exposure-aware" in r.getMessage()]
    assert len(notices) == 1
    assert torch.equal(plain, unknown) and torch.equal(plain, known) and torch.equal(plain, again)


def test_bad_input_is_refused(small_seq) -> None:
    with pytest.raises(ValueError, match=r"FMANetV1Sequence.forward: lr must be \[B, T, 3, H, W\]"):
        small_seq(torch.rand(1, 3, 4, 8, 8))
