"""An ffprobe-like summary of a media file with PyAV (the project ships no ffprobe), and a before/after check.

``python -m ffmpeg_filter.inspect SOURCE [OUTPUT]`` prints, as JSON, the streams (codec, size, pixel format,
colour tags, HDR10 side data, language/title tags), chapters, container tags, the video frame count and
timestamp spacing, and an MD5 over each audio/subtitle stream's packets. Given two files it adds a
``preserved`` section saying, item by item, whether the output kept what the source had (audio bit-exact,
subtitle text, chapters, tags, colour, HDR10, frame timing).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from fractions import Fraction
from typing import Any

from .colour import (MATRIX_NAMES, PRIMARIES_NAMES, RANGE_NAMES, TRANSFER_NAMES, hdr_from_frame)


def _tb(value: Any) -> Fraction:
    return Fraction(value.numerator, value.denominator)


def media_summary(path: str | os.PathLike) -> dict[str, Any]:
    """Streams, tags, chapters, colour, HDR10 and per-stream packet digests of ``path`` (JSON-ready)."""
    import av

    text = os.fspath(path)
    with av.open(text) as c:
        info: dict[str, Any] = {
            "file": text, "format": c.format.name, "size_bytes": os.path.getsize(text),
            "tags": dict(c.metadata),
            "chapters": [{"start": round(float(ch["start"] * _tb(ch["time_base"])), 3),
                          "end": round(float(ch["end"] * _tb(ch["time_base"])), 3),
                          "title": (ch.get("metadata") or {}).get("title")} for ch in c.chapters()],
            "streams": [],
        }
        digests: dict[int, Any] = {s.index: hashlib.md5() for s in c.streams}
        counts = {s.index: 0 for s in c.streams}
        video_pts: list[float] = []
        v0 = c.streams.video[0].index if c.streams.video else None
        for packet in c.demux():
            if packet.size == 0:
                continue
            i = packet.stream.index
            counts[i] += 1
            if i == v0:
                if packet.pts is not None:
                    video_pts.append(float(packet.pts * packet.time_base))
            else:
                digests[i].update(bytes(packet))
        for s in c.streams:
            entry: dict[str, Any] = {"index": s.index, "type": s.type, "packets": counts[s.index],
                                     "tags": {k: v for k, v in s.metadata.items()
                                              if k.upper() not in ("DURATION", "ENCODER")}}
            cc = s.codec_context
            entry["codec"] = cc.name if cc is not None else None
            if s.type == "video" and cc is not None:
                entry.update({"width": cc.width, "height": cc.height, "pix_fmt": cc.pix_fmt,
                              "matrix": MATRIX_NAMES.get(int(cc.colorspace)),
                              "primaries": PRIMARIES_NAMES.get(int(cc.color_primaries)),
                              "transfer": TRANSFER_NAMES.get(int(cc.color_trc)),
                              "range": RANGE_NAMES.get(int(cc.color_range))})
            elif s.index != v0:
                entry["md5"] = digests[s.index].hexdigest()
            info["streams"].append(entry)
        if v0 is not None:
            c.seek(0)
            first = next(c.decode(video=0), None)
            hdr = hdr_from_frame(first)[0] if first is not None else None
            pts = sorted(video_pts)
            gaps = [round(b - a, 4) for a, b in zip(pts, pts[1:])]
            info["video"] = {"frames": len(pts), "first_pts_s": pts[0] if pts else None,
                             "last_pts_s": pts[-1] if pts else None,
                             "frame_gaps_s": sorted(set(gaps)),
                             "hdr10": hdr.as_dict() if hdr else None}
    return info


def _deep(pix_fmt: str | None) -> bool:
    return bool(pix_fmt) and pix_fmt.endswith(("10le", "10be", "12le", "12be", "16le", "16be"))  # type: ignore[union-attr]


def compare(source: dict[str, Any], output: dict[str, Any]) -> dict[str, bool]:
    """Item-by-item: did ``output`` keep what ``source`` had? (Both from :func:`media_summary`.)"""
    def of(info: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        return [s for s in info["streams"] if s["type"] == kind]

    sv, ov = of(source, "video")[0], of(output, "video")[0]
    result = {
        "audio_bit_exact": [s["md5"] for s in of(source, "audio")] == [s["md5"] for s in of(output, "audio")],
        "audio_languages": [s["tags"].get("language") for s in of(source, "audio")]
        == [s["tags"].get("language") for s in of(output, "audio")],
        "subtitle_streams": len(of(source, "subtitle")) == len(of(output, "subtitle")),
        "subtitle_languages": [s["tags"].get("language") for s in of(source, "subtitle")]
        == [s["tags"].get("language") for s in of(output, "subtitle")],
        "chapters": source["chapters"] == output["chapters"],
        "container_tags": all(output["tags"].get(k) == v for k, v in source["tags"].items()
                              if k.upper() not in ("ENCODER", "MAJOR_BRAND", "MINOR_VERSION", "COMPATIBLE_BRANDS")),
        "colour_tags": all(sv.get(k) == ov.get(k) for k in ("matrix", "primaries", "transfer", "range")),
        "bit_depth": _deep(sv.get("pix_fmt")) == _deep(ov.get("pix_fmt")),
        "hdr10": source["video"]["hdr10"] == output["video"]["hdr10"],
        "frame_count": source["video"]["frames"] == output["video"]["frames"],
        "frame_timing": source["video"]["frame_gaps_s"] == output["video"]["frame_gaps_s"],
    }
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m ffmpeg_filter.inspect FILE [OUTPUT]``: JSON summary (and preservation check) on stdout."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= len(args) <= 2 or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: python -m ffmpeg_filter.inspect FILE [RESTORED_FILE]\n")
        return 2
    try:
        summaries = [media_summary(a) for a in args]
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"inspect: {exc}\n")
        return 1
    doc: dict[str, Any] = {"source": summaries[0]} if len(summaries) == 1 else {
        "source": summaries[0], "output": summaries[1], "preserved": compare(*summaries)}
    sys.stdout.write(json.dumps(doc, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
