"""Building the encoder's ffmpeg command line.

Shape: ``ffmpeg [colour tags, offset] -f nut -i pipe:0 [trim] -i SOURCE
[-f ffmetadata -i CHAPTERS] -map 0:v:0 -map 1:a? -map 1:s:K ... -fps_mode passthrough -c:v ... -pix_fmt ...
-colorspace ... -color_range ... [HDR params] -c:a copy -c:s ... -map_metadata 1 -map_chapters N
<user args verbatim> OUTPUT``.

The argv is assembled here as a plain list rather than with ffmpeg-python: its released API (0.2.0, 2019)
sorts options alphabetically, cannot repeat an option, turns None into a bare flag and cannot place the
user's verbatim options in order, all of which this command needs (the notes' §3 lists the cases).
ffmpeg-python is used where it fits, for the lavfi sample-clip job in :mod:`ffmpeg_filter.sample`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from .binary import encoder_pixel_formats, ffmpeg_major_version
from .colour import (is_rgb_pixel_format, merge_codec_params, output_pixel_format, pick_pixel_format,
                     video_colour_for_rgb_source)
from .errors import UsageError
from .probe import SourceInfo
from .still_exif import creation_time_of
from .timecode import shift_timecode

log = logging.getLogger(__name__)

_TEXT_SUBS = {"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"}
_MATROSKA = {".mkv", ".mka", ".mks", ".mk3d"}
_MP4 = {".mp4", ".m4v", ".mov", ".3gp"}
_WEBM = {".webm"}
_WEBM_AUDIO = {"opus", "vorbis"}
_VIDEO_ONLY_CONTAINERS = {"gif", "apng", "webp"}
CONSTANT_RATE_CONTAINERS = {"avi", "y4m", "h264", "264", "hevc", "h265", "265", "ivf"}
_CODEC_FLAGS = ("-c:v", "-vcodec", "-codec:v", "-c:v:0", "-codec:v:0", "-c", "-codec")
_PIXFMT_FLAGS = ("-pix_fmt", "-pix_fmt:v", "-pix_fmt:v:0")


@dataclasses.dataclass
class Trim:
    """A frame-accurate cut: frames ``[start_frame, end_frame)``; ``start_s``/``duration_s`` are the same cut
    on the source timeline (seconds from the container start) for the audio and subtitles."""

    start_frame: int
    end_frame: int
    start_s: float
    duration_s: float | None


@dataclasses.dataclass
class StreamPolicy:
    """Which of the source's other streams are carried over, and how audio is coded ("copy" = untouched)."""

    audio: bool = True
    subtitles: bool = True
    metadata: bool = True
    audio_codec: str = "copy"


@dataclasses.dataclass
class EncodeCommand:
    """The built command and the decisions behind it (for logs and the run report)."""

    argv: list[str]
    video_codec: str | None
    pix_fmt: str | None
    container: str
    warnings: list[str]
    uses_source: bool

    def describe(self) -> dict[str, Any]:
        return {"argv": self.argv, "video_codec": self.video_codec, "pix_fmt": self.pix_fmt,
                "container": self.container, "warnings": self.warnings}


def user_option(args: list[str], flags: tuple[str, ...]) -> str | None:
    """Value of the last occurrence of any of ``flags`` in an ffmpeg argument list, or None."""
    value = None
    for i, a in enumerate(args[:-1]):
        if a in flags:
            value = args[i + 1]
    return value


def enc_pairs_to_args(pairs: list[str]) -> list[str]:
    """``--enc KEY=VALUE`` items -> ``[-KEY, VALUE]`` (``--enc an`` -> ``[-an]``)."""
    out: list[str] = []
    for item in pairs:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not key:
            raise UsageError(f"--enc {item!r}: expected KEY=VALUE such as crf=18 or x265-params=aq-mode=3")
        out += [f"-{key}", value] if sep else [f"-{key}"]
    return out


def container_of(output: str, user_args: list[str]) -> str:
    """Container family: the user's ``-f`` if given, else from the extension ("matroska", "mp4", "webm",
    "image2" or the extension itself)."""
    forced = user_option(user_args, ("-f",))
    if forced:
        return {"mkv": "matroska", "mov": "mp4", "ipod": "mp4"}.get(forced, forced)
    ext = Path(output).suffix.lower()
    if ext in _MATROSKA:
        return "matroska"
    if ext in _MP4:
        return "mp4"
    if ext in _WEBM:
        return "webm"
    return ext.lstrip(".") or "unknown"


