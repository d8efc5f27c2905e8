"""The inference engine: every front end (VapourSynth, ffmpeg wrapper, farm, scripts) restores frames through it.

Arrays at the edge are ``[T, H, W, 3]`` float32 RGB in [0, 1] (one frame ``[H, W, 3]``); exposure is ``[T]`` fractions
of the frame interval (NaN = unknown, the model then estimates it). Output is ``[T, s*H, s*W, 3]`` float32 in [0, 1].
Inside, the model sees ``[1, t, 3, h, w]`` tensors of one *piece* (see :mod:`.segments`) and one spatial tile
(see :mod:`.tiling`) at a time, so memory is bounded by the settings, not by the video length.

Output of frame n depends only on n, the settings and the frames in its context: never on the order in which
frames are requested, nor on whether :meth:`Engine.restore` or :meth:`Engine.stream` is used (both run the same
pieces with the same inputs). Two things can change it on purpose, and both are logged: an out-of-memory retry
(smaller tiles from then on) and the NaN guard (a tile recomputed in fp32). ``tile=None`` picks the tile size from
free memory once per frame size; pass an explicit ``tile`` for results that are identical across machines.
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from .. import __version__
from .accel import HostTransfer, StageClock, prepare_network, resolve_accel
from .causal import CausalStream, restore_causal, stream_causal
from .device import (autocast, free_memory_bytes, inference, is_out_of_memory, release_cached_memory,
                     resolve_device, resolve_precision)
from .ensemble import View, check_ensemble, views
from .inputs import (as_array, check_exposure_array, check_exposure_value, check_frame, check_window, layout_hint,
                     next_frame_meta)
from .segments import Piece, check_segmentation, normalise_scene_starts, plan_grid_window, plan_windows
from .strength import check_strength, mix_with_upscale
from .tiling import MIN_TILE, Tile, TileBlend, auto_tile, bytes_per_pixel_frame, make_tiles
from .weights import DEFAULT_SCALE, RANDOM, RANDOM_SEED, ModelCard, resolve_card, shared_network

log = logging.getLogger(__name__)

DEFAULT_TILE_OVERLAP = 16
CUDA_BUDGET = 0.6      # share of free GPU memory one forward pass may use (tile=None)
CPU_BUDGET = 0.25      # share of available RAM (other processes and the frame buffers need the rest)


def _parse_tile(tile: int | tuple[int, int] | None, func: str) -> tuple[int, int] | None | int:
    """None = auto, 0 = off, else (tile_h, tile_w) in input pixels."""
    original = tile
    if tile is None:
        return None
    if isinstance(tile, (int, np.integer)) and not isinstance(tile, bool):
        if tile == 0:
            return 0
        tile = (int(tile), int(tile))
    if (not isinstance(tile, (tuple, list)) or len(tile) != 2
            or not all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in tile)):
        raise ValueError(f"{func}: tile={tile!r} must be None (automatic), 0 (off), an int or (height, width) in "
                         "input pixels")
    th, tw = int(tile[0]), int(tile[1])
    if th < MIN_TILE or tw < MIN_TILE:
        raise ValueError(f"{func}: tile={original!r} is too small; tiles must be at least {MIN_TILE} input pixels "
                         "per side (or 0 for no tiling)")
    return th, tw


class Engine:
    """FMA-Net++ restoration of frame sequences; see the module docstring for the contract.

    Args:
        model: network family: ``"fmanetpp"`` (ours), ``"fmanetpp-causal"`` (its causal low-latency variant: frame by
            frame with a recurrent state, see :mod:`.causal`; ``stream()`` returns each frame as soon as its look-ahead
            is in, ``open_stream()`` gives push/flush control; window/overlap do not apply) or ``"fmanet"`` (FMA-Net,
            CVPR 2024, from weights converted with ``fmanet-convert``; 3-frame windows, BGR handled inside, not
            exposure-aware). None = the family named by the model card of ``weights``, else ``"fmanetpp"``.
        scale: upscaling factor (4, 2 or 1); None = the scale of the model card of ``weights``, else 4.
        preset: "paper", "small" or "tiny"; None = from the model card (required for ``weights="random"``).
        weights: None = default shipped weights for (model, scale); a model card ``.json``, a ``.safetensors`` with
            its card, or a card name; ``"random"`` = seeded random init (tests only).
        device: "cuda", "cuda:N", "cpu"; None = CUDA if available, else CPU.
        precision: "fp32", "fp16", "bf16"; None = fp16 on CUDA, fp32 on CPU. Independent of the input's format.
        window: frames produced per model run, at fixed positions k*window; None = max(8, 4*overlap).
        overlap: context frames computed and discarded on each side; None = the model's temporal radius (2*M).
        tile: spatial tile in input pixels (int or (h, w)); 0 = off; None = automatic from free memory.
        tile_overlap: overlap of neighbouring tiles in input pixels (blended); None = 16, or half the side of a
            fixed tile smaller than 32.
        compile: torch.compile mode ("default", "reduce-overhead", "max-autotune", ...), True = "default", None or
            "off" = eager (the default: compiling takes minutes per input shape; see :mod:`.accel`).
        channels_last: run a channels-last copy of the network; None = device default (on for the CPU, off for CUDA).
        pinned: CUDA only: pinned host memory and a separate copy stream for frames; None = on for CUDA.
        ensemble: views of each window (tile) averaged, 1, 2, 4 or 8 (flips, then transposes; see :mod:`.ensemble`):
            a little more quality for n times the compute; None = 1. Not for the causal model (its recurrent state
            follows one orientation).
        strength: how much of the restoration to keep, 0..1: the output is ``base + strength * (restored - base)``
            with ``base`` the bicubic upscale of the input (see :mod:`.strength`); None = 1 (the full restoration).
    """

    def __init__(self, *, model: str | None = None, scale: int | None = None, preset: str | None = None,
                 weights: str | os.PathLike | None = None, device: str | None = None, precision: str | None = None,
                 window: int | None = None, overlap: int | None = None, tile: int | tuple[int, int] | None = None,
                 tile_overlap: int | None = None, compile: str | bool | None = None,
                 channels_last: bool | None = None, pinned: bool | None = None, ensemble: int | None = None,
                 strength: float | None = None) -> None:
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1):
            raise ValueError(f"Engine: scale={scale!r} must be a positive integer (4, 2 or 1) or None (from the "
                             "weights card)")
        self._strength = check_strength(strength, "Engine")
        self._device = resolve_device(device)
        self._precision = resolve_precision(precision, self._device)
        self._card = resolve_card(weights, model, None if scale is None else int(scale), preset)
        model = model or (self._card.model if self._card else "fmanetpp")
        scale = self._card.scale if self._card else int(scale or DEFAULT_SCALE)
        self._preset = self._card.preset if self._card else preset
        self._model = model
        self._net = shared_network(self._card, self._preset, scale, self._device, model)
        self._accel = resolve_accel(compile, channels_last, pinned, self._device)
        self._runner = prepare_network(self._net, self._accel)       # the module window forward passes go through
        self._transfer = HostTransfer(self._device, self._accel.pinned)
        self._clock = StageClock(self._device)
        # FMA-Net (v1) is not exposure-aware: it has no exposure code, and exposure arguments are ignored
        self._exposure_aware = hasattr(self._net, "code_for")
        self._exposure_notice_given = False
        self._scale = int(self._net.scale)
        radius = int(self._net.temporal_radius)
        self._causal = bool(getattr(self._net, "causal", False))
        self._views = views(check_ensemble(ensemble, "Engine"))
        if self._causal and len(self._views) > 1:
            raise ValueError(f"Engine: ensemble={ensemble} does not apply to model={model!r}: its recurrent state "
                             "follows one orientation frame after frame; leave ensemble=None (or 1)")
        if self._causal and (window is not None or overlap is not None):
            raise ValueError(f"Engine: model={model!r} restores frame by frame with a recurrent state; window= and "
                             "overlap= do not apply to it (leave them None)")
        self._overlap = radius if overlap is None else overlap
        # causal: one frame per step; the look-ahead plays the role of the overlap (tile budget, describe())
        self._window = (1 if self._causal else max(8, 4 * self._overlap)) if window is None else window
        check_segmentation(self._window, self._overlap, "Engine")
        self._window, self._overlap = int(self._window), int(self._overlap)   # numpy integers are welcome
        if self._overlap < radius:
            log.info("Engine: overlap=%d is below the model's temporal radius %d: frames near window borders see "
                     "replicated instead of real neighbours", self._overlap, radius)
        self._tile = _parse_tile(tile, "Engine")
        if tile_overlap is None:   # small tiles (16..31 px) get half their side, not an overlap they cannot hold
            tile_overlap = min(DEFAULT_TILE_OVERLAP, min(self._tile) // 2) if isinstance(self._tile, tuple) \
                else DEFAULT_TILE_OVERLAP
        self._tile_overlap = tile_overlap
        if isinstance(self._tile_overlap, bool) or not isinstance(self._tile_overlap, (int, np.integer)) \
                or self._tile_overlap < 0:
            raise ValueError(f"Engine: tile_overlap={tile_overlap!r} must be an integer >= 0 (input pixels)")
        self._tile_overlap = int(self._tile_overlap)
        if isinstance(self._tile, tuple) and 2 * self._tile_overlap > min(self._tile):
            raise ValueError(f"Engine: tile_overlap={self._tile_overlap} is more than half of tile={self._tile}; "
                             "use a larger tile or a smaller tile_overlap")
        self._tiles_for_size: dict[tuple[int, int], tuple[int, int] | None] = {}
        self._lock = threading.Lock()
        self._fallbacks = 0
        self._oom_retries = 0

    # ------------------------------------------------------------------ properties and provenance
    @property
    def scale(self) -> int:
        """Upscaling factor s: output frames are s*H x s*W."""
        return self._scale

    @property
    def window(self) -> int:
        """Frames produced per model run (fixed grid positions k*window)."""
        return self._window

    @property
    def overlap(self) -> int:
        """Context frames computed and discarded on each side of a window."""
        return self._overlap

    @property
    def model_name(self) -> str:
        """The weights' name from the model card, or ``random-<preset>``."""
        return self._card.name if self._card else f"{RANDOM}-{self._preset}"

    @property
    def card(self) -> ModelCard | None:
        """The model card of the loaded weights (None for ``weights="random"``)."""
        return self._card

    @property
    def device(self) -> torch.device:
        """Device the model runs on."""
        return self._device

    @property
    def precision(self) -> str:
        """Compute precision: "fp32", "fp16" or "bf16"."""
        return self._precision

    @property
    def stage_clock(self) -> StageClock:
        """Per-stage timing (upload, code, model, download, blend); off unless ``stage_clock.enabled = True``."""
        return self._clock

    @property
    def temporal_radius(self) -> int:
        """Frames on each side that can influence an output frame (the model's 2*M)."""
        return int(self._net.temporal_radius)

    @property
    def exposure_aware(self) -> bool:
        """Whether the network reads exposure at all (FMA-Net++ does; converted FMA-Net v1 weights do not)."""
        return self._exposure_aware

    @property
    def strength(self) -> float:
        """How much of the restoration is kept (0..1; see :mod:`.strength`)."""
        return self._strength

    @property
    def causal(self) -> bool:
        """True for the causal model: frame by frame with a recurrent state (see :meth:`open_stream`)."""
        return self._causal

    def open_stream(self) -> CausalStream:
        """A new stateful frame-by-frame stream (causal model only): ``push(frame, exposure, scene_start)`` returns the
        frames that became ready as ``(index, [s*H, s*W, 3])`` pairs, ``flush()`` the rest; see :mod:`.causal`."""
        if not self._causal:
            raise ValueError(f"Engine.open_stream: model={self._model!r} is not causal; use "
                             "Engine(model='fmanetpp-causal') for frame-by-frame streaming, or stream() for windows")
        return CausalStream(self, "open_stream")

    def describe(self) -> dict[str, Any]:
        """Provenance of this engine's output (JSON-serialisable)."""
        card = self._card
        tiles = {f"{w}x{h}": (None if t is None else list(t)) for (h, w), t in self._tiles_for_size.items()}
        return {
            "model": self._model, "model_name": self.model_name, "preset": self._preset, "scale": self._scale,
            "weights": str(card.file) if card else RANDOM, "sha256": card.sha256 if card else None,
            "random_seed": None if card else RANDOM_SEED,
            "device": str(self._device), "precision": self._precision,
            "window": self._window, "overlap": self._overlap, "temporal_radius": self.temporal_radius,
            "causal": self._causal, "lookahead": int(getattr(self._net, "lookahead", self.temporal_radius)),
            "tile": self._tile if isinstance(self._tile, int) or self._tile is None else list(self._tile),
            "tile_overlap": self._tile_overlap, "tiles_in_use": tiles, "ensemble": len(self._views),
            "strength": self._strength,
            **self._accel.describe(),
            "fp32_fallbacks": self._fallbacks, "oom_retries": self._oom_retries,
            "vs_fmanet": __version__, "torch": torch.__version__,
        }

    # ------------------------------------------------------------------ public restoration API
    def restore(self, frames: np.ndarray, exposure: np.ndarray | None = None,
                scene_cuts: Sequence[int] | None = None) -> np.ndarray:
        """Restore a whole clip held in memory.

        Args:
            frames: [T, H, W, 3] float RGB in [0, 1] (values outside are clipped; NaN/Inf are refused).
            exposure: [T] fractions of the frame interval (NaN = unknown), one number for all, or None.
            scene_cuts: indices of frames that START a new scene; no information crosses a cut.

        Returns:
            [T, s*H, s*W, 3] float32 in [0, 1].
        """
        arr = as_array(frames, "restore")
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"restore: frames has shape {arr.shape}; expected [T, H, W, 3] float RGB in [0, 1] "
                             f"({layout_hint(arr.shape, frame_axis=True)})")
        num = arr.shape[0]
        if num == 0:
            raise ValueError("restore: frames holds no frames (T = 0); pass at least one [H, W, 3] frame")
        exp = check_exposure_array(exposure, num, "restore")
        cuts = normalise_scene_starts(scene_cuts)
        if cuts and cuts[-1] >= num:
            raise ValueError(f"restore: scene cut at frame {cuts[-1]} is beyond the last frame ({num - 1})")
        if self._causal:
            return restore_causal(self, arr, exp, cuts)
        h, w = arr.shape[1:3]
        checked: dict[int, np.ndarray] = {}
        out = np.empty((num, h * self._scale, w * self._scale, 3), dtype=np.float32)
        for piece in plan_windows(num, self._window, self._overlap, cuts):
            for i in range(piece.context_start, piece.context_stop):
                if i not in checked:
                    checked[i] = check_frame(arr[i], i, (h, w), "restore")
            for i in [i for i in checked if i < piece.start - self._overlap]:
                del checked[i]
            ctx = np.stack([checked[i] for i in range(piece.context_start, piece.context_stop)])
            out[piece.start:piece.stop] = self._restore_checked_piece(
                ctx, exp[piece.context_start:piece.context_stop], piece)[0]
        return out

    def stream(self, frames: Iterable[np.ndarray], exposure: Iterable[float] | float | None = None,
               scene_starts: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        """Restore an arbitrarily long sequence with bounded memory: one [H, W, 3] in, one [s*H, s*W, 3] out, in order.

        Args:
            frames: iterable of [H, W, 3] float RGB frames in [0, 1].
            exposure: iterable of fractions (NaN = unknown), one per frame, one number for all, or None. It may be
                longer than the frames (values past the last frame are not read).
            scene_starts: iterable of bools, True where a frame starts a new scene, or None (may be longer, too).

        At most ``window + 2*overlap`` input frames are held (causal model: its look-ahead + 1, plus the recurrent
        state). The output equals :meth:`restore` bit for bit.
        """
        single = exposure.item() if getattr(exposure, "ndim", None) == 0 else exposure   # a 0-d array or tensor
        if isinstance(single, (int, float, np.integer, np.floating, bool, np.bool_, str, bytes)):
            exposure = itertools.repeat(check_exposure_value(single, 0, "stream"))   # one for all, as in restore()
        if self._causal:
            return stream_causal(self, iter(frames), None if exposure is None else iter(exposure),
                                 None if scene_starts is None else iter(scene_starts))
        return self._stream(iter(frames), None if exposure is None else iter(exposure),
                            None if scene_starts is None else iter(scene_starts))

    def restore_piece(self, frames: np.ndarray, exposure: np.ndarray, piece: Piece) -> tuple[np.ndarray, str]:
        """Run one piece: ``frames`` [t, H, W, 3] float32 = input frames ``piece.context_start..context_stop-1``.

        ``exposure`` is [t] fractions (NaN = unknown). Returns ([stop-start, s*H, s*W, 3] float32, precision used),
        where the precision is this engine's, or "fp32" when the NaN guard recomputed a tile. Front ends that fetch
        frames themselves (the VapourSynth plugin) call this with pieces from :func:`.segments.plan_grid_window`.
        """
        if self._causal:
            raise ValueError("restore_piece: the causal model restores frame by frame with a recurrent state, not in "
                             "windows; use Engine.stream() or Engine.open_stream()")
        frames = as_array(frames, "restore_piece")
        if frames.ndim != 4 or frames.shape[0] != piece.length:
            raise ValueError(f"restore_piece: got frames of shape {frames.shape} for context frames "
                             f"{piece.context_start}..{piece.context_stop - 1} ({piece.length} frames)")
        frames = check_window(frames, piece.context_start, "restore_piece")
        exposure = check_exposure_array(exposure, piece.length, "restore_piece")
        return self._restore_checked_piece(frames, exposure, piece)

    # ------------------------------------------------------------------ internals
    def _restore_checked_piece(self, frames: np.ndarray, exposure: np.ndarray, piece: Piece
                               ) -> tuple[np.ndarray, str]:
        """:meth:`restore_piece` for frames [t, H, W, 3] float32 in [0, 1] and exposure [t] already checked."""
        label = f"frames {piece.start}-{piece.stop - 1}"
        size = (frames.shape[1], frames.shape[2])
        while True:
            tile = self._tile_for(size)
            try:
                return self._run(frames, exposure, piece.produced, tile, label)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                release_cached_memory(self._device)
                self._shrink_tile(size, tile, label, exc)

    def _stream(self, frames: Iterator[np.ndarray], exposure: Iterator[float] | None,
                scene_starts: Iterator[bool] | None) -> Iterator[np.ndarray]:
        window, overlap = self._window, self._overlap
        buf: dict[int, np.ndarray] = {}
        exps: dict[int, float] = {}
        cuts: list[int] = []
        shape: tuple[int, int] | None = None
        seen, k, exhausted = 0, 0, False
        while True:
            need = (k + 1) * window + overlap
            while not exhausted and seen < need:
                try:
                    frame = next(frames)
                except StopIteration:
                    exhausted = True
                    break
                frame = check_frame(frame, seen, shape, "stream")
                shape = frame.shape[:2]
                r, flag = next_frame_meta(exposure, scene_starts, seen, "stream")
                if flag and seen > 0:
                    cuts.append(seen)
                buf[seen], exps[seen] = frame, r
                seen += 1
            if seen == 0:
                raise ValueError("stream: the frame iterable was empty; pass at least one [H, W, 3] frame")
            if k * window >= seen:
                return
            for piece in plan_grid_window(k, seen, window, overlap, cuts):
                idx = range(piece.context_start, piece.context_stop)
                ctx = np.stack([buf[i] for i in idx])
                exp = np.array([exps[i] for i in idx], dtype=np.float32)
                out, _ = self._restore_checked_piece(ctx, exp, piece)
                yield from out
            k += 1
            for i in [i for i in buf if i < k * window - overlap]:
                del buf[i], exps[i]

    def _tile_for(self, size: tuple[int, int]) -> tuple[int, int] | None:
        """Tile for frames of ``size`` (h, w): None = whole frame. Decided once per size, then only shrunk."""
        with self._lock:
            if size in self._tiles_for_size:
                return self._tiles_for_size[size]
            h, w = size
            if self._tile == 0:
                tile = None
            elif isinstance(self._tile, tuple):
                tile = None if (self._tile[0] >= h and self._tile[1] >= w) else self._tile
            else:
                cfg = self._net.config
                per = bytes_per_pixel_frame(cfg.channels, cfg.kernel_size, self._scale, self._precision)
                share = CUDA_BUDGET if self._device.type == "cuda" else CPU_BUDGET
                budget = share * free_memory_bytes(self._device)
                tile = auto_tile(h, w, self._window + 2 * self._overlap, budget, per, self._tile_overlap)
                if tile is not None:
                    log.info("Engine: %dx%d frames are processed in tiles of %dx%d (tile=None, %.1f GiB budget)",
                             w, h, tile[1], tile[0], budget / 2 ** 30)
            self._tiles_for_size[size] = tile
            return tile

    def _shrink_tile(self, size: tuple[int, int], tile: tuple[int, int] | None, label: str, exc: BaseException) -> None:
        h, w = size
        th, tw = tile if tile is not None else (h, w)
        if th <= MIN_TILE and tw <= MIN_TILE:
            raise RuntimeError(f"Engine: out of memory on {self._device} for {label} even with {MIN_TILE}x{MIN_TILE} "
                               f"tiles; use a smaller window (now {self._window}), precision='fp16', or another "
                               f"device") from exc
        new = (max(MIN_TILE, (th // 2) // 8 * 8), max(MIN_TILE, (tw // 2) // 8 * 8))
        with self._lock:
            self._tiles_for_size[size] = new
            self._oom_retries += 1
        log.warning("Engine: out of memory on %s for %s with %s; retrying with %dx%d tiles (kept from now on)",
                    self._device, label, "whole frames" if tile is None else f"{tw}x{th} tiles", new[1], new[0])

    def _code(self, x: torch.Tensor, exp: torch.Tensor, label: str) -> tuple[torch.Tensor | None, str]:
        """Per-frame exposure code [1, t, d_u] from whole frames (never from tiles), frames in small batches, and the
        precision that made it (this engine's, or "fp32" after the NaN guard).

        None for networks that are not exposure-aware (FMA-Net v1), with a one-time notice if exposure was given."""
        if not self._exposure_aware:
            if not self._exposure_notice_given and bool(torch.isfinite(exp).any()):
                self._exposure_notice_given = True
                log.warning("Engine: model=%r is not exposure-aware; the per-frame exposure is ignored", self._model)
            return None, self._precision
        t, h, w = x.shape[1], x.shape[3], x.shape[4]
        cfg = self._net.config
        per_frame = 4.0 * 8 * cfg.ete_widths[0] * h * w
        share = CUDA_BUDGET if self._device.type == "cuda" else CPU_BUDGET
        step = int(max(1, min(t, (share * free_memory_bytes(self._device)) // per_frame)))
        for prec in self._precisions():
            with autocast(self._device, prec):
                parts = [self._net.code_for(x[:, i:i + step], exp[:, i:i + step]) for i in range(0, t, step)]
            code = torch.cat(parts, dim=1).float()
            if bool(torch.isfinite(code).all()):
                if prec != self._precision:
                    self._note_fallback(label, "exposure code")
                return code, prec
        raise self._nan_error("the exposure estimator", label)

    # ------------------------------------------------------------------ NaN guard and tiles (shared with .causal)
    def _precisions(self) -> tuple[str, ...]:
        """The NaN guard's precisions, tried in turn: this engine's, then fp32 (only fp32 when that is the engine's)."""
        return (self._precision, "fp32") if self._precision != "fp32" else ("fp32",)

    def _note_fallback(self, label: str, where: str) -> None:
        with self._lock:
            self._fallbacks += 1
        log.warning("Engine: %s gave NaN/Inf in %s for %s; recomputed in fp32 (pass precision='fp32' to avoid "
                    "the retry)", where, self._precision, label)

    def _nan_error(self, what: str, label: str) -> RuntimeError:
        """The error when ``what`` (e.g. "the model") gave NaN/Inf for ``label`` even in fp32."""
        return RuntimeError(f"Engine: {what} produced NaN/Inf for {label} even in fp32; the weights "
                            f"({self.model_name}) look corrupt")

    def _tiles(self, h: int, w: int, tile: tuple[int, int]) -> list[Tile]:
        """Tiles of an ``h`` x ``w`` input frame for ``tile`` (h, w) from :meth:`_tile_for`: the user's own tile keeps
        the user's overlap; automatic or shrunk tiles keep at most a quarter of the tile."""
        ov = self._tile_overlap if tile == self._tile else min(self._tile_overlap, min(tile) // 4)
        return make_tiles(h, w, tile, ov, self._scale)

    def _run(self, frames: np.ndarray, exposure: np.ndarray, produced: slice, tile: tuple[int, int] | None,
             label: str) -> tuple[np.ndarray, str]:
        dev, s = self._device, self._scale
        t, h, w, _ = frames.shape
        used = self._precision
        clock = self._clock
        with inference(dev):
            with clock("upload"):
                x = self._transfer.upload(frames)                                    # [1, t, 3, H, W]
                exp = torch.from_numpy(np.asarray(exposure, dtype=np.float32)).to(dev)[None]   # [1, t]
            with clock("code"):
                code, code_prec = self._code(x, exp, label)
            if code_prec != self._precision:
                used = "fp32"
            if tile is None:
                with clock("model"):
                    y, prec = self._forward(x, code, produced, label)
                    y = mix_with_upscale(y, x[0, produced], self._strength, s)
                used = "fp32" if prec != self._precision else used
                with clock("download"):
                    return self._transfer.download(y.clamp_(0.0, 1.0)), used
            blend = TileBlend(h, w, s)
            for tl in self._tiles(h, w, tile):
                with clock("model"):
                    y, prec = self._forward(x[..., tl.y0:tl.y1, tl.x0:tl.x1], code, produced, f"{label}, tile "
                                            f"x{tl.x0}-{tl.x1 - 1} y{tl.y0}-{tl.y1 - 1}")
                used = "fp32" if prec != self._precision else used
                with clock("download"):
                    y_host = self._transfer.to_host(y)
                with clock("blend"):
                    blend.add(tl, y_host)
            with clock("blend"):   # the strength mix after blending: the whole frame's bicubic upscale is its base
                y = mix_with_upscale(blend.result(), x[0, produced], self._strength, s)
                return y.permute(0, 2, 3, 1).clamp_(0.0, 1.0).numpy(), used

    def _forward(self, x: torch.Tensor, code: torch.Tensor | None, produced: slice, label: str
                 ) -> tuple[torch.Tensor, str]:
        """Model on x [1, t, 3, h, w] -> produced frames [p, 3, s*h, s*w] float32, with the NaN guard; with
        ``ensemble`` > 1 the mean over the views (each view guarded on its own); not yet mixed by ``strength`` (the
        caller does that, after blending tiles). Returns the precision used (fp32 if any view needed the fallback)."""
        first, *others = self._views
        total, used = self._forward_view(x, code, produced, label, first)
        if not others:
            return total, used
        total = total.clone()   # a compiled runner (CUDA graphs) may reuse its output buffer on the next call
        for view in others:
            y, prec = self._forward_view(x, code, produced, label, view)
            used = prec if prec != self._precision else used
            total.add_(y)
        return total.div_(len(self._views)), used

    def _forward_view(self, x: torch.Tensor, code: torch.Tensor | None, produced: slice, label: str, view: View
                      ) -> tuple[torch.Tensor, str]:
        for prec in self._precisions():
            with autocast(self._device, prec):
                y = view.invert(self._runner(view.apply(x), code=code)[0, produced]).float()
            if bool(torch.isfinite(y).all()):
                if prec != self._precision:
                    self._note_fallback(label, "the model")
                return y, prec
        raise self._nan_error("the model", label)


def restore(frames: np.ndarray, exposure: np.ndarray | None = None, *, scale: int | None = None,
            weights: str | os.PathLike | None = None, device: str | None = None, precision: str | None = None,
            window: int | None = None, overlap: int | None = None, tile: int | tuple[int, int] | None = None,
            scene_cuts: Sequence[int] | None = None, **kw: Any) -> np.ndarray:
    """Restore frames [T, H, W, 3] float32 RGB in [0, 1] -> [T, s*H, s*W, 3] with a one-off :class:`Engine`.

    ``exposure`` is [T] fractions of the frame interval (NaN = unknown). ``scene_cuts`` lists frames that start a
    new scene. Other keywords (``model``, ``preset``, ``tile_overlap``) go to :class:`Engine`; the model itself is
    cached per process, so repeated calls do not reload weights.
    """
    engine = Engine(scale=scale, weights=weights, device=device, precision=precision, window=window,
                    overlap=overlap, tile=tile, **kw)
    return engine.restore(frames, exposure, scene_cuts)
