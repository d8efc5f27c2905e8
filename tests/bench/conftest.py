"""Fixtures for the speed-benchmark and engine-acceleration tests: bench scripts as modules, trained-like weights."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "engine"))   # enginefix: weights and clips made in code

from enginefix import trained_like_state_dict  # noqa: E402

from vs_fmanet.engine import save_weights  # noqa: E402


@pytest.fixture(scope="session")
def bench_speed():
    """scripts/bench_speed.py imported as a module (its main() takes an argv list)."""
    return importlib.import_module("bench_speed")


@pytest.fixture(scope="session")
def bench_peers():
    return importlib.import_module("bench_peers")


@pytest.fixture(scope="session")
def trained_like_card(tmp_path_factory) -> Path:
    """Model card of tiny weights whose restoration residual is well above float noise (see enginefix)."""
    path = tmp_path_factory.mktemp("bench_weights") / "tiny_trained_like.safetensors"
    return save_weights(trained_like_state_dict(), path, preset="tiny", scale=4)
