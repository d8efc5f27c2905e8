"""The source bundle for machines without the sources (the GPU machine): same ids and splits, benchmark images
bit-exact, training images close, atomic and never replacing an existing bundle by accident."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vs_fmanet.data import benchmark
from vs_fmanet.data.bundle import pack_sources
from vs_fmanet.data.sources import catalogue, load_image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> tuple[Path, Path]:
    """(original: PyPI sample images only, as on CI; the bundle packed from it)."""
    base = tmp_path_factory.mktemp("bundle")
    original = base / "no_debian_sources"
    original.mkdir()
    pack_sources(base / "bundle", root=original)
    return original, base / "bundle"


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def test_same_ids_and_splits_and_exact_test_images(roots) -> None:
    original, bundle = roots
    before, after = catalogue(root=original), catalogue(root=bundle)
    assert [(i.id, i.split, i.kind) for i in before] == [(i.id, i.split, i.kind) for i in after]
    assert {i.split for i in after} == {"train", "test"}
    assert all(bundle in i.path.parents for i in after)           # read from the bundle, not the installed wheels
    for old, new in zip(before, after):
        a, b = load_image(old), load_image(new)
        assert a.shape == b.shape, old.id
        if old.split == "test" or old.path.suffix.lower() in (".jpg", ".jpeg"):
            assert np.array_equal(a, b), old.id                   # lossless / copied byte for byte
        else:
            assert _psnr(a, b) > 35.0, old.id                     # high-quality WebP (4:2:0 chroma; 37-50 dB)


def test_benchmark_renders_identically_from_the_bundle(roots, monkeypatch) -> None:
    original, bundle = roots
    monkeypatch.setenv("VS_FMANET_SOURCES", str(original))
    ref = next(iter(benchmark("syn-re", size="small", seed=0)))
    monkeypatch.setenv("VS_FMANET_SOURCES", str(bundle))
    got = next(iter(benchmark("syn-re", size="small", seed=0)))
    for key in ("lr", "gt", "exposure"):
        assert torch.equal(torch.as_tensor(ref[key]), torch.as_tensor(got[key])), key


def test_manifests_licences_and_no_overwrite(roots, tmp_path) -> None:
    original, bundle = roots
    manifest = json.loads((bundle / "scikit-image" / "manifest.json").read_text())
    assert manifest["bundle"] and "CC0" in manifest["licence"]
    assert {f["stored"] for f in manifest["files"]} <= {"copy", "lossless", "lossy"}
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        pack_sources(bundle, root=original)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "pack_sources.py"), "--out", str(bundle),
                           "--root", str(original)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "pass overwrite=True (or -y)" in proc.stderr
    assert not list(bundle.parent.glob("*.partial"))
    other = tmp_path / "my_project"                  # overwrite replaces a bundle, never any other folder
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="is not an earlier bundle"):
        pack_sources(other, root=original, overwrite=True)
    assert (other / "notes.txt").read_text() == "keep me"


def test_unknown_split_names_are_refused_by_name(roots, tmp_path) -> None:
    original, _ = roots
    with pytest.raises(ValueError, match=r"unknown split\(s\) \['bogus'\]; choose train, test"):
        pack_sources(tmp_path / "b", root=original, splits=("bogus",))     # it blamed missing sources
    assert not (tmp_path / "b").exists()
