"""The JSON reports the scripts write (``--json``): checked before any work starts (the folder exists; an existing
file is replaced only with ``-y``) and written atomically (a temporary file in the same folder, then a rename), so a
crash never leaves half a report and a rerun never silently replaces the last one."""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def check_report_target(parser: argparse.ArgumentParser, path: str | None, overwrite: bool,
                        flag: str = "--json") -> None:
    """``parser.error`` (usage line, exit code 2) when ``path`` cannot be written as asked: its folder is missing,
    or it exists and ``overwrite`` (``-y``) was not given. ``None`` (no report) passes."""
    if not path:
        return
    target = Path(path)
    if target.is_dir():
        parser.error(f"{flag} {path}: is a folder; name a file inside it")
    if not target.parent.is_dir():
        parser.error(f"{flag} {path}: the folder {target.parent} does not exist; create it first")
    if target.exists() and not overwrite:
        parser.error(f"{flag} {path} already exists; pass -y to replace it")


def write_json_atomic(path: str | Path, data: Any, *, indent: int = 1,
                      default: Callable[[Any], Any] | None = str) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file in the same folder and a rename."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=indent, default=default) + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
