"""fmanet-convert: look-alike official checkpoints (optimizer + MultiStepLR state) round-trip; bad input refused.

The look-alike ``model_D``/``model_R`` files are built here from the small fixture exactly as the official training
code saves them: a pickled dict with ``epoch``, the sub-network's state dict (keys without the sub-network prefix),
an Adam optimizer state after one step and a MultiStepLR state (milestones as a collections.Counter).
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
import pickle
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from vs_fmanet.convert import ALLOWED_GLOBALS, PREFIXES, _load_pickle, main
from vs_fmanet.model import build_network

REQUIRED_CARD_FIELDS = {"name", "model", "preset", "scale", "file", "sha256", "format", "channel_order", "licence"}


def _training_state(params: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    """Adam + MultiStepLR state dicts as the official code keeps them (after one optimisation step)."""
    tensors = [torch.nn.Parameter(v.clone()) for v in params.values()]
    opt = torch.optim.Adam(tensors, lr=2e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[260, 360, 380, 390], gamma=0.5)
    for p in tensors:
        p.grad = torch.full_like(p, 1e-3)
    opt.step()
    sched.step()
    return opt.state_dict(), sched.state_dict()


def _split(weights: dict[str, torch.Tensor], role: str) -> dict[str, torch.Tensor]:
    prefix = PREFIXES[role]
    return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}


def make_checkpoints(folder: Path, weights: dict[str, torch.Tensor], *, optimizer: bool = True,
                     epoch: int = 212) -> tuple[Path, Path]:
    paths = []
    for role in ("D", "R"):
        state = _split(weights, role)
        ckpt: dict = {"epoch": epoch, f"model_{role}_state_dict": state}
        if optimizer:
            opt_state, sched_state = _training_state(state)
            ckpt[f"optimizer_{role}_state_dict"] = opt_state
            ckpt[f"scheduler_{role}_state_dict"] = sched_state
        path = folder / f"model_{role}_best.pt"
        torch.save(ckpt, path)
        paths.append(path)
    return paths[0], paths[1]


class _Payload:
    """A pickle that runs a shell command when loaded (never by the converter)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_lookalike_has_the_official_structure(tmp_path, small_weights) -> None:
    """The look-alike holds what the official files hold, and the safe loader reads all of it."""
    d_path, _ = make_checkpoints(tmp_path, small_weights)
    ckpt = _load_pickle(d_path, "D")
    assert set(ckpt) == {"epoch", "model_D_state_dict", "optimizer_D_state_dict", "scheduler_D_state_dict"}
    assert isinstance(ckpt["scheduler_D_state_dict"]["milestones"], collections.Counter)
    first_param = next(iter(ckpt["model_D_state_dict"].values()))
    assert ckpt["optimizer_D_state_dict"]["state"][0]["exp_avg"].shape == first_param.shape
    assert ALLOWED_GLOBALS == [collections.Counter]     # nothing beyond what those files need


def test_round_trip_small(tmp_path, small_weights, small_io, capsys) -> None:
    d_path, r_path = make_checkpoints(tmp_path, small_weights)
    out = tmp_path / "conv" / "fmanet_small.safetensors"
    out.parent.mkdir()
    assert main([str(d_path), str(r_path), "-o", str(out)]) == 0
    assert "fmanet_small.safetensors" in capsys.readouterr().out

    converted = load_file(out)
    assert converted.keys() == small_weights.keys()
    assert all(torch.equal(converted[k], small_weights[k]) for k in small_weights)
    assert sorted(p.name for p in out.parent.iterdir()) == ["fmanet_small.json", "fmanet_small.safetensors"]

    card = json.loads(out.with_suffix(".json").read_text())
    assert REQUIRED_CARD_FIELDS <= card.keys()
    assert (card["name"], card["model"], card["preset"], card["scale"], card["file"], card["format"],
            card["channel_order"]) == ("fmanet_small", "fmanet", "small", 4, out.name, "safetensors", "BGR")
    assert card["sha256"] == _sha(out)
    assert "research and education use only" in card["licence"]
    assert card["source"]["model_D"] == {"file": d_path.name, "sha256": _sha(d_path), "epoch": 212}
    assert card["source"]["model_R"]["sha256"] == _sha(r_path)
    assert card["parameters"] == 565_707
    with safe_open(str(out), "pt") as fh:
        meta = fh.metadata()
    assert meta["channel_order"] == "BGR" and "research and education" in meta["licence"]

    net = build_network("fmanet", card["preset"], card["scale"]).eval()
    net.load_state_dict(converted, strict=True)
    with torch.no_grad():
        hr = net(small_io["x"].flip(1).transpose(1, 2))
    assert (hr[:, 1].flip(1) - small_io["out_output"]).abs().max().item() < 1e-4


