"""Weights: model cards, sha256 check, safetensors only, default lookup, clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vs_fmanet.engine import Engine, WeightsError, read_model_card, save_weights, write_model_card
from vs_fmanet.engine import weights as weights_module

from enginefix import make_clip, tiny_state_dict


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return make_clip(3, 12, 12)


@pytest.fixture
def card(tmp_path):
    return save_weights(tiny_state_dict(seed=7), tmp_path / "fmanetpp_x4_tiny.safetensors", preset="tiny", scale=4,
                        trained_on="nothing (test)")


def test_card_round_trip_and_every_way_to_name_the_weights(card, clip, monkeypatch):
    parsed = read_model_card(card)
    assert (parsed.name, parsed.model, parsed.preset, parsed.scale, parsed.format) == \
        ("fmanetpp_x4_tiny", "fmanetpp", "tiny", 4, "safetensors")
    assert parsed.extra == {"trained_on": "nothing (test)"} and len(parsed.sha256) == 64
    by_card = Engine(weights=card, window=3, overlap=0)
    assert by_card.model_name == "fmanetpp_x4_tiny" and by_card.describe()["sha256"] == parsed.sha256
    out = by_card.restore(clip)
    by_file = Engine(weights=card.with_suffix(".safetensors"), window=3, overlap=0).restore(clip)
    monkeypatch.setenv("VS_FMANET_MODELS", str(card.parent))
    by_name = Engine(weights="fmanetpp_x4_tiny", window=3, overlap=0).restore(clip)
    by_default = Engine(weights=None, preset="tiny", window=3, overlap=0).restore(clip)
    for other in (by_file, by_name, by_default):
        np.testing.assert_array_equal(out, other)
    # different weights give a different result (the file really is what runs)
    assert np.abs(out - Engine(preset="tiny", weights="random", window=3, overlap=0).restore(clip)).max() > 1e-4


def test_fp16_weights_file_loads(tmp_path, clip):
    sd = tiny_state_dict(seed=7)
    card = save_weights(sd, tmp_path / "half.safetensors", preset="tiny", scale=4, dtype=torch.float16)
    assert read_model_card(card).file.stat().st_size < 0.6 * sum(v.numel() * 4 for v in sd.values())
    Engine(weights=card, window=3, overlap=0).restore(clip)


def test_sha256_mismatch_names_the_file(card):
    weights = card.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=f"sha256 of {weights} is .* but {card} expects"):
        Engine(weights=card)


def test_missing_files_and_bad_cards(card, tmp_path):
    weights = card.with_suffix(".safetensors")
    weights.unlink()
    with pytest.raises(WeightsError, match=f"weights file {weights} named by {card} does not exist"):
        Engine(weights=card)
    with pytest.raises(WeightsError, match="weights file .*nothing.safetensors does not exist"):
        Engine(weights=tmp_path / "nothing.safetensors")
    lonely = tmp_path / "lonely.safetensors"
    save_file({"x": torch.zeros(1)}, lonely)
    with pytest.raises(WeightsError, match="model card .*lonely.json does not exist.*write_model_card"):
        Engine(weights=lonely)
    bad = json.loads(card.read_text())
    for field, value, message in [("format", "pickle", "pickled checkpoints can run code"),
                                  ("sha256", "abc", "not 64 hex digits"),
                                  ("model", "basicvsrpp", "is for model 'basicvsrpp'")]:
        card.write_text(json.dumps({**bad, field: value}))
        with pytest.raises(WeightsError, match=message):
            Engine(weights=card)
    card.write_text(json.dumps({k: v for k, v in bad.items() if k != "sha256"}))
    with pytest.raises(WeightsError, match=r"lacks the field\(s\) \['sha256'\]"):
        Engine(weights=card)


def test_card_must_match_the_request(card):
    with pytest.raises(WeightsError, match="holds x4 weights but scale=2"):
        Engine(weights=card, scale=2)
    with pytest.raises(WeightsError, match="holds preset 'tiny' but preset='paper'"):
        Engine(weights=card, preset="paper")


def test_scale_comes_from_the_weights_card_unless_asked(tmp_path, card, clip, monkeypatch):
    from vs_fmanet.model import build_model

    torch.manual_seed(2)
    x2 = save_weights(build_model("tiny", 2).state_dict(), tmp_path / "fmanetpp_x2_tiny.safetensors", preset="tiny",
                      scale=2)
    by_card = Engine(weights=x2, window=3, overlap=0)
    assert by_card.scale == 2 and by_card.restore(clip).shape == (3, 24, 24, 3)
    with pytest.raises(WeightsError, match=r"holds x2 weights but scale=4 was asked; pass scale=2 \(or leave"):
        Engine(weights=x2, scale=4)
    # the default weights: x4 unless a scale is asked for; both cards sit in one models folder
    monkeypatch.setenv("VS_FMANET_MODELS", str(tmp_path))
    assert Engine(preset="tiny", window=3, overlap=0).scale == 4
    assert Engine(scale=2, window=3, overlap=0).model_name == "fmanetpp_x2_tiny"
    assert Engine(weights="random", preset="tiny", window=3, overlap=0).scale == 4


def test_weights_that_do_not_fit_the_preset(tmp_path):
    path = tmp_path / "wrong.safetensors"
    save_file({"net_d.something": torch.zeros(3)}, path)
    card = write_model_card(path, preset="tiny", scale=4)
    with pytest.raises(WeightsError, match="does not fit preset 'tiny': missing"):
        Engine(weights=card)
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_model_card(path, preset="tiny", scale=4)


def test_no_default_weights_is_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(weights_module, "models_dirs", lambda: [tmp_path])
    with pytest.raises(WeightsError, match="no weights found for model='fmanetpp', scale=4.*weights='random'"):
        Engine()
    for name in ("a", "b"):
        save_weights(tiny_state_dict(), tmp_path / f"{name}.safetensors", preset="tiny", scale=4)
    with pytest.raises(WeightsError, match="several weights match"):
        Engine()
    save_weights(tiny_state_dict(), tmp_path / "c.safetensors", preset="tiny", scale=4, default=True)
    assert Engine().model_name == "c"


def test_the_first_folder_with_matching_weights_decides(tmp_path, monkeypatch):
    """VS_FMANET_MODELS overrides the checkout's models/, which overrides an installed copy of the same cards."""
    override, checkout, installed = (tmp_path / n for n in ("override", "checkout", "installed"))
    monkeypatch.setattr(weights_module, "models_dirs", lambda: [override, checkout, installed])
    for folder in (checkout, installed):
        save_weights(tiny_state_dict(), folder / f"{folder.name}.safetensors", preset="tiny", scale=4, default=True)
    assert Engine().model_name == "checkout"
    save_weights(tiny_state_dict(), override / "mine.safetensors", preset="tiny", scale=4)
    assert Engine().model_name == "mine"
    assert Engine(weights="installed").model_name == "installed"


def test_a_card_name_with_dots_or_given_as_its_file_name(tmp_path, monkeypatch):
    """train.py --name allows dots; 'v1.2_x4' was taken for a file with suffix '.2_x4' and refused."""
    save_weights(tiny_state_dict(5), tmp_path / "v1.2_x4.safetensors", preset="tiny", scale=4)
    monkeypatch.setenv("VS_FMANET_MODELS", str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)
    for name in ("v1.2_x4", "v1.2_x4.json"):
        assert Engine(weights=name).model_name == "v1.2_x4", name
    with pytest.raises(WeightsError, match=r"no model card named 'v9.9' \(v9.9.json\)"):
        Engine(weights="v9.9.json")
