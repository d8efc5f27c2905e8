"""Shared fixtures for the FMA-Net (v1) tests: the reference files in tests/fixtures/fmanet_v1 (see its README)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vs_fmanet.model.fmanet_v1 import FMANetV1, build_fmanet_v1
from vs_fmanet.model.fmanet_v1_sequence import FMANetV1Sequence, build_fmanet_v1_sequence

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "fmanet_v1"


@pytest.fixture(scope="session")
def fixture_dir() -> Path:
    return FIXTURE_DIR


@pytest.fixture(scope="session")
def small_weights() -> dict[str, torch.Tensor]:
    return load_file(FIXTURE_DIR / "fmanet_v1_small_weights.safetensors")


@pytest.fixture(scope="session")
def small_io() -> dict[str, torch.Tensor]:
    return load_file(FIXTURE_DIR / "fmanet_v1_small_io.safetensors")


@pytest.fixture(scope="session")
def small_net(small_weights) -> FMANetV1:
    net = build_fmanet_v1("small").eval()
    net.load_state_dict(small_weights, strict=True)
    return net


@pytest.fixture(scope="session")
def small_seq(small_weights) -> FMANetV1Sequence:
    net = build_fmanet_v1_sequence("small").eval()
    net.load_state_dict(small_weights, strict=True)
    return net
