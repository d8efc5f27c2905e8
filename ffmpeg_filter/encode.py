"""The encoder process: restored frames -> rawvideo RGB in NUT -> ``ffmpeg`` stdin.

NUT keeps each frame's timestamp (VFR safe) where a bare rawvideo pipe would not; PyAV writes it straight
into the pipe. ffmpeg's stderr goes to a temporary file (never an undrained pipe: that deadlocks once ~64 KiB
of warnings pile up) whose tail becomes the error message when ffmpeg fails. The child runs in its own
session so a terminal Ctrl-C reaches only this process, which then stops ffmpeg and removes the partial
output itself.

:func:`encode_frames` is the reusable one-call form (farm chunks use it); :class:`EncoderProcess` is the
incremental form the command-line tool drives while frames are being restored; :func:`mux_with_source` runs
a plain ffmpeg job (e.g. joining encoded video with the source's other streams).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import EncoderError

log = logging.getLogger(__name__)

PIPE_PIX_FMT = "rgb48le"


def to_pipe_pixels(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] float RGB in [0, 1] -> [H, W, 3] uint16 (``rgb48le``), rounded, values clipped to [0, 1]."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"to_pipe_pixels: expected a [H, W, 3] frame, got shape {tuple(rgb.shape)}")
    out = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
    out *= 65535.0
    out += 0.5
    return out.astype(np.uint16)


class EncoderProcess:
    """An ``ffmpeg`` process reading rawvideo-in-NUT on stdin.

    ``argv``: the full command (its pipe input must be ``-f nut -i pipe:0``); ``width``/``height``: frame size
    in pixels; ``time_base``: the unit of the ``pts`` passed to :meth:`write` (the source stream's);
    ``frame_rate``: nominal rate written to the NUT header (the average rate; timestamps rule);
    ``stdout``: where ffmpeg's stdout goes (None = discarded; a file object for ``-o -``).
    Use as a context manager or call :meth:`finish` / :meth:`abort`.
    """

    def __init__(self, argv: list[str], *, width: int, height: int, time_base: Fraction,
                 frame_rate: Fraction | None = None, stdout: IO[bytes] | None = None) -> None:
        self.argv = list(argv)
        self.width, self.height = int(width), int(height)
        self.time_base = Fraction(time_base)
        self.frame_rate = Fraction(frame_rate) if frame_rate else Fraction(1) / self.time_base
        self._stdout = stdout
        self._stderr = tempfile.TemporaryFile(prefix="fmanet-ffmpeg-stderr-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._nut: Any = None
        self._stream: Any = None
        self.frames_written = 0

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> EncoderProcess:
        """Start ffmpeg and open the NUT writer on its stdin."""
        import av

        log.info("ffmpeg command: %s", " ".join(_quote(a) for a in self.argv))
        try:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                          stdout=self._stdout if self._stdout is not None else subprocess.DEVNULL,
                                          stderr=self._stderr, start_new_session=True)
        except OSError as exc:
            raise EncoderError(f"EncoderProcess: cannot start ffmpeg '{self.argv[0]}': {exc}") from exc
        assert self._proc.stdin is not None
        # FFmpeg's own pipe protocol on the descriptor, not the Python file object: with a Python object
        # PyAV calls back into Python for every write, and a Ctrl-C landing in that callback is swallowed
        # ("Exception ignored in pyio_write_gil") instead of stopping the run
        self._nut = av.open(f"pipe:{self._proc.stdin.fileno()}", "w", format="nut")
        stream = self._nut.add_stream("rawvideo", rate=self.frame_rate)
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = PIPE_PIX_FMT
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        self._stream = stream
        return self

    def write(self, rgb: np.ndarray, pts: int, duration: int | None = None) -> None:
        """Send one frame: ``rgb`` [H, W, 3] float32 in [0, 1] (or uint16 already), ``pts`` in ``time_base``."""
        import av

        if self._stream is None:
            self.start()
        if rgb.shape[:2] != (self.height, self.width):
            raise EncoderError(f"EncoderProcess.write: frame {self.frames_written} is {rgb.shape[1]}x{rgb.shape[0]} "
                               f"but the encoder was opened for {self.width}x{self.height}")
        pixels = rgb if rgb.dtype == np.uint16 else to_pipe_pixels(rgb)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=PIPE_PIX_FMT)
        frame.pts = int(pts)
        frame.time_base = self.time_base
        if duration:
            frame.duration = int(duration)
        try:
            for packet in self._stream.encode(frame):
                self._nut.mux(packet)
        except (OSError, av.FFmpegError, ValueError) as exc:
            raise self._failure(f"writing frame {self.frames_written} to ffmpeg failed ({exc})") from exc
        self.frames_written += 1

    def finish(self, timeout: float | None = None) -> None:
        """Close the pipe, wait for ffmpeg and raise :class:`EncoderError` if it failed."""
        import av

        if self._proc is None:
            self.start()
        assert self._proc is not None
        try:
            if self._stream is not None:
                for packet in self._stream.encode():
                    self._nut.mux(packet)
            if self._nut is not None:
                self._nut.close()
        except (OSError, av.FFmpegError, ValueError) as exc:
            raise self._failure(f"flushing the frame pipe failed ({exc})") from exc
        finally:
            self._nut = self._stream = None
            _close_quietly(self._proc.stdin)
        rc = self._proc.wait(timeout=timeout)
        if rc != 0:
            raise self._failure(f"ffmpeg exited with code {rc}")
        self._stderr.close()

    def abort(self) -> None:
        """Stop ffmpeg now (SIGTERM and the end of its input, then SIGKILL if it is still there after 5 s) and
        release everything; never raises."""
        proc, self._proc = self._proc, None
        nut, self._nut, self._stream = self._nut, None, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)    # first, so ffmpeg stops instead of finishing the file
            except OSError:
                proc.terminate()
        # the NUT writer holds its own descriptor of ffmpeg's stdin: until it is closed too, ffmpeg (blocked in a
        # read) never sees the end of its input and only the SIGKILL below would end it, 5 s later
        if nut is not None:
            try:
                nut.close()
            except Exception:   # a broken pipe (ffmpeg already gone) or a half-written packet: abandoned on purpose
                pass
        if proc is not None:
            _close_quietly(proc.stdin)
            if proc.poll() is None:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        _close_quietly(self._stderr)

    def __enter__(self) -> EncoderProcess:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()

    # -- diagnostics -------------------------------------------------------------------------------------
    def stderr_tail(self, limit: int = 3000) -> str:
        """The last ``limit`` characters of ffmpeg's stderr."""
        try:
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - limit))
            return self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _failure(self, what: str) -> EncoderError:
        rc = None
        if self._proc is not None:
            _close_quietly(self._proc.stdin)
            try:
                rc = self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                rc = self._proc.wait()
        tail = self.stderr_tail()
        hint = _hint(tail)
        msg = f"ffmpeg encoder: {what}" + (f" (exit code {rc})" if rc not in (None, 0) and "exit" not in what else "")
        if tail:
            msg += "\n--- ffmpeg stderr (last lines) ---\n" + "\n".join(tail.splitlines()[-15:])
        if hint:
            msg += "\nfix: " + hint
        return EncoderError(msg)


