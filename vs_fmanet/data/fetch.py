"""Fetch the Debian image sources into the source root (run once at set-up; never at training time).

For each Debian ``SourceSpec`` of the chosen groups: ``apt-get download`` the package (works as any user; needs
``apt-get update`` to have run once), unpack it with ``dpkg-deb -x`` into a temporary folder, unpack its Qt
resource bundles if any, and keep only the files the spec lists (decodable, short side >= min_side, sprites
with an alpha channel) plus the package's ``copyright`` file. A ``manifest.json`` records the package
version and each kept file's sha256, size and mode; ``sources.catalogue`` reads only manifests, so a
half-finished fetch is never used (the package folder is swapped in by a rename at the end).

External tools run as argument lists (no shell). Groups: "photos" (~230 MB of downloads), "sprites"
(Tux Paint stamps, ~160 MB), "extra" (OpenCV sample photos, ~95 MB).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .rcc import extract_rcc
from .sources import MANIFEST_NAME, SOURCES, SourceSpec, catalogue, matches, source_root

__all__ = ["fetch_sources", "fetch_package", "source_summary", "GROUPS"]

log = logging.getLogger(__name__)

GROUPS = ("photos", "sprites", "extra")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise RuntimeError(f"fetch: {args[0]} is not installed; the Debian sources need apt-get and dpkg-deb "
                           "(a Debian/Ubuntu machine)") from exc
    if proc.returncode != 0:
        hint = ""
        if args[0] == "apt-get":
            hint = " (run 'apt-get update' once, as root, so apt knows the package)"
        raise RuntimeError(f"fetch: {' '.join(args)} failed with exit code {proc.returncode}{hint}: "
                           f"{proc.stderr.strip()[-500:]}")
    return proc


def _image_info(path: Path) -> tuple[tuple[int, int], str] | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size, im.mode
    except (OSError, ValueError):
        return None


def fetch_package(spec: SourceSpec, root: Path) -> dict:
    """Download and unpack one Debian source into ``root/<package>``; return its manifest dict."""
    if spec.provider != "debian":
        raise ValueError(f"fetch_package: {spec.name} is a {spec.provider} source; install it with pip")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{spec.package}-") as tmp_name:
        tmp = Path(tmp_name)
        _run(["apt-get", "download", spec.package], cwd=tmp)
        debs = sorted(tmp.glob(f"{spec.package}_*.deb"))
        if not debs:
            raise RuntimeError(f"fetch_package: apt-get download {spec.package} produced no .deb in {tmp}")
        version = _run(["dpkg-deb", "-f", str(debs[0]), "Version"], cwd=tmp).stdout.strip()
        unpacked = tmp / "x"
        _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], cwd=tmp)
        for bundle in spec.rcc_bundles:
            name = Path(bundle).stem
            extract_rcc(unpacked / bundle, unpacked / "rcc" / name,
                        keep=lambda rel: rel.lower().endswith((".webp", ".jpg", ".jpeg", ".png")))
        staged = tmp / "keep"
        candidates = []
        for path in sorted(p for p in unpacked.rglob("*") if p.is_file()):
            rel = path.relative_to(unpacked).as_posix()
            if not matches(spec, rel):
                continue
            info = _image_info(path)
            if info is None or min(info[0]) < spec.min_side:
                continue
            if spec.kind == "sprite" and info[1] not in ("RGBA", "LA", "PA", "P"):
                continue
            candidates.append((path, rel, info))
        if spec.largest_per_folder:
            best: dict[str, tuple] = {}
            for cand in candidates:
                folder = cand[1].rsplit("/", 1)[0]
                if folder not in best or cand[2][0][0] * cand[2][0][1] > best[folder][2][0][0] * best[folder][2][0][1]:
                    best[folder] = cand
            candidates = sorted(best.values(), key=lambda c: c[1])
        files = []
        for path, rel, info in candidates:
            target = staged / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            files.append({"path": rel, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                          "size": list(info[0]), "mode": info[1]})
        copyright_file = unpacked / "usr" / "share" / "doc" / spec.package / "copyright"
        if copyright_file.is_file():
            staged.mkdir(parents=True, exist_ok=True)
            shutil.copy2(copyright_file, staged / "copyright")
        manifest = {"package": spec.package, "version": version, "source": spec.name, "licence": spec.licence,
                    "files": files}
        staged.mkdir(parents=True, exist_ok=True)
        (staged / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
        final = root / spec.package
        old = root / f".{spec.package}.old"
        if final.exists():
            final.rename(old)
        staged.rename(final)
        if old.exists():
            shutil.rmtree(old)
    log.info("fetch: %s %s: kept %d files", spec.package, version, len(files))
    return manifest


def fetch_sources(root: str | os.PathLike | None = None, groups: tuple[str, ...] = ("photos", "sprites"),
                  force: bool = False) -> list[dict]:
    """Fetch every Debian source of ``groups`` (see GROUPS) into ``root`` (default source_root()).

    Packages that already have a manifest are skipped unless ``force``. Returns the manifests.
    """
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"fetch_sources: unknown groups {sorted(unknown)}; choose from {GROUPS}")
    base = Path(root) if root is not None else source_root()
    out = []
    for spec in SOURCES:
        if spec.provider != "debian" or spec.group not in groups:
            continue
        manifest = base / spec.package / MANIFEST_NAME
        if manifest.is_file() and not force:
            out.append(json.loads(manifest.read_text()))
            continue
        out.append(fetch_package(spec, base))
    return out


def source_summary(root: str | os.PathLike | None = None) -> list[dict]:
    """Per source: name, provider, package, kind, licence, installed, and image counts per split."""
    images = catalogue(root=root)
    rows = []
    for spec in SOURCES:
        mine = [i for i in images if i.source == spec.name]
        rows.append({"source": spec.name, "provider": spec.provider, "package": spec.package, "kind": spec.kind,
                     "group": spec.group, "licence": spec.licence, "installed": bool(mine),
                     "train": sum(i.split == "train" for i in mine), "test": sum(i.split == "test" for i in mine)})
    return rows
