"""Colour properties and HDR10 static metadata: from PyAV frames to ffmpeg encoder arguments.

The frame pipe (rawvideo RGB inside NUT) carries no colour tags and no side data, so everything that makes the
output look like the source is re-stated explicitly on the encoder side:

* primaries and transfer -> ``-color_primaries``/``-color_trc`` as options of the pipe *input* (ffmpeg 7.1+
  takes them from the frames and ignores them as output options); matrix, range and chroma siting ->
  ``-colorspace``, ``-color_range``, ``-chroma_sample_location`` output options. The RGB -> YUV
  conversion inside ffmpeg uses the same matrix and range the decoder used for YUV -> RGB, so colours
  survive unchanged;
* HDR10 mastering display (SMPTE ST 2086) and content light level -> ``-x265-params`` (libx265) or
  ``-svtav1-params`` (libsvtav1); other encoders cannot carry them and get a warning;
* HDR10+ and Dolby Vision dynamic metadata are detected and reported as lost (out of scope for v1).

The numeric tables are FFmpeg's public ``AVColor*`` enum values (libavutil/pixfmt.h) with the option names
the ffmpeg command line accepts. Untagged sources get the matrix players assume (BT.601 below 720 lines,
BT.709 from 720 lines up), stated explicitly on the output because a 4x upscale of untagged SD would
otherwise be shown with the HD default.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from collections.abc import Callable
from fractions import Fraction
from typing import Any

log = logging.getLogger(__name__)

# AVColorSpace -> ffmpeg "-colorspace" names
MATRIX_NAMES: dict[int, str] = {
    0: "rgb", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco", 9: "bt2020nc",
    10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp",
}
# AVColorPrimaries -> "-color_primaries"
PRIMARIES_NAMES: dict[int, str] = {
    1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020",
    10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213",
}
# AVColorTransferCharacteristic -> "-color_trc"
TRANSFER_NAMES: dict[int, str] = {
    1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear", 9: "log100",
    10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
    16: "smpte2084", 17: "smpte428", 18: "arib-std-b67",
}
# AVColorRange -> "-color_range"
RANGE_NAMES: dict[int, str] = {1: "tv", 2: "pc"}
# AVChromaLocation -> "-chroma_sample_location"
CHROMA_LOCATION_NAMES: dict[int, str] = {1: "left", 2: "center", 3: "topleft", 4: "top", 5: "bottomleft", 6: "bottom"}

# ffmpeg matrix name -> the swscale colourspace PyAV's reformat() understands (None: swscale default)
_SWS_MATRIX = {"bt709": "itu709", "fcc": "fcc", "bt470bg": "itu601", "smpte170m": "itu601",
               "smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020"}

_PQ, _HLG = "smpte2084", "arib-std-b67"


@dataclasses.dataclass(frozen=True)
class ColourInfo:
    """Colour description of a video stream, as ffmpeg command-line names (None = unspecified).

    ``matrix`` is the YUV<->RGB matrix actually used for the conversions (filled in when the source was
    untagged, with ``assumed_matrix=True``); ``range`` is ``"tv"`` (limited) or ``"pc"`` (full).
    """

    matrix: str | None = None
    primaries: str | None = None
    transfer: str | None = None
    range: str | None = None
    chroma_location: str | None = None
    assumed_matrix: bool = False
    assumed_range: bool = False

    @property
    def is_hdr(self) -> bool:
        """True for PQ (HDR10) or HLG transfer."""
        return self.transfer in (_PQ, _HLG)

    @property
    def sws_matrix(self) -> str | None:
        """The swscale name of ``matrix`` for PyAV ``reformat(src_colorspace=...)`` (None: swscale default)."""
        return _SWS_MATRIX.get(self.matrix or "")

    def pipe_input_args(self) -> list[str]:
        """ffmpeg *input* options for the RGB frame pipe: primaries and transfer.

        Given as decoder options on the pipe input because ffmpeg 7.1+ takes these two from the frames and
        ignores ``-color_primaries``/``-color_trc`` given as output options (checked with ffmpeg 9.0.2).
        """
        args: list[str] = []
        if self.primaries:
            args += ["-color_primaries", self.primaries]
        if self.transfer:
            args += ["-color_trc", self.transfer]
        return args

    def output_args(self, *, rgb_output: bool = False) -> list[str]:
        """ffmpeg *output* options: matrix, range and chroma siting. The matrix and range also drive
        ffmpeg's RGB -> YUV conversion, so they must equal what the decoder used. ``rgb_output``: the
        encoder's pixel format is RGB (GBR planes), which is tagged as such."""
        if rgb_output:
            return ["-colorspace", "rgb", "-color_range", "pc"]
        args: list[str] = []
        if self.matrix and self.matrix != "rgb":
            args += ["-colorspace", self.matrix]
        if self.range:
            args += ["-color_range", self.range]
        if self.chroma_location:
            args += ["-chroma_sample_location", self.chroma_location]
        return args

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def colour_from_frame(frame: Any, *, is_rgb: bool) -> ColourInfo:
    """Read the colour tags of a decoded PyAV ``VideoFrame`` and fill the gaps the way players do.

    ``is_rgb``: the source pixel format is RGB (no matrix involved). For an untagged YUV source the matrix
    is assumed from the frame height (BT.601 below 720 lines, else BT.709) and the range as limited ("tv").
    """
    matrix = MATRIX_NAMES.get(int(frame.colorspace))
    rng = RANGE_NAMES.get(int(frame.color_range))
    assumed_matrix = assumed_range = False
    if is_rgb:
        matrix = None
        rng = rng or "pc"
    else:
        if matrix is None or matrix == "rgb":
            matrix = "bt709" if frame.height >= 720 else "smpte170m"
            assumed_matrix = True
        if rng is None:
            rng, assumed_range = "tv", True
    if matrix in ("bt2020c", "ictcp", "ycgco", "smpte2085", "chroma-derived-nc", "chroma-derived-c"):
        log.warning("colour matrix %s is converted as %s (no exact support in swscale); tags are kept",
                    matrix, "bt2020nc" if matrix == "bt2020c" else "the default matrix")
    return ColourInfo(
        matrix=matrix,
        primaries=PRIMARIES_NAMES.get(int(frame.color_primaries)),
        transfer=TRANSFER_NAMES.get(int(frame.color_trc)),
        range=rng,
        chroma_location=CHROMA_LOCATION_NAMES.get(int(getattr(frame, "chroma_location", 0) or 0)),
        assumed_matrix=assumed_matrix,
        assumed_range=assumed_range,
    )


