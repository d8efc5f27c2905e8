"""End-to-end mode of ``bench_speed.py``: decode -> engine -> encode on a generated clip, and where the time goes.

Three passes over the same generated clip (``ffmpeg_filter.sample.make_sample_clip``: moving test pattern with
motion blur, no audio), all with one :class:`vs_fmanet.engine.Engine`:

1. ``model_only``: ``Engine.restore`` on the clip's frames already decoded in memory: the throughput the engine can
   reach with the same windows, overlap and tiles (after one warm-up pass: compilation, cuDNN autotuning and
   allocations are excluded).
2. ``serial``: the product path, ``ffmpeg_filter.pipeline.run`` (what ``fmanet-ffmpeg`` runs), where decoding,
   restoring and encoding take turns in one thread. A timing proxy around the engine splits the wall time into
   decode (PyAV decode + conversion to float RGB), the engine's own stages (upload, code, model, download, blend:
   the engine's stage clock, which synchronises the GPU at stage borders) and encode (float -> 16-bit pixels, NUT
   mux and the pipe into ffmpeg; a slow ffmpeg shows up here because the pipe fills). Exposure metadata is not
   probed (``exposure_from="none"``: the generated clip has none), so the ETE estimates it from pixels.
3. ``overlapped``: a prototype of the same path with a decoder thread and an encoder thread around the engine,
   connected by bounded queues, built from the same ffmpeg_filter functions (``decode_range``,
   ``build_encode_command``, ``EncoderProcess``). It shows what overlapping decode/encode with GPU work buys before
   the product pipeline adopts it; it is not part of ``fmanet-ffmpeg``.

``ratio_to_model_only`` of each pass is the issue's "end-to-end within 80% of model-only" measure.
"""
from __future__ import annotations

import queue
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vs_fmanet.engine import Engine

_END = object()


