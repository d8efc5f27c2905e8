"""Work directory of one farm job: the plan, finished chunks with checksums, and the retry state.

Layout (one folder per input file)::

    <work>/plan.json                 the plan and everything it depends on (hash in "plan_hash")
    <work>/state.json                attempts and errors per chunk (written by the driver only)
    <work>/chunks/00003.mkv          a finished chunk (encoded video only, source timestamps)
    <work>/chunks/00003.json         its record: sha256, frames, plan hash, worker, seconds
    <work>/chunks/00003.progress     frames done so far by the running attempt (for progress bars)
    <work>/joined.mkv                all chunks remuxed into one video stream, before the final mux

Every file is written under a temporary name and renamed (``os.replace``), so a killed worker, node or driver
never leaves a half-written file under a final name. A chunk counts as finished only when its record exists,
names the current plan hash, and the chunk file's sha256 matches it: rerunning the same command therefore
skips exactly the chunks that are complete and intact, and redoes the rest. A changed input, engine or
encoder setting changes the plan hash and starts the job over.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PLAN_VERSION = 1
_HASH_BLOCK = 1 << 20


#: outputs whose muxer shifts or drops timestamps (MPEG-TS/PS move the first chunk by the encoder delay, AVI and raw
#: streams store none): their chunks are written as NUT, which keeps each packet's pts and dts in the source's time
#: base, and only the final mux writes the output's container
_TIMESTAMP_UNSAFE_SUFFIXES = frozenset({".ts", ".m2ts", ".mts", ".m2t", ".tsv", ".mpg", ".mpeg", ".vob", ".avi",
                                        ".h264", ".264", ".hevc", ".h265", ".265", ".y4m", ".ivf"})


def chunk_suffix_for(output_suffix: str) -> str:
    """File extension of the chunk files for an output with ``output_suffix``: the output's own (so the chunks hold
    exactly what the output will), ``.nut`` where that container would change the timestamps (see above), and
    ``.mkv`` when the output has none."""
    if not output_suffix:
        return ".mkv"
    return ".nut" if output_suffix.lower() in _TIMESTAMP_UNSAFE_SUFFIXES else output_suffix


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` via a temporary file in the same folder and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_json(path: Path) -> Any | None:
    """The JSON content of ``path``, or None when it is missing or not valid JSON (a damaged file is treated
    like a missing one: the work it describes is redone)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignoring unreadable %s (%s)", path, exc)
        return None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_HASH_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def input_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Identity of an input file without reading all of it: size, modification time (ns) and the sha256 of its
    first and last MiB."""
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    with open(p, "rb") as f:
        h.update(f.read(_HASH_BLOCK))
        if st.st_size > 2 * _HASH_BLOCK:
            f.seek(-_HASH_BLOCK, os.SEEK_END)
            h.update(f.read(_HASH_BLOCK))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_tail_sha256": h.hexdigest()}


def plan_hash(plan: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``plan`` (without its own ``plan_hash`` key)."""
    body = {k: v for k, v in plan.items() if k != "plan_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def work_dir_name(input_path: str | os.PathLike, output_path: str | os.PathLike) -> str:
    """Folder name for one (input, output) pair: a readable stem plus a hash of both absolute paths."""
    key = f"{Path(input_path).resolve()}\n{Path(output_path).resolve()}"
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(output_path).stem)[:40] or "job"
    return f"{stem}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}"


@dataclasses.dataclass
class ChunkRecord:
    """What a worker writes next to a finished chunk file."""

    index: int
    file: str                 # file name inside chunks/
    sha256: str
    frames: int
    plan_hash: str
    attempt: int
    seconds: float            # wall time of the attempt
    host: str
    pid: int
    engine: dict[str, Any]    # Engine.describe() of the worker's engine (device, precision...)

    @classmethod
    def from_dict(cls, obj: Any) -> ChunkRecord | None:
        """Parse a record; None when fields are missing or of the wrong type."""
        try:
            return cls(index=int(obj["index"]), file=str(obj["file"]), sha256=str(obj["sha256"]),
                       frames=int(obj["frames"]), plan_hash=str(obj["plan_hash"]), attempt=int(obj["attempt"]),
                       seconds=float(obj["seconds"]), host=str(obj["host"]), pid=int(obj["pid"]),
                       engine=dict(obj.get("engine") or {}))
        except (KeyError, TypeError, ValueError):
            return None