def default_encoder(container: str, bit_depth: int, ffmpeg: str) -> tuple[str | None, list[str]]:
    """The encoder and rate settings used when the user names none: libx264 CRF 18 for 8-bit, libx265 CRF 18
    (10/12-bit) above; VP9 for WebM; GIF with a palette made from the clip; the image2 muxer's own choice for image
    sequences."""
    if container == "image2":
        return None, []
    if container == "webm":
        return "libvpx-vp9", ["-crf", "24", "-b:v", "0", "-row-mt", "1"]
    if container == "gif":   # one palette for the clip, computed from its own frames (ffmpeg's documented recipe)
        return "gif", ["-vf", "split[frames][again];[frames]palettegen[palette];[again][palette]paletteuse"]
    if bit_depth > 8 and encoder_pixel_formats(ffmpeg, "libx265") is not None:
        return "libx265", ["-crf", "18", "-preset", "medium"]
    return "libx264", ["-crf", "18", "-preset", "medium"]


def timestamp_args(container: str, ffmpeg_major: int | None) -> list[str]:
    """Encoder options that keep each frame's own timestamp: frames passed through, encoded in the source's time base
    (the default, 1/frame rate, snaps VFR and offset timestamps to a grid). None for AVI and raw streams, which store
    no per-frame timestamps: their time base is the frame rate, which ffmpeg's automatic mode keeps (a passed-through
    millisecond time base was written as a 600 fps AVI)."""
    if container in CONSTANT_RATE_CONTAINERS:
        return []
    new = ffmpeg_major is None
    return (["-fps_mode", "passthrough"] if new or ffmpeg_major >= 5 else ["-vsync", "passthrough"]) + \
        ["-enc_time_base:v", "demux" if new or ffmpeg_major >= 7 else "-1"]


def write_ffmetadata_chapters(chapters: list[dict[str, Any]], trim: Trim, path: Path) -> int:
    """Write the chapters overlapping the trimmed range, shifted to start at 0 and clipped to its length, as
    an ``;FFMETADATA1`` file (millisecond time base). Returns how many were written."""

    def esc(text: str) -> str:
        return "".join("\\" + ch if ch in "=;#\\\n" else ch for ch in str(text))

    lo = trim.start_s
    hi = trim.start_s + trim.duration_s if trim.duration_s is not None else float("inf")
    lines = [";FFMETADATA1"]
    count = 0
    for ch in chapters:
        s, e = max(ch["start"], lo), min(ch["end"], hi)
        if e <= s:
            continue
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round((s - lo) * 1000)}", f"END={round((e - lo) * 1000)}"]
        lines += [f"{esc(k)}={esc(v)}" for k, v in ch.get("metadata", {}).items()]
        count += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count


def audio_codec_for(container: str, source_codecs: list[str], requested: str) -> tuple[str, str | None]:
    """The ``-c:a`` value for the output and a warning when it is not what was asked: WebM holds only Opus and
    Vorbis, so other audio (the usual AAC) is encoded as Opus instead of failing the run; ``--audio-codec`` wins."""
    if requested != "copy" or container != "webm":
        return requested, None
    other = sorted({c for c in source_codecs if c not in _WEBM_AUDIO})
    if not other:
        return "copy", None
    return "libopus", (f"audio ({', '.join(other)}) cannot be copied into WebM; encoding it as Opus (choose the "
                       "encoder with --audio-codec, or write .mkv to keep it untouched)")


def subtitle_action(codec: str, container: str) -> str | None:
    """Codec for one subtitle stream in the output container ("copy", a converter, or None = drop)."""
    if container == "matroska":
        return "srt" if codec == "mov_text" else "copy"     # MP4's timed text has no Matroska mapping
    if container == "mp4":
        return "mov_text" if codec in _TEXT_SUBS else ("copy" if codec == "dvd_subtitle" else None)
    if container == "webm":
        return "webvtt" if codec in _TEXT_SUBS else None
    if container == "mpegts":
        return "copy" if codec == "dvb_subtitle" else None
    return None