class _TimedRestorer:
    """Wraps an Engine for ``pipeline.run``: counts the time spent pulling decoded frames (decode) and the time the
    caller spends between receiving a restored frame and asking for the next one (encode)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.scale = engine.scale
        self.decode_s = 0.0
        self.encode_s = 0.0

    def describe(self) -> dict[str, Any]:
        return self.engine.describe()

    def stream(self, frames: Iterable[np.ndarray], exposure: Iterable[float] | None = None,
               scene_starts: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        def timed_frames() -> Iterator[np.ndarray]:
            it = iter(frames)
            while True:
                t0 = time.perf_counter()
                try:
                    frame = next(it)
                except StopIteration:
                    return
                finally:
                    self.decode_s += time.perf_counter() - t0
                yield frame

        for out in self.engine.stream(timed_frames(), exposure, scene_starts):
            t0 = time.perf_counter()
            yield out
            self.encode_s += time.perf_counter() - t0


def _overlapped(engine: Engine, info: Any, argv: list[str], out_w: int, out_h: int, depth: int) -> dict[str, Any]:
    """Decode thread -> engine (this thread) -> encode thread; returns frames and wall seconds."""
    from ffmpeg_filter.decode import decode_range
    from ffmpeg_filter.encode import EncoderProcess

    q_in: queue.Queue = queue.Queue(maxsize=depth)
    q_out: queue.Queue = queue.Queue(maxsize=depth)
    errors: list[BaseException] = []
    stop = threading.Event()
    pts0 = int(info.pts[0])

    def put(q: queue.Queue, item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decoder() -> None:
        try:
            for df in decode_range(info):
                if not put(q_in, df.rgb):
                    return
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            stop.set()
        finally:
            put(q_in, _END)

    enc = EncoderProcess(argv, width=out_w, height=out_h, time_base=info.time_base, frame_rate=info.frame_rate)

    def encoder() -> None:
        idx = 0
        try:
            enc.start()
            while True:
                try:
                    item = q_out.get(timeout=0.1)
                except queue.Empty:
                    if stop.is_set():
                        raise RuntimeError("stopped before the last frame") from None
                    continue
                if item is _END:
                    break
                enc.write(item, int(info.pts[idx] - pts0), int(info.durations[idx]))
                idx += 1
            enc.finish()
        except BaseException as exc:
            errors.append(exc)
            stop.set()
            enc.abort()

    def frames() -> Iterator[np.ndarray]:
        while True:
            item = q_in.get()
            if item is _END or stop.is_set():
                return
            yield item

    t0 = time.perf_counter()
    threads = [threading.Thread(target=decoder, name="bench-decode", daemon=True),
               threading.Thread(target=encoder, name="bench-encode", daemon=True)]
    for th in threads:
        th.start()
    done = 0
    try:
        for out in engine.stream(frames()):
            if not put(q_out, out):
                break
            done += 1
        put(q_out, _END)
    except BaseException:
        stop.set()
        raise
    finally:
        for th in threads:
            th.join(timeout=600)
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"overlapped end-to-end pass failed: {type(errors[0]).__name__}: {errors[0]}") \
            from errors[0]
    return {"frames": done, "wall_s": wall, "fps": done / wall if wall > 0 else 0.0, "queue_depth": depth}


def run_e2e(engine: Engine, *, frames: int, size: tuple[int, int], encoder_args: list[str],
            workdir: str | None = None) -> dict[str, Any]:
    """Run the three passes (see the module docstring) on a generated clip of ``frames`` frames of ``size``
    (height, width) input pixels; ``encoder_args`` are ffmpeg output options (as after ``--`` of fmanet-ffmpeg)."""
    from ffmpeg_filter.binary import find_ffmpeg
    from ffmpeg_filter.command import StreamPolicy, build_encode_command
    from ffmpeg_filter.decode import decode_range
    from ffmpeg_filter.pipeline import RunOptions, run
    from ffmpeg_filter.probe import probe_source
    from ffmpeg_filter.sample import make_sample_clip

    h, w = size
    s = engine.scale
    result: dict[str, Any] = {"frames": frames, "input": f"{h}x{w}", "output": f"{s * h}x{s * w}",
                              "encoder_args": list(encoder_args), "engine": engine.describe()}
    with tempfile.TemporaryDirectory(prefix="fmanet-bench-e2e-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        ffmpeg = find_ffmpeg()
        t0 = time.perf_counter()
        src = make_sample_clip(tmpdir / "source.mkv", frames=frames, size=(w, h), audio=False, subtitles=False,
                               chapters=False, tags=False, blur=True, ffmpeg=ffmpeg)
        result["generate_s"] = time.perf_counter() - t0
        info = probe_source(src, ffmpeg=ffmpeg)
        decoded = np.stack([df.rgb for df in decode_range(info)])

        # 1. model only (after a warm-up pass with the same windows)
        engine.restore(decoded)
        t0 = time.perf_counter()
        engine.restore(decoded)
        model_wall = time.perf_counter() - t0
        model_fps = frames / model_wall
        result["model_only"] = {"wall_s": model_wall, "fps": model_fps}

        # 2. the product path, serial, with the split
        timed = _TimedRestorer(engine)
        clock = engine.stage_clock
        clock.reset()
        clock.enabled = True
        try:
            opts = RunOptions(input=str(src), output=str(tmpdir / "serial.mkv"), overwrite=True,
                              user_args=list(encoder_args), progress="none", preflight=False, exposure_from="none",
                              policy=StreamPolicy(audio=False, subtitles=False, metadata=False))
            t0 = time.perf_counter()
            report = run(opts, restorer=timed)
            serial_wall = time.perf_counter() - t0
        finally:
            clock.enabled = False
        stages = clock.totals()
        engine_stages = sum(stages.values())
        loop_s = frames / report.fps if report.fps else serial_wall
        split = {"decode": timed.decode_s, **stages, "encode": timed.encode_s}
        split["engine_other"] = max(loop_s - timed.decode_s - timed.encode_s - engine_stages, 0.0)
        result["serial"] = {"fps": report.fps, "loop_s": loop_s, "wall_s_with_probe_and_setup": serial_wall,
                            "split_s": split, "split_share": {k: v / loop_s for k, v in split.items()},
                            "ratio_to_model_only": report.fps / model_fps if model_fps else None,
                            "note": "stage clock on: the GPU is synchronised at stage borders"}

        # 3. decode and encode overlapped with the engine (prototype)
        cmd = build_encode_command(info, ffmpeg=ffmpeg, output_file=str(tmpdir / "overlapped.mkv"),
                                   out_width=s * w, out_height=s * h, user_args=list(encoder_args), trim=None,
                                   policy=StreamPolicy(audio=False, subtitles=False, metadata=False))
        over = _overlapped(engine, info, cmd.argv, s * w, s * h, depth=2 * engine.window + 2 * engine.overlap)
        over["ratio_to_model_only"] = over["fps"] / model_fps if model_fps else None
        result["overlapped"] = over
        if over["frames"] != frames:
            raise RuntimeError(f"overlapped end-to-end pass produced {over['frames']} of {frames} frames")
    return result
