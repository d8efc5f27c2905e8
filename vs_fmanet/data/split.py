"""The fixed train/test split of source images (benchmark scenes are never trained on).

Rule per source (``SourceSpec.holdout``), applied to the file's path relative to its source:

- "all": every image is test (Tux Typing's 12 ``kcas*`` landscapes);
- "every10th": in sorted order of relative path, images 0, 10, 20, ... are test (GCompris photos);
- a tuple of relative paths: exactly those are test (scikit-image ``coffee`` and ``chelsea``);
- "none": every image is train.

The rule depends only on file names inside one package, so the split does not change when other sources are
installed or not. Byte-identical copies of a test image are test as well (``sources.catalogue``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sources import SourceSpec

__all__ = ["split_of", "SPLITS"]

SPLITS = ("train", "test")


def split_of(spec: "SourceSpec", rel: str, all_rels: list[str]) -> str:
    """Split ("train" or "test") of file ``rel`` of source ``spec``; ``all_rels``: the source's files, sorted."""
    rule = spec.holdout
    if rule == "all":
        return "test"
    if rule == "none":
        return "train"
    if rule == "every10th":
        return "test" if sorted(all_rels).index(rel) % 10 == 0 else "train"
    if isinstance(rule, tuple):
        return "test" if rel in rule else "train"
    raise ValueError(f"split_of: source {spec.name} has unknown holdout rule {rule!r}")
