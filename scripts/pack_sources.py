#!/usr/bin/env python3
"""Pack the source images into a compact bundle for a machine without them (the lent GPU machine):

    python scripts/pack_sources.py --out .bundle/sources            # then carry ".bundle" and, on the device:
    VS_FMANET_SOURCES=$PWD/.bundle/sources python3 scripts/train.py ...

Same ids, splits and de-duplication as the original sources; test images lossless (benchmarks render
bit-identically), every training image (photos and sprites) WebP at --quality. See vs_fmanet/data/bundle.py.
Prints one JSON line with the counts and the size; refuses an existing --out without -y.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vs_fmanet.data.bundle import pack_sources  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="bundle folder to write (e.g. .bundle/sources, git-ignored)")
    ap.add_argument("--root", default=None, help="where the Debian sources are (default $VS_FMANET_SOURCES or "
                                                 "~/.cache/vs_fmanet/sources)")
    ap.add_argument("--splits", default="train,test", help="which splits to pack (default train,test)")
    ap.add_argument("--quality", type=int, default=95, help="WebP quality of the training photos (default 95)")
    ap.add_argument("-y", "--overwrite", action="store_true", help="replace an existing --out")
    args = ap.parse_args(argv)
    try:
        summary = pack_sources(args.out, root=args.root, splits=tuple(s for s in args.splits.split(",") if s),
                               photo_quality=args.quality, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as exc:
        print(f"pack_sources.py: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": args.out, **summary, "mib": round(summary["bytes"] / 2**20, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
