"""The farm's JSON report: one entry per file with its status, plus the run's settings and totals.

Written with a temporary name and ``os.replace`` (readers never see half a report). ``status`` per file:
``done``, ``failed`` (with ``error``: what went wrong and the fix), ``skipped`` (output existed and ``-y`` was
not given; ``reason``) or ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from .workdir import write_json_atomic

REPORT_VERSION = 1


@dataclasses.dataclass
class FileReport:
    """What happened to one input file. Times in seconds; ``chunks_reused`` were finished by an earlier run."""

    input: str
    output: str
    label: str
    status: str = "pending"
    error: str | None = None
    reason: str | None = None
    frames: int = 0
    chunks: int = 0
    chunks_reused: int = 0
    chunks_run: int = 0
    failed_attempts: int = 0
    wall_s: float = 0.0
    work_dir: str | None = None
    plan_hash: str | None = None
    engine: dict[str, Any] | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class FarmReport:
    """The whole run. ``exit_code``: 0 when no file failed, 1 otherwise, 130 when interrupted."""

    files: list[FileReport]
    settings: dict[str, Any]
    ray: dict[str, Any] | None = None
    wall_s: float = 0.0
    exit_code: int = 0
    version: int = REPORT_VERSION

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.status] = out.get(f.status, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["counts"] = self.counts()
        d["frames"] = sum(f.frames for f in self.files if f.status == "done")
        return d


def write_report(path: str | os.PathLike, report: FarmReport) -> None:
    """Write ``report`` as JSON to ``path`` (atomically; an older report there is replaced)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(target, report.as_dict())
