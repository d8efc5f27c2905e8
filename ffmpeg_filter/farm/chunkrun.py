"""Processing one chunk on a worker: decode with context -> engine pieces -> encode -> chunk file + record.

This module has no Ray in it (the Ray task in :mod:`.tasks` is a thin wrapper), so a chunk can be run and
tested in-process. The steps reuse the single-file tool: :func:`ffmpeg_filter.decode.decode_range` (frame
accurate, VFR safe), :func:`ffmpeg_filter.command.build_encode_command` with the source's other streams
switched off (the final mux adds them once), and :func:`ffmpeg_filter.encode.encode_frames`.

Restoration runs exactly the pieces the plan lists, each through ``Engine.restore_piece`` with the same input
frames and exposure values a single pass would give it, so the restored frames are bit-identical to
``Engine.restore``/``Engine.stream`` on the whole clip (same device, precision, tile and thread count). The
small frame buffer below exists because ``Engine.stream`` plans its windows from the first frame it receives,
whereas a chunk starts mid-clip with context frames before it.

Timestamps: each chunk file carries the source timeline (seconds from the container start, like the
single-file tool's output), so chunks can be joined by copying packets.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..binary import find_ffmpeg
from ..command import EncodeCommand, StreamPolicy, Trim, build_encode_command
from ..decode import DecodedFrame, decode_range
from ..encode import encode_frames
from ..errors import FilterError
from ..prefetch import DECODE_AHEAD, Prefetcher
from ..probe import SourceInfo
from ..restoring import EngineSettings, build_restorer
from .plan import Chunk
from .workdir import ChunkRecord, WorkDir, sha256_file

log = logging.getLogger(__name__)

ChunkHook = Callable[[str, "ChunkTask"], None]
"""Called in the worker with ("start", task) before decoding and ("piece", task) after each restored piece;
for instrumentation and fault-injection tests. Must be importable on the workers (pickled by reference)."""

PROGRESS_EVERY_S = 1.0


class ChunkError(FilterError):
    """A chunk could not be produced; the message names the input, the chunk and its frames."""


@dataclasses.dataclass
class ChunkTask:
    """Everything a worker needs besides the source description (shipped once per file through Ray's object
    store). ``exposure`` holds the fractions of the frame interval for the decoded frames
    ``[chunk.decode_start, chunk.decode_stop)`` (NaN = unknown)."""

    input: str
    work_root: str
    suffix: str
    chunk: Chunk
    plan_hash: str
    attempt: int
    engine: EngineSettings
    exposure: list[float]
    user_args: list[str]
    deinterlace: str | None = None     # bwdif deint setting for decode_range, or None
    bitexact: bool = False
    ffmpeg: str | None = None
    threads: int = 1
    hook: ChunkHook | None = None

    @property
    def label(self) -> str:
        c = self.chunk
        return f"'{self.input}' chunk {c.index} (frames {c.start}-{c.stop - 1})"


_ENGINES: dict[tuple[Any, ...], Any] = {}


def cached_engine(settings: EngineSettings) -> Any:
    """One engine per settings per worker process (Ray reuses worker processes, so weights load once)."""
    key = tuple(str(v) for v in dataclasses.astuple(settings))
    if key not in _ENGINES:
        _ENGINES[key] = build_restorer(settings)
    return _ENGINES[key]


def restore_chunk(engine: Any, chunk: Chunk, decoded: Iterable[DecodedFrame], exposure: Iterable[float]
                  ) -> Iterator[tuple[int, np.ndarray]]:
    """Run the chunk's pieces; yield ``(frame index, [sH, sW, 3] float32)`` for frames ``[start, stop)``.

    ``decoded`` yields the input frames ``decode_start .. decode_stop - 1`` in order; ``exposure`` one fraction
    per decoded frame. At most one piece's context is held in memory.
    """
    from vs_fmanet.engine.inputs import check_exposure_value, check_frame

    frames = iter(decoded)
    exp = list(exposure)
    if len(exp) != chunk.decode_stop - chunk.decode_start:
        raise ValueError(f"restore_chunk: {len(exp)} exposure values for {chunk.decode_stop - chunk.decode_start} "
                         f"decoded frames of chunk {chunk.index}")
    buf: dict[int, tuple[np.ndarray, float]] = {}
    shape: tuple[int, int] | None = None
    nxt = chunk.decode_start
    for k, piece in enumerate(chunk.pieces):
        while nxt < piece.context_stop:
            try:
                df = next(frames)
            except StopIteration:
                raise ChunkError(f"restore_chunk: the decoder stopped before frame {nxt} of chunk {chunk.index}") \
                    from None
            if df.index != nxt:
                raise ChunkError(f"restore_chunk: expected frame {nxt} of chunk {chunk.index}, got {df.index}")
            rgb = check_frame(df.rgb, nxt, shape, "restore_chunk")
            shape = rgb.shape[:2]
            buf[nxt] = (rgb, check_exposure_value(exp[nxt - chunk.decode_start], nxt, "restore_chunk"))
            nxt += 1
        idx = range(piece.context_start, piece.context_stop)
        ctx = np.stack([buf[i][0] for i in idx])
        ctx_exp = np.array([buf[i][1] for i in idx], dtype=np.float32)
        out, _ = engine.restore_piece(ctx, ctx_exp, piece)
        for j, frame in enumerate(out):
            yield piece.start + j, frame
        keep_from = chunk.pieces[k + 1].context_start if k + 1 < len(chunk.pieces) else nxt
        for i in [i for i in buf if i < keep_from]:
            del buf[i]


def run_chunk(task: ChunkTask, info: SourceInfo) -> ChunkRecord:
    """Produce the chunk file of ``task`` and its record in the work folder; returns the record.

    The chunk is encoded with the user's encoder options into a temporary file next to its final name and
    renamed when complete. Raises :class:`ChunkError` (or the engine's/encoder's own error) on failure; the
    temporary file is removed.
    """
    t0 = time.monotonic()
    chunk = task.chunk
    work = WorkDir(task.work_root, task.suffix)
    if task.threads:
        import torch

        torch.set_num_threads(int(task.threads))
    engine = cached_engine(task.engine)
    if task.hook is not None:
        task.hook("start", task)
    ffmpeg = find_ffmpeg(task.ffmpeg)
    scale = int(engine.scale)
    out_w, out_h = info.width * scale, info.height * scale
    final = work.chunk_path(chunk.index)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temp_path_for(final)
    cmd = chunk_encode_command(info, ffmpeg=ffmpeg, output_file=str(tmp), out_width=out_w, out_height=out_h,
                               user_args=list(task.user_args), chunk=chunk, bitexact=task.bitexact)
    pts0 = int(info.pts[chunk.start])
    done = 0
    last_report = time.monotonic()

    # decoding overlaps restoration; the decoder thread is stopped however the chunk ends (workers live long)
    decoder = Prefetcher(decode_range(info, chunk.decode_start, chunk.decode_stop, deinterlace=task.deinterlace),
                         DECODE_AHEAD, name="fmanet-decode")

    def frames() -> Iterator[tuple[np.ndarray, int, int]]:
        nonlocal done, last_report
        piece_ends = {p.stop for p in chunk.pieces}
        for index, rgb in restore_chunk(engine, chunk, decoder.items(), task.exposure):
            if rgb.shape != (out_h, out_w, 3):
                raise ChunkError(f"run_chunk: {task.label}: the engine returned frame {index} with shape "
                                 f"{tuple(rgb.shape)}, expected ({out_h}, {out_w}, 3)")
            yield rgb, int(info.pts[index]) - pts0, int(info.durations[index])
            done += 1
            if index + 1 in piece_ends:
                if task.hook is not None:
                    task.hook("piece", task)
                now = time.monotonic()
                if now - last_report >= PROGRESS_EVERY_S:
                    work.write_progress(chunk.index, done, task.attempt)
                    last_report = now

    try:
        written = encode_frames(frames(), cmd.argv, width=out_w, height=out_h, time_base=info.time_base,
                                frame_rate=info.frame_rate)
        if written != chunk.frames:
            raise ChunkError(f"run_chunk: {task.label}: {written} frames were encoded, {chunk.frames} expected")
        atomic.commit_file(tmp, final, overwrite=True)
    except BaseException:
        atomic.discard(tmp)
        raise
    finally:
        decoder.close()
    record = ChunkRecord(index=chunk.index, file=final.name, sha256=sha256_file(final), frames=written,
                         plan_hash=task.plan_hash, attempt=task.attempt, seconds=round(time.monotonic() - t0, 3),
                         host=socket.gethostname(), pid=os.getpid(), engine=_describe(engine))
    work.write_record(record)
    try:
        work.progress_path(chunk.index).unlink()
    except OSError:
        pass
    log.info("%s done in %.1f s on %s (pid %d)", task.label, record.seconds, record.host, record.pid)
    return record


def _describe(engine: Any) -> dict[str, Any]:
    try:
        return dict(engine.describe())
    except Exception as exc:  # provenance only
        return {"error": f"describe() failed: {exc}"}


def chunk_encode_command(info: SourceInfo, *, ffmpeg: str, output_file: str, out_width: int, out_height: int,
                         user_args: list[str], chunk: Chunk, bitexact: bool) -> EncodeCommand:
    """The encoder command of one chunk file: video only, on the source's timeline, timestamps never shifted."""
    return build_encode_command(info, ffmpeg=ffmpeg, output_file=output_file, out_width=out_width,
                                out_height=out_height, user_args=user_args,
                                trim=Trim(chunk.start, chunk.stop, 0.0, None),
                                policy=StreamPolicy(audio=False, subtitles=False, metadata=False),
                                bitexact=bitexact, loglevel="error", exact_timestamps=True)


def chunk_file(task: ChunkTask) -> Path:
    """Final path of the task's chunk file."""
    return WorkDir(task.work_root, task.suffix).chunk_path(task.chunk.index)
