"""Streaming inference with the causal FMA-Net++ (``Engine(model="fmanetpp-causal")``): one frame in, one frame out.

:class:`CausalStream` keeps the model's recurrent state (one tensor per HRBP block, see
:mod:`vs_fmanet.model.causal`) between calls. Each :meth:`CausalStream.push` takes one ``[H, W, 3]`` float RGB frame
in [0, 1] with its exposure (fraction of the frame interval, NaN = unknown) and returns the frames that became
ready as ``(index, [s*H, s*W, 3] float32)`` pairs: with look-ahead k = 0 that is the frame just pushed, with k > 0
the frame pushed k calls earlier (frame i needs frames i..i+k). A frame flagged ``scene_start`` first finishes the
previous scene (its last k frames, with the scene's last frame repeated as look-ahead) and then starts from a fresh
state, so nothing crosses a cut. :meth:`CausalStream.flush` ends the stream the same way.

Memory is constant in the length of the stream: the state (2M tensors of [C, H, W] per tile), at most k + 1 input
frames, and nothing else; :meth:`CausalStream.memory` reports it. Per-frame work is constant too (one model step).

Exact and reproducible: frame i's output depends only on the frames since the last scene start up to i + k, their
exposures and the settings; :meth:`Engine.restore` and :meth:`Engine.stream` both run this class, so they agree
bit for bit. Tiles (``tile=`` or automatic) each carry their own state; if an out-of-memory retry changes the
tile layout mid-stream, the state restarts at that frame (logged). The NaN guard recomputes a frame in fp32 from
the same previous state, as the window engine does for a window.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch

from .device import autocast, inference, is_out_of_memory, release_cached_memory
from .inputs import check_exposure_value, check_frame, check_scene_flag, next_frame_meta
from .strength import mix_with_upscale
from .tiling import TileBlend

if TYPE_CHECKING:  # pragma: no cover
    from vs_fmanet.model.causal import CausalState

    from .engine import Engine

log = logging.getLogger(__name__)

TileKey = tuple[int, int, int, int] | None   # (y0, y1, x0, x1) of a tile, None = the whole frame


class CausalStream:
    """Stateful frame-by-frame restoration with a causal engine; see the module docstring.

    Build it with :meth:`vs_fmanet.engine.Engine.open_stream`. Not thread-safe: one stream is one sequence of
    frames; use one stream per concurrent source (they share the engine's network).
    """

    def __init__(self, engine: Engine, func: str = "CausalStream") -> None:
        net = engine._net
        if not getattr(net, "causal", False):
            raise ValueError(f"{func}: model={engine.describe()['model']!r} is not causal; streaming frame by frame "
                             "needs Engine(model='fmanetpp-causal')")
        self._engine = engine
        self._net = net
        self._func = func
        self._lookahead = int(net.lookahead)
        self._pending: deque[tuple[int, np.ndarray, float]] = deque()   # (index, frame, exposure), <= k+1 entries
        self._states: dict[TileKey, CausalState] = {}
        self._layout: tuple[int, int] | None | str = "unset"             # tile the states belong to
        self._shape: tuple[int, int] | None = None
        self.frames_in = 0
        self.frames_out = 0
        self.precision_used = engine.precision

    # ------------------------------------------------------------------ public
    @property
    def lookahead(self) -> int:
        """Frames of delay: the output of frame i is ready once frame i + k has been pushed (or at a cut / flush)."""
        return self._lookahead

    def push(self, frame: np.ndarray, exposure: float = float("nan"), scene_start: bool = False
             ) -> list[tuple[int, np.ndarray]]:
        """Add the next frame ([H, W, 3] float RGB in [0, 1]); return the frames now restored, in order.

        ``exposure``: this frame's exposure as a fraction of the frame interval (NaN = unknown, estimated from the
        pixels). ``scene_start``: True when this frame starts a new scene (the state is reset before it).
        """
        index = self.frames_in
        scene_start = check_scene_flag(scene_start, index, self._func)
        # a new scene (or a flushed stream) starts with a fresh state, so it may have another frame size
        arr = check_frame(frame, index, None if (scene_start and index > 0) else self._shape, self._func,
                          other_size="a stream changes size only at a new scene: push(..., scene_start=True) or "
                                     "flush() first")
        r = check_exposure_value(exposure, index, self._func)
        out: list[tuple[int, np.ndarray]] = []
        if scene_start and index > 0:
            out += self._end_scene()
        self._shape = arr.shape[:2]
        self._pending.append((index, arr, r))
        self.frames_in += 1
        if len(self._pending) == self._lookahead + 1:
            out.append(self._emit())
        return out

    def flush(self) -> list[tuple[int, np.ndarray]]:
        """End the stream (or scene): restore the frames still waiting for look-ahead and reset the state.

        Pushing more frames afterwards starts a new scene with a fresh state (of any frame size)."""
        out = self._end_scene()
        self._shape = None
        return out

    def memory(self) -> dict[str, int]:
        """What the stream holds now: state tensors and their bytes, and the input frames waiting for look-ahead."""
        tensors = [t for st in self._states.values() for t in st.tensors()]
        return {
            "state_tensors": len(tensors),
            "state_bytes": int(sum(t.numel() * t.element_size() for t in tensors)),
            "pending_frames": len(self._pending),
            "pending_bytes": int(sum(f.nbytes for _, f, _ in self._pending)),
        }

    # ------------------------------------------------------------------ internals
    def _end_scene(self) -> list[tuple[int, np.ndarray]]:
        out = []
        while self._pending:
            out.append(self._emit())
        self._states = {}
        return out

    def _emit(self) -> tuple[int, np.ndarray]:
        index, _, r = self._pending[0]
        frames = [f for _, f, _ in self._pending]
        frames += [frames[-1]] * (self._lookahead + 1 - len(frames))   # scene/stream end: repeat the last frame
        y = self._restore(index, np.stack(frames), r)
        self._pending.popleft()
        self.frames_out += 1
        return index, y

    def _restore(self, index: int, stack: np.ndarray, exposure: float) -> np.ndarray:
        """stack [1+k, H, W, 3] (frame ``index`` and its look-ahead) -> [s*H, s*W, 3] float32 in [0, 1]."""
        eng = self._engine
        size = (stack.shape[1], stack.shape[2])
        label = f"frame {index}"
        while True:
            tile = eng._tile_for(size)
            if tile != self._layout:
                if self._states:
                    log.warning("%s: tile layout changed to %s at frame %d; the recurrent state restarts there",
                                self._func, "whole frames" if tile is None else f"{tile[1]}x{tile[0]}", index)
                self._states = {}
                self._layout = tile
            try:
                return self._run(stack, exposure, tile, label)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                release_cached_memory(eng.device)
                eng._shrink_tile(size, tile, label, exc)

    def _run(self, stack: np.ndarray, exposure: float, tile: tuple[int, int] | None, label: str) -> np.ndarray:
        eng, dev = self._engine, self._engine.device
        _, h, w, _ = stack.shape
        with inference(dev):
            x = torch.from_numpy(stack).to(dev).permute(0, 3, 1, 2).unsqueeze(0).contiguous()   # [1, 1+k, 3, H, W]
            exp = torch.tensor([[exposure]], dtype=torch.float32, device=dev)                  # [1, 1]
            code, code_prec = eng._code(x[:, :1], exp, label)                                 # whole frame
            code = code[:, 0]
            if tile is None:
                regions = [(None, None)]
            else:
                regions = [((tl.y0, tl.y1, tl.x0, tl.x1), tl) for tl in eng._tiles(h, w, tile)]
            # NaN guard: one bad tile or state redoes the whole step, every tile, in fp32
            for prec in eng._precisions():
                result = self._step_tiles(x, code, regions, prec, h, w)
                if result is not None:
                    out, states = result
                    self._states = states
                    used = "fp32" if (prec != eng.precision or code_prec != eng.precision) else eng.precision
                    if prec != eng.precision:
                        eng._note_fallback(label, "the causal model")
                    self.precision_used = used
                    return out
        raise eng._nan_error("the causal model", label)

    def _step_tiles(self, x: torch.Tensor, code: torch.Tensor, regions: list, precision: str, h: int, w: int
                    ) -> tuple[np.ndarray, dict[TileKey, CausalState]] | None:
        """One model step on every tile at ``precision``; None when an output or a state is not finite."""
        net, dev, s = self._net, self._engine.device, self._engine.scale
        states: dict[TileKey, CausalState] = {}
        blend = TileBlend(h, w, s)
        for key, tl in regions:
            xt = x if key is None else x[..., key[0]:key[1], key[2]:key[3]]
            with autocast(dev, precision):
                y, st = net.step(xt, code, self._states.get(key))
            y = y[0].float()
            finite = torch.stack([torch.isfinite(t).all() for t in (y, *st.tensors())]).all()
            if not bool(finite):           # one device sync for the output and every state tensor
                return None
            states[key] = st
            if key is None:
                y = mix_with_upscale(y[None], x[0, :1], self._engine.strength, s)[0]   # x[:, 0]: the current frame
                return y.permute(1, 2, 0).clamp_(0.0, 1.0).cpu().numpy(), states
            blend.add(tl, y.cpu())
        # the strength mix after blending, with the whole frame's bicubic upscale as its base (not per tile)
        y = mix_with_upscale(blend.result()[None], x[0, :1], self._engine.strength, s)[0]
        return y.permute(1, 2, 0).clamp_(0.0, 1.0).numpy(), states


def stream_causal(engine: Engine, frames: Iterator[np.ndarray], exposure: Iterator[float] | None,
                  scene_starts: Iterator[bool] | None) -> Iterator[np.ndarray]:
    """:meth:`Engine.stream` for causal engines: frames out in order, each as soon as its look-ahead is in."""
    stream = CausalStream(engine, "stream")
    seen = 0
    for frame in frames:
        r, flag = next_frame_meta(exposure, scene_starts, seen, "stream")
        for _, y in stream.push(frame, r, flag):
            yield y
        seen += 1
    if seen == 0:
        raise ValueError("stream: the frame iterable was empty; pass at least one [H, W, 3] frame")
    for _, y in stream.flush():
        yield y


def restore_causal(engine: Engine, frames: np.ndarray, exposure: np.ndarray, scene_cuts: list[int]) -> np.ndarray:
    """:meth:`Engine.restore` for causal engines: frames [T, H, W, 3] -> [T, s*H, s*W, 3] float32."""
    num, h, w = frames.shape[:3]
    s = engine.scale
    out = np.empty((num, s * h, s * w, 3), dtype=np.float32)
    stream = CausalStream(engine, "restore")
    cuts = set(scene_cuts)
    for i in range(num):
        for j, y in stream.push(frames[i], float(exposure[i]), i in cuts):
            out[j] = y
    for j, y in stream.flush():
        out[j] = y
    return out
