"""``fmanet(clip, mode="causal")``: the causal low-latency model in VapourSynth, served in order.

The causal model (:mod:`vs_fmanet.model.causal`) restores frame i from frames <= i + k and a recurrent state left
by frame i-1, so frames must be restored in order. VapourSynth asks for frames in any order and on several
threads, so this front end keeps one :class:`vs_fmanet.engine.causal.CausalStream` per clip and:

* gives each output frame n the source frames n - ``reorder`` .. n + k as shifted clips handed to one
  ``std.ModifyFrame`` (its callbacks are serialised; the callback never calls ``get_frame``, which
  can deadlock inside a frame request);
* when frame n is asked for and the stream has reached frame m <= n (m >= n - ``reorder``), it pushes frames
  m .. n + k, caches the outputs of m .. n - 1 for their own requests, and returns n. Requests that arrive a
  little out of order (several threads, vspipe's prefetch) are therefore served exactly as in a strictly
  sequential run;
* any other request (a seek backwards past the cache, or more than ``reorder`` frames ahead) is out of order:
  ``out_of_order="error"`` raises a clear error naming the frame and the fix; ``out_of_order="warmup"`` restarts
  the state ``reorder`` frames before n (at a scene start inside that span if there is one, which is exact)
  and warms it up on those frames. After a warm-up restart the output can differ slightly from a sequential run
  (the state has seen ``reorder`` frames instead of the whole scene); the ``FMANetWindow`` prop of every frame
  says which source frames fed it, ``[state start, last look-ahead frame]``.

Scene cuts (``_SceneChangePrev``/``_SceneChangeNext``) reset the state as in the window mode. Props are those of
the window mode.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import numpy as np
import vapoursynth as vs

from .engine import Engine
from .vs_plugin import FUNC, SOURCE_PROP, _flag, copyable_props, _padded, _Renderer, _to_array

log = logging.getLogger(__name__)

OUT_OF_ORDER = ("error", "warmup")


class _CausalRenderer(_Renderer):
    """Stream state shared by the ModifyFrame callback of one causal ``fmanet()`` clip."""

    def __init__(self, engine: Engine, clip: vs.VideoNode, exposure: np.ndarray | None, exposure_prop: str,
                 scene_change: bool, reorder: int, out_of_order: str) -> None:
        super().__init__(engine, clip, exposure, exposure_prop, scene_change)
        self.reorder = reorder
        self.lookahead = int(engine.describe()["lookahead"])
        self.out_of_order = out_of_order
        self.lock = threading.Lock()
        self.stream = engine.open_stream()
        self.stream_base = 0                     # source index of the stream's first frame (it counts from 0)
        self.next_push = 0                       # next source frame to push
        self.state_start = 0                     # first frame the current state has seen (scene start / restart)
        self.prev_next_flag = False              # _SceneChangeNext of the last pushed frame
        self.meta: dict[int, tuple[dict, str, int]] = {}   # pushed, not yet restored: (props, exposure source, start)
        self.cache: OrderedDict[int, vs.VideoFrame] = OrderedDict()
        self.cache_size = 2 * (reorder + self.lookahead + 2)
        self.restarts = 0

    # ------------------------------------------------------------------ callback
    def render(self, n: int, f: list[vs.VideoFrame]) -> vs.VideoFrame:
        """ModifyFrame callback for output frame n: f[j] = source frame n - reorder + j (clamped at the ends)."""
        if isinstance(f, vs.VideoFrame):   # ModifyFrame hands a single frame, not a list, when there is one input
            f = [f]
        first = n - self.reorder
        frames = {first + j: fr for j, fr in enumerate(f) if 0 <= first + j < self.num_frames}
        with self.lock:
            cached = self.cache.get(n)
            if cached is not None:
                self.cache.move_to_end(n)
                return cached
            if n < self.stream_base + self.stream.frames_out or self.next_push < first:
                self._out_of_order(n, frames)
            try:
                self._advance_to(n, frames)
            except vs.Error:
                raise
            except Exception as exc:
                raise vs.Error(f"{FUNC}: frame {n} failed: {exc}") from exc
            return self.cache[n]

    # ------------------------------------------------------------------ stream control
    def _out_of_order(self, n: int, frames: dict[int, vs.VideoFrame]) -> None:
        done = self.stream_base + self.stream.frames_out
        if self.out_of_order == "error":
            raise vs.Error(
                f"{FUNC}: mode='causal' restores frames in order, but frame {n} was requested while the stream is at "
                f"frame {done} (requests may run at most reorder={self.reorder} frames ahead, and only the last "
                f"{self.cache_size} restored frames are kept). Fix: request frames in order (vspipe and encoders do; "
                f"in a previewer play from the start instead of seeking), raise reorder=, or pass "
                f"out_of_order='warmup' to restart the recurrent state {self.reorder} frames before a requested frame")
        start = max(0, n - self.reorder)
        exact = start == 0
        if self.scene_change:      # restart at the latest scene start in the warm-up span: exact from there
            for i in range(n, max(start, 1) - 1, -1):
                if i in frames and (_flag(frames[i], "_SceneChangePrev", i)
                                    or (i - 1 in frames and _flag(frames[i - 1], "_SceneChangeNext", i - 1))):
                    start, exact = i, True
                    break
        self.restarts += 1
        log.warning("%s: mode='causal': frame %d requested out of order (stream at frame %d); restarting the "
                    "recurrent state at frame %d%s", FUNC, n, done, start,
                    " (a scene start: exact)" if exact else
                    f" with a {n - start}-frame warm-up (output may differ slightly from an in-order run)")
        self.stream = self.engine.open_stream()
        self.stream_base = start
        self.next_push = start
        self.state_start = start
        self.prev_next_flag = False
        self.meta.clear()

    def _advance_to(self, n: int, frames: dict[int, vs.VideoFrame]) -> None:
        """Push source frames up to n + k (flush at the clip's end) until output n is in the cache."""
        last = min(n + self.lookahead, self.num_frames - 1)
        while self.next_push <= last:
            i = self.next_push
            fr = frames[i]
            field = fr.props.get("_FieldBased", 0)
            if field in (1, 2):
                raise vs.Error(f"{FUNC}: frame {i} is interlaced (_FieldBased={field}); deinterlace first (e.g. "
                               "core.bwdif.Bwdif) or, if it is really progressive, core.std.SetFieldBased(clip, 0)")
            cut = False
            if self.scene_change and i > self.state_start:
                cut = _flag(fr, "_SceneChangePrev", i) or self.prev_next_flag
            self.prev_next_flag = self.scene_change and _flag(fr, "_SceneChangeNext", i)
            exposure, source = self._exposure_of(fr, i)
            if cut:
                self.state_start = i
            self.meta[i] = (copyable_props(fr.props), source, self.state_start)
            outputs = self.stream.push(_to_array(fr), exposure, cut)
            self.next_push += 1
            if i == self.num_frames - 1:
                outputs += self.stream.flush()
            for j, y in outputs:
                src = self.stream_base + j
                self._store(src, y, i - 1 if (cut and src < i) else i)   # a cut ends the old scene's look-ahead
        if n not in self.cache:    # cannot happen: pushing up to n + k always restores n
            raise vs.Error(f"{FUNC}: frame {n} was not produced by the causal stream (internal error)")

    def _store(self, index: int, y: np.ndarray, fed_last: int) -> None:
        props, source, start = self.meta.pop(index)
        eng, s = self.engine, self.engine.scale
        fout = self.core.create_video_frame(self.format, s * self.width, s * self.height)
        for p in range(3):
            np.copyto(np.asarray(fout[p]), y[:, :, p], casting="unsafe")
        fout.props.update(props)
        fout.props["FMANetModel"] = eng.model_name
        fout.props["FMANetScale"] = s
        fout.props["FMANetStrength"] = eng.strength
        fout.props["FMANetWindow"] = [start, fed_last]
        fout.props[SOURCE_PROP] = source
        fout.props["FMANetPrecision"] = self.stream.precision_used
        self.cache[index] = fout
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)