@dataclasses.dataclass(frozen=True)
class HdrStaticMetadata:
    """HDR10 static metadata. Chromaticities are CIE 1931 xy (floats in [0, 1]) in R, G, B order;
    luminances in cd/m²; ``max_cll``/``max_fall`` in cd/m² (0 = absent)."""

    primaries: tuple[tuple[Fraction, Fraction], ...] | None = None  # ((Rx, Ry), (Gx, Gy), (Bx, By))
    white_point: tuple[Fraction, Fraction] | None = None
    min_luminance: Fraction | None = None
    max_luminance: Fraction | None = None
    max_cll: int = 0
    max_fall: int = 0

    @property
    def has_mastering_display(self) -> bool:
        return self.primaries is not None and self.max_luminance is not None

    @property
    def has_content_light(self) -> bool:
        return self.max_cll > 0 or self.max_fall > 0

    def x265_params(self) -> list[str]:
        """``key=value`` items for ``-x265-params`` (chromaticity in 1/50000, luminance in 1/10000 cd/m²)."""
        items: list[str] = []
        if self.has_mastering_display:
            items.append("master-display=" + self._mastering_display(lambda v: round(v * 50000),
                                                                     lambda v: round((v or 0) * 10000)))
        if self.has_content_light:
            items.append(f"max-cll={self.max_cll},{self.max_fall}")
        if items:
            items = ["hdr10=1", "repeat-headers=1", *items]
        return items

    def svtav1_params(self) -> list[str]:
        """``key=value`` items for ``-svtav1-params`` (chromaticity and luminance as decimals)."""
        items: list[str] = []
        if self.has_mastering_display:
            def f(v: Fraction | None) -> str:
                return f"{float(v or 0):.4f}"

            items.append("mastering-display=" + self._mastering_display(f, f))
        if self.has_content_light:
            items.append(f"content-light={self.max_cll},{self.max_fall}")
        return items

    def _mastering_display(self, chroma: Callable[[Fraction], Any], lum: Callable[[Fraction | None], Any]) -> str:
        """``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)``: the ST 2086 value as both encoders spell it, each
        chromaticity written by ``chroma`` and each luminance (cd/m², None = 0) by ``lum``."""
        assert self.primaries is not None and self.white_point is not None
        (rx, ry), (gx, gy), (bx, by) = self.primaries
        wx, wy = self.white_point
        return (f"G({chroma(gx)},{chroma(gy)})B({chroma(bx)},{chroma(by)})R({chroma(rx)},{chroma(ry)})"
                f"WP({chroma(wx)},{chroma(wy)})L({lum(self.max_luminance)},{lum(self.min_luminance)})")

    def as_dict(self) -> dict[str, Any]:
        def fl(v: Any) -> Any:
            if isinstance(v, Fraction):
                return float(v)
            if isinstance(v, tuple):
                return [fl(x) for x in v]
            return v

        return {k: fl(v) for k, v in dataclasses.asdict(self).items()}


