#!/usr/bin/env python3
"""Speed benchmark of FMA-Net++ through the inference engine, with references measured in the same run (issue 10).

    # on a GPU: the issue's sizes, three precisions, eager and compiled, peers, end-to-end
    python scripts/bench_speed.py --device cuda --preset paper --sizes 180x320,270x480,540x960 \\
        --precisions fp32,fp16,bf16 --compile off,max-autotune --e2e --json bench_speed.json -y
    # smoke run on the CPU
    python scripts/bench_speed.py --device cpu --preset tiny --sizes 36x64 --frames 4 --json out.json

Prints a table on stdout and writes JSON (rewritten after every row, so a run cut short keeps what it measured).

What one FMA-Net++ row measures: ``Engine.restore_piece`` on one window of ``--frames`` frames (no context overlap
unless ``--overlap``), i.e. upload of float32 RGB frames, the exposure code (estimated from pixels: no metadata),
Net^D + Net^R, the NaN guard and the download of the clamped result as NumPy, all included. ``fps`` = produced
frames / median wall time of ``--repeats`` runs after ``--warmup`` runs; ``model_fps`` the same from the engine's
"model" stage alone (its stage clock synchronises the GPU at stage borders); ``peak_gpu_gb`` the peak of
``torch.cuda.max_memory_allocated`` during the timed runs; ``first_call_s`` the cold first run (includes
``torch.compile`` when on: the warm-up cost of the compile cache).

References in the same run, so that ratios hold across machines:

* ``reference``: the same model, eager, fp32 with TF32 off, same size and tile. Its output is the quality guard's
  ground truth: every other row's output is compared with it (max abs error and PSNR on the clamped [0, 1] output);
  a row below ``--guard-db`` (45 dB) fails the guard and the script exits with status 3.
* peers as their PyPI packages build them (``bench_peers.py``): BasicVSR++ (``vsbasicvsrpp``) and RVRT
  (``vsrvrt``) with random weights, same input size, ``--peer-frames`` frames per clip (15 on CUDA, vsbasicvsrpp's
  default ``length``), fp32 and fp16 (what they ship). A peer that cannot be built gets a row saying why.
* the paper's figures (0.074 s per 180x320 frame for FMA-Net++, 0.048 s BasicVSR++, 0.318 s FMA-Net; GPU unnamed).

``--e2e`` adds the end-to-end mode (``bench_e2e.py``): decode -> engine -> encode on a generated clip of
``--e2e-size`` (default: 1080p output) with the split of the time into decode, upload, code, model, download, blend
and encode, serial (the product path) and with decode/encode overlapped in threads.

Random weights (``--weights random``, seeded) by default: timing needs no trained weights.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import logging
import math
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vs_fmanet.engine import Engine, Piece  # noqa: E402
from vs_fmanet.engine.accel import COMPILE_MODES  # noqa: E402
from vs_fmanet.model import count_parameters  # noqa: E402
from vs_fmanet.model.registry import build_network  # noqa: E402

import bench_peers  # noqa: E402
from argcheck import require_at_least  # noqa: E402
from report_json import check_report_target, write_json_atomic  # noqa: E402

SCHEMA = "vs_fmanet.bench_speed/1"
PAPER = {"input": "180x320", "fmanetpp_s_per_frame": 0.074, "basicvsrpp_s_per_frame": 0.048,
         "fmanet_s_per_frame": 0.318, "fmanetpp_params_m": 12.8, "fmanetpp_peak_gb_10_frames": 6.2,
         "source": "FMA-Net++ paper, runtime per 180x320 input frame (GPU not stated)"}
TARGETS = {"s_per_frame_180x320": 0.012, "fps_270x480": 30.0, "peak_gb_10x180x320": 6.0, "e2e_ratio": 0.8}
EXIT_GUARD_FAILED = 3


# ------------------------------------------------------------------------------------------------ argument parsing
def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} must be HEIGHTxWIDTH in input pixels, e.g. 180x320") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"size {text!r} must be positive")
    return h, w


def _sizes(text: str) -> list[tuple[int, int]]:
    return [_size(t) for t in text.split(",") if t.strip()]


def _choices(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [t.strip().lower() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join(allowed)} (comma-separated)")
        return items
    return parse


def _tiles(text: str) -> list[int | tuple[int, int]]:
    out: list[int | tuple[int, int]] = []
    for t in (t.strip().lower() for t in text.split(",") if t.strip()):
        out.append(_size(t) if "x" in t else int(t))
    return out


def build_parser() -> argparse.ArgumentParser:
    cuda = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if cuda else "cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--model", default="fmanetpp", help="engine model family (fmanetpp)")
    ap.add_argument("--preset", default="paper", help="paper, small or tiny (random weights need one)")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--weights", default="random", help="'random' (seeded) or a model card / name")
    ap.add_argument("--sizes", type=_sizes, default=_sizes("180x320,270x480,540x960"),
                    help="LR input sizes HEIGHTxWIDTH, comma-separated")
    ap.add_argument("--frames", type=int, default=10, help="window: frames produced per model run")
    ap.add_argument("--overlap", type=int, default=0, help="context frames computed and discarded on each side")
    ap.add_argument("--precisions", type=_choices(("fp32", "fp16", "bf16")), default=None,
                    help="default: fp32,fp16,bf16 on CUDA, fp32 on the CPU")
    ap.add_argument("--compile", type=_choices(("off",) + COMPILE_MODES), default=["off"],
                    help="torch.compile modes to measure, comma-separated (off = eager)")
    ap.add_argument("--channels-last", type=_choices(("off", "on")), default=["off"])
    ap.add_argument("--pinned", choices=("auto", "on", "off"), default="auto", help="CUDA pinned transfers")
    ap.add_argument("--tiles", type=_tiles, default=[0], help="0 = whole frame, N or HxW tiles, comma-separated")
    ap.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True")
    ap.add_argument("--exposure", type=float, default=float("nan"),
                    help="exposure fraction given to the engine (default NaN: estimated from pixels)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed runs first (default 3 on CUDA, 1 on CPU)")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs (default 10 on CUDA, 3 on CPU)")
    ap.add_argument("--peers", type=_choices(("none",) + bench_peers.PEERS), default=list(bench_peers.PEERS))
    ap.add_argument("--peer-frames", type=int, default=None, help="frames per peer clip (default 15 on CUDA, "
                    "--frames on the CPU)")
    ap.add_argument("--peer-sizes", type=_sizes, default=None, help="sizes at which peers run (default: --sizes)")
    ap.add_argument("--peer-repeats", type=int, default=None, help="timed peer runs (default: --repeats)")
    ap.add_argument("--guard-db", type=float, default=45.0, help="quality guard: minimum PSNR vs fp32 eager")
    ap.add_argument("--e2e", action="store_true", help="add the end-to-end decode -> engine -> encode mode")
    ap.add_argument("--e2e-size", type=_size, default=None, help="input size (default: 1080p output at --scale)")
    ap.add_argument("--e2e-frames", type=int, default=48)
    ap.add_argument("--e2e-precision", choices=("fp32", "fp16", "bf16"), default=None,
                    help="default: the engine's (fp16 on CUDA, fp32 on the CPU)")
    ap.add_argument("--e2e-compile", choices=("off",) + COMPILE_MODES, default="off")
    ap.add_argument("--e2e-tile", default="auto", help="auto (the engine's choice from free memory), 0 = off, N "
                    "or HxW")
    ap.add_argument("--e2e-encoder-args", default="", help="ffmpeg output options, e.g. '-c:v libx264 -preset "
                    "veryfast' (default: fmanet-ffmpeg's own choice)")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop starting new rows after this long")
    ap.add_argument("--json", default="bench_speed.json", help="JSON report path")
    ap.add_argument("-y", "--overwrite", action="store_true", help="replace an existing JSON report")
    ap.add_argument("--seed", type=int, default=0)
    return ap


# ------------------------------------------------------------------------------------------------ helpers
def synthetic_clip(frames: int, h: int, w: int, seed: int) -> np.ndarray:
    """[T, H, W, 3] float32 in [0, 1]: drifting gratings, a moving bright disc and mild noise (deterministic)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= max(h, 1)
    xx /= max(w, 1)
    out = np.empty((frames, h, w, 3), dtype=np.float32)
    for t in range(frames):
        ph = 0.07 * t
        out[t, ..., 0] = 0.5 + 0.35 * np.sin(2 * np.pi * (3 * xx + 2 * yy + ph))
        out[t, ..., 1] = 0.5 + 0.35 * np.sin(2 * np.pi * (5 * yy - 1.5 * xx - ph))
        out[t, ..., 2] = 0.5 + 0.25 * np.cos(2 * np.pi * (4 * xx * yy + 2 * ph))
        cy, cx = 0.5 + 0.3 * np.sin(0.3 * t), 0.2 + 0.6 * ((0.05 * t) % 1.0)
        out[t][((yy - cy) ** 2 + ((xx - cx) * w / h) ** 2) < 0.02] = 0.95
    out += rng.normal(0.0, 0.01, out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


def quality(fast: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Max abs error and PSNR (dB, peak 1) of ``fast`` against ``ref`` (same shape, values in [0, 1])."""
    if fast.shape != ref.shape:
        raise ValueError(f"quality: output shapes differ: {fast.shape} vs reference {ref.shape}")
    diff = fast.astype(np.float64) - ref.astype(np.float64)
    mse = float(np.mean(diff * diff))
    return {"max_abs": float(np.max(np.abs(diff))) if diff.size else 0.0,
            "psnr_db": math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)}


@contextlib.contextmanager
def strict_fp32(device: torch.device, on: bool) -> Iterator[None]:
    """TF32 off for matmuls and cuDNN convolutions while ``on`` (the reference); PyTorch's defaults otherwise."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    if on and device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def tf32_state() -> dict[str, Any]:
    return {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


def device_info(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {"type": device.type, "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
                            "host": platform.platform(), "python": platform.python_version()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update({"name": props.name, "capability": f"{props.major}.{props.minor}",
                     "memory_gb": props.total_memory / 1e9, "multiprocessors": props.multi_processor_count,
                     "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()})
    else:
        info["name"] = platform.processor() or platform.machine()
    return info


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


class Report:
    """The JSON report, rewritten atomically (temp file + rename) after every change."""

    def __init__(self, path: str | None, data: dict[str, Any]) -> None:
        self.path = Path(path) if path else None
        self.data = data

    def save(self) -> None:
        if self.path is None:
            return
        write_json_atomic(self.path, self.data, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    return str(obj)


def _error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"


def _finite(x: float | None) -> float | None:
    """JSON has no Infinity: identical outputs report PSNR as None with max_abs 0."""
    return None if x is None or not math.isfinite(x) else x


# ------------------------------------------------------------------------------------------------ one FMA-Net++ row
def time_engine(engine: Engine, clip: np.ndarray, exposure: np.ndarray, window: int, overlap: int,
                warmup: int, repeats: int) -> tuple[dict[str, Any], np.ndarray]:
    """Time ``restore_piece`` on one window (context = ``clip``); returns timings and the produced frames."""
    dev = engine.device
    piece = Piece(overlap, overlap + window, 0, clip.shape[0])
    clock = engine.stage_clock
    _sync(dev)
    t0 = time.perf_counter()
    out, _ = engine.restore_piece(clip, exposure, piece)
    _sync(dev)
    first = time.perf_counter() - t0
    for _ in range(max(warmup - 1, 0)):
        engine.restore_piece(clip, exposure, piece)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    runs: list[float] = []
    stages: dict[str, list[float]] = {}
    used = engine.precision
    clock.enabled = True
    try:
        for _ in range(repeats):
            clock.reset()
            _sync(dev)
            t0 = time.perf_counter()
            out, used = engine.restore_piece(clip, exposure, piece)
            _sync(dev)
            runs.append(time.perf_counter() - t0)
            for k, v in clock.totals().items():
                stages.setdefault(k, []).append(v)
    finally:
        clock.enabled = False
    med = _median(runs)
    model = _median(stages.get("model", []))
    row: dict[str, Any] = {
        "first_call_s": first, "runs_s": runs, "s_per_run": med, "s_per_frame": med / window,
        "fps": window / med, "model_s_per_frame": model / window, "model_fps": window / model if model else None,
        "stages_s_per_run": {k: _median(v) for k, v in stages.items()}, "precision_used": used,
    }
    if dev.type == "cuda":
        row["peak_gpu_gb"] = torch.cuda.max_memory_allocated(dev) / 1e9
        row["peak_gpu_reserved_gb"] = torch.cuda.max_memory_reserved(dev) / 1e9
    return row, out


def _config_label(row: dict[str, Any]) -> str:
    return (f"{row['size']} {row['precision']} compile={row['compile']} cl={row['channels_last']} "
            f"tile={row['tile']}")


# ------------------------------------------------------------------------------------------------ the run
def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    require_at_least(ap, args, 1, "frames", "repeats", "peer_frames", "peer_repeats", "e2e_frames")
    require_at_least(ap, args, 0, "warmup")
    check_report_target(ap, args.json, args.overwrite)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            device = torch.device(args.device)
        except RuntimeError as exc:
            raise ValueError(f"--device {args.device!r} is not a device name ({exc}); use cpu, cuda or cuda:N") \
                from None
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"--device {args.device!r}: use cpu, cuda or cuda:N")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: PyTorch sees no CUDA GPU here; use --device cpu")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        if args.frames < 1 or args.overlap < 0:
            raise ValueError("--frames must be >= 1 and --overlap >= 0")
        try:
            args.e2e_tile = None if args.e2e_tile == "auto" else _tiles(args.e2e_tile)[0]
        except (ValueError, argparse.ArgumentTypeError) as exc:
            raise ValueError(f"--e2e-tile {args.e2e_tile!r}: {exc}; use auto, 0, N or HxW") from None
        if args.peer_sizes is not None and not set(args.peer_sizes) <= set(args.sizes):
            raise ValueError("--peer-sizes must be a subset of --sizes (peers run right after each size's rows)")
    except ValueError as exc:
        print(f"bench_speed: {exc}", file=sys.stderr)
        return 2
    cuda = device.type == "cuda"
    precisions = args.precisions or (["fp32", "fp16", "bf16"] if cuda else ["fp32"])
    warmup = args.warmup if args.warmup is not None else (3 if cuda else 1)
    repeats = args.repeats if args.repeats is not None else (10 if cuda else 3)
    peer_frames = args.peer_frames or (15 if cuda else args.frames)
    pinned = {"auto": None, "on": True, "off": False}[args.pinned]
    peers = [p for p in args.peers if p != "none"]
    torch.backends.cudnn.benchmark = bool(args.cudnn_benchmark)
    deadline = time.monotonic() + 60 * args.max_minutes if args.max_minutes else math.inf

    report = Report(args.json, {
        "schema": SCHEMA, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "device": device_info(device),
        "settings": {"model": args.model, "preset": args.preset, "scale": args.scale, "weights": args.weights,
                     "sizes": [f"{h}x{w}" for h, w in args.sizes], "window": args.frames, "overlap": args.overlap,
                     "precisions": precisions, "compile": args.compile, "channels_last": args.channels_last,
                     "pinned": args.pinned, "tiles": args.tiles, "cudnn_benchmark": bool(args.cudnn_benchmark),
                     "exposure": None if math.isnan(args.exposure) else args.exposure, "warmup": warmup,
                     "repeats": repeats, "peers": peers, "peer_frames": peer_frames,
                     "peer_sizes": [f"{h}x{w}" for h, w in (args.peer_sizes or args.sizes)],
                     "peer_repeats": args.peer_repeats or repeats, "guard_db": args.guard_db,
                     "default_tf32": tf32_state()},
        "paper": PAPER, "targets": TARGETS, "rows": [], "guard": {}, "summary": {}, "e2e": None, "notes": [],
    })
    rows: list[dict[str, Any]] = report.data["rows"]
    notes: list[str] = report.data["notes"]
    if not cuda:
        notes.append("CPU run: timings are not GPU numbers; peak_gpu_gb is absent")
    report.save()

    peer_sizes = args.peer_sizes if args.peer_sizes is not None else args.sizes
    peer_repeats = args.peer_repeats if args.peer_repeats is not None else repeats
    peer_precisions = [p for p in precisions if p in ("fp32", "fp16")] if cuda else ["fp32"]
    built: dict[tuple[str, str], Any] = {}

    def record(row: dict[str, Any]) -> None:
        """Keep a finished or skipped row; the JSON is rewritten at once, so a run cut short keeps it."""
        rows.append(row)
        report.save()

    @contextlib.contextmanager
    def measuring(row: dict[str, Any]) -> Iterator[None]:
        """One row's measurement: a failure (OOM, compile error...) is recorded in the row and the run goes on; the
        CUDA cache is emptied either way; then the row is kept."""
        try:
            yield
        except Exception as exc:
            row["error"] = _error(exc)
        finally:
            if cuda:
                torch.cuda.empty_cache()
        record(row)

    def peer_row(name: str, precision: str, h: int, w: int, size_i: int) -> None:
        """Time peer ``name`` at one size (built once per precision); failures become rows with the reason."""
        base = {"kind": "peer", "model": name, "package": bench_peers.PACKAGES[name], "precision": precision,
                "window": peer_frames, "size": f"{h}x{w}"}
        if (name, precision) not in built:
            try:
                built[name, precision] = bench_peers.build_peer(name, device, precision)
            except Exception as exc:
                built[name, precision] = f"not built: {exc}"
        peer = built[name, precision]
        if isinstance(peer, str):
            record(dict(base, error=peer))
            return
        row = dict(base, output=f"{peer.scale * h}x{peer.scale * w}", version=peer.version, params=peer.params,
                   matmul_precision=peer.matmul_precision, extension=peer.extension,
                   extension_build_s=peer.extension_build_s)
        if time.monotonic() > deadline:
            record(dict(row, error="skipped: --max-minutes reached"))
            return
        print(f"bench_speed: peer {name} {h}x{w} {precision} ...", file=sys.stderr, flush=True)
        clip = torch.from_numpy(synthetic_clip(peer_frames, h, w, args.seed + size_i)).permute(0, 3, 1, 2)
        with measuring(row):
            t = bench_peers.time_peer(peer, clip[None].contiguous(), device, warmup, peer_repeats)
            row.update(t)
            row.update({"s_per_frame": t["s_per_run"] / peer_frames, "fps": peer_frames / t["s_per_run"],
                        "model_s_per_frame": t["model_s_per_run"] / peer_frames,
                        "model_fps": peer_frames / t["model_s_per_run"]})

    def engine_for(precision: str, compile_mode: str, cl: bool, tile: Any) -> Engine:
        return Engine(model=args.model, scale=args.scale, preset=args.preset, weights=args.weights,
                      device=str(device), precision=precision, window=args.frames, overlap=args.overlap,
                      tile=tile, compile=None if compile_mode == "off" else compile_mode, channels_last=cl,
                      pinned=pinned)

    try:
        params = count_parameters(build_network(args.model, args.preset, args.scale))["total"]
    except ValueError:
        params = None
    t_ctx = args.frames + 2 * args.overlap
    for size_i, (h, w) in enumerate(args.sizes):
        clip = synthetic_clip(t_ctx, h, w, args.seed + size_i)
        exposure = np.full(t_ctx, args.exposure, dtype=np.float32)
        for tile in args.tiles:
            base = {"kind": "", "model": args.model, "preset": args.preset, "scale": args.scale,
                    "size": f"{h}x{w}", "output": f"{args.scale * h}x{args.scale * w}", "window": args.frames,
                    "overlap": args.overlap, "tile": tile}
            configs = [("fp32", "off", False, True)]
            configs += [(p, c, cl == "on", False) for p in precisions for c in args.compile
                        for cl in args.channels_last]
            ref_out: np.ndarray | None = None
            for precision, compile_mode, cl, is_ref in configs:
                if not cuda and not is_ref and (precision, compile_mode, cl) == ("fp32", "off", False):
                    continue   # identical to the reference on the CPU (no TF32 there)
                row = dict(base, kind="reference" if is_ref else "fmanetpp", precision=precision,
                           compile=compile_mode, channels_last=cl)
                if time.monotonic() > deadline:
                    record(dict(row, error="skipped: --max-minutes reached"))
                    continue
                print(f"bench_speed: {row['kind']} {_config_label(row)} ...", file=sys.stderr, flush=True)
                with measuring(row):   # OOM, compile failure...: recorded in the row, the run goes on
                    with strict_fp32(device, is_ref):
                        eng = engine_for(precision, compile_mode, cl, tile)
                        row["tf32"] = tf32_state()
                        timing, out = time_engine(eng, clip, exposure, args.frames, args.overlap, warmup, repeats)
                    row.update(timing)
                    desc = eng.describe()
                    row.update({"pinned": desc.get("pinned"), "tiles_in_use": desc.get("tiles_in_use"),
                                "oom_retries": desc.get("oom_retries"), "fp32_fallbacks": desc.get("fp32_fallbacks")})
                    if is_ref:
                        ref_out = out
                    elif ref_out is not None:
                        q = quality(out, ref_out)
                        row["quality"] = {"max_abs": q["max_abs"], "psnr_db": _finite(q["psnr_db"]),
                                          "ok": q["psnr_db"] >= args.guard_db}
                    else:
                        row["quality"] = {"max_abs": None, "psnr_db": None, "ok": None,
                                          "note": "no reference output (the reference run failed)"}
                    del eng, out
        del clip
        if (h, w) in peer_sizes:
            for name in peers:
                for precision in peer_precisions:
                    peer_row(name, precision, h, w, size_i)

    summarise(report.data, params)
    report.save()

    if args.e2e:
        report.data["e2e"] = e2e(args, device, pinned, notes)
        summarise(report.data, params)
        report.save()

    print_table(report.data)
    if args.json:
        print(f"\nJSON: {args.json}")
    return EXIT_GUARD_FAILED if report.data["guard"].get("passed") is False else 0


def e2e(args: argparse.Namespace, device: torch.device, pinned: bool | None, notes: list[str]) -> dict[str, Any]:
    import bench_e2e

    size = args.e2e_size or (1080 // args.scale, 1920 // args.scale)
    tile = args.e2e_tile
    print(f"bench_speed: end-to-end {size[0]}x{size[1]} x{args.scale}, {args.e2e_frames} frames ...", file=sys.stderr,
          flush=True)
    try:
        eng = Engine(model=args.model, scale=args.scale, preset=args.preset, weights=args.weights, device=str(device),
                     precision=args.e2e_precision, tile=tile,
                     compile=None if args.e2e_compile == "off" else args.e2e_compile, pinned=pinned)
        return bench_e2e.run_e2e(eng, frames=args.e2e_frames, size=size,
                                 encoder_args=shlex.split(args.e2e_encoder_args))
    except Exception as exc:
        notes.append(f"end-to-end mode failed: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------------------------------------ summary and table
def summarise(data: dict[str, Any], params: int | None) -> None:
    """Quality guard verdict, per-size bests and ratios (paper, reference, peers), and the issue's targets."""
    rows = data["rows"]
    guarded = [r for r in rows if r.get("quality") and r["quality"].get("ok") is not None]
    failures = [_config_label(r) + f": {r['quality']['psnr_db']:.2f} dB" for r in guarded if not r["quality"]["ok"]]
    data["guard"] = {"threshold_db": data["settings"]["guard_db"], "rows_checked": len(guarded),
                     "passed": (not failures) if guarded else None, "failures": failures}
    summary: dict[str, Any] = {"params": params}
    for size in data["settings"]["sizes"]:
        ours = [r for r in rows if r["size"] == size and r["kind"] in ("fmanetpp", "reference") and "fps" in r
                and (r.get("quality") or {}).get("ok") is not False]
        if not ours:
            continue
        best = max(ours, key=lambda r: r["fps"])
        ref = next((r for r in ours if r["kind"] == "reference"), None)
        entry: dict[str, Any] = {"best": _config_label(best), "fps": best["fps"], "s_per_frame": best["s_per_frame"],
                                 "peak_gpu_gb": best.get("peak_gpu_gb")}
        if ref:
            entry["speedup_vs_fp32_eager"] = ref["s_per_frame"] / best["s_per_frame"]
        if size == PAPER["input"]:
            entry["speedup_vs_paper"] = PAPER["fmanetpp_s_per_frame"] / best["s_per_frame"]
        for r in rows:
            if r["kind"] == "peer" and r["size"] == size and "fps" in r:
                entry[f"speedup_vs_{r['model']}_{r['precision']}"] = r["s_per_frame"] / best["s_per_frame"]
        summary[size] = entry
    if data["device"]["type"] == "cuda" and data["settings"]["preset"] == "paper":
        t: dict[str, Any] = {}
        s1 = summary.get("180x320")
        if s1:
            t["s_per_frame_180x320"] = {"target_max": TARGETS["s_per_frame_180x320"], "measured": s1["s_per_frame"],
                                        "met": s1["s_per_frame"] <= TARGETS["s_per_frame_180x320"]}
            peer_fast = [r for r in rows if r["kind"] == "peer" and r["model"] == "basicvsrpp" and
                         r["size"] == "180x320" and "fps" in r]
            if peer_fast:
                bv = min(r["s_per_frame"] for r in peer_fast)
                t["faster_than_basicvsrpp"] = {"basicvsrpp_s_per_frame": bv, "met": s1["s_per_frame"] < bv}
        s2 = summary.get("270x480")
        if s2:
            t["fps_270x480"] = {"target_min": TARGETS["fps_270x480"], "measured": s2["fps"],
                                "met": s2["fps"] >= TARGETS["fps_270x480"]}
        mem = [r["peak_gpu_gb"] for r in rows if r["size"] == "180x320" and r["kind"] in ("fmanetpp", "reference")
               and r.get("peak_gpu_gb") is not None and r["window"] == 10 and r["overlap"] == 0]
        if mem:
            t["peak_gb_10x180x320"] = {"target_max": TARGETS["peak_gb_10x180x320"], "lowest": min(mem),
                                       "met": min(mem) <= TARGETS["peak_gb_10x180x320"]}
        e = data.get("e2e") or {}
        if "overlapped" in e:
            best_ratio = max(e["serial"]["ratio_to_model_only"] or 0, e["overlapped"]["ratio_to_model_only"] or 0)
            t["e2e_ratio"] = {"target_min": TARGETS["e2e_ratio"], "measured": best_ratio,
                              "met": best_ratio >= TARGETS["e2e_ratio"]}
        summary["targets"] = t
    data["summary"] = summary


def _fmt(x: Any, spec: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, spec)


def print_table(data: dict[str, Any]) -> None:
    dev = data["device"]
    print(f"device: {dev.get('name')} ({dev['type']}), torch {dev['torch']}; preset {data['settings']['preset']}, "
          f"x{data['settings']['scale']}, window {data['settings']['window']} (+{data['settings']['overlap']} "
          f"context each side), weights {data['settings']['weights']}")
    head = (f"{'kind':<9} {'model':<10} {'input':>8} {'win':>3} {'prec':>4} {'compile':>15} {'cl':>2} {'tile':>6} "
            f"{'fps':>8} {'s/frame':>8} {'model fps':>9} {'peak GB':>7} {'PSNR dB':>7} {'max err':>8}  note")
    print(head)
    print("-" * len(head))
    for r in data["rows"]:
        q = r.get("quality") or {}
        psnr = q.get("psnr_db")
        psnr_s = "ident" if (q and psnr is None and q.get("max_abs") == 0.0) else _fmt(psnr, ".1f")
        note = r.get("error", "")
        if not note and q.get("ok") is False:
            note = "QUALITY GUARD FAILED"
        if not note and r.get("precision_used") and r["precision_used"] != r["precision"]:
            note = f"ran {r['precision_used']} (NaN guard)"
        tile = r.get("tile", "")
        print(f"{r['kind']:<9} {r['model']:<10} {r['size']:>8} {r['window']:>3} {r['precision']:>4} "
              f"{str(r.get('compile', '-')):>15} {('y' if r.get('channels_last') else '-'):>2} "
              f"{str(tile if tile else '-'):>6} {_fmt(r.get('fps'), '8.2f')} {_fmt(r.get('s_per_frame'), '8.4f')} "
              f"{_fmt(r.get('model_fps'), '9.2f')} {_fmt(r.get('peak_gpu_gb'), '7.2f')} {psnr_s:>7} "
              f"{_fmt(q.get('max_abs'), '8.1e')}  {note}")
    g = data["guard"]
    verdict = {True: "passed", False: "FAILED", None: "no fast rows"}[g.get("passed")]
    print(f"\nquality guard (>= {g.get('threshold_db')} dB vs fp32 eager): {verdict}"
          + (f" ({'; '.join(g['failures'])})" if g.get("failures") else ""))
    for size, s in data["summary"].items():
        if not isinstance(s, dict) or size == "targets":
            continue
        ratios = ", ".join(f"{k.replace('speedup_vs_', 'x vs ')} {v:.2f}" for k, v in s.items()
                           if k.startswith("speedup_vs_"))
        print(f"best {size}: {s['fps']:.2f} fps ({s['s_per_frame'] * 1000:.1f} ms/frame) [{s['best']}]"
              + (f"; {ratios}" if ratios else ""))
    for name, t in (data["summary"].get("targets") or {}).items():
        print(f"target {name}: {'met' if t.get('met') else 'NOT met'} ({t})")
    e = data.get("e2e")
    if e and "error" not in e:
        ser, ov = e["serial"], e["overlapped"]
        split = ", ".join(f"{k} {v * 1000 / e['frames']:.1f}" for k, v in ser["split_s"].items())
        print(f"\nend-to-end {e['input']} -> {e['output']}, {e['frames']} frames: model only "
              f"{e['model_only']['fps']:.2f} fps; serial {ser['fps']:.2f} fps "
              f"({_fmt(ser['ratio_to_model_only'], '.0%')}); overlapped {ov['fps']:.2f} fps "
              f"({_fmt(ov['ratio_to_model_only'], '.0%')})")
        print(f"serial split, ms per frame: {split}")
    elif e:
        print(f"\nend-to-end: {e['error']}")
    for n in data["notes"]:
        print(f"note: {n}")


if __name__ == "__main__":
    sys.exit(main())
