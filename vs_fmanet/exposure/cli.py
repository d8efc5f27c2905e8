"""``fmanet-probe INPUT [INPUT ...]``: print per-frame exposure and a summary for videos or image sequences.

Several inputs (a card's worth of clips) are probed one after another, each with its table and summary, or
``--summary-only`` for one summary each; ``--json`` then prints a list with one object per input, in their order
(``{"path", "error"}`` for an input that could not be read).
Exit codes: 0 success (even when some frames are unknown), 2 bad arguments or an unreadable input (the
others are still probed). Table and JSON go to stdout; warnings and log messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Sequence, TextIO

from .. import add_version_option
from .errors import ExposureError
from .probe import PREFER_CHOICES, probe_exposure
from .track import ExposureTrack
from .units import format_seconds

__all__ = ["main", "build_parser", "format_table", "format_summary"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fmanet-probe",
        description="Read per-frame exposure (seconds and fraction of the frame interval) from camera metadata: "
                    "EXIF or XMP of stills, GoPro GPMF, DJI SRT/djmd, Sony rtmd, AVCHD camcorders' H.264 SEI, CAMM, "
                    "sidecars and container tags.")
    add_version_option(parser)
    parser.add_argument("input", nargs="+",
                        help="video file, image directory, first image, or pattern such as img_%%04d.dng; several "
                             "are probed one after another")
    parser.add_argument("--fps", type=float, default=None, help="frame rate for image sequences / shutter angles")
    parser.add_argument("--override", default=None,
                        help="per-clip exposure beating every source: seconds, 1/100 or 180deg")
    parser.add_argument("--prefer", default="auto", choices=PREFER_CHOICES, help="use only this source (default auto)")
    parser.add_argument("--sidecar", default=None, help="CSV/JSON exposure sidecar or DJI .SRT file")
    parser.add_argument("--json", action="store_true", help="print JSON {summary, frames, warnings} instead of a table")
    parser.add_argument("--summary-only", action="store_true", help="print only the summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sidecar and len(args.input) > 1:
        parser.error(f"--sidecar names one file but {len(args.input)} inputs were given; probe that input alone")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.ERROR, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    code, payloads, printed = 0, [], False
    try:
        for path in args.input:
            try:
                track = probe_exposure(path, fps=args.fps, override=args.override, prefer=args.prefer,
                                       sidecar=args.sidecar)
            except ExposureError as exc:
                print(f"fmanet-probe: error: {exc}", file=sys.stderr)
                code = 2
                if args.json:       # keeps the list in the order of the inputs
                    payloads.append({"path": path, "error": str(exc)})
                continue
            if args.json:
                payloads.append(_payload(track, args))
                continue
            if printed:
                sys.stdout.write("\n")
            _write(track, args, sys.stdout)
            printed = True
        if args.json and payloads:   # a failed input is {"path", "error"}, also when it is the only one
            json.dump(payloads[0] if len(args.input) == 1 else payloads, sys.stdout, indent=2)
            sys.stdout.write("\n")
            sys.stdout.flush()
    except BrokenPipeError:  # e.g. `fmanet-probe clip.mp4 | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def _payload(track: ExposureTrack, args: argparse.Namespace) -> dict:
    payload = {"path": track.path, "summary": track.summary(), "warnings": track.warnings}
    if not args.summary_only:
        payload["frames"] = track.rows()
    return payload


def _write(track: ExposureTrack, args: argparse.Namespace, out: TextIO) -> None:
    if not args.summary_only:
        out.write(format_table(track))
        out.write("\n")
    out.write(format_summary(track))
    out.flush()
    for message in track.warnings:
        print(f"warning: {message}", file=sys.stderr)


def format_table(track: ExposureTrack) -> str:
    """Fixed-width per-frame table: frame, time, exposure (1/x and seconds), fraction, source, granularity."""
    lines = [f"{'frame':>6}  {'time_s':>9}  {'exposure':>10}  {'seconds':>11}  {'fraction':>8}  {'source':<8}  how"]
    for row in track.rows():
        t = f"{row['time_s']:.4f}" if row["time_s"] is not None else "-"
        s = row["seconds"]
        f = row["fraction"]
        lines.append(f"{row['frame']:>6}  {t:>9}  {format_seconds(s if s is not None else float('nan')):>10}  "
                     f"{(f'{s:.7f}' if s is not None else '-'):>11}  {(f'{f:.4f}' if f is not None else '-'):>8}  "
                     f"{row['source']:<8}  {row['granularity']}")
    return "\n".join(lines) + "\n"


def format_summary(track: ExposureTrack) -> str:
    """Human summary: frame count, coverage, sources, min/median/max seconds and fraction."""
    s = track.summary()
    sec, frac = s["seconds"], s["fraction"]

    def span(d: dict, fmt) -> str:
        if d["min"] is None:
            return "-"
        return f"min {fmt(d['min'])}  median {fmt(d['median'])}  max {fmt(d['max'])}"

    sources = ", ".join(f"{k} {v}" for k, v in s["sources"].items())
    detail = "; ".join(f"{k}: {v}" for k, v in s["detail"].items())
    lines = [
        f"input     {s['path']}",
        f"frames    {s['frames']}  known {s['known_frames']}  coverage {s['coverage']:.1%}"
        + (f"  (seconds known for {s['known_seconds_frames']}; no frame rate for the fraction)"
           if s["known_seconds_frames"] != s["known_frames"] else ""),
        f"source    {s['source']}  ({sources})" + (f"  [{detail}]" if detail else ""),
        f"seconds   {span(sec, lambda v: f'{format_seconds(v)} ({v:.6g})')}",
        f"fraction  {span(frac, lambda v: f'{v:.4f}')}",
        f"warnings  {s['warnings']}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
