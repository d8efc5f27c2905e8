"""scripts/weights_parts.py: weights cut into byte parts (the GPU machine's 16 MiB file cap) come back as the same,
checked file; a missing or damaged part never produces weights."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from vs_fmanet.engine import Engine, save_weights
from vs_fmanet.model import build_model

ROOT = Path(__file__).resolve().parents[2]


def parts_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "weights_parts.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_split_join_round_trip_and_refusals(tmp_path: Path) -> None:
    torch.manual_seed(0)
    card = save_weights(build_model("tiny").state_dict(), tmp_path / "src" / "w.safetensors", preset="tiny", scale=4)
    original = (tmp_path / "src" / "w.safetensors").read_bytes()
    assert parts_tool("split", str(card), str(tmp_path / "out"), "--max-mib", "0.1").returncode == 0
    parts = sorted((tmp_path / "out").glob("w.safetensors.part*"))
    assert len(parts) == -(-len(original) // int(0.1 * 2**20)) >= 2
    assert all(p.stat().st_size <= 0.1 * 2**20 for p in parts)

    proc = parts_tool("join", str(tmp_path / "out"), str(tmp_path / "models"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "models" / "w.safetensors").read_bytes() == original
    Engine(weights=str(tmp_path / "models" / "w.json"), device="cpu")          # sha256-checked load

    proc = parts_tool("join", str(tmp_path / "out"), str(tmp_path / "models"))
    assert proc.returncode == 2 and "already exists; pass -y" in proc.stderr

    damaged = bytearray(parts[0].read_bytes())
    damaged[100] ^= 0xFF
    parts[0].write_bytes(bytes(damaged))
    proc = parts_tool("join", str(tmp_path / "out"), str(tmp_path / "fresh"))
    assert proc.returncode == 2 and "a part is missing or damaged" in proc.stderr
    assert not (tmp_path / "fresh" / "w.safetensors").exists() and not list((tmp_path / "fresh").glob(".*joining"))

    parts[-1].unlink()
    proc = parts_tool("join", str(tmp_path / "out"), str(tmp_path / "fresh"))
    assert proc.returncode == 2 and ("missing or damaged" in proc.stderr or "not contiguous" in proc.stderr)


def test_join_keeps_one_default_card_per_model_and_scale(tmp_path: Path, monkeypatch) -> None:
    """An export on the GPU machine sees no other card and marks itself default; joined into models/ beside the
    shipped default it used to leave two defaults, and Engine() then refused to choose."""
    import json

    import pytest

    from vs_fmanet.engine.weights import WeightsError, find_default_card

    torch.manual_seed(0)
    models = tmp_path / "models"
    save_weights(build_model("tiny").state_dict(), models / "shipped.safetensors", preset="tiny", scale=4,
                 default=True)
    card = save_weights(build_model("tiny").state_dict(), tmp_path / "export" / "new.safetensors", preset="tiny",
                        scale=4, default=True)
    assert parts_tool("split", str(card), str(tmp_path / "parts")).returncode == 0
    proc = parts_tool("join", str(tmp_path / "parts"), str(models))
    assert proc.returncode == 0, proc.stderr
    assert "shipped.json stays the default" in proc.stderr and "move \"default\": true" in proc.stderr
    assert "default" not in json.loads((models / "new.json").read_text())
    monkeypatch.setenv("VS_FMANET_MODELS", str(models))
    assert find_default_card("fmanetpp", 4).card_path.name == "shipped.json"
    # both marked (e.g. by hand): the error says what to fix
    meta = json.loads((models / "new.json").read_text())
    (models / "new.json").write_text(json.dumps({**meta, "default": True}))
    with pytest.raises(WeightsError, match=r"several cards are marked \"default\": true.*remove the mark"):
        find_default_card("fmanetpp", 4)
