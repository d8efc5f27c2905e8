"""``fmanet-ffmpeg``: restore the video of any file ffmpeg reads, keep everything else.

Usage::

    fmanet-ffmpeg -i INPUT -o OUTPUT [-y|-n] [-ss T] [-to T | -t T] [--scale 4] [--exposure 1/100]
                  [--exposure-from auto] [--device cuda] [--precision fp16] [--tile 256]
                  [--progress json] [--dry-run] [--live [--input-format FMT]] [-- ENCODER OPTIONS...]

``--live`` reads any FFmpeg input as it comes (stdin ``-``, pipes, ``udp://``, ``srt://``, devices) and writes each
frame as soon as the causal model has restored it (see :mod:`ffmpeg_filter.live`).

Everything after ``--`` is passed verbatim to ffmpeg as output options (e.g. ``-- -c:v libx265 -crf 18
-preset slow``); without any, libx264/libx265 CRF 18 with the source's pixel layout and bit depth is used.
Exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); see
:mod:`ffmpeg_filter.errors`. Logs and progress go to stderr; stdout carries only ``--dry-run``'s command or,
with ``-o -``, the encoded stream.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from vs_fmanet import add_version_option

from .cli_options import (add_deinterlace_option, add_exposure_options, add_logging_options, add_progress_options,
                          add_restoration_options, add_stream_options, engine_settings, resolve_model,
                          split_passthrough, stream_policy)
from .cli_runtime import UsageErrorParser, run_cli
from .command import enc_pairs_to_args, writes_to_stdout
from .errors import EXIT_OK, UsageError
from .pipeline import RunOptions, run
from .timespec import parse_time

log = logging.getLogger("ffmpeg_filter")

EPILOG = """\
examples:
  fmanet-ffmpeg -i clip.mp4 -o clip_x4.mkv
  fmanet-ffmpeg -i clip.mp4 -o out.mp4 -ss 10 -t 5 --exposure 1/100 -- -c:v libx265 -crf 18 -preset slow
  fmanet-ffmpeg -i 'shots/frame_%06d.png' --fps 24 -o 'out/frame_%06d.png'
  fmanet-ffmpeg -i in.mkv -o - -- -f nut | ffplay -
  ffmpeg -f v4l2 -i /dev/video0 -f nut - | fmanet-ffmpeg --live -i - -o - -- -f nut | ffplay -

exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)
"""


def _time(option: str) -> Any:
    def parse(text: str) -> float:
        try:
            return parse_time(text, option=option)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def _rate(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise argparse.ArgumentTypeError(f"--fps: {text!r} is not a rate; use 24, 29.97 or 30000/1001") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--fps: {text!r} must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (ffmpeg-style single-dash options ``-i -o -y -n -ss -to -t`` included)."""
    p = UsageErrorParser(prog="fmanet-ffmpeg", allow_abbrev=False,
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Joint video super-resolution and deblurring (FMA-Net++) of any file ffmpeg "
                                     "reads; audio, subtitles, chapters, tags, colour and HDR metadata are kept.",
                         epilog=EPILOG)
    add_version_option(p)
    io = p.add_argument_group("input and output")
    io.add_argument("-i", "--input", required=True, metavar="INPUT",
                    help="video file, image-sequence pattern (frame_%%06d.png), folder, or first image")
    io.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                    help="output file (container from the extension), pattern for images, or - for stdout")
    ow = io.add_mutually_exclusive_group()
    ow.add_argument("-y", "--overwrite", action="store_true", help="overwrite an existing output")
    ow.add_argument("-n", "--no-overwrite", action="store_true",
                    help="never overwrite (the default; exits with 1 if the output exists)")
    io.add_argument("-ss", dest="start", type=_time("-ss"), metavar="TIME",
                    help="start at this time (seconds or [HH:]MM:SS[.ms]); frame-accurate")
    end = io.add_mutually_exclusive_group()
    end.add_argument("-to", dest="to", type=_time("-to"), metavar="TIME", help="stop before this time")
    end.add_argument("-t", dest="duration", type=_time("-t"), metavar="DURATION", help="process this long")
    io.add_argument("--fps", type=_rate, metavar="RATE", help="frame rate of an image-sequence input (default 25); "
                    "with --live, the rate the live frames are timed by (frame i at i/RATE), like ffmpeg's input -r")
    add_deinterlace_option(io)
    io.add_argument("--ffmpeg", metavar="PATH", help="ffmpeg executable (default: PATH, then imageio-ffmpeg's)")
    io.add_argument("--live", action="store_true",
                    help="live/streaming input (- for stdin, pipes, udp://, srt://, devices): restore frame by frame "
                         "with the causal model and write each frame as it comes; video only")
    io.add_argument("--input-format", metavar="FMT", help="FFmpeg input format (its -f before -i), e.g. v4l2, mpegts")
    io.add_argument("--input-option", action="append", default=[], metavar="KEY=VALUE",
                    help="--live: FFmpeg demuxer/protocol option, repeatable, e.g. --input-option analyzeduration=0 "
                         "--input-option probesize=32 (start without probing delay)")

    st = add_stream_options(p, "streams and encoding")
    st.add_argument("--no-preflight", dest="preflight", action="store_false",
                    help="skip the one-frame encoder check before processing")

    add_restoration_options(
        p, "restoration", model_default=None,
        model_help="model family: fmanetpp, fmanetpp-causal, fmanet; default: the one named by the --weights card, "
                   "else fmanetpp (fmanetpp-causal with --live)",
        preset_help="model size preset (paper, small, tiny; causal-small... for fmanetpp-causal); default: the "
                    "shipped model's",
        device_help="cuda, cuda:1 or cpu (default: cuda if available)",
        tile_help="spatial tile size in input pixels (0 = off)")

    add_exposure_options(p, "exposure (per frame, as a fraction of the frame interval inside the model)",
                         sidecar_help="CSV/JSON/SRT sidecar with per-frame exposure")

    rep = add_progress_options(p, "progress and logging", interval_help="seconds between JSON progress lines",
                               report_help="write a JSON run report (settings, per-frame exposure)")
    rep.add_argument("--dry-run", action="store_true", help="print the ffmpeg command and exit")
    add_logging_options(rep)
    return p


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split ``argv`` at the first ``--`` (encoder options) and parse the rest."""
    ours, passthrough = split_passthrough(argv)
    ns = build_parser().parse_args(ours)
    return ns, passthrough


def options_from_args(ns: argparse.Namespace, passthrough: list[str]) -> RunOptions:
    """Translate parsed arguments into :class:`RunOptions`."""
    return RunOptions(
        input=ns.input, output=ns.output, overwrite=bool(ns.overwrite),
        start_s=ns.start, to_s=ns.to, duration_s=ns.duration,
        engine=engine_settings(ns, resolve_model(ns, "fmanetpp-causal" if ns.live else "fmanetpp")),
        exposure=ns.exposure, exposure_from=ns.exposure_from, exposure_sidecar=ns.exposure_sidecar,
        fps=ns.fps, deinterlace=ns.deinterlace, ffmpeg=ns.ffmpeg,
        user_args=enc_pairs_to_args(ns.enc) + list(passthrough),
        policy=stream_policy(ns),
        progress=ns.progress, progress_interval=ns.progress_interval, dry_run=ns.dry_run,
        preflight=ns.preflight, report=ns.report, bitexact=ns.bitexact, live=ns.live, input_format=ns.input_format,
        input_options=_input_options(ns.input_option),
    )


def _input_options(pairs: list[str]) -> dict[str, str]:
    """``--input-option KEY=VALUE`` items -> {KEY: VALUE}."""
    out: dict[str, str] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--input-option {item!r}: expected KEY=VALUE such as analyzeduration=0")
        out[key.strip().lstrip("-")] = value
    return out


def _run(ns: argparse.Namespace, passthrough: list[str]) -> int:
    opts = options_from_args(ns, passthrough)
    report = run(opts)
    if opts.dry_run:
        sys.stdout.write(shlex.join(report.command) + "\n")
        sys.stdout.flush()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fmanet-ffmpeg``; returns the exit code (0, 1, 2, 130 or 143)."""
    return run_cli("fmanet-ffmpeg", argv, parse_args, _run, interrupted=lambda ns: _stopped_message(ns, "interrupted"),
                   terminated=lambda ns: _stopped_message(ns, "terminated"))


def _stopped_message(ns: argparse.Namespace, how: str) -> str:
    """What a Ctrl-C or SIGTERM did to the output: a file is written under a temporary name and removed, while a
    stream (stdout, a pipe, a network URL) keeps what was already sent."""
    from .live import is_stream_output

    if writes_to_stdout(ns.output) or (ns.live and is_stream_output(ns.output)):
        return f"{how}; the frames already written to {ns.output} stay there (a stream has no partial file to remove)"
    if ns.live:
        return f"{how}; the partial output was removed"
    return (f"{how}; the partial output was removed (for long runs, fmanet-farm with the same options resumes from "
            "its finished chunks)")


if __name__ == "__main__":
    sys.exit(main())
