"""Reader for Qt binary resource bundles (``.rcc``), used to unpack the GCompris photographs.

No maintained PyPI package reads .rcc files, so this implements the small, stable format (Qt's rcc.cpp):
a header ``qres`` + big-endian u32 version, tree, data and names offsets; tree entries of 14 bytes (v1) or
22 bytes (v2, v3: + u64 mtime): u32 name offset, u16 flags, then for a directory u32 child count and u32
index of the first child, else u16 country, u16 language and u32 data offset. Names are u16 length, u32 hash,
UTF-16BE; data blobs are u32 size + payload. Flag 1 = zlib (qCompress: 4-byte size prefix), 2 = directory,
4 = zstd (needs the optional ``zstandard`` package; such files are skipped with a warning if it is missing).
"""
from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["iter_rcc", "extract_rcc"]

log = logging.getLogger(__name__)

_FLAG_ZLIB, _FLAG_DIR, _FLAG_ZSTD = 1, 2, 4


def iter_rcc(path: str | os.PathLike) -> Iterator[tuple[str, bytes]]:
    """Yield (relative path, file bytes) for every file in the Qt resource bundle ``path``."""
    blob = Path(path).read_bytes()
    if blob[:4] != b"qres":
        raise ValueError(f"iter_rcc: {path} is not a Qt resource bundle (no 'qres' magic)")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    entry_size = 14 if version < 2 else 22

    def name_at(offset: int) -> str:
        (length,) = struct.unpack(">H", blob[names + offset:names + offset + 2])
        start = names + offset + 6
        return blob[start:start + 2 * length].decode("utf-16-be")

    stack = [(0, "")]
    while stack:
        index, prefix = stack.pop()
        at = tree + index * entry_size
        name_offset, flags = struct.unpack(">IH", blob[at:at + 6])
        name = name_at(name_offset) if index else ""
        rel = f"{prefix}/{name}" if prefix else name
        if flags & _FLAG_DIR:
            count, first = struct.unpack(">II", blob[at + 6:at + 14])
            stack.extend((first + c, rel) for c in reversed(range(count)))
            continue
        (data_offset,) = struct.unpack(">I", blob[at + 10:at + 14])
        (size,) = struct.unpack(">I", blob[data + data_offset:data + data_offset + 4])
        payload = blob[data + data_offset + 4:data + data_offset + 4 + size]
        if flags & _FLAG_ZLIB:
            payload = zlib.decompress(payload[4:])
        elif flags & _FLAG_ZSTD:
            try:
                import zstandard
            except ImportError:
                log.warning("iter_rcc: %s: %s is zstd-compressed and 'zstandard' is not installed; skipped", path, rel)
                continue
            payload = zstandard.ZstdDecompressor().decompress(payload, max_output_size=1 << 28)
        yield rel, payload


def extract_rcc(path: str | os.PathLike, out_dir: str | os.PathLike,
                keep: Callable[[str], bool] | None = None) -> list[Path]:
    """Write the files of bundle ``path`` whose relative path passes ``keep`` under ``out_dir``; return them."""
    out_root = Path(out_dir).resolve()
    written = []
    for rel, payload in iter_rcc(path):
        if keep is not None and not keep(rel):
            continue
        target = (out_root / rel).resolve()
        if out_root not in target.parents:
            raise ValueError(f"extract_rcc: {path} holds an entry escaping the output folder: {rel!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        written.append(target)
    return written
