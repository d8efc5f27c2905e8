#!/usr/bin/env python3
"""Move shipped weights through a size-capped channel (the GPU machine returns files of at most 16 MiB):

    python scripts/weights_parts.py split /tmp/export/fmanetpp_paper_x4.json $OUT/weights    # on the device
    python scripts/weights_parts.py join <files_at>/weights models/                           # here

``split`` copies the model card and cuts its .safetensors into byte parts ``<file>.part000`` ... of at most
``--max-mib`` (default 15); ``join`` concatenates them into ``<dest>/<file>``, checks the sha256 against the card
before anything becomes visible (temporary file, then rename) and writes the card beside it; a card marked
``"default": true`` loses the mark when ``dest`` already has a default card for its model and scale (the note says
how to switch), so the engine keeps one default. A byte split needs no
knowledge of the format, and the card's sha256 proves the joined file is the trained one. ``join`` refuses to replace
existing weights without -y.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vs_fmanet.engine.weights import default_card_in  # noqa: E402

PART = ".part"


def split(card: Path, dest: Path, max_mib: float) -> list[Path]:
    """Card + byte parts of its weights file into ``dest``; returns the parts."""
    meta = json.loads(card.read_text())
    weights = card.parent / meta["file"]
    data = weights.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise ValueError(f"split: sha256 of {weights} does not match {card}; refusing to ship a corrupt file")
    size = int(max_mib * 2**20)
    dest.mkdir(parents=True, exist_ok=True)
    parts = []
    for i in range(0, max(len(data), 1), size):
        part = dest / f"{meta['file']}{PART}{i // size:03d}"
        part.write_bytes(data[i:i + size])
        parts.append(part)
    shutil.copyfile(card, dest / card.name)
    return parts


def join(src: Path, dest: Path, overwrite: bool) -> Path:
    """The weights rebuilt from the card + parts in ``src`` into ``dest``; returns the card written there."""
    cards = [p for p in sorted(src.glob("*.json"))]
    if len(cards) != 1:
        raise ValueError(f"join: expected one model card (.json) in {src}, found {[c.name for c in cards]}")
    meta = json.loads(cards[0].read_text())
    parts = sorted(src.glob(f"{meta['file']}{PART}[0-9][0-9][0-9]"))
    if not parts:
        raise ValueError(f"join: no parts {meta['file']}{PART}NNN in {src}")
    numbers = [int(p.name[-3:]) for p in parts]
    if numbers != list(range(len(parts))):
        raise ValueError(f"join: parts of {meta['file']} in {src} are not contiguous: {numbers}; fetch them all")
    target, card_out = dest / meta["file"], dest / cards[0].name
    if (target.exists() or card_out.exists()) and not overwrite:
        raise FileExistsError(f"join: {target} or {card_out} already exists; pass -y to replace it")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{meta['file']}.joining"
    digest = hashlib.sha256()
    with open(tmp, "wb") as fh:
        for part in parts:
            chunk = part.read_bytes()
            digest.update(chunk)
            fh.write(chunk)
    if digest.hexdigest() != meta["sha256"]:
        tmp.unlink()
        raise ValueError(f"join: sha256 of the joined {meta['file']} is {digest.hexdigest()}, the card expects "
                         f"{meta['sha256']}; a part is missing or damaged")
    os.replace(tmp, target)
    other = default_card_in(dest, meta.get("model"), meta.get("scale"), exclude=card_out.name) \
        if meta.get("default") is True else None
    if other is not None:
        # an export on the device sees no other card and marks itself default; two defaults for one model and
        # scale would stop the engine from choosing (the card's sha256 covers the weights, not the card)
        meta.pop("default")
        tmp_card = dest / f".{card_out.name}.joining"
        tmp_card.write_text(json.dumps(meta, indent=2) + "\n")
        os.replace(tmp_card, card_out)
        print(f"weights_parts: {other.name} stays the default for model={meta.get('model')!r} scale="
              f"{meta.get('scale')}; to switch, move \"default\": true from it to {card_out.name}", file=sys.stderr)
    else:
        shutil.copyfile(cards[0], card_out)
    return card_out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split", help="card + weights -> card + byte parts")
    sp.add_argument("card", type=Path)
    sp.add_argument("dest", type=Path)
    sp.add_argument("--max-mib", type=float, default=15.0)
    jp = sub.add_parser("join", help="card + byte parts -> checked weights + card")
    jp.add_argument("src", type=Path)
    jp.add_argument("dest", type=Path)
    jp.add_argument("-y", "--overwrite", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "split":
            parts = split(args.card, args.dest, args.max_mib)
            print(f"weights_parts: {len(parts)} part(s) in {args.dest}", file=sys.stderr)
        else:
            print(f"weights_parts: wrote {join(args.src, args.dest, args.overwrite)}", file=sys.stderr)
    except (OSError, ValueError, KeyError) as exc:
        print(f"weights_parts.py {args.cmd}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
