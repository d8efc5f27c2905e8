"""Chunk plan: where one video is cut into independently processed chunks.

The engine restores a clip as a fixed sequence of *pieces* (``vs_fmanet.engine.plan_windows``): grid windows
``[k*window, (k+1)*window)`` split at scene starts, each fed with up to ``overlap`` context frames on either
side that are computed and discarded. A chunk here is a contiguous run of those pieces, so a chunk boundary is
always a piece boundary (a multiple of ``window`` or a scene start). A worker then runs exactly the pieces a
single pass would run, with exactly the same input frames (the chunk decodes the context frames of its first and
last piece too), and the joined output is bit-identical to a single pass.

Boundaries follow av1an's idea: known scene cuts first (a seam at a
cut needs no context across it and is invisible), then fixed positions every ``chunk_frames`` frames inside long
scenes (multiples of ``window``, counted from frame 0, so the plan never depends on which chunk ran first);
ranges shorter than ``min_chunk_frames`` are glued to a neighbour.

Frame indices count from 0 in presentation order; all ranges are half-open ``[start, stop)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from vs_fmanet.engine import Piece, normalise_scene_starts, plan_windows


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One unit of farm work: produce output frames ``[start, stop)`` by decoding input frames
    ``[decode_start, decode_stop)`` (the extra ones are model context) and running ``pieces`` in order."""

    index: int
    start: int
    stop: int
    decode_start: int
    decode_stop: int
    pieces: tuple[Piece, ...]

    @property
    def frames(self) -> int:
        """Output frames of this chunk."""
        return self.stop - self.start

    def as_dict(self) -> dict[str, int]:
        """JSON form (pieces are left out: :func:`plan_chunks` recomputes them from the same inputs)."""
        return {"index": self.index, "start": self.start, "stop": self.stop, "decode_start": self.decode_start,
                "decode_stop": self.decode_stop}


def round_chunk_frames(chunk_frames: int, window: int) -> int:
    """``chunk_frames`` rounded up to a whole number of engine windows (at least one window)."""
    if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or chunk_frames < 1:
        raise ValueError(f"plan_chunks: chunk_frames={chunk_frames!r} must be a positive number of frames")
    return max(window, -(-chunk_frames // window) * window)


def chunk_frames_for_seconds(seconds: float, frame_rate: float | None, window: int) -> int:
    """Chunk length in frames for about ``seconds`` of video at ``frame_rate`` (frames/s; None = 25), rounded
    up to whole windows."""
    if not seconds > 0:
        raise ValueError(f"chunk_frames_for_seconds: seconds={seconds!r} must be positive")
    rate = frame_rate if frame_rate and frame_rate > 0 else 25.0
    return round_chunk_frames(max(1, round(seconds * rate)), window)


def _ranges(num_frames: int, cuts: Sequence[int], chunk_frames: int, min_len: int) -> list[tuple[int, int]]:
    """Split ``[0, num_frames)`` at the scene cuts, then long scenes at multiples of ``chunk_frames``."""
    bounds = [0, *cuts, num_frames]
    out: list[tuple[int, int]] = []
    for s, e in zip(bounds[:-1], bounds[1:]):
        first_grid = -(-(s + min_len) // chunk_frames) * chunk_frames
        splits = [g for g in range(max(first_grid, chunk_frames), e - min_len + 1, chunk_frames)]
        edges = [s, *splits, e]
        out.extend(zip(edges[:-1], edges[1:]))
    return out


def _merge_short(ranges: list[tuple[int, int]], min_len: int) -> list[tuple[int, int]]:
    """Glue ranges shorter than ``min_len`` to the following one (the last one to the previous)."""
    merged: list[list[int]] = []
    for s, e in ranges:
        if merged and merged[-1][1] - merged[-1][0] < min_len:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < min_len:
        tail = merged.pop()
        merged[-1][1] = tail[1]
    return [(s, e) for s, e in merged]


def plan_chunks(num_frames: int, *, window: int, overlap: int, chunk_frames: int,
                scene_cuts: Iterable[int] | None = None, min_chunk_frames: int | None = None) -> list[Chunk]:
    """Cut a clip of ``num_frames`` frames into chunks (see the module docstring).

    Args:
        num_frames: frames in the clip (>= 1).
        window, overlap: the engine's settings (``Engine.window``, ``Engine.overlap``), in frames.
        chunk_frames: target chunk length in frames, rounded up to whole windows.
        scene_cuts: indices of frames that START a new scene (0 and indices past the end are ignored).
        min_chunk_frames: shortest chunk worth a task (default: one window, at most ``chunk_frames``); shorter
            ranges are merged with a neighbour.

    Returns:
        Chunks in frame order; together they cover ``[0, num_frames)`` exactly once.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"plan_chunks: num_frames={num_frames!r} must be >= 1")
    cf = round_chunk_frames(chunk_frames, window)
    min_len = window if min_chunk_frames is None else int(min_chunk_frames)
    if min_len < 1:
        raise ValueError(f"plan_chunks: min_chunk_frames={min_chunk_frames!r} must be >= 1")
    min_len = min(min_len, cf)
    cuts = normalise_scene_starts(scene_cuts, num_frames)
    pieces = plan_windows(num_frames, window, overlap, cuts)
    starts = {p.start for p in pieces}
    ranges = _merge_short(_ranges(num_frames, cuts, cf, min_len), min_len)
    chunks: list[Chunk] = []
    k = 0
    for index, (s, e) in enumerate(ranges):
        if s not in starts:  # cannot happen: every boundary is a window multiple or a scene start
            raise AssertionError(f"plan_chunks: boundary {s} is not a piece boundary")
        run: list[Piece] = []
        while k < len(pieces) and pieces[k].stop <= e:
            run.append(pieces[k])
            k += 1
        chunks.append(Chunk(index=index, start=s, stop=e, decode_start=min(p.context_start for p in run),
                            decode_stop=max(p.context_stop for p in run), pieces=tuple(run)))
    return chunks


def describe_plan(chunks: Sequence[Chunk]) -> dict[str, object]:
    """Summary numbers of a plan for logs and reports: chunks, output frames, decoded frames and the share of
    extra decoded (context) frames."""
    out_frames = sum(c.frames for c in chunks)
    decoded = sum(c.decode_stop - c.decode_start for c in chunks)
    return {"chunks": len(chunks), "frames": out_frames, "decoded_frames": decoded,
            "context_overhead": round(decoded / out_frames - 1.0, 4) if out_frames else 0.0}
