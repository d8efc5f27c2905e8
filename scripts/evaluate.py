#!/usr/bin/env python3
"""Evaluate FMA-Net++ weights on the synthetic benchmarks: PSNR / SSIM (RGB, 4-px border crop) and tOF.

Rows: SYN-ME levels 1..5 and SYN-RE; for each, the bicubic-upsampled input (baseline) and the model. SYN-RE is run
twice: with the true per-frame exposure (metadata path) and with the ETE alone (exposure unknown). Prints a table
and writes JSON.

    python scripts/evaluate.py --weights models/fmanetpp_small_x4.safetensors --size small --json eval.json
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vs_fmanet.evaluation import psnr, ssim, tof  # noqa: E402

BENCHMARKS = ("syn-me-1", "syn-me-2", "syn-me-3", "syn-me-4", "syn-me-5", "syn-re")


def bicubic(frames: np.ndarray, scale: int) -> np.ndarray:
    """[T, H, W, 3] -> [T, sH, sW, 3] bicubic upsampling, clamped to [0, 1]."""
    if scale == 1:
        return frames.copy()
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)
    y = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)
    return y.permute(0, 2, 3, 1).numpy()


def to_hwc(t) -> np.ndarray:
    """[T, 3, H, W] tensor -> [T, H, W, 3] float32 array."""
    t = torch.as_tensor(t)
    return t.permute(0, 2, 3, 1).float().cpu().numpy()


def scores(out: np.ndarray, gt: np.ndarray, border: int) -> dict[str, float]:
    return {"psnr": psnr(out, gt, border), "ssim": ssim(out, gt, border), "tof": tof(out, gt, border)}


def evaluate(engine, size: str, seed: int, benchmarks: tuple[str, ...], max_clips: int | None,
             border: int = 4) -> dict[str, dict[str, dict[str, float]]]:
    """Average metrics per benchmark and method over the benchmark's clips."""
    from vs_fmanet.data import benchmark

    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in benchmarks:
        acc: dict[str, list[dict[str, float]]] = {}
        for i, clip in enumerate(benchmark(name, size=size, seed=seed)):
            if max_clips is not None and i >= max_clips:
                break
            lr, gt = to_hwc(clip["lr"]), to_hwc(clip["gt"])
            exposure = torch.as_tensor(clip["exposure"]).double().numpy()
            runs = {"bicubic": bicubic(lr, engine.scale),
                    "model": engine.restore(lr, exposure)}
            if name == "syn-re":
                runs["model (ETE only)"] = engine.restore(lr, None)
            for method, out in runs.items():
                acc.setdefault(method, []).append(scores(out, gt, border))
        results[name] = {m: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for m, rs in acc.items()}
        results[name]["clips"] = {"count": float(len(next(iter(acc.values()))))}
    return results


def format_table(results: dict) -> str:
    lines = [f"{'benchmark':<10} {'method':<18} {'PSNR':>7} {'SSIM':>7} {'tOF':>7} {'dPSNR':>7}"]
    for name, methods in results.items():
        base = methods["bicubic"]["psnr"]
        for method, m in methods.items():
            if method == "clips":
                continue
            lines.append(f"{name:<10} {method:<18} {m['psnr']:7.2f} {m['ssim']:7.4f} {m['tof']:7.3f} "
                         f"{m['psnr'] - base:+7.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=None, help="weights file (default: the shipped model for --scale)")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--size", choices=("small", "full"), default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    ap.add_argument("--max-clips", type=int, default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--json", default=None, help="write results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from vs_fmanet.engine import Engine

    engine = Engine(scale=args.scale, weights=args.weights, device=args.device, precision=args.precision)
    t0 = time.time()
    results = evaluate(engine, args.size, args.seed, tuple(args.benchmarks.split(",")), args.max_clips)
    table = format_table(results)
    print(table)
    if args.json:
        payload = {"weights": args.weights, "engine": engine.describe(), "size": args.size, "seed": args.seed,
                   "seconds": time.time() - t0, "results": results}
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
