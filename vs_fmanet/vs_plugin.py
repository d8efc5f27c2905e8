"""VapourSynth front end: ``vs_fmanet.fmanet(clip, ...)`` restores a clip with FMA-Net++, in the clip's own format.

Three lines in a ``.vpy`` script (any VapourSynth previewer, or ``vspipe -c y4m script.vpy - | ffmpeg ...``)::

    import vapoursynth as vs, vs_fmanet
    clip = vs.core.bs.VideoSource("in.mp4")           # YUV420P8/10 with _Matrix from the file
    vs_fmanet.fmanet(clip).set_output()                # same format, 4x the size

RGBS/RGBH go straight to the network; YUV, GRAY and integer RGB are converted to RGB and back by
:mod:`vs_fmanet.vs_formats` (a YUV clip needs its ``_Matrix`` prop: no silent guess).

How frames flow (all windows, tiles, devices and precision live in :mod:`vs_fmanet.engine`):

* Output frames are grouped in fixed *grid windows* ``[k*window, (k+1)*window)``. The frames a window needs
  (``overlap`` context frames on each side, edges replicated) arrive as ``window + 2*overlap`` shifted, decimated
  clips handed to ``std.ModifyFrame``; the callback never calls ``get_frame``. A fresh ModifyFrame per window is made
  inside ``std.FrameEval`` so several windows can be in flight on different threads.
* One inference per window; the window's output frames ride along as frame-valued props and are picked out by a
  trivial ModifyFrame (no ``PropToClip``, so nothing runs while the script is evaluated).
* Because window positions are fixed, frame n renders the same bytes whatever the request order or thread count.
* Scene cuts: with ``scene_change=True`` a frame whose ``_SceneChangePrev`` is 1 (or whose predecessor has
  ``_SceneChangeNext`` = 1) starts a new scene and no information crosses the cut. Get those props from
  ``core.scd.Detect`` (``pip install vapoursynth-scenechange``; it needs GRAY/YUV integer input) or let
  ``scene_change="detect"`` do it for you.
* Props: every source prop is copied to the output frame; added are ``FMANetModel`` (weights name),
  ``FMANetScale``, ``FMANetWindow`` ([first, last] source frames that fed the frame), ``FMANetExposureSource``
  (where the exposure came from: "argument", "estimated", or for the prop the metadata source recorded by
  ``vs_fmanet.exposure.attach_exposure_props`` such as "gpmf" or "exif", else "prop"; "ignored" for a model that
  does not read exposure, FMA-Net v1), ``FMANetPrecision``
  ("fp32" when the NaN guard recomputed the window) and ``FMANetStrength`` (the ``strength`` used, 0..1).

Nothing is printed to stdout (it would corrupt ``vspipe -c y4m ... -``); warnings go to stderr via ``logging``,
and construction runs with file descriptor 1 redirected to stderr in case a library prints.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import vapoursynth as vs

from .engine import Engine, plan_grid_window
from .engine.inputs import check_exposure_array, check_exposure_value
from .engine.weights import model_for_weights
from .vs_formats import model_input

log = logging.getLogger(__name__)

FUNC = "fmanet"
OUT_KEY = "_FMANetOut"
SCENE_PROPS = ("_SceneChangePrev", "_SceneChangeNext")
SOURCE_PROP = "FMANetExposureSource"


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while building (torch and CUDA libraries may print)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, AttributeError, ValueError):
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        with contextlib.suppress(OSError, AttributeError, ValueError):
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _check_clip(clip: object) -> vs.VideoNode:
    if not isinstance(clip, vs.VideoNode):
        raise vs.Error(f"{FUNC}: clip must be a vapoursynth.VideoNode, got {type(clip).__name__}")
    if getattr(clip, "gpu_resident", False):
        raise vs.Error(f"{FUNC}: the clip is GPU-resident; add clip = core.std.GPUDownload(clip) before {FUNC}()")
    fmt = clip.format
    if fmt is None or fmt.id == 0 or fmt.color_family == vs.UNDEFINED or clip.width == 0 or clip.height == 0:
        raise vs.Error(f"{FUNC}: the clip has a variable format or size; make it constant first, e.g. "
                       "core.resize.Bicubic(clip, width=W, height=H, format=vs.RGBS, matrix_in_s='709')")
    if clip.num_frames < 1:
        raise vs.Error(f"{FUNC}: the clip has no frames")
    return clip


def _padded(clip: vs.VideoNode, before: int, after: int) -> vs.VideoNode:
    """``clip`` with its first frame repeated ``before`` times in front and its last ``after`` times behind."""
    parts = []
    if before:
        parts.append(clip[0] * before)
    parts.append(clip)
    if after:
        parts.append(clip[-1] * after)
    return vs.core.std.Splice(parts) if len(parts) > 1 else clip


def _scene_clip(clip: vs.VideoNode, scene_change: bool | str) -> vs.VideoNode:
    if scene_change == "detect":
        core = vs.core
        if not hasattr(core, "scd"):
            raise vs.Error(f"{FUNC}: scene_change='detect' needs the scd plugin: pip install 'vs-fmanet[scene]' "
                           "(vapoursynth-scenechange; or run core.scd.Detect yourself and pass scene_change=True)")
        # the clip is the network's RGB input; GRAY sources converted to RGB (and some RGB clips) still carry a YUV
        # _Matrix prop, which zimg refuses on RGB input (the prop wins over matrix_in), so it is removed for detection
        rgb = core.std.RemoveFrameProps(clip, "_Matrix")
        grey = core.resize.Bilinear(rgb, format=vs.GRAY8, matrix_s="709")
        return core.std.CopyFrameProps(clip, core.scd.Detect(grey), props=list(SCENE_PROPS))
    if scene_change is True or scene_change is False:
        return clip
    raise vs.Error(f"{FUNC}: scene_change={scene_change!r} must be True (use _SceneChangePrev/_SceneChangeNext "
                   "props), False (ignore cuts) or 'detect' (run scd.Detect first)")


def _fraction_from_text(text: str, clip: vs.VideoNode) -> float:
    """'1/100', '0.01' (seconds) or '180deg' -> fraction of the frame interval at the clip's frame rate."""
    from .exposure.units import parse_exposure_override

    if not clip.fps_num or not clip.fps_den:
        raise vs.Error(f"{FUNC}: exposure={text!r} needs a constant frame rate, but the clip is variable-rate; "
                       "pass the fraction of the frame interval as a number instead")
    fps = clip.fps_num / clip.fps_den
    return parse_exposure_override(text, fps) * fps


