"""``fmanet-farm``: restore one long video or a folder of videos in chunks on Ray, resumably.

Usage::

    fmanet-farm -i INPUT -o OUTPUT [-y] [--workers N] [--num-gpus 0.5] [--ray-address HOST:6379]
                [--chunk-seconds 10 | --chunk-frames N] [--max-tries 3] [--work-dir DIR] [--keep] [--fresh]
                [--progress json] [--report report.json] [engine, exposure and stream options of fmanet-ffmpeg]
                [-- ENCODER OPTIONS...]
    fmanet-farm -i FOLDER -o OUT_FOLDER [--ext mkv] ...
    fmanet-farm --input-list files.txt -o OUT_FOLDER ...

Without ``--ray-address`` (and without ``RAY_ADDRESS``) an embedded Ray is started on this machine. Exit codes:
0 every file done (or skipped because its output existed), 1 a file failed or the run could not start,
2 bad usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); finished chunks are kept in the work folder in
every failure case, and rerunning the same command resumes. Logs and progress go to stderr; stdout is unused.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vs_fmanet import add_version_option

from ..cli_options import (add_deinterlace_option, add_exposure_options, add_logging_options, add_progress_options,
                           add_restoration_options, add_stream_options, engine_settings, resolve_model,
                           split_passthrough, stream_policy)
from ..cli_runtime import UsageErrorParser, run_cli
from ..command import enc_pairs_to_args
from ..errors import EXIT_OK, InputError, UsageError
from .inputs import FileJob, collect_jobs
from .runner import FarmOptions, run_farm
from .tasks import DEFAULT_OBJECT_STORE_MB, ClusterConfig

log = logging.getLogger("ffmpeg_filter.farm")

EPILOG = """\
examples:
  fmanet-farm -i movie.mkv -o movie_x4.mkv --chunk-seconds 20
  fmanet-farm -i shots/ -o restored/ --ext mkv --report restored/report.json -- -c:v libx265 -crf 18
  fmanet-farm -i shots/ -o restored/ --ray-address head-node:6379 --num-gpus 0.5
  RAY_ADDRESS=auto fmanet-farm --input-list todo.txt -o restored/ --progress json

