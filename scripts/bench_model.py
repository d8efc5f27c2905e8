#!/usr/bin/env python3
"""Model-only forward timing of FMA-Net++ presets: prints a table and writes JSON.

    python scripts/bench_model.py --presets paper,small,tiny --frames 10 --size 64x64 --json bench_model.json

Median of ``--repeats`` timed runs after one warm-up, eval mode, no gradients, random weights (timing needs no
trained weights). On CUDA, times are synchronised and peak memory is reported.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report_json import check_report_target, write_json_atomic  # noqa: E402
from vs_fmanet.model import build_model, count_parameters  # noqa: E402


def time_forward(preset: str, frames: int, h: int, w: int, scale: int, device: str, repeats: int,
                 dtype: torch.dtype) -> dict:
    model = build_model(preset, scale=scale).to(device).eval()
    x = torch.rand(1, frames, 3, h, w, device=device)
    times = []
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode(), torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype != torch.float32):
        for i in range(repeats + 1):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    row = {"preset": preset, "params": count_parameters(model)["total"], "frames": frames, "size": f"{h}x{w}",
           "scale": scale, "device": device, "dtype": str(dtype).replace("torch.", ""), "threads": torch.get_num_threads(),
           "seconds_per_clip": med, "seconds_per_frame": med / frames, "fps": frames / med}
    if device.startswith("cuda"):
        row["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="paper,small,tiny")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--size", default="64x64", help="LR input HxW")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=("fp32", "fp16", "bf16"), default="fp32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the rows as JSON here")
    ap.add_argument("-y", "--overwrite", action="store_true", help="replace an existing --json file")
    args = ap.parse_args(argv)
    check_report_target(ap, args.json, args.overwrite)
    h, w = (int(v) for v in args.size.lower().split("x"))
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    rows = [time_forward(p, args.frames, h, w, args.scale, args.device, args.repeats, dtype)
            for p in args.presets.split(",")]
    print(f"{'preset':<8} {'params':>10} {'input':>12} {'device':>6} {'dtype':>8} {'s/clip':>8} {'s/frame':>8} {'fps':>7}")
    for r in rows:
        print(f"{r['preset']:<8} {r['params']:>10,} {str(r['frames']) + 'x' + r['size']:>12} {r['device']:>6} "
              f"{r['dtype']:>8} {r['seconds_per_clip']:8.3f} {r['seconds_per_frame']:8.4f} {r['fps']:7.2f}")
    if args.json:
        write_json_atomic(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
