"""fmanet-weights: lists the cards the engine finds (in priority order, with the default per model and scale) and
--verify catches a damaged weights file or a broken card with exit code 1."""
from __future__ import annotations

import json

import pytest

from vs_fmanet.engine import save_weights
from vs_fmanet.engine import weights as weights_module
from vs_fmanet.engine import weights_cli

from enginefix import tiny_state_dict


@pytest.fixture
def folders(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setattr(weights_module, "models_dirs", lambda: [first, second])
    monkeypatch.setattr(weights_cli, "models_dirs", lambda: [first, second])
    save_weights(tiny_state_dict(1), first / "mine.safetensors", preset="tiny", scale=4)
    save_weights(tiny_state_dict(2), second / "shipped.safetensors", preset="tiny", scale=4, default=True)
    save_weights(tiny_state_dict(3), second / "other.safetensors", preset="tiny", scale=4)
    return first, second


def test_lists_cards_and_the_default_choice(folders, capsys):
    assert weights_cli.main(["--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    by_name = {e["name"]: e for e in listed["weights"]}
    assert [e["name"] for e in listed["weights"]] == ["mine", "other", "shipped"]
    assert by_name["mine"]["default"] and not by_name["shipped"]["default"]   # the first folder decides
    assert {e["status"] for e in listed["weights"]} == {"unchecked"}
    assert weights_cli.main(["--verify"]) == 0
    table = capsys.readouterr().out
    assert "mine" in table and table.count(" ok ") == 3 and "searched, in this order" in table


def test_lists_the_recorded_gains_on_clean_and_on_real_footage(folders, capsys):
    first, _ = folders
    rows = {"syn-re": {"bicubic": {"psnr": 23.5}, "model": {"psnr": 24.84}},
            "syn-re-real": {"bicubic": {"psnr": 22.37}, "model": {"psnr": 23.4}}}
    save_weights(tiny_state_dict(4), first / "real.safetensors", preset="tiny", scale=2,
                 evaluation={"small-seed0-fp32": {"results": rows}})
    assert weights_cli.main(["--json"]) == 0
    by_name = {e["name"]: e for e in json.loads(capsys.readouterr().out)["weights"]}
    assert by_name["real"]["syn_re_gain_db"] == 1.34 and by_name["real"]["syn_re_real_gain_db"] == 1.03
    assert by_name["mine"]["syn_re_gain_db"] is None and by_name["mine"]["syn_re_real_gain_db"] is None
    assert weights_cli.main([]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("real "))
    assert "+1.34 dB  +1.03 dB" in line


def test_verify_reports_damage_and_broken_cards(folders, capsys):
    first, second = folders
    data = bytearray((second / "other.safetensors").read_bytes())
    data[-1] ^= 1
    (second / "other.safetensors").write_bytes(bytes(data))
    (first / "notes.json").write_text("{}")
    assert weights_cli.main(["--verify"]) == 1
    captured = capsys.readouterr()
    assert "other.safetensors" in captured.err and "sha256" in captured.err
    assert "notes.json" in captured.err and "broken card" in captured.err
    assert weights_cli.main([]) == 1          # the broken card fails a plain listing too; the damage needs --verify


def test_verify_fails_on_a_node_without_weights(tmp_path, monkeypatch, capsys):
    """The farm notes tell admins to run --verify on every node; a node with no weights at all used to pass."""
    monkeypatch.setattr(weights_module, "models_dirs", lambda: [tmp_path / "empty"])
    monkeypatch.setattr(weights_cli, "models_dirs", lambda: [tmp_path / "empty"])
    assert weights_cli.main([]) == 0                       # listing nothing is not an error
    assert weights_cli.main(["--verify"]) == 1
    assert "found no weights to verify" in capsys.readouterr().err


def test_installed_weights_are_searched_where_pip_puts_them(tmp_path):
    """pip install --user honours PYTHONUSERBASE and --target DIR writes DIR/share/...: neither folder was searched
    (only $XDG_DATA_HOME), and site-packages/models was searched as if it were a checkout."""
    import subprocess
    import sys

    env = {"PYTHONUSERBASE": str(tmp_path / "ub"), "XDG_DATA_HOME": str(tmp_path / "xdg"), "PATH": "/usr/bin:/bin"}
    code = ("import json; from vs_fmanet.engine.weights import models_dirs; "
            "print(json.dumps([str(d) for d in models_dirs()]))")
    dirs = json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                     check=True).stdout)
    assert str(tmp_path / "ub" / "share" / "vs_fmanet" / "models") in dirs
    assert str(tmp_path / "xdg" / "vs_fmanet" / "models") in dirs



def test_a_models_folder_beside_an_installed_package_is_not_a_checkout(tmp_path, monkeypatch):
    """Installed, the package's grandparent is site-packages (or a --target folder): its models/ is anybody's
    folder and was searched first; its share/vs_fmanet/models is where --target puts the weights."""
    site = tmp_path / "site"
    monkeypatch.delenv("VS_FMANET_MODELS", raising=False)
    monkeypatch.setattr(weights_module, "__file__", str(site / "vs_fmanet" / "engine" / "weights.py"))
    dirs = weights_module.models_dirs()
    assert site / "models" not in dirs and site / "share" / "vs_fmanet" / "models" in dirs
    (site).mkdir()
    (site / "pyproject.toml").write_text("[project]\n")          # a source checkout: its models/ comes first
    assert weights_module.models_dirs()[0] == site / "models"
