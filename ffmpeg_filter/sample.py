"""Generated sample clips (test pattern + tone + subtitles + chapters + tags) for demos and tests.

:func:`make_sample_clip` drives the ffmpeg binary's ``lavfi`` sources (``testsrc2`` moving pattern, ``sine``
tone), optionally motion-blurred with ``tmix`` so there is something to restore. The command is composed with
ffmpeg-python (a plain multi-input graph is what it is good at); the subtitle and chapter text is written to
temporary files first. Nothing is downloaded.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

from .atomic import commit_file, discard, temp_path_for
from .binary import find_ffmpeg
from .encode import run_ffmpeg
from .errors import OutputError
from .subtitles import srt_time

HDR10_MASTER_DISPLAY = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
HDR10_MAX_CLL = "1000,400"


def _frame_times(frames: int, rate: Fraction, vfr: bool) -> list[float]:
    if not vfr:
        return [i / float(rate) for i in range(frames)]
    half = frames // 2
    return [i / float(rate) if i < half else (half + 2 * (i - half)) / float(rate) for i in range(frames)]


def make_sample_clip(path: str | os.PathLike, frames: int = 48, size: tuple[int, int] = (64, 48), *,
                     fps: str | Fraction = "24000/1001", audio: bool = True, subtitles: bool = True,
                     chapters: bool = True, tags: bool = True, blur: bool = True, pix_fmt: str = "yuv420p",
                     codec: str | None = None, matrix: str | None = "bt709", primaries: str | None = "bt709",
                     transfer: str | None = "bt709", color_range: str = "tv", hdr10: bool = False,
                     vfr: bool = False, interlaced: bool = False, subtitle_lines: list[str] | None = None,
                     overwrite: bool = False, ffmpeg: str | None = None) -> Path:
    """Write a short test clip to ``path`` and return it.

    ``frames``: number of video frames; ``size``: (width, height) in pixels; ``fps``: frame rate (for
    ``vfr=True`` the second half of the frames is shown at half that rate). ``audio``: a 440 Hz AAC tone
    (English tag) as long as the video. ``subtitles``: one cue per second (French tag); ``subtitle_lines``,
    when given, replaces them with one cue per frame holding that text (how DJI telemetry SRTs look).
    ``chapters``: two chapters; ``tags``: container title/artist/comment and a video stream title.
    ``blur``: average 3 neighbouring frames (a motion-blur look). ``pix_fmt``/``codec``: pixel format and
    encoder (default libx264, libx265 above 8 bit); ``matrix``/``primaries``/``transfer``/``color_range``:
    colour tags (ffmpeg names); ``hdr10``: BT.2020 PQ tags plus mastering display and content light level
    (implies libx265). ``interlaced``: the pattern is rendered at twice ``fps`` and woven into top-field-first
    frames, encoded as interlaced (libx264 only), like broadcast or DV video. The container follows the extension
    (.mkv keeps everything; .mp4 stores subtitles as mov_text). Raises :class:`OutputError` if ``path`` exists and
    ``overwrite`` is false, ValueError for ``interlaced`` with another encoder.
    """
    import ffmpeg as ffmpeg_python

    exe = find_ffmpeg(ffmpeg)
    out = Path(os.fspath(path))
    if out.exists() and not overwrite:
        raise OutputError(f"make_sample_clip: '{out}' already exists; pass overwrite=True")
    rate = Fraction(fps)
    width, height = size
    times = _frame_times(frames, rate, vfr)
    duration = (times[-1] + (2 if vfr else 1) / float(rate)) if frames else 0.0
    if hdr10:
        matrix, primaries, transfer = "bt2020nc", "bt2020", "smpte2084"
        if pix_fmt == "yuv420p":
            pix_fmt = "yuv420p10le"
    high_depth = "10" in pix_fmt or "12" in pix_fmt
    codec = codec or ("libx265" if (hdr10 or high_depth) else "libx264")
    if interlaced and codec != "libx264":
        raise ValueError(f"make_sample_clip: interlaced=True needs libx264 (8-bit, no HDR), not {codec}")

    with tempfile.TemporaryDirectory(prefix="fmanet-sample-") as tmp:
        src_len = duration + 1.0
        src_rate = 2 * rate if interlaced else rate
        video = ffmpeg_python.input(f"testsrc2=size={width}x{height}:rate={src_rate}:duration={src_len:.3f}",
                                    f="lavfi")
        v = video.video
        if blur:
            v = v.filter("tmix", frames=3)
        if interlaced:   # two fields 1/(2 fps) apart in every frame, top field first
            v = v.filter("tinterlace", mode="interleave_top").filter("setparams", field_mode="tff")
        if vfr:
            half = frames // 2
            v = v.filter("setpts", f"round(if(lt(N,{half}),N,{half}+2*(N-{half}))/({rate})/TB)")
        v = v.filter("format", pix_fmt)
        tag = {k: val for k, val in (("color_primaries", primaries), ("color_trc", transfer)) if val}
        if tag:  # ffmpeg 7.1+ takes these from the frames, not from the -color_* output options
            v = v.filter("setparams", **tag)
        streams = [v]
        kwargs: dict[str, object] = {"c:v": codec, "frames:v": frames}
        if codec == "libx264":
            kwargs.update({"preset": "ultrafast", "crf": 18})
            if interlaced:
                kwargs.update({"flags": "+ildct+ilme", "x264-params": "tff=1"})
        elif codec == "libx265":
            params = ["log-level=error"]
            if hdr10:
                params += ["hdr10=1", "repeat-headers=1", f"master-display={HDR10_MASTER_DISPLAY}",
                           f"max-cll={HDR10_MAX_CLL}"]
            kwargs.update({"preset": "ultrafast", "crf": 18, "x265-params": ":".join(params)})
        if vfr:
            kwargs["fps_mode"] = "passthrough"
        for key, value in (("colorspace", matrix), ("color_range", color_range)):
            if value:
                kwargs[key] = value
        if audio:
            tone = ffmpeg_python.input(f"sine=frequency=440:duration={duration:.6f}:sample_rate=48000", f="lavfi")
            streams.append(tone.audio)
            kwargs.update({"c:a": "aac", "ac": 1, "metadata:s:a:0": "language=eng"})
        if subtitles:
            srt = Path(tmp) / "subs.srt"
            if subtitle_lines is not None:
                cues = [(times[i], times[i] + (times[i + 1] - times[i] if i + 1 < frames else 1 / float(rate)),
                         text) for i, text in enumerate(subtitle_lines[:frames])]
            else:
                cues = [(float(s), min(float(s) + 1.0, duration), f"Subtitle {k + 1}")
                        for k, s in enumerate(range(max(1, round(duration))))]
            srt.write_text("".join(f"{k + 1}\r\n{srt_time(a)} --> {srt_time(b)}\r\n{text}\r\n\r\n"
                                   for k, (a, b, text) in enumerate(cues)), encoding="utf-8")
            streams.append(ffmpeg_python.input(str(srt))["s"])
            kwargs.update({"c:s": "mov_text" if out.suffix.lower() in (".mp4", ".mov", ".m4v") else "srt",
                           "metadata:s:s:0": "language=fra"})
        if chapters or tags:
            meta = Path(tmp) / "meta.ffmetadata"
            lines = [";FFMETADATA1"]
            if tags:
                lines += ["title=FMA-Net++ sample clip", "artist=vs-fmanet", "comment=generated by make_sample_clip"]
            if chapters and duration > 0:
                mid = round(duration * 500)
                lines += ["[CHAPTER]", "TIMEBASE=1/1000", "START=0", f"END={mid}", "title=First half",
                          "[CHAPTER]", "TIMEBASE=1/1000", f"START={mid}", f"END={round(duration * 1000)}",
                          "title=Second half"]
            meta.write_text("\n".join(lines) + "\n", encoding="utf-8")
            # the "d?" selector matches nothing but makes the ffmetadata input part of the graph
            streams.append(ffmpeg_python.input(str(meta), f="ffmetadata")["d?"])
            index = len(streams) - 1
            kwargs.update({"map_metadata": index, "map_chapters": index})
            if tags:
                kwargs["metadata:s:v:0"] = "title=test pattern"
        temp = temp_path_for(out)
        graph = ffmpeg_python.output(*streams, str(temp), **kwargs).compile(cmd=exe)
        # global options go first; ffmpeg-python's global_args() would place them after the output name
        argv = [graph[0], "-hide_banner", "-nostdin", "-v", "error", "-y", *graph[1:]]
        try:
            run_ffmpeg(argv, what="make_sample_clip")
            commit_file(temp, out, overwrite=overwrite)
        finally:
            discard(temp)
    return out
