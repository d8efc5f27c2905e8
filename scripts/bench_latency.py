#!/usr/bin/env python3
"""Latency, throughput and memory of the causal (streaming) FMA-Net++ through the engine: prints a table, writes JSON.

    python scripts/bench_latency.py --presets causal-tiny,causal-small --sizes 32x32,64x64 --frames 40 \
        --compare small --long-frames 10000 --json bench_latency.json

Three measurements, all through ``vs_fmanet.engine.Engine`` (so they include the exposure estimator, the NaN guard
and the numpy <-> tensor copies a front end pays), with random weights unless ``--weights`` names a card (timing
needs no trained weights):

1. per preset and LR input size: the compute latency of one ``CausalStream.push`` (frame in -> restored frame out,
   look-ahead k = 0; with k > 0 the frame also waits for k later frames, reported as ``delay_frames``): mean, p50,
   p95 and max in ms after ``--warmup`` frames (wall clock), the process CPU time per frame (``cpu ms``: less
   sensitive to other load on a shared machine) and the throughput in frames/s;
2. ``--compare``: the bidirectional model of the same size through ``Engine.stream`` (windows): throughput and
   the frames a live source would wait before the first output (window + overlap);
3. ``--long-frames`` (default 10,000) frames streamed at ``--long-size`` with ``--long-preset``: every
   ``--every`` frames the process RSS, the stream's state bytes/tensors and waiting frames, the number of live torch
   tensors, and the wall-clock latency and CPU time per frame of the last block of frames, to show that memory and
   per-frame work do not grow.

Device: ``--device`` (default CUDA when available); the JSON names the CPU model or GPU and the torch threads.
``--json`` is written atomically and never replaces an existing file without ``-y``.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argcheck import require_at_least  # noqa: E402
from report_json import check_report_target, write_json_atomic  # noqa: E402
from vs_fmanet.engine import Engine  # noqa: E402
from vs_fmanet.model import count_parameters  # noqa: E402


def device_name(device: str) -> str:
    """Human-readable name of the compute device (GPU model, or CPU model and thread count)."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({torch.get_num_threads()} torch thread(s), {os.cpu_count()} logical CPUs)"


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc; NaN elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return float("nan")


def live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


