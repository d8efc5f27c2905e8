"""Fixtures for the engine tests (helpers live in enginefix.py, shared with tests/vs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from vs_fmanet.engine import save_weights

from enginefix import trained_like_state_dict


@pytest.fixture(scope="session")
def amplified_card(tmp_path_factory) -> Path:
    """Model card of enginefix.trained_like_state_dict saved as safetensors in a temporary folder."""
    path = tmp_path_factory.mktemp("weights") / "tiny_amp.safetensors"
    return save_weights(trained_like_state_dict(), path, preset="tiny", scale=4)
