"""Farm progress: overall frames plus per-file and per-chunk state, as a terminal bar or JSON lines on stderr.

Builds on :class:`ffmpeg_filter.progress.Progress` (the single-file tool's bar / JSON-lines reporter) and adds
what a farm needs. Terminal: one bar over all frames of all files, its postfix showing files and chunks done and
the files in progress with their percentages; a line per finished, failed or skipped file. JSON lines (one
object per line, ``--progress json``): the parent's ``start``/``progress``/``end`` events, where ``progress``
also carries ``files_done``, ``files_total``, ``chunks_done``, ``chunks_total`` and ``active`` (file -> percent),
plus ``{"event": "file", "file": ..., "state": "planned|running|done|failed|skipped", ...}`` and
``{"event": "chunk", "file": ..., "chunk": 3, "state": "done|retry|failed|reused", ...}``.

Frame counts of running chunks come from the workers' progress files, so the bar moves inside long chunks.
"""

from __future__ import annotations

import dataclasses
from typing import IO, Any

from ..progress import Progress


@dataclasses.dataclass
class FileProgress:
    """Progress of one file: frames and chunks done of ``frames_total`` / ``chunks_total``."""

    frames_total: int = 0
    chunks_total: int = 0
    frames_done: int = 0
    chunks_done: int = 0
    state: str = "queued"


class FarmProgress(Progress):
    """Overall and per-file progress of a farm run (see the module docstring)."""

    def __init__(self, *, mode: str = "auto", interval: float = 0.5, stream: IO[str] | None = None) -> None:
        super().__init__(0, mode=mode, interval=interval, stream=stream, label="farm")
        self.files: dict[str, FileProgress] = {}

    # -- per file ------------------------------------------------------------------------------------------------
    def add_file(self, label: str, frames: int, chunks: int) -> None:
        """Register a planned file (its frames join the overall total)."""
        self.files[label] = FileProgress(frames_total=frames, chunks_total=chunks, state="planned")
        self.total = sum(f.frames_total for f in self.files.values())
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()
        self.file_event(label, "planned", frames=frames, chunks=chunks)

    def file_event(self, label: str, state: str, **fields: Any) -> None:
        """A file changed state ("planned", "running", "done", "failed", "skipped")."""
        fp = self.files.setdefault(label, FileProgress())
        fp.state = state
        self._emit({"event": "file", "file": label, "state": state, **fields})
        if self._bar is not None and state in ("done", "failed", "skipped"):
            from tqdm import tqdm

            detail = fields.get("error") or fields.get("reason") or fields.get("output") or ""
            tqdm.write(f"{state:>7}: {label}" + (f" ({detail})" if detail else ""), file=self.stream)

    def chunk_event(self, label: str, chunk: int, state: str, **fields: Any) -> None:
        """A chunk finished ("done"), was found finished ("reused"), failed an attempt ("retry") or for good."""
        fp = self.files.setdefault(label, FileProgress())
        if state in ("done", "reused"):
            fp.chunks_done += 1
        self._emit({"event": "chunk", "file": label, "chunk": chunk, "state": state, **fields})

    def set_frames(self, label: str, frames_done: int) -> None:
        """Frames of ``label`` finished so far (finished chunks plus running ones)."""
        self.files.setdefault(label, FileProgress()).frames_done = frames_done

    def refresh(self) -> None:
        """Recompute the overall count from the files and redraw / emit (rate-limited in JSON mode)."""
        done = sum(min(f.frames_done, f.frames_total) for f in self.files.values())
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
        self.update(done)

    # -- overrides -----------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        snap.pop("out_time_s", None)  # a farm has no single output timeline
        files = self.files.values()
        snap.update({
            "files_done": sum(1 for f in files if f.state in ("done", "failed", "skipped")),
            "files_total": len(self.files),
            "chunks_done": sum(f.chunks_done for f in files),
            "chunks_total": sum(f.chunks_total for f in files),
            "active": {k: round(100.0 * f.frames_done / f.frames_total, 1) for k, f in self.files.items()
                       if f.state == "running" and f.frames_total},
        })
        return snap

    def _postfix(self) -> str:
        files = self.files.values()
        finished = sum(1 for f in files if f.state in ("done", "failed", "skipped"))
        chunks = f"{sum(f.chunks_done for f in files)}/{sum(f.chunks_total for f in files)}"
        active = [f"{k[-24:]} {100.0 * f.frames_done / f.frames_total:.0f}%" for k, f in self.files.items()
                  if f.state == "running" and f.frames_total][:3]
        return f"files {finished}/{len(self.files)} chunks {chunks}" + (" | " + ", ".join(active) if active else "")
