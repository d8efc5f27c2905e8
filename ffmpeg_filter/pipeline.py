"""One run of the tool: probe -> exposure -> restore -> encode + mux -> rename into place.

:func:`run` is the library form of ``fmanet-ffmpeg`` (the CLI only parses options into :class:`RunOptions`
and maps exceptions to exit codes). Data flow: PyAV decodes the wanted frame range
to float RGB with timestamps (:mod:`.decode`), the exposure readers give each frame's exposure as a
fraction of the frame interval (``vs_fmanet.exposure``), the engine restores frames in order
(:mod:`.restoring`), and an ffmpeg process encodes them while copying everything else from the source
(:mod:`.command`, :mod:`.encode`). Output appears under its name only when complete (:mod:`.atomic`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vs_fmanet.exposure import PREFER_CHOICES as EXPOSURE_SOURCES   # the readers' accepted ``prefer`` values

from . import atomic
from .binary import ffmpeg_version, find_ffmpeg
from .command import (StreamPolicy, Trim, build_encode_command, display_argv, ensure_stdout_format, user_option,
                      write_ffmetadata_chapters, writes_to_stdout)
from .decode import decode_range
from .deinterlace import check_deinterlace_mode, plan_deinterlace
from .encode import EncoderProcess
from .errors import EXIT_FAILURE, EXIT_INTERRUPTED, EncoderError, FilterError, InputError, Terminated, UsageError
from .imageseq import is_sequence_pattern, names_one_image, sequence_output_files
from .probe import SourceInfo, probe_source
from .prefetch import DECODE_AHEAD, Prefetcher
from .progress import Progress
from .restoring import EngineSettings, Restorer, build_restorer
from .still_exif import copy_sequence_exif
from .subtitles import write_trimmed_subtitles

log = logging.getLogger(__name__)


@dataclasses.dataclass
class RunOptions:
    """Everything one run needs. Times are seconds on the source timeline (ffmpeg ``-ss``/``-to``/``-t``
    semantics); ``exposure`` is the per-clip override as text (seconds, ``1/x`` or ``NNNdeg``)."""

    input: str
    output: str
    overwrite: bool = False
    start_s: float | None = None
    to_s: float | None = None
    duration_s: float | None = None
    engine: EngineSettings = dataclasses.field(default_factory=EngineSettings)
    exposure: str | None = None
    exposure_from: str = "auto"
    exposure_sidecar: str | None = None
    fps: Fraction | None = None
    deinterlace: str = "auto"           # --deinterlace auto|on|off (see .deinterlace)
    ffmpeg: str | None = None
    user_args: list[str] = dataclasses.field(default_factory=list)
    policy: StreamPolicy = dataclasses.field(default_factory=StreamPolicy)
    progress: str = "auto"
    progress_interval: float = 0.5
    dry_run: bool = False
    preflight: bool = True
    report: str | None = None
    bitexact: bool = False
    live: bool = False                  # --live: read a stream as it comes, write frames as they are restored
    input_format: str | None = None     # --input-format: FFmpeg's -f for the input (live mode: v4l2, mpegts, ...)
    input_options: dict[str, str] = dataclasses.field(default_factory=dict)   # --input-option (live mode)


@dataclasses.dataclass
class RunReport:
    """What a run did. ``exposure``: the per-frame fractions handed to the engine (None = unknown)."""

    input: str
    output: str
    frames: int
    wall_s: float
    fps: float
    source: dict[str, Any]
    command: list[str]
    ffmpeg: str
    engine: dict[str, Any]
    exposure: list[float | None]
    exposure_sources: list[str]
    exposure_summary: dict[str, Any]
    warnings: list[str]
    trim: dict[str, Any] | None
    dry_run: bool = False
    latency: dict[str, Any] | None = None   # --live: per-frame latency (ms: mean, p50, p95, max)
    deinterlace: str | None = None           # bwdif deint setting used ("interlaced", "all") or None
    exif_copied: int | None = None           # image sequence to images: outputs given their input's EXIF

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------------------------
def compute_trim(info: SourceInfo, start_s: float | None, to_s: float | None, duration_s: float | None) -> Trim | None:
    """Frame-accurate cut for ffmpeg-style ``-ss``/``-to``/``-t``: the frames whose presentation time t
    (seconds from the container start) satisfies start <= t < end. None when no option is given."""
    if start_s is None and to_s is None and duration_s is None:
        return None
    if to_s is not None and duration_s is not None:
        raise UsageError("-to and -t cannot be used together; give the end (-to) or the length (-t)")
    s = float(start_s or 0.0)
    if s < 0:
        raise UsageError(f"-ss {s:g}: the start must not be negative")
    if duration_s is not None and duration_s <= 0:
        raise UsageError(f"-t {duration_s:g}: the duration must be positive")
    e = float(to_s) if to_s is not None else (s + float(duration_s) if duration_s is not None else math.inf)
    if e <= s:
        raise UsageError(f"-to {e:g} is not after -ss {s:g}")
    eps = 1e-6
    idx = np.nonzero((info.times >= s - eps) & (info.times < e - eps))[0]
    if idx.size == 0:
        raise UsageError(f"the range {s:g}s..{e:g}s of '{info.path}' holds no frames (its frames run from "
                         f"{info.times[0]:.3f}s to {info.times[-1]:.3f}s)")
    return Trim(start_frame=int(idx[0]), end_frame=int(idx[-1]) + 1, start_s=s,
                duration_s=None if math.isinf(e) else e - s)


def exposure_for_frames(info: SourceInfo, opts: RunOptions, first: int, last: int
                        ) -> tuple[np.ndarray, list[str], dict[str, Any], list[str]]:
    """Per-frame exposure of frames ``[first, last)`` as fractions of the frame interval (NaN = unknown), the
    source of each value, the track summary and reader warnings."""
    n = last - first
    if opts.exposure_from == "none" and opts.exposure is None:
        return np.full(n, np.nan), ["none"] * n, {"source": "none"}, []
    from vs_fmanet.exposure import ExposureError, parse_exposure_override, probe_exposure

    fps = float(info.frame_rate) if info.frame_rate else None
    if opts.exposure is not None:
        try:
            parse_exposure_override(opts.exposure, fps or 25.0)
        except ValueError as exc:
            raise UsageError(f"--exposure {opts.exposure!r}: {exc}") from exc
    if info.kind == "images":
        # stills are timed by the readers (EXIF sub-seconds, CinemaDNG rate) or by --fps
        times, rate = None, (float(opts.fps) if opts.fps else None)
    else:
        times, rate = info.times - info.times[0], fps  # the readers count from the first video frame
    try:
        track = probe_exposure(info.path, frame_times=times, fps=rate, override=opts.exposure,
                               prefer=opts.exposure_from, sidecar=opts.exposure_sidecar)
    except ExposureError as exc:
        raise InputError(f"exposure metadata ({opts.exposure_from}): {exc}") from exc
    fraction = np.asarray(track.fraction, dtype=np.float64)
    sources = list(track.source)
    warnings = list(track.warnings)      # probe_exposure has logged these already
    if fraction.shape[0] != info.frame_count:
        note = (f"exposure track has {fraction.shape[0]} values for {info.frame_count} frames; missing frames are "
                "treated as unknown")
        warnings.append(note)
        log.warning("exposure: %s", note)
        padded = np.full(info.frame_count, np.nan)
        k = min(info.frame_count, fraction.shape[0])
        padded[:k] = fraction[:k]
        fraction = padded
        sources = (sources + ["none"] * info.frame_count)[: info.frame_count]
    try:
        summary = dict(track.summary())
    except Exception as exc:  # summary is informative only
        summary = {"error": str(exc)}
    return fraction[first:last], sources[first:last], summary, warnings


# ---------------------------------------------------------------------------------------------------------------
def run(opts: RunOptions, *, restorer: Restorer | None = None) -> RunReport:
    """Restore ``opts.input`` into ``opts.output``. ``restorer``: an already-built engine (else built from
    ``opts.engine``). Raises :class:`FilterError` subclasses (see :mod:`.errors`), KeyboardInterrupt or
    :class:`.errors.Terminated`; on any of them the temporary output is removed. ``opts.live``: see :mod:`.live`."""
    if opts.live:
        from .live import run_live

        return run_live(opts, restorer=restorer)
    t_start = time.monotonic()
    ffmpeg = find_ffmpeg(opts.ffmpeg)
    if opts.exposure_from not in EXPOSURE_SOURCES:
        raise UsageError(f"--exposure-from {opts.exposure_from!r}: choose one of {', '.join(EXPOSURE_SOURCES)}")
    check_deinterlace_mode(opts.deinterlace)
    to_stdout = writes_to_stdout(opts.output)
    image_output = not to_stdout and is_sequence_pattern(opts.output)
    # "-o photo_x4.png": one image file (a single still in, or one frame cut out); not a video in a .png name
    single_image = not to_stdout and not image_output and names_one_image(opts.output, opts.user_args)
    if to_stdout:
        ensure_stdout_format(opts.user_args)
    info = probe_source(opts.input, fps=opts.fps, ffmpeg=ffmpeg)
    log.info("input %s: %dx%d %s %s, %d frames%s, %s", info.path, info.width, info.height, info.codec,
             info.pix_fmt, info.frame_count, " (VFR)" if info.is_vfr else "",
             f"{float(info.frame_rate):.3f} fps" if info.frame_rate else "rate unknown")
    if info.kind == "images" and opts.fps is None and info.frame_count > 1:
        log.warning("image sequence without --fps: timing it at 25 frames/s (ffmpeg's default)")
    trim = compute_trim(info, opts.start_s, opts.to_s, opts.duration_s)
    first, last = (trim.start_frame, trim.end_frame) if trim else (0, info.frame_count)
    if single_image and last - first != 1:
        pattern = Path(opts.output).with_name(f"{Path(opts.output).stem}_%04d{Path(opts.output).suffix}")
        one = f"{1 / float(info.frame_rate):.4g}" if info.frame_rate else "0.04"
        raise UsageError(f"-o {opts.output} names one image, but {last - first} frames would be restored; write "
                         f"one image per frame with a numbered pattern such as -o {pattern}, or restore one frame "
                         f"with -ss TIME -t {one} (one frame interval)")
    deint, deint_warnings = plan_deinterlace(opts.deinterlace, info)
    output = Path(opts.output)
    if not to_stdout and not opts.dry_run:
        atomic.check_output_target(output, overwrite=opts.overwrite, inputs=[info.path], sequence=image_output)
    encode_as_images = image_output or single_image

    fractions, exp_sources, exp_summary, exp_warnings = exposure_for_frames(info, opts, first, last)
    known = int(np.count_nonzero(~np.isnan(fractions)))
    log.info("exposure: %d of %d frames known (%s)", known, last - first,
             ", ".join(sorted(set(exp_sources))) or "none")

    if restorer is None:
        restorer = build_restorer(opts.engine)
    scale = int(restorer.scale)
    out_w, out_h = info.width * scale, info.height * scale
    engine_desc = _describe(restorer)

    scratch = Path(tempfile.mkdtemp(prefix="fmanet-ffmpeg-"))
    temp_target: Path | None = None
    progress: Progress | None = None
    enc: EncoderProcess | None = None
    decoder: Prefetcher | None = None
    try:
        chapters_file = None
        trimmed_subs: dict[int, Path] = {}
        if trim and not encode_as_images and info.kind == "video":
            if info.chapters and opts.policy.metadata:
                chapters_file = scratch / "chapters.ffmetadata"
                write_ffmetadata_chapters(info.chapters, trim, chapters_file)
            if opts.policy.subtitles:
                for j, codec in enumerate(info.subtitle_streams):
                    cut = write_trimmed_subtitles(info.path, j, codec, trim, info.container_start, scratch)
                    if cut is not None:
                        trimmed_subs[j] = cut
        if to_stdout:
            encoder_output = "pipe:1"
        elif image_output:
            temp_target = output.parent / f".fmanet-{os.getpid()}-pending.part" if opts.dry_run \
                else atomic.temp_dir_for(output)
            encoder_output = str(temp_target / output.name)
        else:
            temp_target = atomic.temp_path_for(output)
            encoder_output = str(temp_target)
        start_number = None
        if image_output:
            start_number = (info.image_sequence.start_number + first) if info.image_sequence else 1
            if user_option(opts.user_args, ("-start_number",)) is not None:
                start_number = None
        cmd = build_encode_command(info, ffmpeg=ffmpeg, output_file=encoder_output, out_width=out_w,
                                   out_height=out_h, user_args=opts.user_args, trim=trim, policy=opts.policy,
                                   chapters_file=chapters_file, trimmed_subtitles=trimmed_subs,
                                   image_output=encode_as_images, single_image=single_image,
                                   start_number=start_number, bitexact=opts.bitexact)
        shown = display_argv(cmd, encoder_output, opts.output if not image_output else str(output))
        report = RunReport(input=info.path, output=opts.output, frames=last - first, wall_s=0.0, fps=0.0,
                           source=info.summary(), command=shown, ffmpeg=ffmpeg_version(ffmpeg), engine=engine_desc,
                           exposure=[None if math.isnan(v) else float(v) for v in fractions],
                           exposure_sources=exp_sources, exposure_summary=exp_summary,
                           warnings=exp_warnings + deint_warnings + cmd.warnings,
                           trim=dataclasses.asdict(trim) if trim else None, dry_run=opts.dry_run,
                           deinterlace=deint)
        if opts.dry_run:  # the caller shows report.command (the CLI prints it on stdout)
            if any(str(scratch) in arg for arg in shown):
                log.warning("--dry-run: the command reads files prepared for this run in %s (the cut chapters and "
                            "subtitles); they are removed now, so run the command through fmanet-ffmpeg, not by "
                            "hand", scratch)
            _write_report(opts.report, report)
            return report

        if opts.preflight:
            _preflight(cmd, info, encoder_output, out_w, out_h, first, scratch, encode_as_images, to_stdout)

        progress = Progress(last - first, mode=opts.progress, interval=opts.progress_interval)
        progress.start(input=info.path, output=opts.output, width=out_w, height=out_h, scale=scale)
        stdout_bin = sys.stdout.buffer if to_stdout else None
        enc = EncoderProcess(cmd.argv, width=out_w, height=out_h, time_base=info.time_base,
                             frame_rate=info.frame_rate, stdout=stdout_bin).start()
        pending: deque[int] = deque()

        # decoded on a background thread, DECODE_AHEAD frames ahead of the engine (stopped in `finally`)
        decoder = Prefetcher(decode_range(info, first, last, deinterlace=deint), DECODE_AHEAD, name="fmanet-decode")

        def frames() -> Any:
            for df in decoder.items():
                pending.append(df.index)
                yield df.rgb

        # the pipe's timestamps start at 0; -itsoffset in the command places the first frame on the timeline
        pts0 = int(info.pts[first])
        exposure_iter = iter(fractions.tolist())
        base_t = trim.start_s if trim else 0.0
        done = 0
        with _bar_friendly_logging(progress):
            for out in restorer.stream(frames(), exposure=exposure_iter, scene_starts=None):
                if not pending:
                    raise FilterError("run: the engine returned more frames than it was given")
                idx = pending.popleft()
                if out.shape != (out_h, out_w, 3):
                    raise FilterError(f"run: the engine returned frame {idx} with shape {tuple(out.shape)}, "
                                      f"expected ({out_h}, {out_w}, 3)")
                enc.write(out, int(info.pts[idx] - pts0), int(info.durations[idx]))
                done += 1
                progress.update(done, out_time_s=float(info.times[idx]) - base_t)
        if done != last - first:
            raise FilterError(f"run: the engine returned {done} frames for {last - first} input frames")
        enc.finish()
        enc = None
        if image_output:
            assert temp_target is not None
            if info.image_sequence is not None and opts.policy.metadata:
                report.exif_copied = _carry_still_exif(info, first, temp_target / output.name, out_w, out_h,
                                                       report)
            files = atomic.commit_sequence(temp_target, output, overwrite=opts.overwrite)
            temp_target = None
            log.info("wrote %d images to %s", len(files), output.parent)
        elif not to_stdout:
            assert temp_target is not None
            if single_image and info.image_sequence is not None and opts.policy.metadata:
                report.exif_copied = _carry_exif([info.image_sequence.files[first]], [temp_target], out_w, out_h,
                                                 report)
            atomic.commit_file(temp_target, output, overwrite=opts.overwrite)
            temp_target = None
        wall = finish_run(report, progress, t_start, done, opts.output)
        log.info("done: %d frames in %.1f s (%.2f frames/s restoring+encoding, %.1f s total)", done,
                 progress.elapsed, report.fps, wall)
        _write_report(opts.report, report)
        return report
    except BaseException as exc:
        abort_run(enc, progress, exc)
        raise
    finally:
        if decoder is not None:
            decoder.close()
        if not opts.dry_run:
            atomic.discard(temp_target)
        atomic.discard(scratch)


def _carry_still_exif(info: SourceInfo, first: int, pattern: Path, width: int, height: int, report: RunReport
                      ) -> int:
    """Give each restored image written to ``pattern`` the EXIF of its input still (see :mod:`.still_exif`);
    returns how many got it, and adds warnings to ``report``."""
    assert info.image_sequence is not None
    outputs = sequence_output_files(pattern)
    sources = list(info.image_sequence.files[first:first + report.frames])
    return _carry_exif(sources, outputs, width, height, report)


def _carry_exif(sources: list[Path], outputs: list[Path], width: int, height: int, report: RunReport) -> int:
    """Give output image j the EXIF of input still j (see :mod:`.still_exif`); returns how many got it, and adds
    warnings to ``report``."""
    copied, warnings = copy_sequence_exif(sources, outputs, width, height)
    for w in warnings:
        log.warning("%s", w)
    report.warnings.extend(warnings)
    if copied:
        log.info("carried the EXIF of %d input images to the output images", copied)
    return copied


def _preflight(cmd: Any, info: SourceInfo, encoder_output: str, out_w: int, out_h: int, first: int, scratch: Path,
               image_output: bool, to_stdout: bool) -> None:
    """Encode one black frame with the real command into a scratch file, so bad encoder options, a missing
    encoder or streams the container cannot hold fail in a second instead of after the restoration."""
    if image_output:
        target = scratch / "preflight" / Path(encoder_output).name
        target.parent.mkdir()
    elif to_stdout:
        target = scratch / "preflight.out"
    else:
        target = scratch / ("preflight" + Path(encoder_output).suffix)
    argv = [str(target) if a == encoder_output else a for a in cmd.argv]
    argv = argv[:-1] + ["-frames:v", "1", "-t", "0.25", argv[-1]]
    black = np.zeros((out_h, out_w, 3), dtype=np.uint16)
    enc = EncoderProcess(argv, width=out_w, height=out_h, time_base=info.time_base, frame_rate=info.frame_rate)
    try:
        enc.start()
        enc.write(black, 0, int(info.durations[first]))
        enc.finish()
    except EncoderError as exc:
        enc.abort()
        raise EncoderError("the encoder settings were rejected before processing started (preflight with one "
                           f"frame):\n{exc}") from exc
    except BaseException:
        enc.abort()
        raise


def finish_run(report: RunReport, progress: Progress, t_start: float, frames: int, output: str) -> float:
    """After a successful run: record in ``report`` the ``frames`` written, the wall seconds since ``t_start``
    (a ``time.monotonic()`` reading) and the frames/s since the progress report started, then close the
    progress report as done. Returns the wall seconds (unrounded)."""
    wall = time.monotonic() - t_start
    report.frames = frames
    report.wall_s = round(wall, 3)
    report.fps = round(frames / progress.elapsed, 3) if progress.elapsed > 0 else 0.0
    progress.close("done", exit_code=0, output=output)
    return wall


def abort_run(enc: EncoderProcess | None, progress: Progress | None, exc: BaseException) -> None:
    """After a failed or interrupted run: stop the encoder and close the progress report with the reason."""
    if enc is not None:
        enc.abort()
    if progress is not None:
        interrupted = isinstance(exc, (KeyboardInterrupt, Terminated))
        progress.close("interrupted" if interrupted else "failed",
                       exit_code=getattr(exc, "exit_code", EXIT_INTERRUPTED if interrupted else EXIT_FAILURE),
                       error=str(exc)[:500])


def _describe(restorer: Restorer) -> dict[str, Any]:
    try:
        return dict(restorer.describe())
    except Exception as exc:  # provenance is informative; never fail a run on it
        return {"error": f"describe() failed: {exc}"}


def _write_report(path: str | None, report: RunReport) -> None:
    if not path:
        return
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, target)


class _bar_friendly_logging:
    """Route log records through tqdm.write while a progress bar is shown, so lines do not break the bar."""

    def __init__(self, progress: Progress) -> None:
        self._ctx = None
        if progress.mode == "bar":
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._ctx = logging_redirect_tqdm()

    def __enter__(self) -> None:
        if self._ctx is not None:
            self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
