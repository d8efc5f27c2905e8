"""A plain ``pip install`` (no source checkout) gets the shipped weights: the wheel carries models/ as data files,
the engine finds them under the environment's prefix, checks their sha256 and restores with them."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import numpy as np
import vs_fmanet
from vs_fmanet.engine import Engine
x4 = Engine(device="cpu", precision="fp32")
causal = Engine(model="fmanetpp-causal", device="cpu", precision="fp32")
out = x4.restore(np.full((3, 12, 16, 3), 0.5, np.float32))
print(json.dumps({"package": vs_fmanet.__file__, "x4": [x4.model_name, str(x4.card.card_path)],
                  "causal": [causal.model_name, str(causal.card.card_path)], "shape": list(out.shape)}))
"""


def shipped_cards() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((ROOT / "models").glob("*.json"))]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("vs_fmanet", "ffmpeg_filter", "models"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(src)], check=True, capture_output=True, timeout=300)
    (built,) = dist.glob("vs_fmanet-*.whl")
    return built


def test_the_wheel_carries_every_shipped_weights_file(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        names = {Path(n).name: n for n in zf.namelist() if "/share/vs_fmanet/models/" in n}
        assert shipped_cards(), "models/ holds no model card"
        for card in shipped_cards():
            assert f"{card['name']}.json" in names
            data = zf.read(names[card["file"]])
            assert hashlib.sha256(data).hexdigest() == card["sha256"], card["file"]


def test_the_wheel_carries_the_licence_and_the_documents_messages_point_to(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "MIT needs its notice with the code"
    for doc in ("vs_fmanet/data/SOURCES.md", "vs_fmanet/data/README.md", "vs_fmanet/exposure/README.md"):
        assert doc in names


def test_the_sdist_can_build_test_and_read_the_project(tmp_path: Path):
    """The sdist held only the package (no licence, scripts/, Makefile or README images; one test that failed)."""
    import tarfile

    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build",
                                                             "demo_out", ".pytest_cache", ".bundle", ".whl"))
    code = f"from setuptools import build_meta; print(build_meta.build_sdist({str(tmp_path / 'dist')!r}))"
    built = subprocess.run([sys.executable, "-c", code], cwd=src, check=True, capture_output=True, text=True,
                           timeout=300).stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / "dist" / built) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("LICENSE", "Makefile", "scripts/demo.py", "tests/test_demo.py", "tests/engine/enginefix.py",
                   ".ci/run", "pyproject.toml"):
        assert needed in names, needed
    assert any(n.startswith("docs/images/") for n in names)
    assert {f"models/{c['file']}" for c in shipped_cards()} <= names


def test_an_installed_wheel_restores_with_the_shipped_weights(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    # the new environment's own pip: pip of the test environment would uninstall this checkout's install first
    subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    # torch, numpy, safetensors ... come from the test environment; vs_fmanet only from the installed wheel
    env = {k: v for k, v in os.environ.items() if k not in ("VS_FMANET_MODELS", "PYTHONPATH")}
    env.update(PYTHONPATH=sysconfig.get_path("purelib"), XDG_DATA_HOME=str(tmp_path / "xdg"), OMP_NUM_THREADS="1")
    proc = subprocess.run([str(env_dir / "bin" / "python"), "-c", PROBE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    assert Path(got["package"]).is_relative_to(env_dir), got["package"]
    installed = env_dir / "share" / "vs_fmanet" / "models"
    defaults = {(c["model"], c["scale"]): c["name"] for c in shipped_cards() if c.get("default")}
    assert got["x4"] == [defaults[("fmanetpp", 4)], str(installed / f"{defaults[('fmanetpp', 4)]}.json")]
    assert got["causal"] == [defaults[("fmanetpp-causal", 4)],
                             str(installed / f"{defaults[('fmanetpp-causal', 4)]}.json")]
    assert got["shape"] == [3, 48, 64, 3]