def check_causal_options(reorder: object, out_of_order: object) -> None:
    """vapoursynth.Error for a ``reorder`` or ``out_of_order`` value that causal mode could not use (checked in every
    mode, so a typo does not wait until the script switches to causal mode)."""
    if isinstance(reorder, bool) or not isinstance(reorder, int) or not 0 <= reorder <= 256:
        raise vs.Error(f"{FUNC}: reorder={reorder!r} must be an integer in 0..256 (frames a request may run ahead "
                       "of the causal stream and still be served exactly)")
    if out_of_order not in OUT_OF_ORDER:
        raise vs.Error(f"{FUNC}: out_of_order={out_of_order!r} must be 'error' (refuse out-of-order requests) or "
                       "'warmup' (restart the recurrent state reorder= frames before the requested frame)")


def causal_clip(engine: Engine, clip: vs.VideoNode, src: vs.VideoNode, exposure: np.ndarray | None,
                exposure_prop: str, scene_change: bool, reorder: int, out_of_order: str) -> vs.VideoNode:
    """The output clip of ``fmanet(clip, mode="causal")``; ``src`` is ``clip`` with scene-change props if asked for."""
    check_causal_options(reorder, out_of_order)
    core = vs.core
    renderer = _CausalRenderer(engine, clip, exposure, exposure_prop, scene_change, reorder, out_of_order)
    k = renderer.lookahead
    padded = _padded(src, reorder, k + 1)
    # input j: frame n = source frame clamp(n - reorder + j), j = 0 .. reorder + k
    inputs = [padded[j:] for j in range(reorder + k + 1)]
    s = engine.scale
    blank = core.std.BlankClip(clip, width=s * clip.width, height=s * clip.height, keep=True)
    return core.std.ModifyFrame(blank, inputs, renderer.render)
