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
#: H.273 matrix codes zimg converts from (0 = RGB and 2 = unspecified are refused on their own)
KNOWN_MATRICES = frozenset({1, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14})
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


def _yuv_tags(props: vs.FrameProps, index: int, format_name: str) -> dict:
    """Matrix, range and chroma location of one frame of a YUV clip, as resize arguments; raises ``vs.Error`` naming
    the frame and the fix for a missing or impossible tag (zimg would fail with "no path between colorspaces")."""
    def integer_prop(key: str) -> int | None:
        value = props.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise vs.Error(f"{FUNC}: frame {index} has {key}={value!r} ({type(value).__name__}); it must be an integer "
                           f"as VapourSynth defines it; fix it with core.std.SetFrameProps(clip, {key}=...) or remove "
                           f"it with core.std.RemoveFrameProps(clip, '{key}')")
        return value

    matrix = integer_prop("_Matrix")
    if matrix is None or matrix == UNSPECIFIED_MATRIX:
        state = "has no _Matrix frame prop" if matrix is None else "has _Matrix=2 (unspecified)"
        raise vs.Error(f"{FUNC}: frame {index} of the {format_name} clip {state}, so its colours cannot be converted "
                       f"to RGB without guessing; {_MATRIX_HINT}")
    if matrix == 0:
        raise vs.Error(f"{FUNC}: frame {index} of the {format_name} clip has _Matrix=0 (RGB), which a YUV clip cannot "
                       f"have; fix the prop: {_MATRIX_HINT}")
    if matrix not in KNOWN_MATRICES:
        raise vs.Error(f"{FUNC}: frame {index} of the {format_name} clip has _Matrix={matrix}, which is not a matrix "
                       f"coefficient code of ITU-T H.273; {_MATRIX_HINT}")
    if "_Range" in props:
        code = integer_prop("_Range")                # _Range: 1 = full, 0 = limited (zimg / H.273 convention)
        full = code == 1
    elif "_ColorRange" in props:
        code = integer_prop("_ColorRange")           # VapourSynth < R81: 0 = full, 1 = limited
        full = code == 0
    else:
        code, full = 0, False                        # zimg's default for YUV
    if code not in (0, 1):
        raise vs.Error(f"{FUNC}: frame {index} has a colour range prop of {code}; it must be 0 or 1; fix it with "
                       "core.std.SetFrameProps(clip, _Range=0) (0 = limited, 1 = full)")
    location = integer_prop("_ChromaLocation") or 0
    if not 0 <= location < len(CHROMA_LOCATIONS):
        raise vs.Error(f"{FUNC}: frame {index} has _ChromaLocation={location}; it must be 0..5 (0 = left, "
                       "2 = top_left); fix it with core.std.SetFrameProps(clip, _ChromaLocation=0)")
    return {"matrix": matrix, "range_s": "full" if full else "limited",
            "chromaloc_s": CHROMA_LOCATIONS[location]}


def _checked_yuv(clip: vs.VideoNode) -> vs.VideoNode:
    """``clip`` with each frame's colour tags checked as it is rendered (frame 0 is checked at build time): a later
    frame with a missing or bad tag fails with :func:`_yuv_tags`' message instead of a bare zimg error."""
    name = clip.format.name

    def check(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        _yuv_tags(f.props, n, name)
        return f

    return vs.core.std.ModifyFrame(clip, clip, check)


def _grey_back(fmt: vs.VideoFormat) -> Callable[[vs.VideoNode], vs.VideoNode]:
    def back(rgb: vs.VideoNode) -> vs.VideoNode:
        core = vs.core
        planes = [core.std.ShufflePlanes(rgb, plane, vs.GRAY) for plane in range(3)]
        grey = core.std.Expr(planes, "x y + z + 3 /", format=vs.GRAYS)
        return grey if grey.format.id == fmt.id else core.resize.Point(grey, format=fmt.id)
    return back


def model_input(clip: vs.VideoNode, first_props: vs.FrameProps) -> ModelInput:
    """Convert a constant-format clip to what the network reads (RGBS, or RGBH as is); see the module docstring.
    ``first_props``: the props of the clip's frame 0 (its colour tags are the way back's).

    Raises vapoursynth.Error for a YUV clip without a usable ``_Matrix`` prop on frame 0 (at build time) or on a
    later frame (when that frame is rendered).
    """
    core = vs.core
    fmt = clip.format
    family, is_float = fmt.color_family, fmt.sample_type == vs.FLOAT
    if family == vs.RGB:
        # planes of a YUV clip shuffled into RGB keep its _Matrix (on any frame), which zimg refuses for RGB: every
        # RGB clip goes in without it and comes out tagged as RGB (_Matrix=0)
        rgb_in = core.std.RemoveFrameProps(clip, "_Matrix")
        if is_float and fmt.bits_per_sample in (16, 32):
            return ModelInput(rgb_in, fmt, lambda rgb: core.std.SetFrameProps(rgb, _Matrix=0))
        return ModelInput(core.resize.Point(rgb_in, format=vs.RGBS), fmt,
                          lambda rgb: core.resize.Point(core.std.RemoveFrameProps(rgb, "_Matrix"), format=fmt.id))
    if family == vs.GRAY:
        grey = clip if (is_float and fmt.bits_per_sample == 32) else core.resize.Point(clip, format=vs.GRAYS)
        return ModelInput(core.std.ShufflePlanes([grey] * 3, [0, 0, 0], vs.RGB), fmt, _grey_back(fmt))
    if family == vs.YUV:
        tags = _yuv_tags(first_props, 0, fmt.name)
        return ModelInput(core.resize.Bicubic(_checked_yuv(clip), format=vs.RGBS), fmt,
                          lambda rgb: core.resize.Bicubic(rgb, format=fmt.id, **tags))
    raise vs.Error(f"{FUNC}: clips of format {fmt.name} are not supported; use RGB, YUV or GRAY")
