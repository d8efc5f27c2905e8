"""Joining chunk files by copying their packets (PyAV), then muxing the source's other streams (ffmpeg).

Not the ffmpeg concat demuxer: it re-bases timestamps (measured: first
pts 0.042 -> 0.000 and most pts shifted by about 1 ms), which breaks VFR material. Here every packet keeps the
timestamp its chunk's encoder gave it, which is the source timeline, so the joined stream has the single-pass
timestamps. The chunks must have been encoded with identical settings (same encoder, size, pixel format and
codec headers); this is checked and a mismatch is refused rather than written as a broken stream.

The final step reuses :func:`ffmpeg_filter.encode.mux_with_source` (stream copy of the joined video plus the
source's audio, subtitles, attachments, chapters and tags), i.e. what the single-file tool's encoder command
carries over.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from .. import atomic
from ..command import (CONSTANT_RATE_CONTAINERS, StreamPolicy, audio_codec_for, container_of, subtitle_action,
                       telemetry_note)
from ..encode import mux_with_source
from ..errors import FilterError
from ..probe import SourceInfo

log = logging.getLogger(__name__)

class JoinError(FilterError):
    """Chunk files cannot be joined (missing, damaged, or encoded with different settings)."""


@dataclasses.dataclass
class JoinResult:
    """The joined video: ``frames`` packets, first timestamp ``start_us`` (microseconds on the container's
    timeline) and the codec."""

    path: Path
    frames: int
    start_us: int
    codec: str


def _signature(stream: object) -> tuple[object, ...]:
    ctx = stream.codec_context  # type: ignore[attr-defined]
    return (ctx.name, ctx.width, ctx.height, getattr(ctx.format, "name", None), bytes(ctx.extradata or b""))


def reorder_delay(pts: Sequence[int]) -> int:
    """How many frames the encoder delayed (B-frame reordering) in a stream whose packets, in decode order,
    carry the presentation times ``pts``: the most earlier-decoded packets with a later time any packet has."""
    delay = 0
    for i, p in enumerate(pts):
        delay = max(delay, sum(1 for q in pts[max(0, i - 16):i] if q > p))
    return delay


def decode_times(pts: Sequence[int], durations: Sequence[int], delay: int) -> list[int]:
    """Decode timestamps for packets (decode order) whose container stores none (Matroska).

    The rule libavformat itself falls back on (a sorted buffer of the last ``delay + 1`` presentation times;
    the smallest becomes the decode time; the buffer starts with times extrapolated backwards by one frame
    duration each) gives decode times that increase and never exceed the presentation time. It is written
    out here because libavformat's own fallback for unset timestamps is deprecated.
    """
    out: list[int] = []
    buf: list[int] = []
    for i, p in enumerate(pts):
        if i == 0:
            d = int(durations[0]) or 1
            buf = [p] + [p + (k - delay - 1) * d for k in range(1, delay + 1)]
        else:
            buf[0] = p
        for k in range(delay):
            if buf[k] > buf[k + 1]:
                buf[k], buf[k + 1] = buf[k + 1], buf[k]
        out.append(buf[0])
    return out


def _scan(path: Path) -> tuple[tuple[object, ...], list[tuple[int, int | None, int]]]:
    """Signature and (pts, dts, duration) of the video packets of one chunk file, in the stream's time base."""
    import av

    try:
        src = av.open(os.fspath(path))
    except (av.FFmpegError, OSError) as exc:
        raise JoinError(f"join_chunks: chunk file '{path}' cannot be read ({exc}); delete it and rerun the same "
                        "command to redo that chunk") from exc
    with src:
        if not src.streams.video:
            raise JoinError(f"join_chunks: chunk file '{path}' has no video stream")
        stream = src.streams.video[0]
        packets = []
        for packet in src.demux(stream):
            if packet.size == 0:
                continue
            if packet.pts is None:
                raise JoinError(f"join_chunks: chunk file '{path}' has a packet without a timestamp")
            packets.append((int(packet.pts), None if packet.dts is None else int(packet.dts),
                            int(packet.duration or 0)))
        return _signature(stream), packets