def test_round_trip_official_shapes(tmp_path, fixture_dir) -> None:
    """Official-size look-alike (random values, no optimizer state to keep the files small): auto-detected."""
    manifest = json.loads((fixture_dir / "fmanet_v1_manifest.json").read_text())
    g = torch.Generator().manual_seed(3)
    weights = {k: torch.randn(v, generator=g) * 0.01 for k, v in manifest["state_dict"].items()}
    d_path, r_path = make_checkpoints(tmp_path, weights, optimizer=False, epoch=400)
    out = tmp_path / "fmanet_v1_reds.safetensors"
    assert main([str(d_path), str(r_path), "-o", str(out), "--name", "fmanet_reds_x4"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert (card["name"], card["preset"], card["parameters"]) == ("fmanet_reds_x4", "official", 9_766_503)
    converted = load_file(out)
    assert all(torch.equal(converted[k], weights[k]) for k in weights)


def test_existing_output_needs_overwrite(tmp_path, small_weights, capsys) -> None:
    d_path, r_path = make_checkpoints(tmp_path, small_weights, optimizer=False)
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"keep me")
    assert main([str(d_path), str(r_path), "-o", str(out)]) == 1
    assert "already exists; pass --overwrite (-y)" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me" and not out.with_suffix(".json").exists()
    assert main([str(d_path), str(r_path), "-o", str(out), "-y"]) == 0
    assert _sha(out) == json.loads(out.with_suffix(".json").read_text())["sha256"]
    out.unlink()                                       # the card alone also blocks a rerun
    assert main([str(d_path), str(r_path), "-o", str(out)]) == 1
    assert not out.exists()
    assert main([str(d_path), str(r_path), "-o", str(out), "--overwrite"]) == 0


@pytest.mark.parametrize("fmt", ["torch_zip", "raw_pickle"])
def test_malicious_pickle_is_refused_without_running(tmp_path, small_weights, capsys, fmt) -> None:
    marker = tmp_path / "pwned"
    evil = {"epoch": 1, "model_D_state_dict": _Payload(marker)}
    d_path = tmp_path / "model_D_best.pt"
    if fmt == "torch_zip":
        torch.save(evil, d_path)
    else:
        d_path.write_bytes(pickle.dumps(evil, protocol=2))   # torch's own legacy format uses protocol 2
    good = tmp_path / "good"
    good.mkdir()
    _, r_path = make_checkpoints(good, small_weights, optimizer=False)
    out = tmp_path / "w.safetensors"
    assert main([str(d_path), str(r_path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "refusing" in err and "Nothing in it was executed" in err and "system" in err
    assert not marker.exists() and not out.exists()


def test_the_malicious_payload_is_real(tmp_path) -> None:
    """Guard for the test above: an unrestricted unpickler does run the payload."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps({"model_D_state_dict": _Payload(marker)}))
    assert marker.exists()


def test_optimizer_only_file_is_refused(tmp_path, small_weights, capsys) -> None:
    d_path, r_path = make_checkpoints(tmp_path, small_weights)
    full = torch.load(d_path, weights_only=False)
    torch.save({k: v for k, v in full.items() if k != "model_D_state_dict"}, d_path)
    assert main([str(d_path), str(r_path), "-o", str(tmp_path / "w.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "holds no network weights for model_D" in err and "optimizer_D_state_dict" in err


def test_swapped_files_are_refused(tmp_path, small_weights, capsys) -> None:
    d_path, r_path = make_checkpoints(tmp_path, small_weights, optimizer=False)
    assert main([str(r_path), str(d_path), "-o", str(tmp_path / "w.safetensors")]) == 1
    assert "is the model_R checkpoint but was given as model_D" in capsys.readouterr().err


def test_wrong_keys_and_shapes_are_refused(tmp_path, small_weights, capsys) -> None:
    d_path, r_path = make_checkpoints(tmp_path, small_weights, optimizer=False)
    # an FMA-Net++ state dict is not FMA-Net
    pp = tmp_path / "pp.pt"
    torch.save({"model_D_state_dict": build_network("fmanetpp", "tiny").state_dict()}, pp)
    assert main([str(pp), str(r_path), "-o", str(tmp_path / "a.safetensors")]) == 1
    assert "do not match the FMA-Net network" in capsys.readouterr().err
    # one tensor with another shape, named in the message
    bad = dict(_split(small_weights, "D"))
    bad["a_conv.2.weight"] = torch.zeros(4, 18, 1, 3, 3)
    torch.save({"model_D_state_dict": bad}, d_path)
    assert main([str(d_path), str(r_path), "-o", str(tmp_path / "b.safetensors"), "--preset", "small"]) == 1
    err = capsys.readouterr().err
    assert "degradation_learning_network.a_conv.2.weight [4, 18, 1, 3, 3] (expected [3, 18, 1, 3, 3])" in err
    # the official preset asked for explicitly, small weights given
    d_path, r_path = make_checkpoints(tmp_path, small_weights, optimizer=False)
    assert main([str(d_path), str(r_path), "-o", str(tmp_path / "c.safetensors"), "--preset", "official"]) == 1
    assert "preset 'official'" in capsys.readouterr().err


def test_non_finite_weights_are_refused(tmp_path, small_weights, capsys) -> None:
    weights = dict(small_weights)
    weights["restoration_network.res_conv2.weight"] = weights["restoration_network.res_conv2.weight"].clone()
    weights["restoration_network.res_conv2.weight"][0, 0, 0, 0] = float("nan")
    d_path, r_path = make_checkpoints(tmp_path, weights, optimizer=False)
    assert main([str(d_path), str(r_path), "-o", str(tmp_path / "w.safetensors")]) == 1
    assert "restoration_network.res_conv2.weight contains NaN" in capsys.readouterr().err


def test_not_a_checkpoint(tmp_path, small_weights, capsys) -> None:
    _, r_path = make_checkpoints(tmp_path, small_weights, optimizer=False)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01 this is not a checkpoint")
    assert main([str(junk), str(r_path), "-o", str(tmp_path / "w.safetensors")]) == 1
    assert "is not a PyTorch checkpoint that the safe loader can read" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.pt"), str(r_path), "-o", str(tmp_path / "w.safetensors")]) == 1
    assert "missing.pt does not exist" in capsys.readouterr().err


def test_usage_errors(tmp_path, small_weights, capsys) -> None:
    d_path, r_path = make_checkpoints(tmp_path, small_weights, optimizer=False)
    assert main([str(d_path), str(r_path)]) == 2                          # no -o
    assert main([str(d_path), str(r_path), "-o", str(tmp_path / "w.pt")]) == 2
    assert "must end in .safetensors" in capsys.readouterr().err
    assert main([str(d_path), str(d_path), "-o", str(tmp_path / "w.safetensors")]) == 2
    assert "are the same file" in capsys.readouterr().err
    assert main([str(d_path), str(r_path), "-o", str(tmp_path / "w.safetensors"), "--preset", "huge"]) == 2
    assert main(["--help"]) == 0
    assert not list(tmp_path.glob("w*"))


def test_command_line_entry_point(tmp_path, small_weights) -> None:
    d_path, r_path = make_checkpoints(tmp_path, small_weights, optimizer=True)
    out = tmp_path / "cli.safetensors"
    proc = subprocess.run([sys.executable, "-m", "vs_fmanet.convert", str(d_path), str(r_path), "-o", str(out)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.with_suffix(".json").read_text())["sha256"] == _sha(out)