def encode_frames(frames: Iterable[tuple[np.ndarray, int]] | Iterable[tuple[np.ndarray, int, int]], argv: list[str],
                  *, width: int, height: int, time_base: Fraction, frame_rate: Fraction | None = None) -> int:
    """Encode ``frames`` (``(rgb [H, W, 3] float32, pts[, duration])`` tuples, timestamps in ``time_base``) with
    the ffmpeg command ``argv`` (whose input is ``-f nut -i pipe:0``). Returns the number of frames written.
    On any error or interrupt ffmpeg is stopped before the exception propagates."""
    enc = EncoderProcess(argv, width=width, height=height, time_base=time_base, frame_rate=frame_rate)
    enc.start()
    try:
        for item in frames:
            enc.write(*item)
        enc.finish()
    except BaseException:
        enc.abort()
        raise
    return enc.frames_written


def run_ffmpeg(argv: list[str], *, what: str = "ffmpeg", timeout: float | None = None) -> None:
    """Run a non-interactive ffmpeg job (no pipes), raising :class:`EncoderError` with its stderr tail on failure."""
    with tempfile.TemporaryFile(prefix="fmanet-ffmpeg-stderr-") as err:
        log.info("%s: %s", what, " ".join(_quote(a) for a in argv))
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
        except OSError as exc:
            raise EncoderError(f"{what}: cannot start '{argv[0]}': {exc}") from exc
        try:
            rc = proc.wait(timeout=timeout)
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except OSError:
                proc.terminate()
            proc.wait()
            raise
        if rc != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip()[-3000:]
            hint = _hint(tail)
            raise EncoderError(f"{what}: ffmpeg exited with code {rc}\n--- ffmpeg stderr (last lines) ---\n"
                               + "\n".join(tail.splitlines()[-15:]) + (f"\nfix: {hint}" if hint else ""))


