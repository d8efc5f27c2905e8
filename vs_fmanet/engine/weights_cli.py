"""``fmanet-weights``: list the weights the engine can find, which one each (model, scale) uses by default, their
recorded gains over bicubic on SYN-RE and on SYN-RE-real (noisy, H.264-compressed input; pick by your footage), and
(``--verify``) check every file's sha256 against its card, e.g. on each node of a farm before a run.

Exit codes: 0 all listed cards are readable (and, with ``--verify``, intact); 1 a card is broken or a file fails
its check; 2 bad arguments. The table or JSON goes to stdout, log messages to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .. import add_version_option
from .weights import WeightsError, find_default_card, models_dirs, read_verified, scan_cards

__all__ = ["main", "collect"]


def _recorded_gain(extra: dict, benchmark: str) -> float | None:
    """PSNR gain over bicubic on ``benchmark`` (metadata path) recorded by ``scripts/evaluate.py --record-card``, in
    dB: ``syn-re`` (clean, paper-like) or ``syn-re-real`` (with sensor noise and H.264, like real footage)."""
    for record in (extra.get("evaluation") or {}).values():
        rows = (record.get("results") or {}).get(benchmark) or {}
        if "model" in rows and "bicubic" in rows:
            return round(rows["model"]["psnr"] - rows["bicubic"]["psnr"], 2)
    return None


def collect(verify: bool = False) -> list[dict[str, Any]]:
    """One entry per model card in the search folders (in priority order), with ``default`` (the engine's choice
    for its model and scale), ``status`` ("ok", "unchecked", or the error) and the card's fields."""
    entries: list[dict[str, Any]] = []
    chosen: dict[tuple[str, int], Path | None] = {}      # the default card per (model, scale), looked up once
    for card_path, card in scan_cards():
        entry: dict[str, Any] = {"card": str(card_path), "folder": str(card_path.parent)}
        if isinstance(card, WeightsError):
            entries.append({**entry, "status": f"broken card: {card}"})
            continue
        key = (card.model, card.scale)
        if key not in chosen:
            try:
                chosen[key] = find_default_card(*key).card_path
            except WeightsError:
                chosen[key] = None
        status = "unchecked"
        if verify:
            try:
                read_verified(card)
                status = "ok"
            except WeightsError as exc:
                status = str(exc)
        size = card.file.stat().st_size if card.file.exists() else None
        entries.append({**entry, "name": card.name, "model": card.model, "preset": card.preset,
                        "scale": card.scale, "dtype": card.extra.get("weights_dtype"), "bytes": size,
                        "sha256": card.sha256, "default": chosen[key] == card_path,
                        "syn_re_gain_db": _recorded_gain(card.extra, "syn-re"),
                        "syn_re_real_gain_db": _recorded_gain(card.extra, "syn-re-real"), "status": status})
    return entries


def _table(entries: list[dict[str, Any]], searched: list[Path]) -> str:
    lines = [f"{'name':<28} {'model':<16} {'preset':<14} {'scale':>5} {'default':>7} {'SYN-RE':>9} "
             f"{'RE-real':>9}  status"]
    for e in entries:
        if "name" not in e:
            lines.append(f"{Path(e['card']).name:<28} {'-':<16} {'-':<14} {'-':>5} {'-':>7} {'-':>9} {'-':>9}  "
                         f"{e['status']}")
            continue
        gains = ["-" if g is None else f"{g:+.2f} dB" for g in (e["syn_re_gain_db"], e["syn_re_real_gain_db"])]
        lines.append(f"{e['name']:<28} {e['model']:<16} {e['preset']:<14} {'x' + str(e['scale']):>5} "
                     f"{'yes' if e['default'] else '':>7} {gains[0]:>9} {gains[1]:>9}  {e['status']}  "
                     f"({e['folder']})")
    lines.append("searched, in this order: " + ", ".join(str(d) for d in searched))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fmanet-weights", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version_option(parser)
    parser.add_argument("--verify", action="store_true", help="read every weights file and check its sha256")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    entries = collect(verify=args.verify)
    searched = models_dirs()
    if args.json:
        print(json.dumps({"searched": [str(d) for d in searched], "weights": entries}, indent=1))
    else:
        print(_table(entries, searched) if entries else
              "no model cards found; searched " + ", ".join(str(d) for d in searched) +
              " (set VS_FMANET_MODELS to a folder holding <name>.safetensors + <name>.json)")
    failed = [e for e in entries if e["status"] not in ("ok", "unchecked")]
    for e in failed:
        print(f"fmanet-weights: {e['card']}: {e['status']}", file=sys.stderr)
    if args.verify and not entries:      # a node without weights must not pass a check run before a farm job
        print("fmanet-weights: --verify found no weights to verify", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
