"""Clip formats for ``vs_fmanet.fmanet``: any constant format in, the same format out.

The network works on RGB in [0, 1] (RGBS or RGBH planes). Other formats are converted here, with VapourSynth's own
resizer (zimg), and converted back after restoration, so ``fmanet(clip)`` returns a clip of ``clip.format``:

* RGBS / RGBH: used as they are (no conversion, no copy).
* Integer RGB (RGB24, RGB30, RGB48, ...): full range, so ``resize.Point`` to RGBS and back (rounded).
* YUV (any subsampling, integer or float): ``resize.Bicubic`` to RGBS with the frame props ``_Matrix``,
  ``_Range`` (or the older ``_ColorRange``) and ``_ChromaLocation`` of every frame, as zimg reads them; back with the
  matrix, range and chroma location of frame 0 (the source's, so a 4:2:0 limited-range BT.709 clip comes back as
  4:2:0 limited-range BT.709). Transfer and primaries are not touched (the model restores the encoded signal). A YUV
  clip without ``_Matrix`` (or with 2, "unspecified") is refused with the fix, because guessing the matrix shifts
  colours silently.
* GRAY (integer or float): the plane becomes R = G = B, and the three restored planes are averaged back to one.

Why not vs-tools/vskernels: they are large dependencies for three resize calls, and their defaults (e.g. guessing a
matrix from the frame size) are exactly the silent guesses this module refuses.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import vapoursynth as vs

FUNC = "fmanet"

UNSPECIFIED_MATRIX = 2
CHROMA_LOCATIONS = ("left", "center", "top_left", "top", "bottom_left", "bottom")   # _ChromaLocation 0..5

_MATRIX_HINT = ("tag it, e.g. clip = core.std.SetFrameProps(clip, _Matrix=1) (1 = BT.709, 6 = BT.601 / 170m, "
                "9 = BT.2020 non-constant), or convert yourself: core.resize.Bicubic(clip, format=vs.RGBS, "
                "matrix_in_s='709')")


@dataclass(frozen=True)
class ModelInput:
    """The clip the network sees (RGBS or RGBH) and how to bring its restored version back to the source format.

    ``restore_format(clip)`` takes the restored RGB clip (any size) and returns it in ``source_format``.
    """

    clip: vs.VideoNode
    source_format: vs.VideoFormat
    restore_format: Callable[[vs.VideoNode], vs.VideoNode]


def _unchanged(clip: vs.VideoNode) -> vs.VideoNode:
    return clip


def _yuv_tags(clip: vs.VideoNode) -> dict:
    """Matrix, range and chroma location of frame 0 of a YUV clip, as resize arguments for the way back."""
    props = clip.get_frame(0).props

    def integer_prop(key: str) -> int | None:
        value = props.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise vs.Error(f"{FUNC}: frame 0 has {key}={value!r} ({type(value).__name__}); it must be an integer as "
                           f"VapourSynth defines it; fix it with core.std.SetFrameProps(clip, {key}=...) or remove it "
                           f"with core.std.RemoveFrameProps(clip, '{key}')")
        return value

    matrix = integer_prop("_Matrix")
    if matrix is None or matrix == UNSPECIFIED_MATRIX:
        state = "has no _Matrix frame prop" if matrix is None else "has _Matrix=2 (unspecified)"
        raise vs.Error(f"{FUNC}: the {clip.format.name} clip {state}, so its colours cannot be converted to RGB "
                       f"without guessing; {_MATRIX_HINT}")
    if matrix == 0:
        raise vs.Error(f"{FUNC}: the {clip.format.name} clip has _Matrix=0 (RGB), which a YUV clip cannot have; fix "
                       f"the prop: {_MATRIX_HINT}")
    if "_Range" in props:
        full = integer_prop("_Range") == 1           # _Range: 1 = full, 0 = limited (zimg / H.273 convention)
    elif "_ColorRange" in props:
        full = integer_prop("_ColorRange") == 0      # VapourSynth < R81: 0 = full, 1 = limited
    else:
        full = False                                 # zimg's default for YUV
    location = integer_prop("_ChromaLocation") or 0
    if not 0 <= location < len(CHROMA_LOCATIONS):
        raise vs.Error(f"{FUNC}: frame 0 has _ChromaLocation={location}; it must be 0..5 (0 = left, 2 = top_left); "
                       "fix it with core.std.SetFrameProps(clip, _ChromaLocation=0)")
    return {"matrix": matrix, "range_s": "full" if full else "limited",
            "chromaloc_s": CHROMA_LOCATIONS[location]}


def _grey_back(fmt: vs.VideoFormat) -> Callable[[vs.VideoNode], vs.VideoNode]:
    def back(rgb: vs.VideoNode) -> vs.VideoNode:
        core = vs.core
        planes = [core.std.ShufflePlanes(rgb, plane, vs.GRAY) for plane in range(3)]
        grey = core.std.Expr(planes, "x y + z + 3 /", format=vs.GRAYS)
        return grey if grey.format.id == fmt.id else core.resize.Point(grey, format=fmt.id)
    return back


def model_input(clip: vs.VideoNode) -> ModelInput:
    """Convert a constant-format clip to what the network reads (RGBS, or RGBH as is); see the module docstring.

    Raises vapoursynth.Error for a YUV clip without a usable ``_Matrix`` prop on frame 0.
    """
    core = vs.core
    fmt = clip.format
    family, is_float = fmt.color_family, fmt.sample_type == vs.FLOAT
    if family == vs.RGB and is_float and fmt.bits_per_sample in (16, 32):
        return ModelInput(clip, fmt, _unchanged)
    if family == vs.RGB:
        return ModelInput(core.resize.Point(clip, format=vs.RGBS), fmt,
                          lambda rgb: core.resize.Point(rgb, format=fmt.id))
    if family == vs.GRAY:
        grey = clip if (is_float and fmt.bits_per_sample == 32) else core.resize.Point(clip, format=vs.GRAYS)
        return ModelInput(core.std.ShufflePlanes([grey] * 3, [0, 0, 0], vs.RGB), fmt, _grey_back(fmt))
    if family == vs.YUV:
        tags = _yuv_tags(clip)
        return ModelInput(core.resize.Bicubic(clip, format=vs.RGBS), fmt,
                          lambda rgb: core.resize.Bicubic(rgb, format=fmt.id, **tags))
    raise vs.Error(f"{FUNC}: clips of format {fmt.name} are not supported; use RGB, YUV or GRAY")
