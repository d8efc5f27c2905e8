"""Catalogue of sharp source imagery installable from package registries, and image loading.

Two providers, both reachable offline from the registries only (nothing is downloaded at run time):

- PyPI wheels that ship sample photos (scikit-image, scikit-learn, matplotlib; the ``data`` extra installs
  them). Always available to tests and CI.
- Debian bookworm packages (wallpapers, educational games, OpenCV samples, Tux Paint stamps). They are fetched
  once by ``vs_fmanet.data.fetch`` (``fmanet-fetch-sources``) into the source root, which keeps only the
  files listed here, their ``copyright`` files and a ``manifest.json`` (sha256 and size of every file).

The source root is ``$VS_FMANET_SOURCES`` or ``~/.cache/vs_fmanet/sources``. Image pixels are never committed
to the repository (the sources are CC-BY / CC-BY-SA / GPL; see SOURCES.md for each licence).

Every image has a stable id ``"<source>:<relative path>"`` and a split ("train" or "test") from the fixed
rule in ``split.py``. Byte-identical files are de-duplicated: if any copy is held out, the first held-out copy
(in sorted id order) is kept, so the image stays test and benchmark ids stay valid; else the first copy.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import numpy as np

from .split import split_of

__all__ = ["SourceSpec", "SourceImage", "SOURCES", "source_root", "catalogue", "load_image", "source_by_name",
           "MANIFEST_NAME"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
#: Images whose short side exceeds this are halved (area filter) at load time, repeatedly: this suppresses the
#: compression noise of large wallpapers and adds scale diversity (training-data notes).
HALVE_ABOVE = 1600


@dataclass(frozen=True)
class SourceSpec:
    """One source of images.

    name: short id used in image ids; provider: "pypi" or "debian"; package: the pip distribution or Debian
    package; module: (pypi) the importable module whose folder holds the files; patterns: fnmatch globs of
    relative paths (pypi: relative to the module folder; debian: relative to the package's file-system root, or
    to ``rcc/`` for files unpacked from Qt resource bundles); kind: "photo", "texture" or "sprite";
    holdout: split rule (see split.py); min_side: smaller images are ignored; licence: SPDX-style summary.
    rcc_bundles: (debian) Qt resource bundles to unpack (paths inside the package).
    largest_per_folder: keep only the largest image of each folder (wallpapers shipped at many resolutions).
    """

    name: str
    provider: str
    package: str
    patterns: tuple[str, ...]
    kind: str
    licence: str
    holdout: str | tuple[str, ...] = "none"
    module: str | None = None
    min_side: int = 256
    rcc_bundles: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    group: str = "photos"
    largest_per_folder: bool = False


_PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
                  "Kite", "OneStandsOut", "Path", "summer_1am")
_OPENCV_PHOTOS = ("aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "board.jpg",
                  "building.jpg", "butterfly.jpg", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg",
                  "leuvenA.jpg", "messi5.jpg", "orange.jpg", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg",
                  "stuff.jpg", "HappyFish.jpg", "rubberwhale1.png", "box_in_scene.png", "pic1.png",
                  "licenseplate_motion.jpg")
_GCOMPRIS_BUNDLES = ("erase", "explore_monuments", "explore_world_animals", "explore_farm_animals",
                     "explore_world_music", "details", "clickgame")

SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("skimage", "pypi", "scikit-image", module="skimage", kind="photo",
               patterns=tuple(f"data/{n}" for n in (
                   "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
                   "motorcycle_right.png", "camera.png", "brick.png", "grass.png", "gravel.png", "moon.png",
                   "hubble_deep_field.jpg", "ihc.png", "retina.jpg", "coins.png")),
               licence="CC0-1.0 / public domain (per scikit-image data README)",
               holdout=("data/coffee.png", "data/chelsea.png")),
    SourceSpec("sklearn", "pypi", "scikit-learn", module="sklearn", kind="photo",
               patterns=("datasets/images/china.jpg", "datasets/images/flower.jpg"), licence="CC-BY-2.0"),
    SourceSpec("matplotlib", "pypi", "matplotlib", module="matplotlib", kind="photo",
               patterns=("mpl-data/sample_data/grace_hopper.jpg",), licence="public domain (US Navy photograph)"),
    SourceSpec("tuxtype", "debian", "tuxtype-data", kind="photo", patterns=("usr/share/tuxtype/images/kcas*.jpg",),
               licence="GPL-2 (Wikimedia Commons featured images, per README_IMAGES.TXT)", holdout="all"),
    SourceSpec("gcompris", "debian", "gcompris-qt-data", kind="photo", min_side=300,
               rcc_bundles=tuple(f"usr/share/gcompris-qt/rcc/{b}.rcc" for b in _GCOMPRIS_BUNDLES),
               patterns=tuple(f"rcc/{b}/*.webp" for b in _GCOMPRIS_BUNDLES),
               licence="per file: CC-BY-SA-2.0/3.0/4.0, CC-BY, CC0, public domain, GPL-3", holdout="every10th"),
    SourceSpec("lomiri16", "debian", "lomiri-wallpapers-16.04", kind="photo",
               patterns=("usr/share/backgrounds/*_by_*.jpg",),
               exclude=("usr/share/backgrounds/analogpattern_*", "usr/share/backgrounds/umang_*"),
               licence="per file: CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0"),
    SourceSpec("lomiri20", "debian", "lomiri-wallpapers-20.04", kind="photo",
               patterns=("usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",), licence="CC-BY-SA-3.0"),
    SourceSpec("plasma", "debian", "plasma-workspace-wallpapers", kind="photo",
               patterns=tuple(f"usr/share/wallpapers/{n}/contents/images/*" for n in _PLASMA_PHOTOS),
               licence="GPL-2+ (KDE VDG)", largest_per_folder=True),
    SourceSpec("tuxpaint", "debian", "tuxpaint-data", kind="photo", patterns=("usr/share/tuxpaint/templates/*.jpg",),
               licence="GPL-2+"),
    SourceSpec("mate", "debian", "mate-backgrounds", kind="photo",
               patterns=("usr/share/backgrounds/mate/nature/*.jpg",),
               licence="GPL-2+ (some CC-BY-SA-4.0; named photographers in the copyright file)"),
    SourceSpec("lxqt", "debian", "lxqt-themes", kind="photo",
               patterns=tuple(f"usr/share/lxqt/wallpapers/{n}" for n in (
                   "flowers.png", "fog.jpg", "after-the-rain.jpg", "Butterfly-Kenneth-Wimer.jpg", "beam.png",
                   "Valendas.png", "appleflower.png", "cloud.png", "drop.png", "this-is-not-windows.jpg",
                   "butterfly.png")),
               licence="LGPL-2.1+ / CC-BY-SA-3.0 (per file)"),
    SourceSpec("opencv", "debian", "opencv-doc", kind="photo", min_side=200,
               patterns=tuple(f"usr/share/doc/opencv-doc/examples/data/{n}" for n in _OPENCV_PHOTOS)
               + tuple(f"usr/share/doc/opencv-doc/examples/text/scenetext0{i}.jpg" for i in range(1, 7))
               + ("usr/share/doc/opencv-doc/examples/ximgproc/stanford.png",
                  "usr/share/doc/opencv-doc/examples/alphamat/input_images/plant.jpg"),
               licence="Apache-2.0 AND BSD-3-Clause (Debian); provenance of single images undocumented: "
                       "train privately, do not redistribute crops", group="extra"),
    SourceSpec("stamps", "debian", "tuxpaint-stamps-default", kind="sprite", min_side=200,
               patterns=("usr/share/tuxpaint/stamps/*.png",), licence="GPL-2", group="sprites"),
)


def source_by_name(name: str) -> SourceSpec:
    """The SourceSpec called ``name``."""
    for spec in SOURCES:
        if spec.name == name:
            return spec
    raise KeyError(f"source_by_name: no source {name!r}; known: {', '.join(s.name for s in SOURCES)}")


def source_root() -> Path:
    """Where fetched Debian sources live: $VS_FMANET_SOURCES or ~/.cache/vs_fmanet/sources."""
    env = os.environ.get("VS_FMANET_SOURCES")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vs_fmanet" / "sources"


@dataclass(frozen=True)
class SourceImage:
    """One source image: id "<source>:<relative path>", absolute path, kind, split, sha256, (width, height)."""

    id: str
    path: Path
    source: str
    kind: str
    split: str
    sha256: str
    size: tuple[int, int]


def matches(spec: SourceSpec, rel: str) -> bool:
    """Whether relative path ``rel`` belongs to ``spec`` (matches a pattern and no exclude)."""
    return any(fnmatch(rel, p) for p in spec.patterns) and not any(fnmatch(rel, p) for p in spec.exclude)


def _pypi_entries(spec: SourceSpec) -> list[dict]:
    found = importlib.util.find_spec(spec.module) if spec.module else None
    if found is None or not found.submodule_search_locations:
        return []
    base = Path(list(found.submodule_search_locations)[0])
    from PIL import Image

    out = []
    for pattern in spec.patterns:
        for path in sorted(base.glob(pattern)):
            rel = path.relative_to(base).as_posix()
            if not matches(spec, rel):
                continue
            data = path.read_bytes()
            with Image.open(path) as im:
                size = im.size
            out.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": list(size), "abs": path})
    return out


def _manifest_entries(spec: SourceSpec, root: Path) -> list[dict]:
    """Entries of ``root/<package>/manifest.json`` (fetched Debian files, or a bundle of :mod:`.bundle`, whose
    entries keep the original ``path`` and name the stored file in ``file``)."""
    manifest = root / spec.package / MANIFEST_NAME
    if not manifest.is_file():
        return []
    info = json.loads(manifest.read_text())
    out = []
    for entry in info.get("files", []):
        if matches(spec, entry["path"]):
            out.append(dict(entry, abs=root / spec.package / entry.get("file", entry["path"])))
    return out


def catalogue(kinds: tuple[str, ...] | None = None, root: str | os.PathLike | None = None,
              sources: tuple[str, ...] | None = None) -> list[SourceImage]:
    """Every available source image (sorted by id, de-duplicated), optionally only of ``kinds`` / ``sources``.

    PyPI sources are found in the installed packages (or under ``root`` when it is a bundle, see bundle.py); Debian
    sources under ``root`` (default source_root()).
    Missing sources are simply absent (log at debug level); see ``available_sources`` in fetch.py.
    """
    base = Path(root) if root is not None else source_root()
    rows: list[SourceImage] = []
    for spec in SOURCES:
        if (kinds and spec.kind not in kinds) or (sources and spec.name not in sources):
            continue
        if spec.provider == "pypi" and not (base / spec.package / MANIFEST_NAME).is_file():
            entries = _pypi_entries(spec)
        else:   # Debian sources, and PyPI sources carried in a bundle (see bundle.py)
            entries = _manifest_entries(spec, base)
        if not entries:
            log.debug("catalogue: source %s (%s package %s) not installed", spec.name, spec.provider, spec.package)
        if spec.largest_per_folder:
            best: dict[str, dict] = {}
            for e in entries:
                folder = e["path"].rsplit("/", 1)[0]
                area = e["size"][0] * e["size"][1]
                if folder not in best or area > best[folder]["size"][0] * best[folder]["size"][1]:
                    best[folder] = e
            entries = sorted(best.values(), key=lambda e: e["path"])
        rels = sorted(e["path"] for e in entries)
        for e in entries:
            if min(e["size"]) < spec.min_side:
                continue
            if spec.kind == "sprite" and e.get("mode", "RGBA") not in ("RGBA", "LA", "PA", "P"):
                continue
            split = split_of(spec, e["path"], rels)
            rows.append(SourceImage(f"{spec.name}:{e['path']}", Path(e["abs"]), spec.name, spec.kind, split,
                                    e["sha256"], (int(e["size"][0]), int(e["size"][1]))))
    rows.sort(key=lambda r: r.id)
    # de-duplicate identical files; a duplicate of a held-out image keeps the image held out
    by_hash: dict[str, list[SourceImage]] = {}
    for r in rows:
        by_hash.setdefault(r.sha256, []).append(r)
    kept = []
    for group in by_hash.values():
        held_out = [g for g in group if g.split == "test"]
        kept.append(held_out[0] if held_out else group[0])
    kept.sort(key=lambda r: r.id)
    return kept


def load_image(image: SourceImage | str | os.PathLike, halve_above: int = HALVE_ABOVE) -> np.ndarray:
    """Decode an image to uint8 [H, W, 3] (or [H, W, 4] when it has transparency), sRGB.

    Grey images are replicated to 3 channels; palette/LA images are converted; while the short side exceeds
    ``halve_above`` the image is halved with a box (area) filter.
    """
    from PIL import Image

    path = image.path if isinstance(image, SourceImage) else Path(image)
    try:
        with Image.open(path) as im:
            im.load()
            has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
            im = im.convert("RGBA" if has_alpha else "RGB")
    except (OSError, ValueError) as exc:
        raise ValueError(f"load_image: cannot decode {path}: {exc}; re-run fmanet-fetch-sources "
                         "to restore the source files") from exc
    while min(im.size) > halve_above:
        im = im.reduce(2)
    return np.asarray(im)
