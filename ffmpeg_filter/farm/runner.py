"""The farm driver: plan every file, run the chunks on Ray with retries, join finished files, report.

:func:`run_farm` is the library form of ``fmanet-farm`` (the CLI only parses options into :class:`FarmOptions`).
Per file: probe (:func:`ffmpeg_filter.probe.probe_source`), per-frame exposure
(:func:`ffmpeg_filter.pipeline.exposure_for_frames`), chunk plan (:mod:`.plan`), work folder with resume state
(:mod:`.workdir`), a one-frame encoder check, then its unfinished chunks join one queue shared by all files so
workers stay busy across file boundaries. A chunk that raises, whose worker process is killed or whose node is
lost costs one attempt; it is retried up to ``max_tries`` times, then its file is reported as failed and the
other files go on. When a file's last chunk is in, the driver joins the chunks by packet copy and muxes the
source's audio, subtitles, chapters and tags (:mod:`.join`), then renames the result into place.

The driver builds the engine once on the CPU only to learn the settings that shape the plan (scale, window,
overlap, weights checksum) and to fail early on bad engine options; workers build their own on their device.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import numpy as np

from vs_fmanet import __version__

from .. import atomic
from ..binary import find_ffmpeg
from ..command import StreamPolicy
from ..deinterlace import check_deinterlace_mode, plan_deinterlace
from ..encode import encode_frames
from ..errors import EXIT_INTERRUPTED, EXIT_TERMINATED, EncoderError, FilterError, UsageError
from ..pipeline import EXPOSURE_SOURCES, RunOptions, exposure_for_frames
from ..probe import SourceInfo, probe_source
from ..restoring import EngineSettings, build_restorer
from .chunkrun import ChunkHook, ChunkTask, chunk_encode_command
from .inputs import FileJob
from .join import join_chunks, mux_final
from .plan import Chunk, chunk_frames_for_seconds, describe_plan, plan_chunks, round_chunk_frames
from .progress import FarmProgress
from .report import FarmReport, FileReport, write_report
from .tasks import ChunkSubmitter, ClusterConfig, RaySession, TaskResources, plan_resources
from .workdir import (PLAN_VERSION, ChunkRecord, WorkDir, chunk_suffix_for, input_fingerprint, plan_hash,
                      work_dir_name)

log = logging.getLogger(__name__)

WORK_FOLDER = ".fmanet-farm"


@dataclasses.dataclass
class FarmOptions:
    """Everything one farm run needs (the CLI's options; see ``fmanet-farm --help`` for each)."""

    jobs: list[FileJob]
    folder_mode: bool = False
    overwrite: bool = False
    engine: EngineSettings = dataclasses.field(default_factory=EngineSettings)
    user_args: list[str] = dataclasses.field(default_factory=list)
    policy: StreamPolicy = dataclasses.field(default_factory=StreamPolicy)
    bitexact: bool = False
    ffmpeg: str | None = None
    exposure: str | None = None                 # per-clip override: seconds, "1/100" or "180deg"
    exposure_from: str = "auto"
    exposure_sidecar: str | None = None
    deinterlace: str = "auto"                   # auto|on|off, per file (see ffmpeg_filter.deinterlace)
    scene_cuts: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # input -> frames starting a scene
    chunk_frames: int | None = None             # None = from chunk_seconds
    chunk_seconds: float = 10.0
    min_chunk_frames: int | None = None
    work_dir: str | None = None                 # None = <output folder>/.fmanet-farm
    keep: bool = False
    fresh: bool = False
    max_tries: int = 3
    cluster: ClusterConfig = dataclasses.field(default_factory=ClusterConfig)
    workers: int = 0
    num_gpus: float | None = None
    cpus_per_task: int = 1
    progress: str = "auto"
    progress_interval: float = 0.5
    progress_stream: IO[str] | None = None
    report: str | None = None
    chunk_hook: ChunkHook | None = None


@dataclasses.dataclass(eq=False)
class _FileRun:
    """Driver-side state of one file."""

    job: FileJob
    report: FileReport
    info: SourceInfo | None = None
    chunks: list[Chunk] = dataclasses.field(default_factory=list)
    work: WorkDir | None = None
    plan_hash: str = ""
    exposure: np.ndarray | None = None
    deinterlace: str | None = None              # the bwdif deint setting for this file, or None
    done: dict[int, ChunkRecord] = dataclasses.field(default_factory=dict)
    attempts: dict[int, int] = dataclasses.field(default_factory=dict)
    state: dict[str, Any] = dataclasses.field(default_factory=dict)
    info_ref: Any = None
    t0: float = 0.0
    error: FilterError | None = None

    @property
    def label(self) -> str:
        return self.job.label

    @property
    def open(self) -> bool:
        return self.report.status in ("planned", "running")

    def pending(self) -> list[Chunk]:
        return [c for c in self.chunks if c.index not in self.done]

    def frames_done(self) -> int:
        return sum(c.frames for c in self.chunks if c.index in self.done)


def _short_error(exc: BaseException) -> str:
    """One readable line for a failed attempt (Ray wraps task exceptions; worker/node loss has its own types)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    name = type(exc).__name__
    if name in ("WorkerCrashedError", "NodeDiedError", "ActorDiedError"):
        return f"{name}: the worker process or its node died during the chunk (killed, out of memory or lost)"
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0] if text else ''}"[:500]


class _Farm:
    def __init__(self, opts: FarmOptions) -> None:
        self.opts = opts
        self.ffmpeg = ""
        self.settings: EngineSettings = opts.engine
        self.engine_info: dict[str, Any] = {}
        self.runs: list[_FileRun] = []
        self.progress = FarmProgress(mode=opts.progress, interval=opts.progress_interval, stream=opts.progress_stream)
        self.ray_info: dict[str, Any] | None = None
        self.resources: TaskResources | None = None
        self.work_roots: set[Path] = set()
        self.scale = 1

    # ------------------------------------------------------------------ set-up
    def check_options(self) -> None:
        o = self.opts
        if not o.jobs:
            raise UsageError("run_farm: no input files")
        if o.max_tries < 1:
            raise UsageError(f"--max-tries {o.max_tries}: must be at least 1")
        if o.exposure_from not in EXPOSURE_SOURCES:
            raise UsageError(f"--exposure-from {o.exposure_from!r}: choose one of {', '.join(EXPOSURE_SOURCES)}")
        check_deinterlace_mode(o.deinterlace)
        if o.exposure_sidecar and len(o.jobs) > 1:
            raise UsageError("--exposure-sidecar describes one video; it cannot be used with a folder of inputs")
        if o.chunk_frames is not None and o.chunk_frames < 1:
            raise UsageError(f"--chunk-frames {o.chunk_frames}: must be at least 1")
        if o.min_chunk_frames is not None and o.min_chunk_frames < 1:
            raise UsageError(f"--min-chunk-frames {o.min_chunk_frames}: must be at least 1")
        if not o.chunk_seconds > 0:
            raise UsageError(f"--chunk-seconds {o.chunk_seconds:g}: must be positive")
        if o.exposure is not None:
            from vs_fmanet.exposure import parse_exposure_override

            # the form only: each file's own frame rate bounds the value when its exposure is worked out (an angle
            # needs some rate to parse; any angle up to 360deg fits every rate)
            is_angle = str(o.exposure).strip().lower().endswith(("deg", "°"))
            try:
                parse_exposure_override(o.exposure, 25.0 if is_angle else None)
            except ValueError as exc:
                raise UsageError(f"--exposure {o.exposure!r}: {exc}") from exc
        self.ffmpeg = find_ffmpeg(o.ffmpeg)
        # the plan depends on the engine's window/overlap/scale: ask the engine, on the CPU, once
        probe = build_restorer(dataclasses.replace(o.engine, device="cpu", precision="fp32"))
        self.settings = dataclasses.replace(o.engine, window=int(probe.window), overlap=int(probe.overlap))
        desc = probe.describe()
        self.engine_info = {"model_name": probe.model_name, "scale": int(probe.scale), "window": int(probe.window),
                            "overlap": int(probe.overlap), "weights_sha256": desc.get("sha256"),
                            "preset": desc.get("preset")}
        self.scale = int(probe.scale)

    def work_root(self, job: FileJob) -> Path:
        if self.opts.work_dir:
            return Path(self.opts.work_dir)
        return Path(job.output).parent / WORK_FOLDER

    # ------------------------------------------------------------------ planning one file
    def plan_file(self, job: FileJob) -> _FileRun:
        o = self.opts
        run = _FileRun(job=job, report=FileReport(input=job.input, output=job.output, label=job.label),
                       t0=time.monotonic())
        out = Path(job.output)
        try:
            if o.folder_mode:
                out.parent.mkdir(parents=True, exist_ok=True)
            if (out.exists() or out.is_symlink()) and not o.overwrite:
                if o.folder_mode:
                    run.report.status = "skipped"
                    run.report.reason = "output exists; pass -y to overwrite it"
                    self.progress.file_event(run.label, "skipped", reason=run.report.reason)
                    return run
            atomic.check_output_target(out, overwrite=o.overwrite, inputs=[job.input])
            # absolute: workers on a cluster run in another folder (that of `ray start`), not the driver's
            info = probe_source(os.path.abspath(job.input), ffmpeg=self.ffmpeg)
            if info.kind != "video":
                raise UsageError(f"'{job.input}' is an image sequence; fmanet-farm joins encoded video chunks, so "
                                 "give it a video file (or use fmanet-ffmpeg for image sequences)")
            run.info = info
            run.deinterlace, deint_warnings = plan_deinterlace(o.deinterlace, info)
            run.report.warnings += deint_warnings
            opts = RunOptions(input=job.input, output=job.output, exposure=o.exposure,
                              exposure_from=o.exposure_from, exposure_sidecar=o.exposure_sidecar, fps=None)
            fractions, _, _, warnings = exposure_for_frames(info, opts, 0, info.frame_count)
            run.exposure = np.asarray(fractions, dtype=np.float64)
            run.report.warnings += warnings
            window, overlap = int(self.settings.window or 1), int(self.settings.overlap or 0)
            if o.chunk_frames:
                chunk_frames = round_chunk_frames(int(o.chunk_frames), window)
            else:
                chunk_frames = chunk_frames_for_seconds(o.chunk_seconds, float(info.frame_rate or 0) or None, window)
            cuts = o.scene_cuts.get(job.input, [])
            run.chunks = plan_chunks(info.frame_count, window=window, overlap=overlap, chunk_frames=chunk_frames,
                                     scene_cuts=cuts, min_chunk_frames=o.min_chunk_frames)
            plan = self.plan_document(run, cuts)
            run.plan_hash = plan["plan_hash"]
            root = self.work_root(job)
            self.work_roots.add(root)
            run.work = WorkDir(root / work_dir_name(job.input, job.output), chunk_suffix_for(out.suffix))
            resumed = run.work.prepare(plan, fresh=o.fresh)
            run.work.clean_partials()
            run.done = run.work.finished({c.index: c.frames for c in run.chunks}, run.plan_hash)
            run.state = run.work.load_state(run.plan_hash)
            run.report.work_dir = str(run.work.root)
            run.report.plan_hash = run.plan_hash
            run.report.chunks = len(run.chunks)
            run.report.frames = info.frame_count
            run.report.chunks_reused = len(run.done)
            if run.pending():
                self.preflight(run)
            run.report.status = "planned"
            summary = describe_plan(run.chunks)
            log.info("%s: %d frames in %d chunks of ~%d frames (context overhead %.0f%%)%s", job.label,
                     info.frame_count, len(run.chunks), chunk_frames, 100 * float(summary["context_overhead"]),
                     f"; {len(run.done)} finished earlier" if resumed and run.done else "")
            self.progress.add_file(run.label, info.frame_count, len(run.chunks))
            for index in sorted(run.done):
                self.progress.chunk_event(run.label, index, "reused")
            self.progress.set_frames(run.label, run.frames_done())
        except FilterError as exc:
            run.error = exc
            self.fail(run, str(exc), log_it=self.opts.folder_mode)
        except OSError as exc:  # work folder or output folder not writable, disk full...
            run.error = FilterError(f"'{job.input}': {exc.strerror or exc} ({exc.filename or 'work folder'}); "
                                    "check --work-dir / -o and free disk space")
            self.fail(run, str(run.error), log_it=self.opts.folder_mode)
        return run

    def plan_document(self, run: _FileRun, cuts: list[int]) -> dict[str, Any]:
        """Everything the chunk files depend on; its hash decides whether old chunks can be reused."""
        info, job, o = run.info, run.job, self.opts
        assert info is not None and run.exposure is not None
        engine = {k: (str(v) if v is not None else None) for k, v in dataclasses.asdict(self.settings).items()}
        plan: dict[str, Any] = {
            "version": PLAN_VERSION, "tool": f"vs-fmanet {__version__}",
            "input": str(Path(job.input).resolve()), "fingerprint": input_fingerprint(job.input),
            "frames": info.frame_count, "time_base": str(info.time_base),
            "pts_sha256": hashlib.sha256(np.ascontiguousarray(info.pts, dtype=np.int64).tobytes()).hexdigest(),
            "output_suffix": Path(job.output).suffix, "engine": engine, "engine_resolved": self.engine_info,
            "encoder": {"user_args": list(o.user_args), "bitexact": o.bitexact},
            "exposure_sha256": hashlib.sha256(run.exposure.astype(np.float64).tobytes()).hexdigest(),
            "deinterlace": run.deinterlace,
            "scene_cuts": sorted(int(c) for c in cuts),
            "chunks": [c.as_dict() for c in run.chunks],
        }
        plan["plan_hash"] = plan_hash(plan)
        return plan

    def chunk_command(self, run: _FileRun, chunk: Chunk, output_file: str) -> list[str]:
        info = run.info
        assert info is not None
        return chunk_encode_command(info, ffmpeg=self.ffmpeg, output_file=output_file,
                                    out_width=info.width * self.scale, out_height=info.height * self.scale,
                                    user_args=list(self.opts.user_args), chunk=chunk,
                                    bitexact=self.opts.bitexact).argv

    def preflight(self, run: _FileRun) -> None:
        """Encode one black frame with the chunks' encoder command, so bad encoder options fail in a second
        instead of once per chunk attempt."""
        assert run.work is not None and run.info is not None
        info = run.info
        target = run.work.root / f"preflight{run.work.suffix}"
        argv = self.chunk_command(run, run.chunks[0], str(target))
        argv = argv[:-1] + ["-frames:v", "1", argv[-1]]
        black = np.zeros((info.height * self.scale, info.width * self.scale, 3), dtype=np.uint16)
        try:
            encode_frames([(black, 0, int(info.durations[0]))], argv, width=black.shape[1], height=black.shape[0],
                          time_base=info.time_base, frame_rate=info.frame_rate)
        except EncoderError as exc:
            raise EncoderError(f"the encoder settings were rejected before processing started (one-frame check "
                               f"for '{run.job.input}'):\n{exc}") from exc
        finally:
            atomic.discard(target)

    # ------------------------------------------------------------------ state changes
    def fail(self, run: _FileRun, message: str, *, log_it: bool = True) -> None:
        """Record ``run`` as failed; ``log_it=False`` when the error is raised to the command line, which prints it
        (a single input's planning error), so it is not printed twice."""
        run.info_ref = None  # releases the source description in Ray's object store
        run.report.status = "failed"
        run.report.error = message
        run.report.wall_s = round(time.monotonic() - run.t0, 3)
        if log_it:
            log.error("%s: %s", run.label, message)
        self.progress.file_event(run.label, "failed", error=message.splitlines()[0][:300])

    def save_state(self, run: _FileRun) -> None:
        if run.work is not None:
            run.state["attempts"] = {str(k): v for k, v in run.attempts.items()}
            try:
                run.work.save_state(run.state)
            except OSError as exc:
                log.warning("%s: could not save the retry state (%s)", run.label, exc)

    def chunk_done(self, run: _FileRun, chunk: Chunk, record: ChunkRecord) -> None:
        if record.frames != chunk.frames or record.plan_hash != run.plan_hash:
            self.chunk_failed(run, chunk, RuntimeError(f"the worker reported {record.frames} frames for plan "
                                                       f"{record.plan_hash[:12]}; expected {chunk.frames} frames "
                                                       f"for {run.plan_hash[:12]}"), requeue=None)
            return
        run.done[chunk.index] = record
        run.report.chunks_run += 1
        if run.report.engine is None:
            run.report.engine = record.engine
        self.progress.chunk_event(run.label, chunk.index, "done", frames=chunk.frames, seconds=record.seconds,
                                  host=record.host, attempt=record.attempt)
        self.progress.set_frames(run.label, run.frames_done())
        self.save_state(run)
        if not run.pending() and run.open:
            self.finish_file(run)

    def chunk_failed(self, run: _FileRun, chunk: Chunk, exc: BaseException, requeue: deque | None) -> None:
        attempt = run.attempts.get(chunk.index, 0)
        message = _short_error(exc)
        run.report.failed_attempts += 1
        run.state.setdefault("errors", {}).setdefault(str(chunk.index), []).append(
            {"attempt": attempt, "error": message, "time": time.time()})
        self.save_state(run)
        if not run.open:
            return
        if requeue is not None and attempt < self.opts.max_tries:
            log.warning("%s: chunk %d (frames %d-%d) failed on attempt %d of %d: %s; retrying", run.label,
                        chunk.index, chunk.start, chunk.stop - 1, attempt, self.opts.max_tries, message)
            self.progress.chunk_event(run.label, chunk.index, "retry", attempt=attempt, error=message)
            requeue.appendleft((run, chunk))
            return
        self.progress.chunk_event(run.label, chunk.index, "failed", attempt=attempt, error=message)
        self.fail(run, f"chunk {chunk.index} (frames {chunk.start}-{chunk.stop - 1}) failed {attempt} time(s); "
                       f"last error: {message}. Finished chunks are kept in {run.report.work_dir}: rerun the same "
                       "command to retry only the missing ones")

    def finish_file(self, run: _FileRun) -> None:
        """Join the chunks, mux the source's other streams, move the result into place."""
        assert run.work is not None and run.info is not None
        out = Path(run.job.output)
        tmp = atomic.temp_path_for(out)
        try:
            files = [run.work.chunk_path(c.index) for c in run.chunks]
            joined = join_chunks(files, run.work.joined_path, expected_frames=[c.frames for c in run.chunks])
            run.report.warnings += mux_final(joined, run.info, tmp, ffmpeg=self.ffmpeg, policy=self.opts.policy,
                                             bitexact=self.opts.bitexact)
            atomic.commit_file(tmp, out, overwrite=self.opts.overwrite)
        except FilterError as exc:
            self.fail(run, str(exc))
            return
        finally:
            atomic.discard(tmp)
        run.report.status = "done"
        run.report.wall_s = round(time.monotonic() - run.t0, 3)
        run.info_ref = None
        if self.opts.keep:
            run.work.clean_partials()
            run.work.drop_previous()
        else:
            run.work.remove()
        log.info("%s: done -> %s (%d frames, %.1f s)", run.label, out, run.report.frames, run.report.wall_s)
        self.progress.set_frames(run.label, run.report.frames)
        self.progress.file_event(run.label, "done", output=str(out), frames=run.report.frames,
                                 wall_s=run.report.wall_s)

    # ------------------------------------------------------------------ scheduling
    def make_task(self, run: _FileRun, chunk: Chunk, attempt: int) -> ChunkTask:
        assert run.work is not None and run.exposure is not None and self.resources is not None
        settings = dataclasses.replace(self.settings, device=self.resources.device)
        exp = run.exposure[chunk.decode_start:chunk.decode_stop]
        return ChunkTask(input=str(Path(run.job.input).resolve()), work_root=str(run.work.root.resolve()),
                         suffix=run.work.suffix, chunk=chunk, plan_hash=run.plan_hash, attempt=attempt,
                         engine=settings, exposure=[float(v) for v in exp], user_args=list(self.opts.user_args),
                         deinterlace=run.deinterlace,
                         bitexact=self.opts.bitexact, ffmpeg=self.opts.ffmpeg,
                         threads=max(1, int(self.opts.cpus_per_task)), hook=self.opts.chunk_hook)

    def schedule(self, session: RaySession) -> None:
        o = self.opts
        self.ray_info = session.describe()
        self.resources = plan_resources(session.resources(), num_gpus=o.num_gpus, cpus_per_task=o.cpus_per_task,
                                        device=o.engine.device, workers=o.workers)
        for w in self.resources.warnings:
            log.warning("%s", w)
        res = self.resources
        log.info("Ray: %s; %g CPU + %g GPU per chunk, up to %d chunks at once", self.ray_info, res.num_cpus,
                 res.num_gpus, res.concurrency)
        submitter = ChunkSubmitter(session, res)
        queue: deque[tuple[_FileRun, Chunk]] = deque((r, c) for r in self.runs if r.open for c in r.pending())
        inflight: dict[Any, tuple[_FileRun, Chunk]] = {}
        try:
            while queue or inflight:
                while queue and len(inflight) < res.concurrency:
                    run, chunk = queue.popleft()
                    if not run.open:
                        continue
                    if run.info_ref is None:
                        run.info_ref = submitter.put_source(run.info)
                        run.report.status = "running"
                        self.progress.file_event(run.label, "running")
                    attempt = run.attempts.get(chunk.index, 0) + 1
                    run.attempts[chunk.index] = attempt
                    ref = submitter.submit(self.make_task(run, chunk, attempt), run.info_ref)
                    inflight[ref] = (run, chunk)
                for ref in submitter.wait(list(inflight), timeout=max(0.05, o.progress_interval)):
                    run, chunk = inflight.pop(ref)
                    try:
                        record = submitter.result(ref)
                    except Exception as exc:  # a RayTaskError (the task raised) or a lost worker/node
                        self.chunk_failed(run, chunk, exc, queue)
                    else:
                        self.chunk_done(run, chunk, record)
                self.update_running(inflight)
        except BaseException:
            submitter.cancel(list(inflight))
            for run in self.runs:
                self.save_state(run)
            raise

    def update_running(self, inflight: dict[Any, tuple[_FileRun, Chunk]]) -> None:
        partial: dict[int, int] = {}
        runs: dict[int, _FileRun] = {}
        for run, chunk in inflight.values():
            if run.work is not None and run.open:
                partial[id(run)] = partial.get(id(run), 0) + min(chunk.frames, run.work.read_progress(chunk.index))
                runs[id(run)] = run
        for key, run in runs.items():
            self.progress.set_frames(run.label, run.frames_done() + partial[key])
        self.progress.refresh()

    # ------------------------------------------------------------------ whole run
    def settings_summary(self) -> dict[str, Any]:
        o = self.opts
        engine = {k: (str(v) if v is not None else None) for k, v in dataclasses.asdict(self.settings).items()}
        return {"engine": engine,
                "engine_resolved": self.engine_info, "user_args": o.user_args, "bitexact": o.bitexact,
                "chunk_frames": o.chunk_frames, "chunk_seconds": o.chunk_seconds, "max_tries": o.max_tries,
                "workers": o.workers, "num_gpus": o.num_gpus, "cpus_per_task": o.cpus_per_task,
                "resources": dataclasses.asdict(self.resources) if self.resources else None,
                "ffmpeg": self.ffmpeg}

    def cleanup_roots(self) -> None:
        if self.opts.work_dir or self.opts.keep:
            return
        for root in self.work_roots:
            try:
                root.rmdir()  # only when empty: other jobs' work folders may live there
            except OSError:
                pass


def run_farm(opts: FarmOptions) -> FarmReport:
    """Process every job of ``opts`` on Ray (see the module docstring) and return the report (also written to
    ``opts.report`` when given). ``exit_code`` in the report is 0 when no file failed and 1 otherwise.

    Raises :class:`FilterError` subclasses for problems that stop the whole run (bad options, missing ffmpeg or
    weights, unreachable Ray cluster) and KeyboardInterrupt / ``Terminated``; in those cases the work folders
    keep every finished chunk, so rerunning the same command resumes.
    """
    t0 = time.monotonic()
    farm = _Farm(opts)
    report = FarmReport(files=[], settings={})
    farm.progress.start(files=len(opts.jobs))
    state = "failed"
    try:
        farm.check_options()
        for job in opts.jobs:
            farm.runs.append(farm.plan_file(job))
        first = farm.runs[0]
        if not opts.folder_mode and first.error is not None:
            raise first.error  # one file: its planning error is the run's error (with its own exit code)
        for run in farm.runs:
            if run.open and not run.pending():
                farm.finish_file(run)
        if any(run.open for run in farm.runs):
            with RaySession(opts.cluster) as session:
                farm.schedule(session)
        farm.progress.refresh()
        report.exit_code = 0 if all(r.report.status in ("done", "skipped") for r in farm.runs) else 1
        state = "done" if report.exit_code == 0 else "failed"
        return report
    except BaseException as exc:
        interrupted = not isinstance(exc, Exception)
        state = "interrupted" if interrupted else "failed"
        report.exit_code = (EXIT_TERMINATED if type(exc).__name__ == "Terminated" else EXIT_INTERRUPTED) \
            if interrupted else getattr(exc, "exit_code", 1)
        for run in farm.runs:
            if run.open:
                run.report.status = "interrupted" if interrupted else "failed"
                run.report.error = run.report.error or (None if interrupted else str(exc))
        raise
    finally:
        farm.cleanup_roots()
        report.files = [r.report for r in farm.runs]
        report.settings = farm.settings_summary()
        report.ray = farm.ray_info
        report.wall_s = round(time.monotonic() - t0, 3)
        farm.progress.close(state, exit_code=report.exit_code, counts=report.counts())
        if opts.report:
            try:
                write_report(opts.report, report)
            except OSError as exc:
                log.error("could not write the report %s: %s", opts.report, exc)