def _flag(frame: vs.VideoFrame, key: str, index: int) -> bool:
    value = frame.props.get(key)
    if value is None:
        return False
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
        raise vs.Error(f"{FUNC}: frame {index} has {key}={value!r}; it must be the integer 0 or 1 (as set by "
                       "core.scd.Detect); fix the prop or pass scene_change=False")
    return value == 1


def copyable_props(props: Mapping) -> dict:
    """The source frame's props that belong on the restored (larger) frame: all but frame-valued ones.

    A frame-valued prop such as ``_Alpha`` has the source size, so it is left out here; :func:`fmanet` attaches an
    upscaled ``_Alpha`` to the whole clip. Function-valued props (which C plugins can set) cannot be stored from
    Python, so they are left out too.
    """
    def storable(value: object) -> bool:
        items = value if isinstance(value, (list, tuple)) else (value,)
        return not any(isinstance(v, (vs.VideoFrame, vs.AudioFrame)) or callable(v) for v in items)

    return {key: value for key, value in props.items() if storable(value)}


def _with_scaled_alpha(out: vs.VideoNode, clip: vs.VideoNode, first_props: vs.FrameProps) -> vs.VideoNode:
    """``out`` with the source's ``_Alpha`` frame prop (if frame 0, whose props are ``first_props``, has one)
    upscaled to ``out``'s size (bicubic)."""
    if not isinstance(first_props.get("_Alpha"), vs.VideoFrame):
        return out
    core = vs.core
    scaled = core.resize.Bicubic(core.std.PropToClip(clip, "_Alpha"), width=out.width, height=out.height)
    return core.std.ClipToProp(out, scaled, "_Alpha")


