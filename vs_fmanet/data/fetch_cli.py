"""``fmanet-fetch-sources``: fetch the Debian image sources for the synthetic training data (once, at set-up) and
list what is installed.

    fmanet-fetch-sources                                   # groups photos + sprites into the source root
    fmanet-fetch-sources --groups photos,sprites,extra --root /data/sources
    fmanet-fetch-sources --list                            # per source: licence, installed, train/test counts

The source root defaults to $VS_FMANET_SOURCES or ~/.cache/vs_fmanet/sources. Needs apt-get and dpkg-deb
(Debian/Ubuntu) and an 'apt-get update' run once. PyPI sources come with `pip install 'vs-fmanet[data]'`.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

from .. import add_version_option
from .fetch import GROUPS, fetch_sources, source_summary
from .sources import source_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fmanet-fetch-sources", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version_option(parser)
    parser.add_argument("--root", default=None, help="source root (default: $VS_FMANET_SOURCES or ~/.cache/...)")
    parser.add_argument("--groups", default="photos,sprites", help=f"comma-separated groups from {GROUPS}")
    parser.add_argument("--force", action="store_true", help="fetch again even when a manifest exists")
    parser.add_argument("--list", action="store_true", help="only list the sources and their split counts")
    parser.add_argument("--json", action="store_true", help="print the listing as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.list:
        groups = tuple(g.strip() for g in args.groups.split(",") if g.strip())
        try:
            fetch_sources(args.root, groups, force=args.force)
        except (RuntimeError, ValueError) as exc:
            print(f"fmanet-fetch-sources: {exc}", file=sys.stderr)
            return 1
    rows = source_summary(args.root)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"source root: {args.root or source_root()}")
    print(f"{'source':12} {'provider':8} {'package':28} {'kind':7} {'train':>5} {'test':>5}  licence")
    for r in rows:
        state = f"{r['train']:5d} {r['test']:5d}" if r["installed"] else "    -     -"
        print(f"{r['source']:12} {r['provider']:8} {r['package']:28} {r['kind']:7} {state}  {r['licence']}")
    print(f"total: train {sum(r['train'] for r in rows)}, test {sum(r['test'] for r in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