def synthetic_frames(count: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """[count, h, w, 3] float32: moving sinusoids plus noise (every frame differs)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = np.stack([np.stack([0.5 + 0.4 * np.sin(xx / 5 + 0.3 * t + c) * np.cos(yy / 7 - 0.2 * t)
                                 for c in range(3)], axis=-1) for t in range(count)])
    return np.clip(frames + 0.05 * rng.random(frames.shape, dtype=np.float32), 0, 1).astype(np.float32)


def stats_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000.0
    return {"mean_ms": float(ms.mean()), "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)), "max_ms": float(ms.max())}


def engine_for(model: str, preset: str, args: argparse.Namespace) -> Engine:
    """Whole-frame engine (tile=0): the causal rows use ``--weights`` when given, everything else random weights."""
    card = args.weights if args.weights and model == "fmanetpp-causal" else None
    return Engine(model=model, preset=None if card else preset, weights=card or "random", device=args.device,
                  precision=args.precision, tile=0)


def timed_push(stream, frame: np.ndarray, wall: list[float], cpu: list[float]) -> None:
    """Push one frame; append its wall-clock and process CPU seconds to ``wall`` / ``cpu``."""
    t0, c0 = time.perf_counter(), time.process_time()
    stream.push(frame)
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)


def bench_causal(preset: str, h: int, w: int, args: argparse.Namespace) -> dict:
    eng = engine_for("fmanetpp-causal", preset, args)
    frames = synthetic_frames(16, h, w)
    stream = eng.open_stream()
    for i in range(args.warmup):
        stream.push(frames[i % 16])
    times, cpu = [], []
    t_all = time.perf_counter()
    for i in range(args.frames):
        timed_push(stream, frames[i % 16], times, cpu)
    total = time.perf_counter() - t_all
    desc = eng.describe()
    return {"kind": "causal", "model": desc["model"], "preset": desc["preset"],
            "params": count_parameters(eng._net)["total"], "lr_size": f"{h}x{w}",
            "hr_size": f"{h * eng.scale}x{w * eng.scale}", "device": desc["device"],
            "precision": desc["precision"], "frames": args.frames, "delay_frames": desc["lookahead"],
            **stats_ms(times), "cpu_mean_ms": 1000.0 * float(np.mean(cpu)), "fps": args.frames / total}


def bench_bidirectional(preset: str, h: int, w: int, args: argparse.Namespace) -> dict:
    eng = engine_for("fmanetpp", preset, args)
    frames = synthetic_frames(16, h, w)
    n = max(args.frames, eng.window + 2 * eng.overlap)
    list(eng.stream(frames[i % 16] for i in range(eng.window + eng.overlap)))      # warm-up
    t0 = time.perf_counter()
    first = None
    count = 0
    for _ in eng.stream(frames[i % 16] for i in range(n)):
        count += 1
        if first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    desc = eng.describe()
    return {"kind": "bidirectional", "model": desc["model"], "preset": desc["preset"],
            "params": count_parameters(eng._net)["total"], "lr_size": f"{h}x{w}",
            "hr_size": f"{h * eng.scale}x{w * eng.scale}", "device": desc["device"], "precision": desc["precision"],
            "frames": count, "delay_frames": eng.window + eng.overlap, "first_output_s": first, "fps": count / total}


def bench_long(args: argparse.Namespace) -> dict:
    h, w = parse_size(args.long_size)
    eng = engine_for("fmanetpp-causal", args.long_preset, args)
    frames = synthetic_frames(32, h, w, seed=1)
    stream = eng.open_stream()
    checkpoints = []
    block: list[float] = []
    block_cpu: list[float] = []
    t_start = time.perf_counter()
    for i in range(args.long_frames):
        timed_push(stream, frames[i % 32], block, block_cpu)
        if (i + 1) % args.every == 0 or i + 1 == args.long_frames:
            mem = stream.memory()
            checkpoints.append({"frame": i + 1, "rss_mb": round(rss_mb(), 2), **mem, "live_tensors": live_tensors(),
                                **{k: round(v, 3) for k, v in stats_ms(block).items()},
                                "cpu_mean_ms": round(1000.0 * float(np.mean(block_cpu)), 3)})
            block, block_cpu = [], []
            print(f"  long run: {checkpoints[-1]}", file=sys.stderr, flush=True)
    stream.flush()
    total = time.perf_counter() - t_start
    first, last = checkpoints[0], checkpoints[-1]
    return {"preset": eng.describe()["preset"], "lr_size": f"{h}x{w}", "frames": args.long_frames,
            "seconds": total, "fps": args.long_frames / total, "checkpoints": checkpoints,
            "state_bytes_constant": len({c["state_bytes"] for c in checkpoints}) == 1,
            "live_tensors_constant": len({c["live_tensors"] for c in checkpoints}) == 1,
            "rss_growth_mb_after_first_checkpoint": round(last["rss_mb"] - first["rss_mb"], 2),
            "latency_ratio_last_to_first_block": round(last["mean_ms"] / first["mean_ms"], 3),
            "cpu_ratio_last_to_first_block": round(last["cpu_mean_ms"] / first["cpu_mean_ms"], 3)}


def parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"bench_latency.py: size {text!r} must be HxW in LR pixels, e.g. 32x32") from None
    if h < 1 or w < 1:
        raise SystemExit(f"bench_latency.py: size {text!r} must be positive")
    return h, w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="causal-tiny,causal-small", help="causal presets to time")
    ap.add_argument("--sizes", default="32x32,64x64", help="LR input sizes HxW, comma-separated")
    ap.add_argument("--frames", type=int, default=40, help="timed frames per row")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compare", default="small", help="bidirectional presets to compare ('' = none)")
    ap.add_argument("--long-preset", default="causal-tiny")
    ap.add_argument("--long-size", default="16x16")
    ap.add_argument("--long-frames", type=int, default=10_000, help="0 = skip the long run")
    ap.add_argument("--every", type=int, default=1000, help="checkpoint interval of the long run")
    ap.add_argument("--weights", default=None, help="model card (default: random weights of each preset)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--json", default=None)
    ap.add_argument("-y", "--overwrite", action="store_true", help="replace an existing --json file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    check_report_target(ap, args.json, args.overwrite)
    require_at_least(ap, args, 1, "frames", "every")
    require_at_least(ap, args, 0, "warmup", "long_frames")
    bad = [p for p in args.presets.split(",") if p and not p.startswith("causal-")]
    if bad:
        raise SystemExit(f"bench_latency.py: --presets {', '.join(bad)}: time causal presets here (causal-tiny, "
                         "causal-small, ...); bidirectional ones go in --compare")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    rows = [bench_causal(p, h, w, args) for p in args.presets.split(",") if p for h, w in sizes]
    rows += [bench_bidirectional(p, h, w, args) for p in args.compare.split(",") if p for h, w in sizes]
    long = bench_long(args) if args.long_frames > 0 else None
    result = {"device": device_name(args.device), "torch": torch.__version__, "rows": rows, "long_run": long}

    print(f"device: {result['device']}")
    print(f"{'kind':<13} {'preset':<15} {'params':>10} {'LR in':>9} {'HR out':>9} {'prec':>5} {'delay':>5} "
          f"{'mean ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu ms':>7} {'fps':>7}")
    for r in rows:
        mean = f"{r['mean_ms']:8.1f}" if "mean_ms" in r else f"{'-':>8}"
        p95 = f"{r['p95_ms']:8.1f}" if "p95_ms" in r else f"{'-':>8}"
        mx = f"{r['max_ms']:8.1f}" if "max_ms" in r else f"{'-':>8}"
        cpu = f"{r['cpu_mean_ms']:7.1f}" if "cpu_mean_ms" in r else f"{'-':>7}"
        print(f"{r['kind']:<13} {r['preset']:<15} {r['params']:>10,} {r['lr_size']:>9} {r['hr_size']:>9} "
              f"{r['precision']:>5} {r['delay_frames']:>5} {mean} {p95} {mx} {cpu} {r['fps']:7.2f}")
    if long:
        c0, c1 = long["checkpoints"][0], long["checkpoints"][-1]
        print(f"long run: {long['frames']} frames of {long['lr_size']} ({long['preset']}) in {long['seconds']:.0f} s "
              f"({long['fps']:.1f} fps); at frame {c0['frame']} vs {c1['frame']}: RSS {c0['rss_mb']:.1f} -> "
              f"{c1['rss_mb']:.1f} MiB, state {c0['state_bytes']} -> {c1['state_bytes']} bytes "
              f"({c1['state_tensors']} tensors), live tensors {c0['live_tensors']} -> {c1['live_tensors']}, "
              f"mean latency {c0['mean_ms']:.1f} -> {c1['mean_ms']:.1f} ms (CPU time per frame "
              f"{c0['cpu_mean_ms']:.1f} -> {c1['cpu_mean_ms']:.1f} ms)")
    if args.json:
        write_json_atomic(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