def _to_array(frame: vs.VideoFrame) -> np.ndarray:
    """RGB frame -> [H, W, 3] float32 (planes may be strided views; RGBH is widened)."""
    return np.stack([np.asarray(frame[p]) for p in range(3)], axis=-1).astype(np.float32, copy=False)


class _Renderer:
    """Per-call state shared by the window callbacks (engine, clip facts, exposure argument)."""

    def __init__(self, engine: Engine, clip: vs.VideoNode, exposure: np.ndarray | None, exposure_prop: str,
                 scene_change: bool) -> None:
        self.engine = engine
        self.num_frames = clip.num_frames
        self.format = clip.format
        self.width, self.height = clip.width, clip.height
        self.exposure = exposure
        self.exposure_prop = exposure_prop
        self.scene_change = scene_change
        self.core = vs.core

    def _exposure_of(self, frame: vs.VideoFrame, index: int) -> tuple[float, str]:
        """(fraction or NaN, where it came from) for source frame ``index``: the FMANetExposureSource prop's value."""
        r, source = self._exposure_from(frame, index)
        # FMA-Net v1 reads no exposure (the engine logs that once when a value is given)
        return r, (source if self.engine.exposure_aware else "ignored")

    def _exposure_from(self, frame: vs.VideoFrame, index: int) -> tuple[float, str]:
        if self.exposure is not None and not math.isnan(self.exposure[index]):
            return float(self.exposure[index]), "argument"
        value = frame.props.get(self.exposure_prop) if self.exposure_prop else None
        if value is None:
            return float("nan"), "estimated"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise vs.Error(f"{FUNC}: frame {index} has {self.exposure_prop}={value!r} ({type(value).__name__}); "
                           "it must be a float fraction of the frame interval, e.g. "
                           f"core.std.SetFrameProps(clip, {self.exposure_prop}=0.5)")
        try:
            r = check_exposure_value(value, index, FUNC)
        except ValueError as exc:
            raise vs.Error(f"{exc} (from the frame prop {self.exposure_prop})") from None
        if math.isnan(r):
            return r, "estimated"
        recorded = frame.props.get(SOURCE_PROP)   # set by vs_fmanet.exposure.attach_exposure_props (gpmf, exif...)
        return r, (recorded if isinstance(recorded, str) and recorded not in ("", "none") else "prop")

    def window(self, n: int, f: list[vs.VideoFrame]) -> vs.VideoFrame:
        """ModifyFrame callback for grid window ``n``: f[0] = carrier, f[1:] = source frames n*W - O ... (n+1)*W + O - 1."""
        eng, num = self.engine, self.num_frames
        window, overlap = eng.window, eng.overlap
        first = n * window - overlap
        frames = {first + j: fr for j, fr in enumerate(f[1:]) if 0 <= first + j < num}
        cuts = []
        if self.scene_change:
            for i, fr in frames.items():
                if i > 0 and (_flag(fr, "_SceneChangePrev", i) or (i - 1 in frames and
                                                                   _flag(frames[i - 1], "_SceneChangeNext", i - 1))):
                    cuts.append(i)
        for i, fr in frames.items():
            field = fr.props.get("_FieldBased", 0)
            if field in (1, 2):
                raise vs.Error(f"{FUNC}: frame {i} is interlaced (_FieldBased={field}); deinterlace first "
                               "(e.g. core.bwdif.Bwdif) or, if it is really progressive, core.std.SetFieldBased(clip, 0)")
        carrier = f[0].copy()
        s = eng.scale
        for piece in plan_grid_window(n, num, window, overlap, cuts):
            idx = range(piece.context_start, piece.context_stop)
            exp_src = [self._exposure_of(frames[i], i) for i in idx]
            try:
                out, precision = eng.restore_piece(np.stack([_to_array(frames[i]) for i in idx]),
                                                   np.array([e for e, _ in exp_src], dtype=np.float32), piece)
            except Exception as exc:
                raise vs.Error(f"{FUNC}: frames {piece.start}-{piece.stop - 1} failed: {exc}") from exc
            for j, i in enumerate(range(piece.start, piece.stop)):
                fout = self.core.create_video_frame(self.format, s * self.width, s * self.height)
                for p in range(3):
                    np.copyto(np.asarray(fout[p]), out[j, :, :, p], casting="unsafe")
                fout.props.update(copyable_props(frames[i].props))
                fout.props["FMANetModel"] = eng.model_name
                fout.props["FMANetScale"] = s
                fout.props["FMANetWindow"] = [piece.context_start, piece.context_stop - 1]
                fout.props[SOURCE_PROP] = exp_src[i - piece.context_start][1]
                fout.props["FMANetPrecision"] = precision
                fout.props["FMANetStrength"] = eng.strength
                carrier.props[f"{OUT_KEY}{i - n * window}"] = fout
        return carrier