def mux_with_source(video: str | os.PathLike, source: str | os.PathLike, output: str | os.PathLike, *,
                    ffmpeg: str, source_args: list[str] | None = None, extra_args: list[str] | None = None,
                    video_tags: dict[str, str] | None = None, video_args: list[str] | None = None) -> None:
    """Copy the video of ``video`` and the audio, subtitles, chapters and tags of ``source`` into ``output``
    (no re-encoding). ``source_args`` are input options for the source (e.g. ``-ss``/``-t`` of a trimmed
    run); ``video_args`` are input options for ``video`` (e.g. ``-itsoffset``); ``extra_args`` are output
    options placed before the file name; ``video_tags`` are tags for the
    video stream (e.g. ``SourceInfo.video_metadata``: title, language). Used by farm mode to join encoded
    chunks with the original's other streams. ``output`` is written directly: callers pass a temp path."""
    out = Path(os.fspath(output))
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", *(video_args or []), "-i", os.fspath(video),
            *(source_args or []), "-i", os.fspath(source),
            "-map", "0:v:0", "-map", "1:a?", "-map", "1:s?"]
    if out.suffix.lower() in (".mkv", ".mka", ".mks"):
        argv += ["-map", "1:t?"]
    argv += ["-map_metadata", "1", "-map_chapters", "1"]
    for key, value in (video_tags or {}).items():
        argv += ["-metadata:s:v:0", f"{key}={value}"]
    argv += ["-c", "copy", *(extra_args or []), os.fspath(out)]
    run_ffmpeg(argv, what="mux_with_source")


_HINTS = (
    ("Unknown encoder", "the encoder named after -c:v is not in this ffmpeg build; list them with ffmpeg -encoders"),
    ("Unrecognized option", "an option after -- is not an ffmpeg option; check its spelling"),
    ("Could not find tag for codec", "the container cannot hold one of the streams; choose another "
                                     "extension (e.g. .mkv) or re-encode that stream (e.g. --audio-codec aac)"),
    ("codec not currently supported in container", "the container cannot hold one of the copied streams; use "
                                                   ".mkv or --audio-codec aac / --no-subs"),
    ("Permission denied", "the output folder is not writable"),
    ("No space left on device", "free some disk space or write elsewhere"),
    ("not divisible by 2", "the picture size does not fit the pixel format's chroma subsampling; pass -- -pix_fmt "
                           "yuv444p, or scale to even sizes with -- -vf scale=trunc(iw/2)*2:trunc(ih/2)*2"),
    ("Vorbis or Opus audio", "WebM holds only Opus or Vorbis audio; add --audio-codec libopus (or --no-audio)"),
    ("supports only codec", "this container needs one particular codec; name it after --, e.g. -- -c:v gif, or "
                            "choose another extension"),
    ("Invalid argument", "ffmpeg rejected a setting for this output; check the options after -- if you gave any, "
                         "or try another container (e.g. .mkv)"),
)


def _hint(stderr_text: str) -> str:
    for needle, hint in _HINTS:
        if needle in stderr_text:
            return hint
    return ""


def _close_quietly(f: Any) -> None:
    if f is None:
        return
    try:
        f.close()
    except (OSError, ValueError):
        pass


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
