"""Text subtitles for trimmed runs: cues shifted to the cut and clipped to it.

ffmpeg cannot do this itself: a stream-copied subtitle stream of a seeked input keeps its cues from before
``-ss`` with negative times (which then shift the whole output), ``-copypriorss 0`` drops a cue that started
before the cut even if it is still on screen, and re-encoding subtitles ignores the seek altogether (all three
checked with ffmpeg 9.0.2). So for a trim the cues of each text subtitle stream are read with PyAV, moved and
clipped here, and written as a small SRT (or ASS, keeping the styles header) file that the encoder command
reads instead of the source's stream. Bitmap subtitles are not handled (they are dropped with a warning).
"""

from __future__ import annotations

import logging
from pathlib import Path

from .command import Trim

log = logging.getLogger(__name__)

TEXT_CODECS = {"subrip", "srt", "mov_text", "webvtt", "text", "ass", "ssa"}


def srt_time(seconds: float) -> str:
    """SRT cue time ``HH:MM:SS,mmm`` of ``seconds`` (rounded to the millisecond; negative times read 0)."""
    h, m, s, ms = _clock(seconds, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _ass_time(seconds: float) -> str:
    h, m, s, cs = _clock(seconds, 100)
    return f"{h:d}:{m:02d}:{s:02d}.{cs:02d}"


def _clock(seconds: float, ticks: int) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, ticks) of ``seconds`` rounded to 1/``ticks`` s; negative times read 0."""
    n = max(0, int(round(seconds * ticks)))
    h, rem = divmod(n, 3600 * ticks)
    m, rem = divmod(rem, 60 * ticks)
    s, frac = divmod(rem, ticks)
    return h, m, s, frac


def _cue_text(codec: str, payload: bytes) -> str:
    if codec == "mov_text":  # tx3g: 16-bit big-endian length, then UTF-8 text, then optional style boxes
        n = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 0
        payload = payload[2:2 + n]
    return payload.decode("utf-8", "replace").rstrip("\x00")


def write_trimmed_subtitles(source: str, ordinal: int, codec: str, trim: Trim, container_start: float,
                            target_dir: Path) -> Path | None:
    """Write the cues of the ``ordinal``-th subtitle stream of ``source`` that overlap ``trim``, shifted so the
    cut starts at 0 and clipped to its length. Returns the written ``.srt``/``.ass`` path, or None for a
    bitmap codec. Times are seconds from the container start (``container_start`` is subtracted)."""
    import av

    if codec not in TEXT_CODECS:
        return None
    lo = trim.start_s
    hi = lo + trim.duration_s if trim.duration_s is not None else float("inf")
    cues: list[tuple[float, float, str]] = []
    header = ""
    with av.open(source) as container:
        stream = container.streams.subtitles[ordinal]
        if codec in ("ass", "ssa") and stream.codec_context is not None and stream.codec_context.extradata:
            header = bytes(stream.codec_context.extradata).decode("utf-8", "replace")
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            start = float(packet.pts * packet.time_base) - container_start
            end = start + float((packet.duration or 0) * packet.time_base)
            if end <= start:
                end = start + 2.0  # cue without duration: show it for two seconds
            if end <= lo or start >= hi:
                continue
            cues.append((max(start, lo) - lo, min(end, hi) - lo, _cue_text(codec, bytes(packet))))
    if codec in ("ass", "ssa") and header:
        path = target_dir / f"subs_{ordinal}.ass"
        lines = [header.rstrip("\n")]
        for a, b, text in cues:
            # packet text: ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text
            fields = text.split(",", 8)
            if len(fields) == 9:
                _, layer, style, name, ml, mr, mv, effect, body = fields
                lines.append(f"Dialogue: {layer},{_ass_time(a)},{_ass_time(b)},{style},{name},{ml},{mr},{mv},"
                             f"{effect},{body}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path = target_dir / f"subs_{ordinal}.srt"
        path.write_text("".join(f"{k + 1}\n{srt_time(a)} --> {srt_time(b)}\n{text}\n\n"
                                for k, (a, b, text) in enumerate(cues)), encoding="utf-8")
    log.debug("subtitle stream %d: %d cues in the cut -> %s", ordinal, len(cues), path.name)
    return path
