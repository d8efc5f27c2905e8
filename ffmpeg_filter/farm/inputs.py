"""Which files a farm run processes and where each result goes.

Three forms of input:

* one video file -> ``-o`` names the output file;
* a folder -> every video file below it (recursively, by extension) -> ``-o`` names the output folder, and
  each output keeps its path relative to the input folder (``in/a/b.mp4`` -> ``out/a/b.mp4``);
* a list file (``--input-list FILE``: one path per line, ``#`` comments, relative paths are relative to the
  list file) -> ``-o`` names the output folder; outputs mirror the inputs' paths relative to their common
  parent folder.

``ext`` replaces the output extension (``--ext mkv``); otherwise outputs keep the input's extension.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..command import writes_to_stdout
from ..errors import InputError, UsageError

VIDEO_EXTENSIONS = (".mkv", ".mp4", ".mov", ".m4v", ".webm", ".avi", ".ts", ".m2ts", ".mts", ".mxf", ".flv",
                    ".wmv", ".mpg", ".mpeg", ".3gp", ".ogv", ".nut", ".y4m", ".lrv", ".insv")


@dataclasses.dataclass(frozen=True)
class FileJob:
    """One input file and the output it becomes; ``label`` is the relative name shown in progress and reports."""

    input: str
    output: str
    label: str


def _with_ext(path: Path, ext: str | None) -> Path:
    if not ext:
        return path
    return path.with_suffix(ext if ext.startswith(".") else f".{ext}")


def scan_folder(folder: Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS, *, skip: Path | None = None
                ) -> list[Path]:
    """Video files below ``folder`` (recursive, sorted, hidden files and folders skipped, and the folder ``skip``:
    an output folder inside the input folder, whose results must not become inputs of the next run)."""
    found: list[Path] = []
    skip_resolved = skip.resolve() if skip is not None else None
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip_resolved is None or (Path(root) / d).resolve() != skip_resolved))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in extensions:
                found.append(Path(root) / name)
    return found


def read_list_file(path: Path) -> list[Path]:
    """Paths listed in a text file (one per line, blank lines and ``#`` comments skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"read_list_file: cannot read the list file '{path}' ({exc.strerror or exc})") from exc
    out = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        p = Path(text).expanduser()
        out.append(p if p.is_absolute() else path.parent / p)
    return out


def collect_jobs(input_path: str | None, output: str, *, list_file: str | None = None, ext: str | None = None,
                 extensions: tuple[str, ...] = VIDEO_EXTENSIONS) -> tuple[list[FileJob], bool]:
    """The (input, output) pairs of a run and whether it is folder mode (see the module docstring).

    Raises :class:`UsageError` for contradictory arguments (a folder input with a file output, no input) and
    :class:`InputError` when the input does not exist or a folder holds no video files.
    """
    if bool(input_path) == bool(list_file):
        raise UsageError("give exactly one of -i INPUT (a file or a folder) and --input-list FILE")
    if writes_to_stdout(output):
        raise UsageError("fmanet-farm writes files (chunks are joined at the end), so it cannot write to stdout; "
                         "give -o a file or folder, or use fmanet-ffmpeg -o - to stream")
    out = Path(output)
    if list_file:
        files = read_list_file(Path(list_file))
        if not files:
            raise InputError(f"collect_jobs: the list file '{list_file}' names no inputs")
        base = Path(os.path.commonpath([str(f.resolve().parent) for f in files]))
        jobs = [FileJob(str(f), str(_with_ext(out / f.resolve().relative_to(base), ext)),
                        str(f.resolve().relative_to(base))) for f in files]
        return _check_unique(jobs), True
    assert input_path is not None
    src = Path(input_path)
    if src.is_dir():
        if out.exists() and not out.is_dir():
            raise UsageError(f"-i '{src}' is a folder, so -o must be a folder too, but '{out}' is a file")
        files = scan_folder(src, extensions, skip=out)
        if not files:
            raise InputError(f"collect_jobs: the folder '{src}' holds no video files "
                             f"({', '.join(extensions[:6])}...)")
        if out.resolve() == src.resolve() and not ext:
            raise UsageError(f"-o '{out}' is the input folder; the outputs would replace the inputs. Choose "
                             "another folder (or --ext to change the extension)")
        jobs = [FileJob(str(f), str(_with_ext(out / f.relative_to(src), ext)), str(f.relative_to(src)))
                for f in files]
        return _check_unique(jobs), True
    if not src.exists():
        raise InputError(f"collect_jobs: input '{src}' does not exist; check the path")
    if out.is_dir():
        raise UsageError(f"-o '{out}' is a folder; for one input file give the output file name "
                         f"(e.g. {out / _with_ext(Path(src.name), ext or src.suffix)})")
    target = _with_ext(out, ext)
    if not target.suffix:
        raise UsageError(f"-o '{out}' has no extension, which is how the output container is chosen; give one, "
                         f"e.g. -o {out}{src.suffix or '.mkv'} (or --ext mkv)")
    return [FileJob(str(src), str(target), src.name)], False


def _check_unique(jobs: list[FileJob]) -> list[FileJob]:
    seen: dict[str, str] = {}
    for job in jobs:
        key = str(Path(job.output).resolve())
        if key in seen:
            if Path(seen[key]).resolve() == Path(job.input).resolve():
                raise UsageError(f"'{job.input}' is listed twice; remove the repeated line from the list")
            raise UsageError(f"inputs '{seen[key]}' and '{job.input}' would both be written to '{job.output}'; "
                             "rename one of them")
        if Path(job.input).resolve() == Path(job.output).resolve():
            raise UsageError(f"output '{job.output}' is its own input; choose another output folder")
        seen[key] = job.input
    return jobs