def build_encode_command(info: SourceInfo, *, ffmpeg: str, output_file: str, out_width: int, out_height: int,
                         user_args: list[str], trim: Trim | None, policy: StreamPolicy,
                         chapters_file: Path | None = None, trimmed_subtitles: dict[int, Path] | None = None,
                         image_output: bool = False, single_image: bool = False, exact_timestamps: bool = False,
                         start_number: int | None = None, bitexact: bool = False,
                         loglevel: str = "warning") -> EncodeCommand:
    """Assemble the ffmpeg command that reads restored frames (NUT on stdin) and writes ``output_file``.

    ``out_width``/``out_height``: restored frame size in pixels. ``user_args``: options after ``--`` (and
    ``--enc``), appended verbatim after ours so they win. ``trim``: the cut (None = whole source).
    ``chapters_file``: a pre-written ffmetadata file for trimmed chapters; ``trimmed_subtitles``: subtitle
    stream ordinal -> pre-cut text subtitle file (see :mod:`.subtitles`), used instead of the source's streams
    when ``trim`` is set. ``image_output``: image files (a numbered sequence, or with ``single_image`` one file).
    ``exact_timestamps``: the muxer must not shift timestamps to avoid negative decode times (farm chunks, joined by
    their timestamps; not for outputs with audio, whose priming samples NUT would then refuse).
    Raises :class:`UsageError` when the named encoder is missing from the ffmpeg build.
    """
    warnings: list[str] = []
    container = "image2" if image_output else container_of(output_file, user_args)
    # what the encoder is told about colour, and the pixel layout it should imitate: YUV sources keep their
    # own; RGB sources (images) become BT.709 YUV 4:2:0 video at their bit depth
    src_rgb = is_rgb_pixel_format(info.pix_fmt) or info.colour.matrix is None
    colour = video_colour_for_rgb_source(info.colour) if src_rgb else info.colour
    layout = ("yuv420p10le" if info.bit_depth > 8 else "yuv420p") if src_rgb else info.pix_fmt
    # --- pipe input -------------------------------------------------------------------------------------------
    first = trim.start_frame if trim else 0
    pipe_in: list[str] = []
    if not image_output:
        pipe_in += colour.pipe_input_args()
    # The pipe's timestamps start at 0 (the first frame sent); -itsoffset puts that frame where it sits on
    # the output timeline: its source time minus the cut's start (the source input is cut with -ss).
    start_s = trim.start_s if trim else 0.0
    offset = float(info.times[first]) - start_s
    if abs(offset) >= 5e-4:
        pipe_in += ["-itsoffset", f"{offset:.6f}"]
    if info.rotation and not image_output:
        pipe_in += ["-noautorotate", "-display_rotation", f"{info.rotation:g}"]
    argv = [ffmpeg, "-hide_banner", "-nostats", "-v", loglevel, "-y", *pipe_in, "-f", "nut", "-i", "pipe:0"]

    # --- the source as second input (audio, subtitles, chapters, tags) ---------------------------------------
    wants_source = info.kind == "video" and not image_output and (policy.audio or policy.subtitles or policy.metadata)
    maps = ["-map", "0:v:0"]
    codecs: list[str] = []
    if wants_source:
        src_in: list[str] = []
        if trim and (trim.start_s > 0 or trim.duration_s is not None):
            if trim.start_s > 0:
                src_in += ["-ss", f"{trim.start_s:.6f}"]
            if trim.duration_s is not None:
                src_in += ["-t", f"{trim.duration_s:.6f}"]
        argv += [*src_in, "-i", info.path]
        next_input = 2
        carries_streams = container not in _VIDEO_ONLY_CONTAINERS
        if not carries_streams and (info.audio_streams or info.subtitle_streams):
            warnings.append(f"{container} holds a single video stream; the source's audio and subtitles are not "
                            "carried (write .mkv or .mp4 to keep them)")
        if carries_streams and policy.audio and info.audio_streams:
            maps += ["-map", "1:a?"]
            audio_codec, note = audio_codec_for(container, info.audio_codecs, policy.audio_codec)
            if note:
                warnings.append(note)
            codecs += ["-c:a", audio_codec]
            if trim and trim.start_s > 0:
                codecs += ["-copypriorss:a", "0"]  # copied audio starts at the cut, not at the keyframe before
        chapters_input = None
        if policy.metadata and chapters_file is not None:
            argv += ["-f", "ffmetadata", "-i", str(chapters_file)]
            chapters_input = next_input
            next_input += 1
        if carries_streams and policy.subtitles:
            k = 0
            for j, codec in enumerate(info.subtitle_streams):
                action = subtitle_action(codec, container)
                if action is None:
                    warnings.append(f"subtitle stream {j} ({codec}) cannot be stored in {container}; dropped "
                                    "(use .mkv to keep it)")
                    continue
                if trim is not None:
                    cut = (trimmed_subtitles or {}).get(j)
                    if cut is None:
                        warnings.append(f"subtitle stream {j} ({codec}) is not text and cannot be cut; dropped")
                        continue
                    if cut.suffix == ".srt" and cut.exists() and cut.stat().st_size == 0:
                        # ffmpeg cannot read an SRT file without cues: the whole run used to fail on it
                        warnings.append(f"subtitle stream {j} ({codec}) has no cue inside the cut; left out")
                        continue
                    argv += ["-i", str(cut)]
                    maps += ["-map", f"{next_input}:s:0"]
                    next_input += 1
                    if action == "copy" and codec not in ("ass", "ssa", "subrip", "srt"):
                        action = "srt"  # the cut cues are written as SRT
                    tags = info.subtitle_tags[j] if j < len(info.subtitle_tags) else {}
                    for key in ("language", "title", "handler_name"):
                        if key in tags:
                            codecs += [f"-metadata:s:s:{k}", f"{key}={tags[key]}"]
                    # the cut file is a new input: without this, "forced" was lost and ffmpeg made the first
                    # subtitle the default
                    if j < len(info.subtitle_dispositions):
                        codecs += [f"-disposition:s:{k}", info.subtitle_dispositions[j]]
                else:
                    maps += ["-map", f"1:s:{j}"]
                codecs += [f"-c:s:{k}", action]
                k += 1
        if container == "matroska" and info.attachment_streams:
            maps += ["-map", "1:t?"]
        note = telemetry_note(info, policy)
        if note:
            warnings.append(note)
        if policy.metadata:
            # global tags from the source; the video stream's own tags set one by one, because a
            # stream-specific -map_metadata would switch off ffmpeg's automatic copying of the audio,
            # subtitle and attachment stream tags (languages, attachment file names)
            codecs += ["-map_metadata", "1"]
            moved = timecodes_for(info, trim.start_frame if trim else 0, warnings)
            for key, value in info.video_metadata.items():
                codecs += ["-metadata:s:v:0", f"{key}={moved.get(('stream', key), value)}"]
            codecs += [arg for (scope, key), value in moved.items() if scope == "global"
                       for arg in ("-metadata", f"{key}={value}")]
            codecs += ["-disposition:v:0", info.video_disposition]   # the pipe's video stream has none of its own
            codecs += ["-map_chapters", str(chapters_input if chapters_input is not None else 1)]
        else:
            codecs += ["-map_metadata", "-1", "-map_chapters", "-1"]

    if info.kind == "images" and not image_output and policy.metadata and info.image_sequence is not None:
        # stills have no container tags; the video keeps when its first frame was shot (EXIF capture time)
        stamp = creation_time_of(info.image_sequence.files[first])
        if stamp is not None:
            codecs += ["-metadata", f"creation_time={stamp}"]

    # --- video encoder ---------------------------------------------------------------------------------------
    user_codec = user_option(user_args, _CODEC_FLAGS)
    video: list[str] = []
    if user_codec is None:
        codec, rate_args = default_encoder(container, info.bit_depth, ffmpeg)
        if codec:
            video += ["-c:v", codec, *rate_args]
    else:
        codec = user_codec
    if codec and codec != "copy" and encoder_pixel_formats(ffmpeg, codec) is None:
        raise UsageError(f"build_encode_command: encoder '{codec}' is not in the ffmpeg build at {ffmpeg}; "
                         "list the available ones with 'ffmpeg -encoders' or pick another -c:v")
    user_pix_fmt = user_option(user_args, _PIXFMT_FLAGS)
    pix_fmt = user_pix_fmt
    if pix_fmt is None:
        if image_output:
            wanted = "rgb48le" if info.bit_depth > 8 else "rgb24"
            image_codec = {".png": "png", ".tif": "tiff", ".tiff": "tiff"}.get(Path(output_file).suffix.lower())
            pix_fmt = pick_pixel_format(wanted, encoder_pixel_formats(ffmpeg, image_codec)) if image_codec else None
        elif codec and codec != "gif":       # the GIF encoder's palette formats come from paletteuse
            pix_fmt, note = output_pixel_format(layout, encoder_pixel_formats(ffmpeg, codec), out_width, out_height)
            if note:
                warnings.append(note)
        if pix_fmt:
            video += ["-pix_fmt", pix_fmt]
    video += timestamp_args(container, ffmpeg_major_version(ffmpeg))
    sar = info.sample_aspect_ratio
    if sar and not image_output:  # restate the display aspect (the pipe loses the SAR; scaling keeps the DAR)
        dar = sar * info.width / info.height
        video += ["-aspect", f"{dar.numerator}:{dar.denominator}"]
    if not image_output:
        video += colour.output_args(rgb_output=bool(pix_fmt and is_rgb_pixel_format(pix_fmt)))
        if container == "mp4" and codec in ("libx265", "hevc_nvenc", "hevc_qsv", "hevc_vaapi"):
            video += ["-tag:v", "hvc1"]
    if exact_timestamps:     # farm chunks (video only): negative decode times stored, so no chunk is shifted
        video += ["-avoid_negative_ts", "disabled"]
    if single_image:       # one image file, not a numbered sequence (image2 would warn about the missing pattern)
        video += ["-frames:v", "1", "-update", "1"]
    elif image_output and start_number is not None:
        video += ["-start_number", str(start_number)]
    if bitexact:
        video += ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]

    tail = video + codecs + list(user_args)
    if info.hdr and not image_output:
        if codec == "libx265":
            tail = merge_codec_params(tail, "-x265-params", info.hdr.x265_params())
        elif codec == "libsvtav1":
            tail = merge_codec_params(tail, "-svtav1-params", info.hdr.svtav1_params())
        else:
            warnings.append(f"HDR10 mastering display / light level metadata cannot be passed to encoder "
                            f"'{codec}'; use libx265 or libsvtav1 to keep it")
    if colour.is_hdr and pix_fmt and int(_depth(pix_fmt)) < 10:
        warnings.append(f"HDR source ({info.colour.transfer}) encoded with 8-bit {pix_fmt}; expect banding")
    argv += maps + tail + [output_file]
    for w in warnings:
        log.warning("%s", w)
    return EncodeCommand(argv=argv, video_codec=codec, pix_fmt=pix_fmt, container=container, warnings=warnings,
                         uses_source=wants_source)