exit codes: 0 all done, 1 a file failed, 2 bad usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)
"""


def _positive_float(name: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} is not a number") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} must not be negative")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fmanet-farm``."""
    p = UsageErrorParser(prog="fmanet-farm", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="FMA-Net++ restoration of long videos or folders of videos, in chunks on Ray "
                                     "(local or a cluster), resumable; the frames of one fmanet-ffmpeg pass "
                                     "(bit-identical with a lossless codec such as -- -c:v ffv1).",
                         epilog=EPILOG)
    add_version_option(p)
    io = p.add_argument_group("input and output")
    io.add_argument("-i", "--input", metavar="INPUT", help="a video file, or a folder of videos (folder mode)")
    io.add_argument("--input-list", metavar="FILE", help="a text file with one input path per line (folder mode)")
    io.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                    help="output file (one input) or output folder (folder mode; input paths are mirrored)")
    io.add_argument("--ext", metavar="EXT", help="extension of the outputs in folder mode (default: the input's)")
    ow = io.add_mutually_exclusive_group()
    ow.add_argument("-y", "--overwrite", action="store_true", help="overwrite existing outputs")
    ow.add_argument("-n", "--no-overwrite", action="store_true",
                    help="never overwrite (the default; existing outputs are skipped in folder mode)")
    io.add_argument("--ffmpeg", metavar="PATH", help="ffmpeg executable (default: PATH, then imageio-ffmpeg's)")
    add_deinterlace_option(io)

    ch = p.add_argument_group("chunks, resume and retries")
    size = ch.add_mutually_exclusive_group()
    size.add_argument("--chunk-seconds", type=float, default=10.0, metavar="S",
                      help="target chunk length in seconds (default 10), rounded to whole engine windows")
    size.add_argument("--chunk-frames", type=int, metavar="N", help="target chunk length in frames")
    ch.add_argument("--min-chunk-frames", type=int, metavar="N",
                    help="shortest chunk; shorter scenes are merged (default: one engine window)")
    ch.add_argument("--scene-cuts", metavar="FILE",
                    help="known scene cuts: JSON list of frame indices that start a scene (one input), or a JSON "
                         "object {input path: [indices]}; chunks are cut there first")
    ch.add_argument("--work-dir", metavar="DIR",
                    help="folder for plans and chunk files (default OUTPUT_FOLDER/.fmanet-farm; on a cluster it "
                         "must be on storage every node can reach)")
    ch.add_argument("--keep", action="store_true", help="keep the work folder after success")
    ch.add_argument("--fresh", action="store_true", help="ignore finished chunks of an earlier run and redo them")
    ch.add_argument("--max-tries", type=int, default=3, metavar="N",
                    help="attempts per chunk before its file is reported failed (default 3)")

    ry = p.add_argument_group("Ray")
    ry.add_argument("--ray-address", metavar="ADDR",
                    help="attach to a Ray cluster (auto, HOST:6379, ray://HOST:10001); default: RAY_ADDRESS, "
                         "else an embedded Ray on this machine; 'local' forces the embedded one")
    ry.add_argument("--workers", type=int, default=0, metavar="N",
                    help="chunks processed at once (default 0 = as many as the cluster's resources allow)")
    ry.add_argument("--num-gpus", type=_positive_float("--num-gpus"), metavar="X",
                    help="GPUs per chunk task, fractions allowed (0.5 = two chunks share a GPU); default 1 when "
                         "the cluster has GPUs, else 0 (CPU)")
    ry.add_argument("--cpus-per-task", type=int, default=1, metavar="N",
                    help="CPUs per chunk task (also the worker's torch threads; default 1)")
    ry.add_argument("--local-cpus", type=int, metavar="N", help="CPUs the embedded Ray may use (default: all)")
    ry.add_argument("--local-gpus", type=_positive_float("--local-gpus"), metavar="N",
                    help="GPUs the embedded Ray may use (default: detected)")
    ry.add_argument("--object-store-mb", type=int, default=DEFAULT_OBJECT_STORE_MB, metavar="MB",
                    help=f"object store of the embedded Ray (default {DEFAULT_OBJECT_STORE_MB}; frames never go "
                         "through it)")

    add_stream_options(p, "streams and encoding (as fmanet-ffmpeg)")
    add_restoration_options(
        p, "restoration (as fmanet-ffmpeg)", model_default=None,
        model_help="model family: fmanetpp or fmanet (the causal model does not suit chunks); default: the one "
                   "named by the --weights card, else fmanetpp",
        preset_help="model size preset (paper, small, tiny); default: the shipped model's",
        device_help="cuda or cpu for the workers (default: cuda when the task has a GPU)",
        tile_help="spatial tile size in input pixels (0 = off); set it for results identical across machines "
                  "with different free memory")
    add_exposure_options(p, "exposure (as fmanet-ffmpeg)",
                         sidecar_help="per-frame exposure sidecar (one input only)")

    rep = add_progress_options(p, "progress and logging", interval_help="seconds between progress updates",
                               report_help="JSON report with per-file status (default in folder mode: "
                                           "OUT_FOLDER/fmanet-farm-report.json)")
    add_logging_options(rep)
    return p


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split ``argv`` at the first ``--`` (encoder options passed to ffmpeg verbatim) and parse the rest."""
    ours, passthrough = split_passthrough(argv)
    return build_parser().parse_args(ours), passthrough


def read_scene_cuts(path: str, jobs: list[FileJob]) -> dict[str, list[int]]:
    """Scene cuts per input from ``--scene-cuts FILE`` (see its help). Keys of a JSON object may be an input
    path as given, its absolute path, or its path relative to the input folder."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--scene-cuts: cannot read '{path}' as JSON ({exc})") from exc

    def ints(value: Any, where: str) -> list[int]:
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                  for v in value):
            raise UsageError(f"--scene-cuts {path}: {where} must be a list of frame indices (integers >= 0) that "
                             "start a new scene, e.g. [120, 348]")
        return [int(v) for v in value]

    if isinstance(raw, list):
        if len(jobs) != 1:
            raise UsageError(f"--scene-cuts {path}: a plain list applies to one input; for a folder use "
                             '{"relative/path.mkv": [120, 348], ...}')
        return {jobs[0].input: ints(raw, "the list")}
    if not isinstance(raw, dict):
        raise UsageError(f"--scene-cuts {path}: expected a JSON list or object")
    out: dict[str, list[int]] = {}
    used: set[str] = set()
    for job in jobs:
        for key in (job.input, job.label, str(Path(job.input).resolve())):
            if key in raw:
                out[job.input] = ints(raw[key], f"the entry for '{key}'")
                used.add(key)
                break
    unknown = sorted(set(raw) - used)
    if unknown:
        log.warning("--scene-cuts: no input matches %s", ", ".join(unknown[:5]))
    return out


