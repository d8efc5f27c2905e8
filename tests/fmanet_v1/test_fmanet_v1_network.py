"""FMA-Net (v1) network: official checkpoint layout (manifest) and reproduction of the official code's outputs."""
from __future__ import annotations

import copy
import dataclasses
import json
from importlib import resources

import pytest
import torch

from vs_fmanet.model.fmanet_v1 import FMANET_V1_PRESETS, FMANetV1, build_fmanet_v1, get_v1_config
from vs_fmanet.model.fmanet_v1_blocks import fold_frame_convs

OUTPUT_NAMES = {"output", "recon", "hr_warp", "image_flow", "F_sharp_D", "lr_warp", "F_sharp_R"}


def _manifest(fixture_dir) -> dict:
    return json.loads((fixture_dir / "fmanet_v1_manifest.json").read_text())


def test_official_state_dict_equals_manifest(fixture_dir) -> None:
    manifest = _manifest(fixture_dir)
    net = build_fmanet_v1("official")
    shapes = {k: list(v.shape) for k, v in net.state_dict().items()}
    assert shapes == manifest["state_dict"]
    assert list(shapes) == list(manifest["state_dict"])          # same order as the official module tree
    count = lambda m: sum(p.numel() for p in m.parameters())    # noqa: E731
    assert count(net) == manifest["total_params"] == 9_766_503
    assert count(net.degradation_learning_network) == manifest["net_d_params"]
    assert count(net.restoration_network) == manifest["net_r_params"]


def test_official_preset_is_the_manifest_config(fixture_dir) -> None:
    official = _manifest(fixture_dir)["config"]
    cfg = FMANET_V1_PRESETS["official"]
    assert (cfg.channels, cfg.frames, cfg.ds_kernel_size, cfg.us_kernel_size) == (
        official["dim"], official["num_seq"], official["ds_kernel_size"], official["us_kernel_size"])
    assert (cfg.rrdb_blocks, cfg.growth, cfg.rdb_layers, cfg.flows, cfg.blocks, cfg.attn_repeats, cfg.heads) == (
        official["num_RDB"], official["growth_rate"], official["num_dense_layer"], official["num_flow"],
        official["num_FRMA"], official["num_transformer_block"], official["num_heads"])
    assert cfg.ffn_expansion == official["ffn_expansion_factor"]


def test_packaged_manifest_is_the_reference_manifest(fixture_dir) -> None:
    packaged = json.loads(resources.files("vs_fmanet.model").joinpath("fmanet_v1_manifest.json").read_text())
    assert packaged == _manifest(fixture_dir)


def test_small_preset_matches_fixture_config(fixture_dir, small_weights) -> None:
    ref = json.loads((fixture_dir / "fmanet_v1_small_config.json").read_text())
    cfg = FMANET_V1_PRESETS["small"]
    c = ref["config"]
    assert (cfg.channels, cfg.rrdb_blocks, cfg.growth, cfg.rdb_layers, cfg.flows, cfg.blocks, cfg.attn_repeats,
            cfg.heads) == (c["dim"], c["num_RDB"], c["growth_rate"], c["num_dense_layer"], c["num_flow"],
                           c["num_FRMA"], c["num_transformer_block"], c["num_heads"])
    net = build_fmanet_v1("small")
    assert sum(p.numel() for p in net.parameters()) == ref["params"] == 565_707
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == {
        k: tuple(v.shape) for k, v in small_weights.items()}


def test_reproduces_every_output_of_the_official_code(small_net, small_io) -> None:
    with torch.no_grad():
        out = small_net(small_io["x"], small_io["y"])
    assert set(out) == OUTPUT_NAMES == {k[len("out_"):] for k in small_io if k.startswith("out_")}
    for name in OUTPUT_NAMES:
        ref = small_io[f"out_{name}"]
        assert out[name].shape == ref.shape, name
        err = (out[name] - ref).abs().max().item()
        assert err < 1e-4, f"{name}: max abs error {err:.3g}"


def test_restore_window_is_the_forward_output(small_net, small_io) -> None:
    with torch.no_grad():
        centre = small_net.restore_window(small_io["x"])
        no_hr = small_net(small_io["x"])
    assert "recon" not in no_hr and "hr_warp" not in no_hr
    assert torch.allclose(centre, no_hr["output"], atol=1e-6)
    assert (centre - small_io["out_output"]).abs().max().item() < 1e-4


def test_channel_order_matters(small_net, small_io) -> None:
    """The weights expect BGR: feeding RGB gives a clearly different result (so the adapter's flip is needed)."""
    with torch.no_grad():
        flipped = small_net.restore_window(small_io["x"].flip(1))
    assert (flipped.flip(1) - small_io["out_output"]).abs().max().item() > 1e-2


def test_any_frame_size(small_net) -> None:
    x = torch.rand(2, 3, 3, 7, 11)
    with torch.no_grad():
        out = small_net(x, torch.rand(2, 3, 3, 28, 44))
    assert out["output"].shape == (2, 3, 28, 44)
    assert out["recon"].shape == (2, 3, 7, 11)
    assert all(torch.isfinite(v).all() for v in out.values())


def test_bad_input_is_refused_with_a_clear_message(small_net) -> None:
    with pytest.raises(ValueError, match=r"FMANetV1.forward_window: x must be \[B, 3, 3, H, W\]"):
        small_net(torch.rand(1, 3, 5, 8, 8))
    with pytest.raises(ValueError, match="warp_hr_frames: HR frames are 30x30"):
        small_net(torch.rand(1, 3, 3, 8, 8), torch.rand(1, 3, 3, 30, 30))
    with pytest.raises(ValueError, match="restore_window"):
        small_net.restore_window(torch.rand(1, 3, 8, 8))


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="unknown preset 'paper'"):
        get_v1_config("paper")
    with pytest.raises(ValueError, match="channels=20 must be divisible by flows=9"):
        get_v1_config("small", channels=20, heads=2, frames=1)
    with pytest.raises(ValueError, match="frames=2 must be odd"):
        get_v1_config(dataclasses.replace(FMANET_V1_PRESETS["small"], frames=2))
    with pytest.raises(ValueError, match="scale=2 is not supported"):
        FMANetV1(FMANET_V1_PRESETS["small"], scale=2)


def test_frame_convs_equal_conv3d() -> None:
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Conv3d(6, 5, (1, 3, 3), padding=(0, 1, 1), bias=True),
                              torch.nn.Conv3d(5, 4, (1, 1, 1)), torch.nn.Conv3d(4, 4, 3, padding=1))
    folded = fold_frame_convs(copy.deepcopy(ref))
    assert [type(m).__name__ for m in folded] == ["FrameConv3d", "FrameConv3d", "Conv3d"]  # true 3-D conv kept
    assert folded.state_dict().keys() == ref.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(folded.state_dict().values(), ref.state_dict().values()))
    x = torch.rand(2, 6, 3, 7, 9)
    with torch.no_grad():
        assert torch.allclose(folded(x), ref(x), atol=1e-5)
    net = build_fmanet_v1("small")
    assert not any(type(m) is torch.nn.Conv3d and m.kernel_size[0] == 1 for m in net.modules())
