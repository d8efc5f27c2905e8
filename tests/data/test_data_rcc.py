"""The Qt resource bundle reader, on a bundle written here in Qt's documented binary layout."""
import struct
import zlib

import pytest

from vs_fmanet.data.rcc import extract_rcc, iter_rcc


def _name(text: str) -> bytes:
    raw = text.encode("utf-16-be")
    return struct.pack(">HI", len(text), 0) + raw


def _bundle(version: int = 3) -> bytes:
    """root/ -> dir 'img' -> {'a.png' (plain), 'b.webp' (zlib)}."""
    names = b""
    offs = {}
    for n in ("img", "a.png", "b.webp"):
        offs[n] = len(names)
        names += _name(n)
    a, b = b"PLAIN-BYTES", b"compressed payload " * 20
    data = struct.pack(">I", len(a)) + a
    b_off = len(data)
    packed = struct.pack(">I", len(b)) + zlib.compress(b)
    data += struct.pack(">I", len(packed)) + packed
    mtime = b"\0" * 8 if version >= 2 else b""
    tree = struct.pack(">IHII", 0, 2, 1, 1) + mtime                      # 0: root dir, 1 child at index 1
    tree += struct.pack(">IHII", offs["img"], 2, 2, 2) + mtime          # 1: img/, 2 children from index 2
    tree += struct.pack(">IHHHI", offs["a.png"], 0, 0, 0, 0) + mtime    # 2: a.png at data offset 0
    tree += struct.pack(">IHHHI", offs["b.webp"], 1, 0, 0, b_off) + mtime  # 3: b.webp, zlib
    header_len = 24 if version >= 3 else 20
    tree_off = header_len
    data_off = tree_off + len(tree)
    names_off = data_off + len(data)
    header = b"qres" + struct.pack(">IIII", version, tree_off, data_off, names_off)
    if version >= 3:
        header += struct.pack(">I", 0)
    return header + tree + data + names


@pytest.mark.parametrize("version", [1, 3])
def test_reads_plain_and_zlib_entries(tmp_path, version):
    path = tmp_path / "t.rcc"
    path.write_bytes(_bundle(version))
    files = dict(iter_rcc(path))
    assert files == {"img/a.png": b"PLAIN-BYTES", "img/b.webp": b"compressed payload " * 20}
    written = extract_rcc(path, tmp_path / "out", keep=lambda rel: rel.endswith(".webp"))
    assert [p.name for p in written] == ["b.webp"]
    assert (tmp_path / "out" / "img" / "b.webp").read_bytes() == b"compressed payload " * 20


def test_rejects_non_bundles(tmp_path):
    bad = tmp_path / "x.rcc"
    bad.write_bytes(b"not a bundle")
    with pytest.raises(ValueError, match="not a Qt resource bundle"):
        list(iter_rcc(bad))