def options_from_args(ns: argparse.Namespace, passthrough: list[str]) -> FarmOptions:
    """Translate parsed arguments into :class:`FarmOptions` (collects the input files)."""
    jobs, folder_mode = collect_jobs(ns.input, ns.output, list_file=ns.input_list, ext=ns.ext)
    report = ns.report
    if report is None and folder_mode:
        report = str(Path(ns.output) / "fmanet-farm-report.json")
    if ns.local_cpus is not None and ns.local_cpus < 1:
        raise UsageError(f"--local-cpus {ns.local_cpus}: must be at least 1")
    model = resolve_model(ns, "fmanetpp")
    if model == "fmanetpp-causal":
        given = "--model fmanetpp-causal" if ns.model else f"--weights {ns.weights} (a fmanetpp-causal card)"
        raise UsageError(f"{given}: the causal model carries state from frame to frame, which every farm chunk "
                         "would reset; use fmanet-ffmpeg --live for it, or bidirectional fmanetpp weights here")
    return FarmOptions(
        jobs=jobs, folder_mode=folder_mode, overwrite=bool(ns.overwrite),
        engine=engine_settings(ns, model),
        user_args=enc_pairs_to_args(ns.enc) + list(passthrough),
        policy=stream_policy(ns),
        bitexact=ns.bitexact, ffmpeg=ns.ffmpeg, exposure=ns.exposure, exposure_from=ns.exposure_from,
        exposure_sidecar=ns.exposure_sidecar, deinterlace=ns.deinterlace,
        scene_cuts=read_scene_cuts(ns.scene_cuts, jobs) if ns.scene_cuts else {},
        chunk_frames=ns.chunk_frames, chunk_seconds=ns.chunk_seconds, min_chunk_frames=ns.min_chunk_frames,
        work_dir=ns.work_dir, keep=ns.keep, fresh=ns.fresh, max_tries=ns.max_tries,
        cluster=ClusterConfig(address=ns.ray_address, local_cpus=ns.local_cpus, local_gpus=ns.local_gpus,
                              object_store_mb=ns.object_store_mb),
        workers=ns.workers, num_gpus=ns.num_gpus, cpus_per_task=ns.cpus_per_task,
        progress=ns.progress, progress_interval=ns.progress_interval, report=report,
    )


def _run(ns: argparse.Namespace, passthrough: list[str]) -> int:
    options = options_from_args(ns, passthrough)
    report = run_farm(options)
    counts = report.counts()
    if report.exit_code != EXIT_OK:
        failed = [f for f in report.files if f.status == "failed"]  # each was logged when it failed
        log.error("%d of %d files failed%s", len(failed), len(report.files),
                  f"; see {options.report or 'the report'}" if len(report.files) > 1 else "")
    else:
        log.info("done: %s", ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fmanet-farm``; returns the exit code (0, 1, 2, 130 or 143)."""
    # Ray installs its own root handlers: attach ours to the project's loggers only
    return run_cli("fmanet-farm", argv, parse_args, _run, loggers=("ffmpeg_filter", "vs_fmanet"),
                   interrupted="interrupted; finished chunks are kept, rerun the same command to resume",
                   terminated="terminated; finished chunks are kept, rerun the same command to resume")


if __name__ == "__main__":
    sys.exit(main())