def fmanet(clip: vs.VideoNode, *, scale: int | None = None, model: str | None = None, preset: str | None = None,
           weights: str | os.PathLike | None = None, device: str | None = None, precision: str | None = None,
           window: int | None = None, overlap: int | None = None, tile: int | Sequence[int] | None = None,
           tile_overlap: int | None = None, exposure: float | str | Sequence[float] | None = None,
           exposure_prop: str = "FMANetExposure", scene_change: bool | str = True, mode: str | None = None,
           reorder: int = 16, out_of_order: str = "error", ensemble: int | None = None,
           strength: float | None = None) -> vs.VideoNode:
    """Joint super-resolution and deblurring; returns a clip ``scale`` times larger in the format of ``clip``.

    Args:
        clip: constant-format clip, progressive, not GPU-resident (any width/height, odd included). RGBS/RGBH are
            restored as they are; YUV (needs a ``_Matrix`` frame prop), GRAY and integer RGB are converted to RGB
            for the network and back (see :mod:`vs_fmanet.vs_formats`).
        scale, model, preset, weights, device, precision, window, overlap, tile, tile_overlap, ensemble, strength:
            as for :class:`vs_fmanet.engine.Engine` (precision is independent of RGBS/RGBH; None = fp16 on CUDA,
            fp32 on CPU; model None = the family of the ``weights`` card, else "fmanetpp", or "fmanetpp-causal" with
            mode="causal"; scale None = the scale of the ``weights`` card, else 4; strength 0..1 mixes the result with
            the bicubic upscale of the input, None = 1).
        exposure: exposure as a fraction of the frame interval: one number for all frames, or one per frame (NaN =
            not given); or text for the whole clip: seconds ("1/100", "0.01") or a shutter angle ("180deg"),
            converted at the clip's frame rate. Where given it overrides the frame prop.
        exposure_prop: frame prop holding each frame's exposure fraction (float); frames with neither the prop nor
            an ``exposure`` value have their exposure estimated from the pixels.
        scene_change: True = respect ``_SceneChangePrev``/``_SceneChangeNext``; "detect" = run ``scd.Detect``
            first; False = ignore scene cuts.
        mode: "window" (bidirectional FMA-Net++ in fixed windows; frames in any order) or "causal" (the causal
            low-latency model, frame by frame with a recurrent state, served in order; see :mod:`vs_fmanet.vs_causal`).
            None = "causal" for model="fmanetpp-causal", else "window". With mode="causal", model="fmanetpp" means
            its causal variant "fmanetpp-causal" (presets "causal-tiny", "causal-small", "causal-paper", "-k1"/"-k2"
            for look-ahead).
        reorder: causal mode: how many frames a request may run ahead of the stream and still be served exactly
            (the frames in between are restored and cached); VapourSynth's threads request a little out of order.
        out_of_order: causal mode, for other requests (seeks): "error" (default) raises an error naming the fix;
            "warmup" restarts the recurrent state ``reorder`` frames before the requested frame.

    Raises:
        vapoursynth.Error: at build time for unsupported clips or arguments; at render time naming the frame.
    """
    source = _check_clip(clip)
    first_props = source.get_frame(0).props     # read once at build time: colour tags and _Alpha
    adapted = model_input(source, first_props)
    clip = adapted.clip
    if mode not in (None, "window", "causal"):
        raise vs.Error(f"{FUNC}: mode={mode!r} must be 'window' (bidirectional, any frame order), 'causal' (low "
                       "latency, frames in order) or None (from the model)")
    if model is None:
        try:
            model = model_for_weights(weights, "fmanetpp-causal" if mode == "causal" else "fmanetpp")
        except ValueError as exc:
            raise vs.Error(f"{FUNC}: {exc}") from exc
    if mode is None:
        mode = "causal" if model == "fmanetpp-causal" else "window"
    if mode == "causal" and model == "fmanetpp":
        model = "fmanetpp-causal"
    if not isinstance(exposure_prop, str):
        raise vs.Error(f"{FUNC}: exposure_prop={exposure_prop!r} must be a prop name (str); use '' to ignore props")
    from .vs_causal import causal_clip, check_causal_options   # vs_causal builds on this module's helpers

    check_causal_options(reorder, out_of_order)
    try:
        if isinstance(exposure, str):   # "1/100" (seconds) or "180deg" (shutter angle): needs the frame rate
            exposure = _fraction_from_text(exposure, clip)
        exp = None if exposure is None else check_exposure_array(exposure, clip.num_frames, FUNC)
        with _stdout_to_stderr():
            engine = Engine(model=model, scale=scale, preset=preset, weights=weights, device=device,
                            precision=precision, window=window, overlap=overlap,
                            tile=tuple(tile) if isinstance(tile, (list, tuple)) else tile, tile_overlap=tile_overlap,
                            ensemble=ensemble, strength=strength)
    except vs.Error:
        raise
    except (ValueError, OSError) as exc:
        raise vs.Error(str(exc) if str(exc).startswith(FUNC) else f"{FUNC}: {exc}") from exc
    if engine.causal != (mode == "causal"):
        raise vs.Error(f"{FUNC}: mode={mode!r} does not fit model={model!r}; the causal model "
                       "'fmanetpp-causal' runs with mode='causal', the others with mode='window'")
    src = _scene_clip(clip, scene_change)
    if mode == "causal":
        restored = causal_clip(engine, clip, src, exp, exposure_prop, scene_change is not False, reorder, out_of_order)
        return _with_scaled_alpha(adapted.restore_format(restored), source, first_props)
    core = vs.core
    win, ov, s = engine.window, engine.overlap, engine.scale
    num = clip.num_frames
    windows = -(-num // win)
    padded = _padded(src, ov, ov + win)
    # context clip j: frame k = source frame clamp(k*win + j - ov)
    context = [core.std.SelectEvery(padded[j:], cycle=win, offsets=[0], modify_duration=False) if win > 1
               else padded[j:] for j in range(win + 2 * ov)]
    carrier = core.std.BlankClip(format=vs.GRAY8, width=1, height=1, length=windows, keep=True)
    renderer = _Renderer(engine, clip, exp, exposure_prop, scene_change is not False)
    inputs = [carrier, *context]

    def per_window(n: int) -> vs.VideoNode:
        # a fresh ModifyFrame per window: its callbacks are not serialised with other windows' (FrameEval is unordered)
        return core.std.ModifyFrame(carrier, inputs, renderer.window)

    chunks = core.std.FrameEval(carrier, per_window, clip_src=inputs)
    spread = core.std.Interleave([chunks] * win, modify_duration=False) if win > 1 else chunks
    blank = core.std.BlankClip(clip, width=s * clip.width, height=s * clip.height, keep=True)

    def pick(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        return f.props[f"{OUT_KEY}{n % win}"]

    return _with_scaled_alpha(adapted.restore_format(core.std.ModifyFrame(blank, spread, pick)), source, first_props)
