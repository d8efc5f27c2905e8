"""Command-line options that ``fmanet-ffmpeg`` and ``fmanet-farm`` share, defined once.

Each ``add_*`` function adds one argument group; ``engine_settings``/``stream_policy`` turn the parsed values into
the objects the pipeline and the farm take. Tool-specific options (trimming, ``--live``, chunking, Ray) stay in
each tool's own ``cli.py``.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from vs_fmanet.engine.ensemble import ENSEMBLE_SIZES
from vs_fmanet.engine.weights import model_for_weights

from .command import StreamPolicy
from .deinterlace import DEINTERLACE_MODES
from .errors import UsageError
from .pipeline import EXPOSURE_SOURCES
from .progress import MODES as PROGRESS_MODES
from .restoring import EngineSettings


def split_passthrough(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``argv`` at the first ``--``: (the tool's own options, encoder options passed to ffmpeg verbatim)."""
    argv = list(argv)
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    return argv, []


def parse_tile(text: str) -> int | tuple[int, int]:
    """``--tile`` value: ``256`` (square) or ``WxH`` -> (h, w); 0 = off."""
    try:
        if "x" in text.lower():
            w, h = text.lower().split("x", 1)
            return int(h), int(w)
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--tile: {text!r} must be a size in pixels (256) or WxH (384x256), "
                                         "0 = off") from exc


def add_stream_options(p: argparse.ArgumentParser, title: str) -> argparse._ArgumentGroup:
    """Encoder options and what is copied from the source (audio, subtitles, tags)."""
    st = p.add_argument_group(title)
    st.add_argument("--enc", action="append", default=[], metavar="KEY=VALUE",
                    help="encoder option, repeatable: --enc crf=16 --enc x265-params=aq-mode=3 (like -- -crf 16)")
    st.add_argument("--no-audio", action="store_true", help="do not copy audio streams")
    st.add_argument("--no-subs", action="store_true", help="do not copy subtitle streams")
    st.add_argument("--no-metadata", action="store_true", help="drop container tags and chapters")
    st.add_argument("--audio-codec", default="copy", metavar="CODEC",
                    help="audio codec (default copy = bit-exact; e.g. aac when the container needs it)")
    st.add_argument("--bitexact", action="store_true", help="byte-reproducible container (ffmpeg +bitexact flags)")
    return st


def add_restoration_options(p: argparse.ArgumentParser, title: str, *, model_default: str | None,
                            model_help: str, preset_help: str, device_help: str, tile_help: str) -> None:
    """Engine options (see ``vs_fmanet.engine.Engine``)."""
    en = p.add_argument_group(title)
    en.add_argument("--scale", type=int, default=None,
                    help="upscaling factor: 4, 2, or 1 (deblur only); default: the scale of --weights, else 4")
    en.add_argument("--model", default=model_default, help=model_help)
    en.add_argument("--preset", help=preset_help)
    en.add_argument("--weights", metavar="NAME|PATH|random",
                    help="weights: a card name from 'fmanet-weights' (e.g. fmanetpp_small_x2), a model card .json or "
                         "a .safetensors with its card; 'random' = seeded random init (tests)")
    en.add_argument("--device", help=device_help)
    en.add_argument("--precision", choices=("fp32", "fp16", "bf16"), help="default fp16 on cuda, fp32 on cpu")
    en.add_argument("--tile", type=parse_tile, metavar="N|WxH", help=tile_help)
    en.add_argument("--tile-overlap", type=int, metavar="N", help="tile overlap in input pixels")
    en.add_argument("--window", type=int, metavar="N", help="frames produced per engine window")
    en.add_argument("--overlap", type=int, metavar="N", help="context frames each side of a window")
    en.add_argument("--ensemble", type=int, choices=ENSEMBLE_SIZES, metavar="N",
                    help=f"average N flipped/transposed views of each window ({', '.join(map(str, ENSEMBLE_SIZES))}):"
                         " a little more quality for N times the compute; default 1")
    en.add_argument("--strength", type=float, metavar="S",
                    help="how much of the restoration to keep, 0..1: a mix with the bicubic upscale of the input "
                         "(0 = bicubic only); default 1")


def add_deinterlace_option(group: argparse._ArgumentGroup) -> None:
    """--deinterlace auto|on|off (bwdif before restoration, see :mod:`.deinterlace`)."""
    group.add_argument("--deinterlace", choices=DEINTERLACE_MODES, default="auto",
                       help="bwdif before restoration, one frame per frame (timestamps kept): auto = when the "
                            "source is flagged interlaced (default), on = every frame, off = never")


def add_exposure_options(p: argparse.ArgumentParser, title: str, *, sidecar_help: str) -> None:
    """Per-frame exposure: a clip override, the metadata source, a sidecar."""
    ex = p.add_argument_group(title)
    ex.add_argument("--exposure", metavar="VALUE",
                    help="clip exposure override: seconds (0.01), 1/x (1/100) or shutter angle (180deg)")
    ex.add_argument("--exposure-from", choices=EXPOSURE_SOURCES, default="auto",
                    help="metadata source (default auto: the best one found)")
    ex.add_argument("--exposure-sidecar", metavar="PATH", help=sidecar_help)


def add_progress_options(p: argparse.ArgumentParser, title: str, *, interval_help: str,
                         report_help: str) -> argparse._ArgumentGroup:
    """--progress, --progress-interval (seconds) and --report (a JSON file) in a new group, returned so the tool
    can add its own options and then :func:`add_logging_options` to it."""
    rep = p.add_argument_group(title)
    rep.add_argument("--progress", choices=PROGRESS_MODES, default="auto",
                     help="auto (bar on a terminal), bar, json (JSON lines on stderr), none")
    rep.add_argument("--progress-interval", type=float, default=0.5, metavar="S", help=interval_help)
    rep.add_argument("--report", metavar="PATH", help=report_help)
    return rep


def add_logging_options(group: argparse._ArgumentGroup) -> None:
    """--log-level, -v, -q, --log-file (read by ``cli_runtime.attach_logging``)."""
    group.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None)
    group.add_argument("-v", "--verbose", action="store_true", help="same as --log-level info")
    group.add_argument("-q", "--quiet", action="store_true", help="same as --log-level error")
    group.add_argument("--log-file", metavar="PATH", help="also write the log (debug level) to this file")


def resolve_model(ns: argparse.Namespace, default: str) -> str:
    """``--model``, else the model family in the card of ``--weights``, else ``default``."""
    if ns.model:
        return ns.model
    try:
        return model_for_weights(ns.weights, default)
    except ValueError as exc:
        raise UsageError(f"--weights {ns.weights}: {exc}") from None


def engine_settings(ns: argparse.Namespace, model: str) -> EngineSettings:
    """The engine options of a parsed command line (``model`` already resolved by the tool)."""
    return EngineSettings(model=model, scale=ns.scale, preset=ns.preset, weights=ns.weights, device=ns.device,
                          precision=ns.precision, window=ns.window, overlap=ns.overlap, tile=ns.tile,
                          tile_overlap=ns.tile_overlap, ensemble=ns.ensemble, strength=ns.strength)


def stream_policy(ns: argparse.Namespace) -> StreamPolicy:
    """What to copy from the source, from a parsed command line."""
    return StreamPolicy(audio=not ns.no_audio, subtitles=not ns.no_subs, metadata=not ns.no_metadata,
                        audio_codec=ns.audio_codec)
