"""Every console script in pyproject.toml resolves to a main() that answers --version and --help (exit 0), so an
admin can check that each farm node runs the same vs-fmanet."""
from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

import vs_fmanet

SCRIPTS = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["scripts"]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_each_console_script_reports_its_version(name, capsys):
    module, _, function = SCRIPTS[name].partition(":")
    main = getattr(importlib.import_module(module), function)
    for flag in ("--version", "--help"):
        try:
            code = main([flag])
        except SystemExit as done:        # argparse's own exit; fmanet-convert returns the code instead
            code = done.code
        assert code in (0, None), flag
    out = capsys.readouterr().out
    assert f"{name} (vs-fmanet) {vs_fmanet.__version__}" in out and "usage:" in out
