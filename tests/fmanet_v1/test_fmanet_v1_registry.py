"""build_network / infer_network_from_state_dict: one entry point for FMA-Net++ and FMA-Net."""
from __future__ import annotations

import json

import pytest
import torch

from vs_fmanet.model import FMANetPP, FMANetV1Sequence, build_network, infer_network_from_state_dict


def test_builds_both_networks_with_one_interface() -> None:
    torch.manual_seed(0)
    pp = build_network("fmanetpp", "tiny", scale=2).eval()
    v1 = build_network("fmanet", "small").eval()
    assert isinstance(pp, FMANetPP) and pp.scale == 2 and pp.config.name == "tiny"
    assert isinstance(v1, FMANetV1Sequence) and v1.scale == 4 and v1.config.name == "small"
    lr = torch.rand(1, 3, 3, 8, 8)
    exposure = torch.tensor([[0.5, float("nan"), 0.25]])
    with torch.no_grad():
        assert pp(lr, exposure).shape == (1, 3, 3, 16, 16)
        assert v1(lr, exposure).shape == (1, 3, 3, 32, 32)
    assert pp.temporal_radius == 2 * pp.config.blocks
    assert v1.temporal_radius == 1


def test_default_presets(fixture_dir) -> None:
    with torch.device("meta"):
        official = build_network("fmanet")
    manifest = json.loads((fixture_dir / "fmanet_v1_manifest.json").read_text())
    assert official.config.name == "official"
    assert {k: list(v.shape) for k, v in official.state_dict().items()} == manifest["state_dict"]


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="build_network: unknown network 'basicvsr'"):
        build_network("basicvsr")
    with pytest.raises(ValueError, match="network 'fmanet' has no preset 'paper'"):
        build_network("fmanet", "paper")
    with pytest.raises(ValueError, match="network 'fmanet' does not support scale=2"):
        build_network("fmanet", "official", scale=2)
    with pytest.raises(ValueError, match="network 'fmanetpp' has no preset 'official'"):
        build_network("fmanetpp", "official")


def test_infer_network_from_state_dict(fixture_dir, small_weights) -> None:
    assert infer_network_from_state_dict(small_weights) == ("fmanet", "small", 4)
    manifest = json.loads((fixture_dir / "fmanet_v1_manifest.json").read_text())
    official = {k: torch.empty(v, device="meta") for k, v in manifest["state_dict"].items()}
    assert infer_network_from_state_dict(official) == ("fmanet", "official", 4)
    pp = build_network("fmanetpp", "tiny", scale=1).state_dict()
    assert infer_network_from_state_dict(pp) == ("fmanetpp", "tiny", 1)
    damaged = dict(small_weights)
    damaged.pop("restoration_network.a_conv.2.weight")
    with pytest.raises(ValueError, match=r"closest: 'fmanet' preset 'small' x4: 1 missing key\(s\)"):
        infer_network_from_state_dict(damaged)
    with pytest.raises(ValueError, match="match no known network"):
        infer_network_from_state_dict(small_weights, names=("fmanetpp",))
