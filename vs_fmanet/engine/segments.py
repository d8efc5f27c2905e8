"""Temporal segmentation: fixed windows with context overlap, split at scene cuts.

Frame indices are integers counted from 0. The sequence is cut into *grid windows* ``[k*window, (k+1)*window)`` whose
positions depend only on ``window`` (never on which frame was requested first, unlike a cache that starts a chunk at
the requested frame). A grid window is split into *pieces* at every scene start inside it. Each piece gets up to
``overlap`` context frames on each side; context never crosses a scene cut nor the sequence ends (the model
replicates the edge frame there). Context frames are computed and discarded.

Consequence: the output for frame n depends only on n, the settings, the frames in its piece's context and the scene
starts inside that context. With ``overlap >= model.temporal_radius`` it does not even depend on ``window`` (up to
floating-point rounding), because no produced frame can see past its context.

Pure Python, no torch: shared by :class:`~vs_fmanet.engine.Engine` (arrays and streams) and the VapourSynth plugin.
"""
from __future__ import annotations

import bisect
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    """One model run: produce frames ``[start, stop)`` from input frames ``[context_start, context_stop)``."""

    start: int
    stop: int
    context_start: int
    context_stop: int

    @property
    def produced(self) -> slice:
        """Slice of the produced frames inside the context run (index 0 = ``context_start``)."""
        return slice(self.start - self.context_start, self.stop - self.context_start)

    @property
    def length(self) -> int:
        """Number of input frames fed to the model."""
        return self.context_stop - self.context_start


def check_segmentation(window: int, overlap: int, func: str = "segmentation") -> None:
    """Raise ValueError when ``window`` (>= 1) or ``overlap`` (>= 0) is not a usable integer."""
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1:
        raise ValueError(f"{func}: window={window!r} must be an integer >= 1 (frames produced per model run)")
    if isinstance(overlap, bool) or not isinstance(overlap, numbers.Integral) or overlap < 0:
        raise ValueError(f"{func}: overlap={overlap!r} must be an integer >= 0 (context frames on each side)")


def normalise_scene_starts(scene_starts: Iterable[int] | None, num_frames: int | None = None) -> list[int]:
    """Sorted unique scene starts, dropping 0 (every sequence starts a scene) and, if given, indices >= num_frames.

    Raises ValueError for negative or non-integer entries.
    """
    if scene_starts is None:
        return []
    if isinstance(scene_starts, (str, bytes)) or not isinstance(scene_starts, Iterable):
        raise ValueError(f"scene_cuts={scene_starts!r} is not a list of frame indices; pass the indices of the frames "
                         f"that START a new scene, e.g. [{scene_starts!r}] or [120, 348]")
    out: set[int] = set()
    for value in scene_starts:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise ValueError(f"scene_cuts: entry {value!r} is not an integer frame index; pass the indices of the "
                             "frames that START a new scene, e.g. [120, 348]")
        idx = int(value)
        if idx < 0:
            raise ValueError(f"scene_cuts: entry {idx} is negative; frame indices start at 0")
        if idx == 0 or (num_frames is not None and idx >= num_frames):
            continue
        out.add(idx)
    return sorted(out)


def grid_window_count(num_frames: int, window: int) -> int:
    """Number of grid windows covering ``num_frames`` frames."""
    return -(-num_frames // window)


def plan_grid_window(index: int, num_frames: int, window: int, overlap: int,
                     scene_starts: Sequence[int] = ()) -> list[Piece]:
    """Pieces of grid window ``index`` (frames ``[index*window, min((index+1)*window, num_frames))``).

    ``scene_starts`` must be sorted (see :func:`normalise_scene_starts`); only those within ``overlap`` frames of
    the grid window matter, so callers may pass just the cuts they know about in that neighbourhood.
    """
    check_segmentation(window, overlap, "plan_grid_window")
    begin = index * window
    end = min(begin + window, num_frames)
    if index < 0 or begin >= num_frames:
        raise ValueError(f"plan_grid_window: window index {index} is outside a sequence of {num_frames} frames")
    cuts = [c for c in scene_starts if 0 < c < num_frames]
    inner = [c for c in cuts if begin < c < end]
    bounds = [begin, *inner, end]
    pieces = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        i = bisect.bisect_right(cuts, start)
        scene_lo = cuts[i - 1] if i > 0 else 0
        scene_hi = cuts[i] if i < len(cuts) else num_frames
        pieces.append(Piece(start, stop, max(scene_lo, start - overlap), min(scene_hi, stop + overlap)))
    return pieces


def plan_windows(num_frames: int, window: int, overlap: int,
                 scene_starts: Iterable[int] | None = None) -> list[Piece]:
    """All pieces for a sequence of ``num_frames`` frames, in frame order (they tile ``[0, num_frames)`` exactly)."""
    check_segmentation(window, overlap, "plan_windows")
    if num_frames < 1:
        raise ValueError(f"plan_windows: num_frames={num_frames} must be >= 1")
    cuts = normalise_scene_starts(scene_starts, num_frames)
    pieces: list[Piece] = []
    for k in range(grid_window_count(num_frames, window)):
        pieces.extend(plan_grid_window(k, num_frames, window, overlap, cuts))
    return pieces