class WorkDir:
    """The work folder of one input file (see the module docstring). ``suffix`` is the chunk files' extension
    (that of the final output, so encoder defaults and container rules match)."""

    def __init__(self, root: str | os.PathLike, suffix: str = ".mkv") -> None:
        self.root = Path(root)
        self.suffix = suffix if suffix.startswith(".") else f".{suffix}"
        self.chunks_dir = self.root / "chunks"
        self.plan_path = self.root / "plan.json"
        self.state_path = self.root / "state.json"

    # -- paths -------------------------------------------------------------------------------------------------
    def chunk_path(self, index: int) -> Path:
        return self.chunks_dir / f"{index:05d}{self.suffix}"

    def record_path(self, index: int) -> Path:
        return self.chunks_dir / f"{index:05d}.json"

    def progress_path(self, index: int) -> Path:
        return self.chunks_dir / f"{index:05d}.progress"

    @property
    def joined_path(self) -> Path:
        return self.root / f"joined{self.suffix}"

    # -- plan --------------------------------------------------------------------------------------------------
    @property
    def previous_dir(self) -> Path:
        """Where the chunks of the plan before this one wait (see :meth:`prepare`)."""
        return self.root / "previous"

    def prepare(self, plan: dict[str, Any], *, fresh: bool = False) -> bool:
        """Create the folder and store ``plan`` (which must hold ``plan_hash``). Returns True when finished chunks
        of the same plan are being resumed.

        With a different plan the old chunks are set aside in ``previous/`` rather than deleted: a run whose new
        settings then fail (an encoder option refused, no GPU on the cluster) loses nothing, and going back to the
        old settings restores them. ``previous/`` goes when the file is done. ``fresh`` deletes both."""
        self.chunks_dir.mkdir(parents=True, exist_ok=True)
        swap = self.root / "previous.swap"
        if swap.exists() and not self.previous_dir.exists():   # a swap (below) cut short: put its chunks back
            swap.rename(self.previous_dir)
        old = read_json(self.plan_path)
        same = isinstance(old, dict) and old.get("plan_hash") == plan["plan_hash"]
        if old is None or (same and not fresh):
            write_json_atomic(self.plan_path, plan)
            return same
        for stale in (self.state_path, self.joined_path):
            if stale.exists():
                stale.unlink()
        kept = read_json(self.previous_dir / "plan.json")
        if fresh:
            log.warning("%s: discarding the previous work (--fresh was given)", self.root)
            shutil.rmtree(self.previous_dir, ignore_errors=True)
            shutil.rmtree(self.chunks_dir, ignore_errors=True)
        elif isinstance(kept, dict) and kept.get("plan_hash") == plan["plan_hash"]:
            log.warning("%s: back to the settings of an earlier run: its finished chunks are used again", self.root)
            shutil.rmtree(swap, ignore_errors=True)        # only ever a leftover beside an existing previous/
            self.previous_dir.rename(swap)
            if self._has_records():           # the other settings' chunks wait in turn
                self.previous_dir.mkdir()
                self.chunks_dir.rename(self.previous_dir / "chunks")
                write_json_atomic(self.previous_dir / "plan.json", old)
            else:
                shutil.rmtree(self.chunks_dir, ignore_errors=True)
            (swap / "chunks").rename(self.chunks_dir)
            shutil.rmtree(swap, ignore_errors=True)
            write_json_atomic(self.plan_path, plan)
            return True
        elif not self._has_records():
            # nothing finished under the current settings (they failed at once): what waits in previous/ stays
            log.warning("%s: the input or the settings changed: starting this file over", self.root)
            shutil.rmtree(self.chunks_dir, ignore_errors=True)
        else:
            log.warning("%s: the input or the settings changed: starting this file over (the finished chunks wait "
                        "in %s until it is done; the old command would use them again)", self.root, self.previous_dir)
            shutil.rmtree(self.previous_dir, ignore_errors=True)
            self.previous_dir.mkdir(parents=True)
            self.chunks_dir.rename(self.previous_dir / "chunks")
            write_json_atomic(self.previous_dir / "plan.json", old)
        self.chunks_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.plan_path, plan)
        return False

    def _has_records(self) -> bool:
        """True when ``chunks/`` holds the record of at least one finished chunk."""
        return self.chunks_dir.is_dir() and any(p.suffix == ".json" for p in self.chunks_dir.iterdir())

    def drop_previous(self) -> None:
        """Delete the chunks set aside by :meth:`prepare` (the file is done with its new settings)."""
        shutil.rmtree(self.previous_dir, ignore_errors=True)

    def finished(self, expected: dict[int, int], plan_hash_value: str) -> dict[int, ChunkRecord]:
        """Chunks that are complete and intact: ``expected`` maps chunk index -> frames. A record that does not
        match (other plan, wrong frame count, missing file, checksum mismatch) is removed with its file."""
        done: dict[int, ChunkRecord] = {}
        for index, frames in expected.items():
            rec_path = self.record_path(index)
            raw = read_json(rec_path)
            if raw is None:
                continue
            rec = ChunkRecord.from_dict(raw)
            path = self.chunk_path(index)
            problem = None
            if rec is None:
                problem = "its record is malformed"
            elif rec.plan_hash != plan_hash_value:
                problem = "it belongs to another plan"
            elif rec.index != index or rec.frames != frames or rec.file != path.name:
                problem = f"its record does not match the plan ({rec.frames} frames, file {rec.file})"
            elif not path.is_file():
                problem = f"{path.name} is missing"
            elif sha256_file(path) != rec.sha256:
                problem = f"{path.name} does not match its sha256 (damaged or changed)"
            if problem:
                log.warning("%s: chunk %d will be redone: %s", self.root, index, problem)
                for p in (rec_path, path):
                    if p.exists():
                        p.unlink()
                continue
            assert rec is not None
            done[index] = rec
        return done

    # -- records written by workers ------------------------------------------------------------------------------
    def write_record(self, record: ChunkRecord) -> None:
        write_json_atomic(self.record_path(record.index), dataclasses.asdict(record))

    def write_progress(self, index: int, frames: int, attempt: int) -> None:
        """Frames finished so far by the running attempt of chunk ``index`` (best effort)."""
        try:
            write_json_atomic(self.progress_path(index), {"frames": frames, "attempt": attempt, "pid": os.getpid()})
        except OSError as exc:
            log.debug("progress file for chunk %d not written: %s", index, exc)

    def read_progress(self, index: int) -> int:
        """Frames reported by the running attempt of chunk ``index`` (0 when none)."""
        raw = read_json(self.progress_path(index)) if self.progress_path(index).exists() else None
        try:
            return int(raw["frames"]) if isinstance(raw, dict) else 0
        except (KeyError, TypeError, ValueError):
            return 0

    # -- driver state ---------------------------------------------------------------------------------------------
    def load_state(self, plan_hash_value: str) -> dict[str, Any]:
        """Attempts and errors per chunk from an earlier run of the same plan (empty otherwise)."""
        raw = read_json(self.state_path)
        if not isinstance(raw, dict) or raw.get("plan_hash") != plan_hash_value:
            return {"plan_hash": plan_hash_value, "attempts": {}, "errors": {}}
        raw.setdefault("attempts", {})
        raw.setdefault("errors", {})
        return raw

    def save_state(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.state_path, state)

    # -- clean-up -------------------------------------------------------------------------------------------------
    def clean_partials(self) -> int:
        """Remove leftovers of killed attempts (temporary ``.part`` files and progress files); returns how many."""
        removed = 0
        if not self.chunks_dir.is_dir():
            return 0
        for p in self.chunks_dir.iterdir():
            if p.name.startswith(".") or p.suffix == ".progress":
                try:
                    p.unlink()
                    removed += 1
                except OSError:
                    pass
        return removed

    def remove(self) -> None:
        """Delete the whole work folder (after a successful join, unless the user keeps it)."""
        shutil.rmtree(self.root, ignore_errors=True)
