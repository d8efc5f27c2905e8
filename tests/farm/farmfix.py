"""Helpers for the farm tests: engine settings of the tiny model, media inspection, and chunk hooks.

The hooks are importable by Ray workers (see conftest.py) and inject real faults into a chunk attempt: an
exception on the first try, or a SIGKILL of the worker process itself in the middle of a chunk (after its first
restored piece, while the encoder is running).
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path
from typing import Any

import av

from ffmpeg_filter.restoring import EngineSettings

# tiny random model, x2, 4-frame windows with 2 context frames: cheap on the CPU, several pieces per chunk
ENGINE = EngineSettings(preset="tiny", weights="random", scale=2, window=4, overlap=2, device="cpu")
ENGINE_ARGS = ["--preset", "tiny", "--weights", "random", "--scale", "2", "--window", "4", "--overlap", "2",
               "--device", "cpu", "--exposure-from", "none"]


def video_facts(path: Path) -> dict[str, Any]:
    """Decoded frame MD5s, sorted video pts (seconds), stream kinds/codecs/languages, chapters and tags."""
    with av.open(str(path)) as f:
        v = f.streams.video[0]
        tb = v.time_base
        pts = sorted(float(p.pts * tb) for p in f.demux(v) if p.size)
        f.seek(0)
        md5 = [hashlib.md5(fr.to_ndarray().tobytes()).hexdigest() for fr in f.decode(video=0)]
        streams = [(s.type, s.codec_context.name if s.codec_context else None, s.metadata.get("language"))
                   for s in f.streams]
        chapters = [(round(float(c["start"] * c["time_base"]), 3), c["metadata"].get("title")) for c in f.chapters()]
        return {"md5": md5, "pts": pts, "streams": streams, "chapters": chapters, "tags": dict(f.metadata),
                "video_title": v.metadata.get("title"), "size": (v.codec_context.width, v.codec_context.height)}


def fail_first_attempt_of_chunk_1(event: str, task: Any) -> None:
    """Raise on the first attempt of chunk 1, before it decodes anything."""
    if event == "start" and task.chunk.index == 1 and task.attempt == 1:
        raise RuntimeError("injected failure: first attempt of chunk 1")


def kill_worker_in_chunk_1(event: str, task: Any) -> None:
    """SIGKILL the worker process after the first restored piece of chunk 1's first attempt (mid-chunk)."""
    if event == "piece" and task.chunk.index == 1 and task.attempt == 1:
        marker = Path(task.work_root) / "killed-worker.pid"
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


def record_gpu_assignment(event: str, task: Any) -> None:
    """Write what Ray gave this chunk task: CUDA_VISIBLE_DEVICES and ray.get_gpu_ids(), plus its resources."""
    if event != "start":
        return
    import json

    import ray

    ctx = ray.get_runtime_context()
    info = {"cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "gpu_ids": ray.get_gpu_ids(),
            "resources": ctx.get_assigned_resources(), "device": task.engine.device}
    (Path(task.work_root) / f"gpu-{task.chunk.index}.json").write_text(json.dumps(info, default=str))


def work_in_another_folder(event: str, task: Any) -> None:
    """Move the worker to / before it decodes: workers of a real cluster run where `ray start` ran, not in the
    driver's folder (a relative input used to fail there)."""
    if event == "start":
        os.chdir("/")
