"""Output files appear only when complete: temp name next to the target, then rename.

An interrupted or failed run never leaves a half-written file under the output name, and an existing
output is replaced only when the user allowed it (``-y``). The temporary name keeps the real extension at
the end (ffmpeg picks the container from it) and starts with a dot so file browsers hide it. For image
sequences the frames go to a hidden temporary folder and are moved into place one by one at the end.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

from .errors import OutputError
from .imageseq import sequence_output_files

log = logging.getLogger(__name__)


def check_output_target(output: str | os.PathLike, *, overwrite: bool, inputs: Sequence[str] = (),
                        sequence: bool = False) -> Path:
    """Validate the output before any work starts; returns it as a Path.

    Raises :class:`OutputError` when it exists and ``overwrite`` is false, when its folder is missing or not
    writable, or when it is one of the ``inputs``.
    """
    out = Path(os.fspath(output))
    folder = out.parent if str(out.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output '{out}' would be inside '{folder}', which is a file, not a folder; check the path")
    if not folder.is_dir():
        raise OutputError(f"output folder '{folder}' does not exist; create it first (mkdir -p '{folder}')")
    _probe_writable(folder)
    for inp in inputs:
        try:
            if out.exists() and Path(inp).exists() and out.resolve() == Path(inp).resolve():
                raise OutputError(f"output '{out}' is the input file; choose a different -o name")
        except OSError:
            pass
    existing = sequence_output_files(out) if sequence else ([out] if out.exists() or out.is_symlink() else [])
    if existing and not overwrite:
        what = (f"{len(existing)} files of the output sequence '{out}' already exist (first: {existing[0].name})"
                if sequence else f"output '{out}' already exists")
        raise OutputError(f"{what}; pass -y to overwrite it")
    if sequence and existing:
        log.warning("overwriting %d existing files of %s", len(existing), out)
    if out.is_dir():
        raise OutputError(f"output '{out}' is a folder; give a file name (or a pattern like frame_%06d.png)")
    return out


def _probe_writable(folder: Path) -> None:
    """Create and remove a scratch file: the only test that also holds for root, read-only mounts and ACLs."""
    probe = folder / f".fmanet-write-test-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        with open(probe, "xb"):
            pass
    except OSError as exc:
        raise OutputError(f"output folder '{folder}' is not writable ({exc.strerror or exc}); choose another "
                          "-o location or fix its permissions") from exc
    try:
        probe.unlink()
    except OSError:
        pass


def temp_path_for(output: Path) -> Path:
    """A fresh hidden name in the output's folder, e.g. ``.clip.fmanet-1234-ab12cd.part.mkv``."""
    token = f"{os.getpid()}-{secrets.token_hex(3)}"
    return output.with_name(f".{output.stem}.fmanet-{token}.part{output.suffix}")


def temp_dir_for(output_pattern: Path) -> Path:
    """A fresh hidden folder next to an output sequence, created now."""
    token = f"{os.getpid()}-{secrets.token_hex(3)}"
    d = output_pattern.parent / f".fmanet-{token}.part"
    d.mkdir()
    return d


def commit_file(temp: Path, output: Path, *, overwrite: bool) -> None:
    """Move ``temp`` to ``output``. Without ``overwrite`` this never replaces a file that appeared meanwhile
    (hard link + unlink is atomic and fails if the name exists); otherwise ``os.replace``."""
    if overwrite:
        os.replace(temp, output)
        return
    try:
        os.link(temp, output)
    except FileExistsError as exc:
        raise OutputError(f"output '{output}' appeared while processing; not overwriting it without -y "
                          f"(the result is kept as '{temp}')") from exc
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP):
            raise
        if output.exists():  # file systems without hard links: check, then rename
            raise OutputError(f"output '{output}' appeared while processing; not overwriting it without -y "
                              f"(the result is kept as '{temp}')") from exc
        os.replace(temp, output)
        return
    os.unlink(temp)


def commit_sequence(temp_dir: Path, output_pattern: Path, *, overwrite: bool) -> list[Path]:
    """Move every file of ``temp_dir`` next to ``output_pattern`` (same names), then remove ``temp_dir``."""
    moved: list[Path] = []
    for f in sorted(temp_dir.iterdir()):
        target = output_pattern.parent / f.name
        commit_file(f, target, overwrite=overwrite)
        moved.append(target)
    temp_dir.rmdir()
    return moved


def discard(path: Path | None) -> None:
    """Remove a temporary file or folder if it exists; never raises."""
    if path is None:
        return
    try:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError as exc:
        log.warning("could not remove temporary %s: %s", path, exc)