def join_chunks(chunk_files: Sequence[Path], output: Path, *, expected_frames: Sequence[int]) -> JoinResult:
    """Copy the video packets of ``chunk_files`` (in order) into ``output`` (container from its extension),
    with their timestamps unchanged. ``expected_frames[i]`` is the number of frames chunk i must hold. The
    file is written under a temporary name and renamed when complete. Raises :class:`JoinError`."""
    import av

    if not chunk_files:
        raise JoinError("join_chunks: no chunk files to join")
    if len(expected_frames) != len(chunk_files):
        raise JoinError(f"join_chunks: {len(chunk_files)} chunk files but {len(expected_frames)} frame counts")
    # pass 1: check every chunk before writing anything, and work out decode times where the container has none
    reference = None
    all_packets: list[tuple[int, int | None, int]] = []
    for path, expected in zip(chunk_files, expected_frames):
        sig, packets = _scan(path)
        if reference is None:
            reference = sig
        elif sig != reference:
            raise JoinError(f"join_chunks: chunk file '{path}' was encoded with other settings than "
                            f"'{chunk_files[0]}' (codec, size, pixel format or codec headers differ); the chunks "
                            "of one video must come from the same encoder and options")
        if len(packets) != expected:
            raise JoinError(f"join_chunks: chunk file '{path}' holds {len(packets)} frames, {expected} expected; "
                            "delete it and rerun the same command to redo that chunk")
        if all_packets and packets and min(p for p, _, _ in packets) <= max(p for p, _, _ in all_packets):
            raise JoinError(f"join_chunks: chunk file '{path}' starts before the previous chunks end (timestamps "
                            f"{min(p for p, _, _ in packets)} <= {max(p for p, _, _ in all_packets)}); the chunk "
                            "files are out of order or belong to another plan")
        all_packets += packets
    pts = [p for p, _, _ in all_packets]
    if any(d is None for _, d, _ in all_packets):
        dts = decode_times(pts, [d for _, _, d in all_packets], reorder_delay(pts))
    else:
        dts = [d for _, d, _ in all_packets]  # type: ignore[misc]
        bad = next((i for i in range(1, len(dts)) if dts[i] <= dts[i - 1]), None)
        if bad is not None:
            raise JoinError(f"join_chunks: decode times go backwards at frame {bad} of the joined stream; the "
                            "chunks' encoder delays frames differently, use the same encoder options for all")
    # pass 2: copy
    tmp = atomic.temp_path_for(output)
    k = 0
    try:
        with av.open(os.fspath(chunk_files[0])) as first:
            template = first.streams.video[0]
            codec = template.codec_context.name
            time_base = template.time_base
            out = av.open(os.fspath(tmp), "w")
            try:
                ostream = out.add_stream_from_template(template)
                for path in chunk_files:
                    with av.open(os.fspath(path)) as src:
                        stream = src.streams.video[0]
                        if stream.time_base != time_base:
                            raise JoinError(f"join_chunks: chunk file '{path}' has time base {stream.time_base}, "
                                            f"the first chunk {time_base}")
                        for packet in src.demux(stream):
                            if packet.size == 0:
                                continue
                            packet.dts = dts[k]
                            packet.stream = ostream
                            out.mux(packet)
                            k += 1
            finally:
                out.close()
        os.replace(tmp, output)
    except av.FFmpegError as exc:
        raise JoinError(f"join_chunks: writing '{output}' failed ({exc})") from exc
    finally:
        atomic.discard(tmp)
    start = min(pts) * Fraction(time_base.numerator, time_base.denominator)
    return JoinResult(path=output, frames=k, start_us=round(start * 1_000_000), codec=codec)


def final_mux_args(info: SourceInfo, output: Path, policy: StreamPolicy, *,
                   bitexact: bool) -> tuple[list[str], list[str]]:
    """Output options for :func:`mux_with_source` that apply the stream policy (``--no-audio``, ``--no-subs``,
    ``--no-metadata``, ``--audio-codec``) and the output container's subtitle rules, plus warnings."""
    args: list[str] = []
    warnings: list[str] = []
    container = container_of(str(output), [])
    if not policy.audio:
        args += ["-an"]
    else:
        audio_codec, note = audio_codec_for(container, info.audio_codecs, policy.audio_codec)
        if audio_codec != "copy":
            args += ["-c:a", audio_codec]
        if note and info.audio_streams:
            warnings.append(note)
    if container in CONSTANT_RATE_CONTAINERS and info.frame_rate:
        # AVI stores no timestamps: without the rate a copied stream gets a time base guessed from the joined file's
        # timestamps (a 600 fps AVI was written)
        args += ["-r", str(info.frame_rate)]
    if not policy.subtitles:
        args += ["-sn"]
    else:       # the single-file tool's rule per stream: copy, convert (e.g. mov_text -> SRT in .mkv) or drop
        kept = 0
        for j, codec in enumerate(info.subtitle_streams):
            action = subtitle_action(codec, container)
            if action is None:
                args += ["-map", f"-1:s:{j}"]
                warnings.append(f"subtitle stream {j} ({codec}) cannot be stored in {container}; dropped (use .mkv "
                                "to keep it)")
                continue
            args += [f"-c:s:{kept}", action]
            kept += 1
    note = telemetry_note(info, policy)
    if note:
        warnings.append(note)
    if policy.metadata:      # the joined chunks came from a pipe: the video's own disposition, as in one pass
        args += ["-disposition:v:0", info.video_disposition]
    if not policy.metadata:
        # mux_with_source maps the source's tags and chapters; a later "-map_metadata -1" would not undo that
        # mapping, so drop the chapters and blank every container tag (an empty value deletes a tag)
        args += ["-map_chapters", "-1"]
        for key in info.metadata:
            args += ["-metadata", f"{key}="]
    if bitexact:
        args += ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
    return args, warnings


def mux_final(joined: JoinResult, info: SourceInfo, output_tmp: Path, *, ffmpeg: str, policy: StreamPolicy,
              bitexact: bool = False) -> list[str]:
    """Write ``output_tmp``: the joined video (stream copy, timestamps unchanged) plus the source's other
    streams per ``policy``. Returns warnings."""
    args, warnings = final_mux_args(info, output_tmp, policy, bitexact=bitexact)
    if container_of(str(output_tmp), []) == "avi" and joined.codec in ("h264", "hevc"):
        args += ["-bsf:v", f"{joined.codec}_mp4toannexb"]   # AVI holds start codes; a no-op on Annex B input
    # ffmpeg re-bases each input to its own first timestamp; -itsoffset by the joined file's start cancels that
    # for the video, so both the video and the source's streams stay on the source timeline
    video_args = ["-itsoffset", f"{joined.start_us}us"] if joined.start_us else []
    tags = info.video_metadata if policy.metadata else None
    mux_with_source(joined.path, info.path, output_tmp, ffmpeg=ffmpeg, extra_args=args, video_tags=tags,
                    video_args=video_args)
    for w in warnings:
        log.warning("%s", w)
    return warnings