def video_colour_for_rgb_source(source: ColourInfo) -> ColourInfo:
    """Colour description for encoding an RGB source (image sequences, RGB video) as YUV video: BT.709 matrix
    and limited range (what players assume for HD), primaries and transfer from the source or sRGB's
    (BT.709 primaries, IEC 61966-2-1 transfer)."""
    return ColourInfo(matrix="bt709", primaries=source.primaries or "bt709",
                      transfer=source.transfer or "iec61966-2-1", range="tv")


def _rationals(data: bytes, count: int) -> list[Fraction | None]:
    values = struct.unpack(f"<{2 * count}i", data[: 8 * count])
    return [Fraction(n, d) if d else None for n, d in zip(values[0::2], values[1::2])]


def parse_mastering_display(data: bytes) -> tuple[tuple[tuple[Fraction, Fraction], ...] | None,
                                                   tuple[Fraction, Fraction] | None,
                                                   Fraction | None, Fraction | None]:
    """Decode FFmpeg's ``AVMasteringDisplayMetadata`` side-data struct (88 bytes: 10 AVRationals for
    R,G,B primaries, white point, min and max luminance, then ``has_primaries`` and ``has_luminance``).

    Returns (primaries, white_point, min_luminance, max_luminance), None where a flag says absent.
    """
    if len(data) < 88:
        raise ValueError(f"parse_mastering_display: expected 88 bytes of side data, got {len(data)}")
    r = _rationals(data, 10)
    has_primaries, has_luminance = struct.unpack("<ii", data[80:88])
    primaries = white = None
    if has_primaries and all(v is not None for v in r[:8]):
        primaries = ((r[0], r[1]), (r[2], r[3]), (r[4], r[5]))  # type: ignore[assignment]
        white = (r[6], r[7])  # type: ignore[assignment]
    lo, hi = (r[8], r[9]) if has_luminance else (None, None)
    return primaries, white, lo, hi  # type: ignore[return-value]


def parse_content_light(data: bytes) -> tuple[int, int]:
    """Decode FFmpeg's ``AVContentLightMetadata`` (two unsigned ints: MaxCLL, MaxFALL, cd/m²)."""
    if len(data) < 8:
        raise ValueError(f"parse_content_light: expected 8 bytes of side data, got {len(data)}")
    max_cll, max_fall = struct.unpack("<II", data[:8])
    return int(max_cll), int(max_fall)


def side_data_of(frame: Any) -> dict[Any, bytes]:
    """A decoded PyAV frame's side data as {``av.sidedata.sidedata.Type``: payload bytes}.

    PyAV 19 iterates ``frame.side_data`` over the types (``side_data[type]`` is the entry); PyAV 14-18 iterate over
    the entries themselves (each with ``.type``). Both are read here, so rotation and HDR10 metadata are found with
    any PyAV the package accepts."""
    container = frame.side_data
    found: dict[Any, bytes] = {}
    for item in container:
        if hasattr(item, "type"):          # PyAV < 19: an entry
            found[item.type] = bytes(item)
        else:                              # PyAV >= 19: a type
            found[item] = bytes(container[item])
    return found


def hdr_from_frame(frame: Any) -> tuple[HdrStaticMetadata | None, list[str]]:
    """HDR10 static metadata of a decoded PyAV frame, plus the names of dynamic-HDR side data found
    (HDR10+, Dolby Vision, HDR Vivid), which this tool cannot carry and reports as warnings."""
    from av.sidedata.sidedata import Type

    side = side_data_of(frame)
    primaries = white = lo = hi = None
    max_cll = max_fall = 0
    found = False
    if Type.MASTERING_DISPLAY_METADATA in side:
        primaries, white, lo, hi = parse_mastering_display(side[Type.MASTERING_DISPLAY_METADATA])
        found = True
    if Type.CONTENT_LIGHT_LEVEL in side:
        max_cll, max_fall = parse_content_light(side[Type.CONTENT_LIGHT_LEVEL])
        found = True
    dynamic = [name for name, t in (("HDR10+", "DYNAMIC_HDR_PLUS"), ("Dolby Vision", "DOVI_METADATA"),
                                    ("Dolby Vision RPU", "DOVI_RPU_BUFFER"), ("HDR Vivid", "DYNAMIC_HDR_VIVID"))
               if getattr(Type, t, None) in set(side)]
    hdr = HdrStaticMetadata(primaries, white, lo, hi, max_cll, max_fall) if found else None
    return hdr, dynamic


