"""Fixtures for the VapourSynth plugin tests (real VapourSynth from PyPI; helpers in vsfix.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from enginefix import trained_like_state_dict  # noqa: E402

from vs_fmanet.engine import save_weights  # noqa: E402


@pytest.fixture(scope="session")
def amplified_card(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vs_weights") / "tiny_amp.safetensors"
    return save_weights(trained_like_state_dict(), path, preset="tiny", scale=4)