def _depth(pix_fmt: str) -> int:
    from .colour import bit_depth

    return bit_depth(pix_fmt)


def display_argv(cmd: EncodeCommand, temp_output: str, final_output: str) -> list[str]:
    """The argv with the temporary output name replaced by the final one (for ``--dry-run``)."""
    return [final_output if a == temp_output else a for a in cmd.argv]


STDOUT_NAMES = ("-", "pipe:", "pipe:1", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def writes_to_stdout(output: str) -> bool:
    """True when ``-o`` names this process's standard output (``-``, ``pipe:1``, ``/dev/stdout``...): the encoder
    writes there itself (its own stdout would otherwise be a null device), with no temporary file."""
    return output in STDOUT_NAMES


def ensure_stdout_format(user_args: list[str]) -> None:
    """Writing to stdout (``-o -``) needs an explicit container format."""
    if user_option(user_args, ("-f",)) is None:
        raise UsageError("-o - (write to stdout) needs a container format; add it after --, e.g. "
                         "'-- -f matroska' or '-- -f nut'")


__all__ = ["Trim", "StreamPolicy", "EncodeCommand", "build_encode_command", "write_ffmetadata_chapters",
           "enc_pairs_to_args", "container_of", "default_encoder", "display_argv", "user_option",
           "ensure_stdout_format", "writes_to_stdout"]


def telemetry_note(info: SourceInfo, policy: StreamPolicy) -> str | None:
    """The warning for the source's telemetry data streams, which no output carries (None when it has none)."""
    if not info.telemetry_streams:
        return None
    return (f"data stream(s) {', '.join(repr(n) for n in info.telemetry_streams)} (telemetry) are not copied: "
            "their timing belongs to the source's frames; keep the source for them"
            + (" (chapters and the timecode are carried)" if policy.metadata else ""))


def timecodes_for(info: SourceInfo, first_frame: int, warnings: list[str]) -> dict[tuple[str, str], str]:
    """The source's timecode tags (video stream and global) moved to the output's first frame, keyed by (scope,
    key); empty when the output starts at frame 0. One that cannot be read is emptied with a warning rather than
    left naming the wrong frame."""
    if first_frame <= 0:
        return {}
    moved: dict[tuple[str, str], str] = {}
    for scope, tags in (("stream", info.video_metadata), ("global", info.metadata)):
        for key, value in tags.items():
            if key.lower() != "timecode":
                continue
            shifted = shift_timecode(value, first_frame, info.frame_rate or 0)
            if shifted is None:
                warnings.append(f"timecode {value!r} cannot be moved to the cut's first frame; left out")
            moved[(scope, key)] = shifted or ""
    return moved
