"""``fmanet-ffmpeg --live``: restore a live source frame by frame and write each frame as soon as it is restored.

The file mode (:mod:`.pipeline`) probes the whole input first (frame index, exposure metadata, other streams) and
muxes the source's audio and subtitles back in; a pipe or a network stream can be read only once and has no end to
probe. Live mode therefore:

* opens any input FFmpeg can read with PyAV, as it comes: ``-`` / ``pipe:0`` (stdin), a FIFO, ``udp://``,
  ``srt://``, ``rtmp://``, ``http://``, a capture device with ``--input-format v4l2``, or a plain file. FFmpeg first
  probes the input (its default: up to 5 s of stream); ``--input-option analyzeduration=0 --input-option
  probesize=32`` starts at once where the container states the stream parameters (NUT, Matroska, MJPEG...);
* decodes frame by frame to float RGB (the source's matrix and range, as the file mode), hands each frame to the
  engine's streaming form (``Engine.stream``; with the causal model ``fmanetpp-causal`` -- the default in live
  mode -- one frame in, one frame out, after the preset's look-ahead of k frames), and sends every restored frame
  at once to an ffmpeg process (rawvideo in NUT on its stdin, timestamps kept) that encodes with low-latency
  settings (x264 ``-tune zerolatency`` unless the user names an encoder) and flushes every packet;
* writes stream outputs (``-o -`` = stdout, ``pipe:N``, FIFOs, character devices, ``udp://``, ``srt://``,
  ``rtmp://`` ...) directly, with no temporary file and no rename; a regular file output still appears under its
  name only when complete (temporary name, then rename; ``-y`` to overwrite);
* carries video only (a pipe cannot be read a second time for the audio); exposure is the ``--exposure`` override
  or estimated per frame from the pixels (metadata readers need a seekable file);
* ends when the input ends. The first Ctrl-C (SIGINT) ends the input at the next frame: the frames still in the
  engine are restored, the output is finalised and the exit code is 0; a second Ctrl-C aborts (exit code 130).

Per-frame latency (decode done -> restored frame handed to the encoder) is measured and reported in the log and in
``--report``'s ``latency`` entry (mean, p50, p95, max in ms).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vs_fmanet.graceful_stop import GracefulStop

from . import atomic
from .binary import encoder_pixel_formats, ffmpeg_major_version, ffmpeg_version, find_ffmpeg
from .colour import ColourInfo, colour_from_frame, is_rgb_pixel_format, output_pixel_format, video_colour_for_rgb_source
from .command import container_of, ensure_stdout_format, timestamp_args, user_option, writes_to_stdout
from .decode import SizeConformer, frame_to_rgb
from .encode import EncoderProcess
from .errors import FilterError, InputError, UsageError
from .imageseq import is_sequence_pattern, names_one_image
from .prefetch import POLL_S, Prefetcher
from .progress import Progress
from .restoring import Restorer, build_restorer

log = logging.getLogger(__name__)

STREAM_PROTOCOLS = ("pipe", "udp", "srt", "rtmp", "rtmps", "rtp", "tcp", "unix", "http", "https", "icecast",
                    "rist", "zmq")
# ffmpeg cannot guess a muxer from these URLs; the usual container for each
DEFAULT_STREAM_FORMATS = {"rtmp": "flv", "rtmps": "flv", "udp": "mpegts", "srt": "mpegts", "tcp": "mpegts",
                          "rist": "mpegts", "rtp": "rtp"}
QUEUE_FRAMES = 4     # decoded frames waiting for the engine (bounded: a slow engine slows the reader down)
LATENCY_SAMPLES = 100_000   # per-frame latencies kept for the report (the most recent ones)
_CODEC_FLAGS = ("-c:v", "-vcodec", "-codec:v", "-c:v:0", "-codec:v:0", "-c", "-codec")
_PIXFMT_FLAGS = ("-pix_fmt", "-pix_fmt:v", "-pix_fmt:v:0")


def _protocol(target: str) -> str | None:
    if target in ("-",):
        return "pipe"
    if "://" in target:
        return target.split("://", 1)[0].lower()
    head = target.split(":", 1)[0].lower()
    return "pipe" if head == "pipe" and ":" in target else None


def is_stream_output(output: str) -> bool:
    """True when ``output`` is a stream rather than a regular file: ``-``, ``pipe:N``, a URL of a streaming
    protocol, an existing FIFO or character device (e.g. ``/dev/stdout``). Streams are written directly (no
    temporary file, no rename)."""
    proto = _protocol(output)
    if proto is not None:
        return proto in STREAM_PROTOCOLS or "://" in output
    try:
        mode = os.stat(output).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def input_url(text: str) -> str:
    """The URL PyAV opens for ``-i``: ``-`` is stdin (``pipe:0``); anything else is passed to FFmpeg as is."""
    return "pipe:0" if text == "-" else text


@dataclasses.dataclass(frozen=True)
class _ColourOnly:
    """The part of :class:`.probe.SourceInfo` that :func:`.decode.frame_to_rgb` reads (live sources are not probed)."""

    colour: ColourInfo


@dataclasses.dataclass
class LiveFrame:
    """One decoded frame: ``rgb`` [H, W, 3] float32 in [0, 1]; ``pts``/``duration`` in ``time_base`` units
    relative to the first frame; ``decoded_at``: ``time.monotonic()`` when it was ready."""

    index: int
    rgb: np.ndarray
    pts: int
    duration: int
    decoded_at: float


class LiveSource:
    """A live input opened with PyAV: frames as they arrive, with their timing.

    ``url``: what FFmpeg opens (see :func:`input_url`); ``input_format``: FFmpeg's ``-f`` for the input (None =
    probe); ``options``: demuxer/protocol options; ``rate``: frames per second to time the frames by (``--fps``,
    like ffmpeg's input ``-r``: frame i at i / rate), instead of the input's own timestamps. The first frame is
    decoded on :meth:`open` (the stream's size and colours are needed before the encoder starts).
    """

    def __init__(self, url: str, input_format: str | None = None, options: dict[str, str] | None = None,
                 rate: Fraction | None = None) -> None:
        self.url = url
        self._rate_override = Fraction(rate) if rate else None
        self.input_format = input_format
        self.options = dict(options or {})
        self.container: Any = None
        self.stream: Any = None
        self.time_base = Fraction(1, 1000)
        self.rate: Fraction | None = None
        self.colour = ColourInfo()
        self.pix_fmt = ""
        self.codec = ""
        self.width = self.height = 0
        self._frames: Iterator[Any] | None = None
        self._first: Any = None
        self._pts0: int | None = None
        self._last_pts: int | None = None
        self._count = 0
        self._prefetcher: Prefetcher | None = None

    def open(self) -> LiveSource:
        import av

        try:
            self.container = av.open(self.url, format=self.input_format, options=self.options)
        except FileNotFoundError as exc:
            raise InputError(f"live input '{self.url}' does not exist; check the path") from exc
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise InputError(f"live input '{self.url}' cannot be opened by FFmpeg ({exc}); check the URL, the "
                             "device or --input-format") from exc
        if not self.container.streams.video:
            kinds = sorted({s.type for s in self.container.streams}) or ["nothing"]
            raise InputError(f"live input '{self.url}' has no video stream (it holds {', '.join(kinds)})")
        self.stream = self.container.streams.video[0]
        # slice threads only: frame threading holds back as many frames as it has threads (latency, and frames
        # delivered before a stall would wait for the next input)
        self.stream.thread_type = "SLICE"
        self.time_base = Fraction(self.stream.time_base) if self.stream.time_base else Fraction(1, 1000)
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.rate = Fraction(rate) if rate else None
        if self._rate_override is not None:
            self.rate, self.time_base = self._rate_override, 1 / self._rate_override
        self.codec = self.stream.codec_context.name
        self._frames = iter(self._decode())
        try:
            self._first = next(self._frames)
        except StopIteration:
            raise InputError(f"live input '{self.url}' ended before its first video frame") from None
        first = self._first
        self.width, self.height = first.width, first.height
        self.pix_fmt = first.format.name
        rgb = is_rgb_pixel_format(self.pix_fmt) or self.pix_fmt.startswith("pal")
        self.colour = colour_from_frame(first, is_rgb=rgb)
        return self

    def _decode(self) -> Iterator[Any]:
        import av

        try:
            yield from self.container.decode(self.stream)
        except av.FFmpegError as exc:
            raise InputError(f"live input '{self.url}': decoding failed after frame {self._count}: {exc}") from exc

    def frames(self, stop: threading.Event | None = None) -> Iterator[LiveFrame]:
        """Decoded frames in arrival order until the input ends (or ``stop`` is set).

        Decoding runs on a background thread (:class:`.prefetch.Prefetcher`) that hands frames over through a queue
        of :data:`QUEUE_FRAMES` (so memory stays bounded and a slow consumer slows the reader down), decoding
        overlaps restoration, and the calling thread never blocks inside FFmpeg: a Ctrl-C is seen within
        :data:`.prefetch.POLL_S` seconds even while a live source stalls. The thread is a daemon; if ``stop`` ends
        the loop while it waits for input, it is left blocked there and ends with the process.
        """
        if self._frames is None:
            self.open()
        self._prefetcher = Prefetcher(self._decoded(), QUEUE_FRAMES, name="fmanet-live-decode")
        return self._prefetcher.items(stop)

    def _decoded(self) -> Iterator[LiveFrame]:
        """Decode and convert to RGB: :class:`LiveFrame` objects (runs on the prefetch thread)."""
        colour = _ColourOnly(self.colour)
        sizes = SizeConformer(f"live input '{self.url}'", self.width, self.height)
        while True:
            if self._first is not None:     # decoded by open()
                frame, self._first = self._first, None
            else:
                assert self._frames is not None
                frame = next(self._frames, None)
                if frame is None:
                    return
            frame = sizes.conform(frame, self._count)   # adaptive streams switch resolution: keep the first size
            rgb = frame_to_rgb(frame, colour)   # type: ignore[arg-type]
            item = LiveFrame(self._count, rgb, *self._timing(frame), time.monotonic())
            self._count += 1
            yield item

    def _timing(self, frame: Any) -> tuple[int, int]:
        """(pts, duration) relative to the first frame, strictly increasing; synthesised from the rate when absent."""
        if self._rate_override is not None:     # --fps: frame i at i / rate (time base 1 / rate)
            return self._count, 1
        tb = self.time_base
        step = int(round(1 / (self.rate * tb))) if self.rate else 1
        step = max(step, 1)
        pts = frame.pts
        if pts is None:
            pts = (self._last_pts + step) if self._last_pts is not None else 0
        elif frame.time_base and Fraction(frame.time_base) != tb:
            pts = int(round(pts * Fraction(frame.time_base) / tb))
        if self._pts0 is None:
            self._pts0 = int(pts)
        rel = int(pts) - self._pts0
        if self._last_pts is not None and rel <= self._last_pts:
            # a source restart, a loop or a timestamp wrap: continue the timeline one frame interval on
            log.info("live: frame %d goes back in time (source restart or timestamp wrap); the output timeline "
                     "continues from the previous frame", self._count)
            self._pts0 = int(pts) - (self._last_pts + step)
            rel = self._last_pts + step
        self._last_pts = rel
        duration = int(frame.duration) if getattr(frame, "duration", None) else step
        return rel, duration

    def close(self) -> None:
        """Close the input, unless the decoding thread is still blocked reading it (it then ends with the process)."""
        worker = None
        if self._prefetcher is not None:
            self._prefetcher.close()
            worker = self._prefetcher.thread
        if worker is not None and worker.is_alive():
            worker.join(timeout=2 * POLL_S)
            if worker.is_alive():
                log.debug("live: the input is still blocked in a read; leaving it open")
                return
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # closing a broken network stream must not hide the real error
                pass
            self.container = None


def build_live_command(source: LiveSource, *, ffmpeg: str, output: str, out_width: int, out_height: int,
                       user_args: list[str], stream_output: bool, loglevel: str = "warning") -> list[str]:
    """The ffmpeg command that reads restored frames (NUT on stdin) and encodes them with low latency to ``output``.

    Without ``-c:v`` among ``user_args`` the encoder is libx264 ``-preset veryfast -tune zerolatency -crf 18``
    (VP9 realtime for WebM); the pixel layout follows the source (RGB sources become BT.709 YUV). Stream outputs
    flush every packet; for URLs whose container ffmpeg cannot guess (rtmp -> flv, udp/srt/tcp -> mpegts) the usual
    ``-f`` is added unless the user gave one. ``user_args`` come last, so they win.
    """
    src_rgb = is_rgb_pixel_format(source.pix_fmt) or source.colour.matrix is None
    colour = video_colour_for_rgb_source(source.colour) if src_rgb else source.colour
    depth = _bit_depth(source.pix_fmt)
    layout = ("yuv420p10le" if depth > 8 else "yuv420p") if src_rgb else source.pix_fmt
    argv = [ffmpeg, "-hide_banner", "-nostats", "-v", loglevel, "-y", *colour.pipe_input_args(),
            # start at the first frame: no probing delay on the pipe
            "-probesize", "32", "-analyzeduration", "0",
            "-f", "nut", "-i", "pipe:0", "-map", "0:v:0"]
    forced = user_option(user_args, ("-f",))
    proto = _protocol(output)
    container = container_of(output, user_args)
    video: list[str] = []
    codec = user_option(user_args, _CODEC_FLAGS)
    if codec is None:
        if container == "webm":
            codec = "libvpx-vp9"
            video += ["-c:v", codec, "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-crf", "30",
                      "-b:v", "0"]
        else:
            codec = "libx264"
            video += ["-c:v", codec, "-preset", "veryfast", "-tune", "zerolatency", "-crf", "18"]
    supported = encoder_pixel_formats(ffmpeg, codec) if codec != "copy" else None
    if codec != "copy" and supported is None:
        raise UsageError(f"--live: encoder '{codec}' is not in the ffmpeg build at {ffmpeg}; list the available ones "
                         "with 'ffmpeg -encoders' or pick another -c:v")
    if user_option(user_args, _PIXFMT_FLAGS) is None:
        pix_fmt, note = output_pixel_format(layout, supported, out_width, out_height)
        if pix_fmt:
            video += ["-pix_fmt", pix_fmt]
        if note:
            log.warning("%s", note)
    else:
        pix_fmt = user_option(user_args, _PIXFMT_FLAGS)
    video += timestamp_args(container, ffmpeg_major_version(ffmpeg))
    video += colour.output_args(rgb_output=bool(pix_fmt and is_rgb_pixel_format(pix_fmt)))
    if stream_output:
        video += ["-flush_packets", "1"]
        if forced is None and proto in DEFAULT_STREAM_FORMATS:
            video += ["-f", DEFAULT_STREAM_FORMATS[proto]]
    return argv + video + list(user_args) + [output]


def _bit_depth(pix_fmt: str) -> int:
    from .colour import bit_depth

    try:
        return bit_depth(pix_fmt)
    except Exception:   # an exotic format: treat as 8-bit
        return 8


def _latency_summary(samples: deque[float] | list[float]) -> dict[str, Any]:
    if not samples:
        return {"frames": 0}
    ms = np.asarray(samples) * 1000.0
    return {"frames": int(ms.size), "mean_ms": round(float(ms.mean()), 3),
            "p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "max_ms": round(float(ms.max()), 3)}


def check_live_options(opts: Any) -> None:
    """Refuse the file-mode options that cannot work on a stream read once, naming the alternative."""
    if opts.start_s is not None or opts.to_s is not None:
        raise UsageError("--live: -ss and -to need a seekable file; use -t to stop after a duration, or run without "
                         "--live on a file")
    if opts.exposure_from not in ("auto", "none") or opts.exposure_sidecar:
        raise UsageError("--live: exposure metadata readers need a seekable file; give --exposure (seconds, 1/x or "
                         "an angle) or let the model estimate each frame's exposure")
    if opts.deinterlace == "on":
        raise UsageError("--live: --deinterlace on is not available (bwdif needs the next frame, one frame of extra "
                         "latency); deinterlace upstream, e.g. ffmpeg -i SRC -vf bwdif -f nut - | fmanet-ffmpeg --live")
    if opts.dry_run:
        raise UsageError("--live: --dry-run would consume the live input; run without --dry-run")
    if is_sequence_pattern(opts.output) or names_one_image(opts.output, opts.user_args):
        raise UsageError(f"--live: image output '{opts.output}' is not supported; write a video file or a stream "
                         "(or run without --live)")
    if container_of(opts.output, opts.user_args) == "gif":
        raise UsageError("--live: GIF output needs the whole clip for its palette; write a video (e.g. .mkv) or run "
                         "without --live")
    if opts.duration_s is not None and not opts.duration_s > 0:
        raise UsageError(f"-t {opts.duration_s:g}: the duration must be positive")


def run_live(opts: Any, *, restorer: Restorer | None = None) -> Any:
    """Restore the live input ``opts.input`` into ``opts.output`` (see the module docstring); returns the
    :class:`.pipeline.RunReport`. Raises :class:`FilterError` subclasses like :func:`.pipeline.run`."""
    from .pipeline import RunReport, _describe, _write_report, abort_run, finish_run

    t_start = time.monotonic()
    check_live_options(opts)
    ffmpeg = find_ffmpeg(opts.ffmpeg)
    to_stdout = writes_to_stdout(opts.output)
    stream_output = to_stdout or is_stream_output(opts.output)
    if to_stdout:
        ensure_stdout_format(opts.user_args)
    output = Path(opts.output)
    if not stream_output:
        inputs = [opts.input] if Path(opts.input).exists() else []
        atomic.check_output_target(output, overwrite=opts.overwrite, inputs=inputs)
    if restorer is None:
        restorer = build_restorer(opts.engine)
    scale = int(restorer.scale)
    describe = _describe(restorer)
    if not describe.get("causal", False):
        log.warning("--live with the bidirectional model %r: each frame waits for %s future frames; use the causal "
                    "model (--model fmanetpp-causal, the default with --live) for low latency",
                    describe.get("model"), describe.get("overlap", "several"))

    source = LiveSource(input_url(opts.input), opts.input_format, opts.input_options, rate=opts.fps)
    temp_target = None if stream_output else atomic.temp_path_for(output)
    enc: EncoderProcess | None = None
    progress: Progress | None = None
    try:
        _open_interruptibly(source)
        out_w, out_h = source.width * scale, source.height * scale
        fraction = _exposure_fraction(opts.exposure, source, opts.fps)
        log.info("live input %s: %dx%d %s %s%s; exposure %s", source.url, source.width, source.height,
                 source.codec, source.pix_fmt, f", {float(source.rate):.3f} fps" if source.rate else "",
                 "estimated per frame" if math.isnan(fraction) else f"{fraction:.4g} of the frame interval")
        encoder_output = "pipe:1" if to_stdout else (opts.output if stream_output else str(temp_target))
        argv = build_live_command(source, ffmpeg=ffmpeg, output=encoder_output, out_width=out_w, out_height=out_h,
                                  user_args=opts.user_args, stream_output=stream_output)
        report = RunReport(
            input=opts.input, output=opts.output, frames=0, wall_s=0.0, fps=0.0, source=_source_summary(source),
            command=[opts.output if a == encoder_output and temp_target is not None else a for a in argv],
            ffmpeg=ffmpeg_version(ffmpeg), engine=describe, exposure=[], exposure_sources=[],
            exposure_summary={"source": "none" if math.isnan(fraction) else "override",
                              "fraction": None if math.isnan(fraction) else fraction},
            warnings=["live mode carries video only (no audio, subtitles or chapters)"], trim=None)
        limit = None if opts.duration_s is None else int(math.ceil(opts.duration_s / source.time_base - 1e-9))
        progress = Progress(None, mode=opts.progress, interval=opts.progress_interval)
        progress.start(input=opts.input, output=opts.output, width=out_w, height=out_h, scale=scale, live=True)
        enc = EncoderProcess(argv, width=out_w, height=out_h, time_base=source.time_base, frame_rate=source.rate,
                             stdout=sys.stdout.buffer if to_stdout else None).start()
        done, latencies = _pump(source, restorer, enc, fraction, limit, progress, (out_h, out_w, 3))
        if not done:
            raise InputError(f"live input '{source.url}': no frame was restored (the input ended, or -t was "
                             "shorter than one frame)")
        enc.finish()
        enc = None
        if temp_target is not None:
            atomic.commit_file(temp_target, output, overwrite=opts.overwrite)
            temp_target = None
        report.latency = lat = _latency_summary(latencies)
        finish_run(report, progress, t_start, done, opts.output)
        log.info("live: %d frames, %.2f frames/s; latency per frame (decoded -> to the encoder) mean %.1f ms, "
                 "p95 %.1f ms, max %.1f ms", report.frames, report.fps, lat["mean_ms"], lat["p95_ms"], lat["max_ms"])
        _write_report(opts.report, report)
        return report
    except BaseException as exc:
        abort_run(enc, progress, exc)
        raise
    finally:
        source.close()
        atomic.discard(temp_target)


def _open_interruptibly(source: LiveSource) -> None:
    """``source.open()`` (FFmpeg probing the input and decoding its first frame, which waits as long as the source
    sends nothing) on a helper thread, while this thread waits in short joins: a Ctrl-C or SIGTERM (raised here by
    the handlers) then ends the run at once with 130/143 instead of after the input's first frame. A thread left
    blocked in FFmpeg is a daemon and ends with the process."""
    failure: list[BaseException] = []
    log.info("live: waiting for the input %s", source.url)

    def target() -> None:
        try:
            source.open()
        except BaseException as exc:   # handed to the waiting thread
            failure.append(exc)

    opener = threading.Thread(target=target, name="fmanet-live-open", daemon=True)
    opener.start()
    while opener.is_alive():
        opener.join(POLL_S)
    if failure:
        raise failure[0]


def _pump(source: LiveSource, restorer: Restorer, enc: EncoderProcess, fraction: float, limit: int | None,
          progress: Progress, shape: tuple[int, int, int]) -> tuple[int, deque[float]]:
    """Decoded frames -> engine -> encoder, each restored frame written at once; returns the number of frames and
    the latencies of the last :data:`LATENCY_SAMPLES` (seconds from decoded to handed to the encoder; bounded, so a
    stream of any length keeps constant memory). The first Ctrl-C ends the input (see
    :class:`vs_fmanet.graceful_stop.GracefulStop`)."""
    timing: deque[LiveFrame] = deque()      # frames inside the engine (at most its look-ahead + 1)
    latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
    done = 0
    with GracefulStop("ending the input after the current frame and finalising the output", log) as stopper:
        def frames() -> Iterator[np.ndarray]:
            for lf in source.frames(stopper.event):
                if limit is not None and lf.pts >= limit:
                    return
                timing.append(lf)
                yield lf.rgb
                lf.rgb = None  # type: ignore[assignment]  # the engine has its own copy; keep only the timing

        for out in restorer.stream(frames(), exposure=_repeat(fraction), scene_starts=None):
            if not timing:
                raise FilterError("run_live: the engine returned more frames than it was given")
            lf = timing.popleft()
            if out.shape != shape:
                raise FilterError(f"run_live: the engine returned frame {lf.index} with shape {tuple(out.shape)}, "
                                  f"expected {shape}")
            enc.write(out, lf.pts, lf.duration)
            latencies.append(time.monotonic() - lf.decoded_at)
            done += 1
            progress.update(done, out_time_s=float(lf.pts * source.time_base))
    return done, latencies


def _source_summary(source: LiveSource) -> dict[str, Any]:
    return {"url": source.url, "codec": source.codec, "width": source.width, "height": source.height,
            "pix_fmt": source.pix_fmt, "frame_rate": str(source.rate) if source.rate else None,
            "time_base": str(source.time_base), "colour": source.colour.as_dict(), "live": True}


def _repeat(value: float) -> Iterator[float]:
    while True:
        yield value


def _exposure_fraction(text: str | None, source: LiveSource, fps: Fraction | None) -> float:
    """``--exposure`` as a fraction of the frame interval at the stream's rate (NaN when not given)."""
    if text is None:
        return float("nan")
    from vs_fmanet.exposure import parse_exposure_override

    rate = float(fps) if fps else (float(source.rate) if source.rate else None)
    if rate is None:
        raise UsageError(f"--exposure {text!r}: the live input does not state its frame rate; add --fps RATE")
    try:
        return min(1.0, parse_exposure_override(text, rate) * rate)
    except ValueError as exc:
        raise UsageError(f"--exposure {text!r}: {exc}") from exc
