"""Progress reporting: a terminal bar for people, JSON lines for scripts and farms, on stderr.

Modes: ``bar`` (tqdm: frames, fps, ETA), ``json`` (one object per line: ``{"event": "progress", "frame": 12,
"total": 48, "fps": 3.1, "elapsed_s": 3.9, "eta_s": 11.6, "out_time_s": 0.5, "percent": 25.0}`` at most
every ``interval`` seconds, plus ``start`` and ``end`` events), ``none``, and ``auto`` (bar when stderr is a
terminal, else none). stdout is never used, so ``-o -`` can stream video there.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

MODES = ("auto", "bar", "json", "none")


class Progress:
    """Frame-count progress for one run. ``total``: frames expected (None if unknown)."""

    def __init__(self, total: int | None, *, mode: str = "auto", interval: float = 0.5,
                 stream: IO[str] | None = None, label: str = "restoring") -> None:
        if mode not in MODES:
            raise ValueError(f"Progress: mode must be one of {MODES}, got {mode!r}")
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "none"
        self.mode = mode
        self.total = total
        self.interval = float(interval)
        self.frames = 0
        self.out_time_s = 0.0
        self._t0 = time.monotonic()
        self._last_emit = -1e9
        self._bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="frame", desc=label, file=self.stream, dynamic_ncols=True,
                             smoothing=0.1)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    @property
    def fps(self) -> float:
        e = self.elapsed
        return self.frames / e if e > 0 else 0.0

    def start(self, **fields: Any) -> None:
        """Emit the ``start`` event (json mode) with the given fields (input, output, frames, engine...)."""
        self._t0 = time.monotonic()
        self._emit({"event": "start", "total": self.total, **fields})

    def update(self, frames_done: int, *, out_time_s: float | None = None) -> None:
        """Record that ``frames_done`` frames (cumulative) are finished."""
        delta = frames_done - self.frames
        self.frames = frames_done
        if out_time_s is not None:
            self.out_time_s = out_time_s
        if self._bar is not None and delta:
            self._bar.update(delta)
        if self.mode == "json":
            now = time.monotonic()
            if now - self._last_emit >= self.interval or (self.total is not None and frames_done >= self.total):
                self._last_emit = now
                self._emit(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """The current state as a ``progress`` event dict."""
        fps = self.fps
        eta = (self.total - self.frames) / fps if (self.total is not None and fps > 0) else None
        return {"event": "progress", "frame": self.frames, "total": self.total, "fps": round(fps, 3),
                "elapsed_s": round(self.elapsed, 3), "eta_s": None if eta is None else round(eta, 3),
                "out_time_s": round(self.out_time_s, 6),
                "percent": None if not self.total else round(100.0 * self.frames / self.total, 2)}

    def close(self, state: str, **fields: Any) -> None:
        """Finish: ``state`` is "done", "failed" or "interrupted"; emits the ``end`` event in json mode."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._emit({"event": "end", "state": state, "frame": self.frames, "total": self.total,
                    "fps": round(self.fps, 3), "elapsed_s": round(self.elapsed, 3), **fields})

    def _emit(self, obj: dict[str, Any]) -> None:
        if self.mode != "json":
            return
        self.stream.write(json.dumps(obj, default=str) + "\n")
        self.stream.flush()
