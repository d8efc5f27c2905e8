"""The fixed train/test split: rules, de-duplication, and no test image ever reaching training."""
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from vs_fmanet.data import TrainingSampler, benchmark
from vs_fmanet.data.benchmarks import BENCHMARK_SIZES
from vs_fmanet.data.sources import MANIFEST_NAME, catalogue, source_by_name


def _write_source(root, package, rels, rng, copy_from=None):
    files = []
    for i, rel in enumerate(rels):
        path = root / package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if copy_from is not None and i == 0:
            path.write_bytes(copy_from.read_bytes())
        else:
            Image.fromarray(rng.integers(0, 256, size=(300, 320, 3), dtype=np.uint8)).save(path)
        files.append({"path": rel, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": [320, 300],
                      "mode": "RGB"})
    (root / package / MANIFEST_NAME).write_text(json.dumps({"package": package, "files": files}))
    return [root / package / r for r in rels]


def test_split_rules_and_duplicates(tmp_path):
    rng = np.random.default_rng(0)
    tux = _write_source(tmp_path, "tuxtype-data", [f"usr/share/tuxtype/images/kcas{i}.jpg" for i in range(3)], rng)
    gc_rels = [f"rcc/erase/gcompris/src/activities/erase/resource/img{i:02d}.webp" for i in range(21)]
    _write_source(tmp_path, "gcompris-qt-data", gc_rels, rng)
    # a wallpaper that is byte-identical to a held-out Tux Typing photo must not enter training
    _write_source(tmp_path, "lomiri-wallpapers-16.04",
                  ["usr/share/backgrounds/copy_by_someone.jpg", "usr/share/backgrounds/own_by_someone.jpg",
                   "usr/share/backgrounds/analogpattern_by_Peter_Nerlich.jpg"], rng, copy_from=tux[0])
    images = catalogue(root=tmp_path, sources=("tuxtype", "gcompris", "lomiri16"))
    by_id = {i.id: i for i in images}
    assert all(by_id[f"tuxtype:usr/share/tuxtype/images/kcas{i}.jpg"].split == "test" for i in range(3))
    gc_test = sorted(i.id.rsplit("/", 1)[1] for i in images if i.source == "gcompris" and i.split == "test")
    assert gc_test == ["img00.webp", "img10.webp", "img20.webp"]             # every 10th in sorted order
    assert "lomiri16:usr/share/backgrounds/copy_by_someone.jpg" not in by_id      # de-duplicated ...
    assert len({i.sha256 for i in images}) == len(images)
    assert by_id["lomiri16:usr/share/backgrounds/own_by_someone.jpg"].split == "train"
    assert not any("analogpattern" in i.id for i in images)                       # excluded synthetic art
    ids_train = {i.sha256 for i in images if i.split == "train"}
    ids_test = {i.sha256 for i in images if i.split == "test"}
    assert not ids_train & ids_test


def test_pypi_split_and_benchmark_images_are_test_only():
    images = catalogue(sources=("skimage",))
    test_ids = {i.id for i in images if i.split == "test"}
    assert test_ids == {"skimage:data/coffee.png", "skimage:data/chelsea.png"}
    assert set(BENCHMARK_SIZES["small"].images) <= test_ids
    with pytest.raises(KeyError, match="no source"):
        source_by_name("nope")


def test_training_sampler_never_draws_a_test_image():
    sampler = TrainingSampler("train", scale=4, frames=2, lr_size=8, seed=11, layers=(2, 4))
    test_images = {i.id for i in catalogue() if i.split == "test"}
    test_hashes = {i.sha256 for i in catalogue() if i.split == "test"}
    train_hash = {i.id: i.sha256 for i in catalogue() if i.split == "train"}
    seen = set()
    for _ in range(4):
        for ids in sampler.sample(3)["sources"]:
            seen.update(ids)
    assert seen and not seen & test_images
    assert all(train_hash[i] not in test_hashes for i in seen)
    for clip in benchmark("syn-re", "small"):
        assert set(clip["sources"]) <= test_images