def merge_codec_params(args: list[str], flag: str, items: list[str]) -> list[str]:
    """Add ``items`` (``key=value`` strings) to the ``flag`` option (e.g. ``-x265-params``) in ``args``.

    If the user already passed ``flag``, their keys win and ours are appended only for keys they did not
    set; otherwise a new ``flag`` option is appended. Returns a new list.
    """
    if not items:
        return list(args)
    out = list(args)
    for i in range(len(out) - 1):
        if out[i] == flag:
            theirs = [kv for kv in out[i + 1].split(":") if kv]
            keys = {kv.split("=", 1)[0] for kv in theirs}
            extra = [kv for kv in items if kv.split("=", 1)[0] not in keys]
            out[i + 1] = ":".join(theirs + extra)
            return out
    return out + [flag, ":".join(items)]


def _format_shape(name: str) -> tuple[bool, int, tuple[int, int], bool] | None:
    """(is_rgb, bit depth, chroma plane size of a 64x64 picture, has_alpha) of a pixel format name."""
    import av

    try:
        fmt = av.VideoFormat(name, 64, 64)
    except (ValueError, av.FFmpegError):
        return None
    colour = [c for c in fmt.components if not c.is_alpha]
    depth = max(c.bits for c in colour)
    is_rgb = bool(fmt.is_rgb)
    chroma = (64, 64) if is_rgb or len(colour) < 3 else (colour[1].width, colour[1].height)
    return is_rgb, depth, chroma, any(c.is_alpha for c in fmt.components)


def _holds(chroma: tuple[int, int], width: int, height: int) -> bool:
    """Whether a format whose chroma planes are ``chroma`` for a 64x64 picture can hold ``width`` x ``height``."""
    return width % (64 // chroma[0]) == 0 and height % (64 // chroma[1]) == 0


def fits_subsampling(pix_fmt: str, width: int, height: int) -> bool:
    """True when a ``width`` x ``height`` picture can be stored in ``pix_fmt`` (4:2:0 needs even sizes, 4:2:2 an
    even width, 4:1:1 a width divisible by 4); unknown formats count as fitting."""
    shape = _format_shape(pix_fmt)
    return shape is None or _holds(shape[2], width, height)


def output_pixel_format(layout: str, supported: tuple[str, ...] | None, width: int, height: int
                        ) -> tuple[str | None, str | None]:
    """The encoder pixel format for a ``width`` x ``height`` output imitating ``layout`` (see
    :func:`pick_pixel_format`), and a warning when the size forced another chroma subsampling (None otherwise)."""
    pix_fmt = pick_pixel_format(layout, supported, (width, height))
    if pix_fmt and not fits_subsampling(layout, width, height):
        return pix_fmt, (f"the {width}x{height} output cannot be stored with the source's chroma subsampling "
                         f"({layout}); writing {pix_fmt} (or give even sizes with e.g. "
                         "-- -vf scale=trunc(iw/2)*2:trunc(ih/2)*2)")
    return pix_fmt, None


def pick_pixel_format(source_pix_fmt: str, supported: tuple[str, ...] | None,
                      size: tuple[int, int] | None = None) -> str | None:
    """Choose the encoder pixel format closest to ``source_pix_fmt``: same family (YUV/RGB), same chroma
    subsampling, bit depth not below the source's (10-bit in gives 10-bit out), then the closest depth.

    ``supported`` is the encoder's list (see :func:`binary.encoder_pixel_formats`); None or empty returns
    None (let ffmpeg negotiate). Gray and palette sources count as full-resolution YUV (4:4:4). ``size``: the
    picture's (width, height); formats whose chroma subsampling does not divide it are skipped (an odd-sized
    4:2:0 source then gets the closest format that can hold it, 4:4:4).
    """
    if not supported:
        return None
    src = _format_shape(source_pix_fmt)
    if src is None:
        return None
    src_rgb, src_depth, src_chroma, _ = src
    if not src_rgb and src_chroma == (64, 64) and source_pix_fmt.startswith(("gray", "pal", "ya")):
        src_rgb = False
    best: tuple[tuple[int, ...], str] | None = None
    for name in supported:
        shape = _format_shape(name)
        if shape is None or name.startswith(("yuvj", "nv", "p01", "p21", "p41")):
            continue  # deprecated full-range aliases and semi-planar hardware layouts
        is_rgb, depth, chroma, has_alpha = shape
        if has_alpha or name.startswith(("gray", "pal", "ya", "monob")):
            continue
        if size is not None and not _holds(chroma, *size):
            continue
        score = (
            0 if is_rgb == src_rgb else 1,
            0 if chroma == src_chroma else 1,
            0 if depth >= src_depth else 1,
            abs(depth - src_depth),
        )
        if best is None or score < best[0]:
            best = (score, name)
    return best[1] if best else None


def is_rgb_pixel_format(name: str) -> bool:
    """True for RGB/GBR pixel formats (no YUV matrix involved)."""
    shape = _format_shape(name)
    return bool(shape and shape[0])


def bit_depth(pix_fmt: str) -> int:
    """Bits per colour component of a pixel format name (8 for unknown names)."""
    shape = _format_shape(pix_fmt)
    return shape[1] if shape else 8
