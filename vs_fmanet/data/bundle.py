"""A compact, self-contained copy of the source images for a machine without the Debian packages or the PyPI
sample-data wheels (the lent GPU machine reaches no package registry, and what travels to it is capped at 64 MiB).

``pack_sources(dest)`` writes one folder per source package under ``dest`` with a ``manifest.json`` in the format
of :mod:`.fetch` plus the package's ``copyright`` file, so ``VS_FMANET_SOURCES=dest`` (or
``catalogue(root=dest)``) sees the same images with the same ids, splits and de-duplication as the original
sources: each manifest entry keeps the original relative ``path``, sha256, size and mode, and names the stored
file in ``file``.

Pixels: a JPEG or WebP original that :func:`.sources.load_image` would not halve is copied byte for byte (its
pixels are exactly the original's). Everything else is stored as WebP of what ``load_image`` returns (already
halved while its short side exceeds ``HALVE_ABOVE``, RGB or RGBA):

* test split (the benchmarks): lossless, so SYN-ME / SYN-RE render bit-identically from the bundle;
* training photos and sprites: lossy at ``photo_quality`` (default 95; the training-data notes' "high-quality
  re-encode"), the sprites' alpha kept at full quality.

Written to ``dest.partial`` and renamed, so an interrupted run leaves no half bundle under ``dest``.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .sources import HALVE_ABOVE, MANIFEST_NAME, SOURCES, SourceImage, catalogue, load_image, source_root

__all__ = ["pack_sources"]


COPY_AS_IS = (".jpg", ".jpeg", ".webp")


def _store(image: SourceImage, folder: Path, quality: int) -> tuple[str, str]:
    """Write ``image`` under ``folder`` (its package folder); return (stored relative path, how: "copy",
    "lossless" or "lossy")."""
    from PIL import Image

    rel = image.id.split(":", 1)[1]
    if min(image.size) <= HALVE_ABOVE and image.path.suffix.lower() in COPY_AS_IS:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image.path, folder / rel)
        return rel, "copy"
    stored = f"{rel}.webp"
    (folder / stored).parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(load_image(image))
    if image.split == "test":
        im.save(folder / stored, format="WEBP", lossless=True, quality=100, method=4, exact=True)
        return stored, "lossless"
    im.save(folder / stored, format="WEBP", quality=quality, alpha_quality=100, method=6, exact=True)
    return stored, "lossy"


def pack_sources(dest: str | os.PathLike, *, root: str | os.PathLike | None = None,
                 splits: tuple[str, ...] = ("train", "test"), photo_quality: int = 95,
                 overwrite: bool = False) -> dict:
    """Write the bundle of every available source image of ``splits`` to ``dest``; return a summary
    ``{"images": {split: count}, "bytes": total, "sources": {name: count}}``.

    ``root``: where the Debian sources are (default :func:`.sources.source_root`); PyPI sources come from the
    installed packages (or from ``root`` when it is itself a bundle). Raises FileExistsError if ``dest`` exists
    and not ``overwrite``, or exists and is not an earlier bundle (overwrite never deletes another folder);
    ValueError if no image is found.
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise FileExistsError(f"pack_sources: {dest} already exists; pass overwrite=True (or -y) to replace it")
    if dest.exists() and not _is_bundle(dest):
        raise FileExistsError(f"pack_sources: {dest} is not an earlier bundle (a folder whose sub-folders each hold "
                              f"{MANIFEST_NAME}), so overwrite does not replace it; choose a new destination")
    unknown = sorted(set(splits) - {"train", "test"})
    if unknown or not splits:
        raise ValueError(f"pack_sources: unknown split(s) {unknown or list(splits)}; choose train, test or both")
    if not 1 <= photo_quality <= 100:
        raise ValueError(f"pack_sources: photo_quality={photo_quality} must be in 1..100")
    base = Path(root) if root is not None else source_root()
    images = [i for i in catalogue(root=base) if i.split in splits]
    if not images:
        raise ValueError(f"pack_sources: no source images of splits {splits} under {base} or in the installed "
                         "packages; run `make data` (fmanet-fetch-sources) first")
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    specs = {s.name: s for s in SOURCES}
    manifests: dict[str, dict] = {}
    counts: dict[str, int] = {}
    for image in images:
        spec = specs[image.source]
        stored, how = _store(image, partial / spec.package, photo_quality)
        man = manifests.setdefault(spec.package, {"package": spec.package, "source": spec.name,
                                                  "licence": spec.licence, "bundle": True, "files": []})
        mode = "RGBA" if image.kind == "sprite" else "RGB"
        man["files"].append({"path": image.id.split(":", 1)[1], "file": stored, "sha256": image.sha256,
                             "size": list(image.size), "mode": mode, "split": image.split, "stored": how})
        counts[image.split] = counts.get(image.split, 0) + 1
    for package, man in manifests.items():
        (partial / package / MANIFEST_NAME).write_text(json.dumps(man, indent=1) + "\n")
        copyright_file = base / package / "copyright"
        if copyright_file.is_file():
            shutil.copyfile(copyright_file, partial / package / "copyright")
    if dest.exists():
        shutil.rmtree(dest)
    partial.rename(dest)
    total = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    per_source: dict[str, int] = {}
    for image in images:
        per_source[image.source] = per_source.get(image.source, 0) + 1
    return {"images": counts, "bytes": total, "sources": per_source}


def _is_bundle(folder: Path) -> bool:
    """True for an empty folder or one whose visible entries are all package folders with a manifest."""
    if not folder.is_dir():
        return False
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return all(p.is_dir() and (p / MANIFEST_NAME).is_file() for p in entries)
