#!/usr/bin/env python3
"""The README's demo: restore a generated sample and write what a person wants to look at.

1. Renders a short SYN-RE clip (random-walk exposure, camera and object motion) with the data engine, restores it
   with the shipped weights through the engine, and writes the restored frames, a side-by-side PNG
   (bicubic input | FMA-Net++ | ground truth) and ``summary.json`` (PSNR of both against the ground truth).
2. Generates a small video with audio, subtitles and chapters, runs ``fmanet-ffmpeg`` on it (writing
   ``sample_restored.mkv``) and checks stream by stream what the output kept.

    python scripts/demo.py --out demo_out
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

log = logging.getLogger("demo")


def restore_sample(out: Path, weights: str | None, device: str | None, size: str) -> dict:
    from vs_fmanet.data import benchmark
    from vs_fmanet.engine import Engine, WeightsError
    from vs_fmanet.evaluation import psnr
    from vs_fmanet.evaluation.baseline import bicubic_upscale
    from vs_fmanet.evaluation.visual import side_by_side, to_u8

    clip = next(iter(benchmark("syn-re", size=size, seed=0)))
    lr = clip["lr"].permute(0, 2, 3, 1).numpy().astype(np.float32)
    gt = clip["gt"].permute(0, 2, 3, 1).numpy().astype(np.float32)
    exposure = clip["exposure"].double().numpy()
    try:
        engine = Engine(scale=4, weights=weights, device=device)
    except WeightsError as exc:
        log.warning("no usable trained weights (%s); the demo falls back to RANDOM weights (preset tiny) — the "
                    "output shows the pipeline, not the model's quality", exc)
        engine = Engine(scale=4, weights="random", preset="tiny", device=device)
    t0 = time.perf_counter()
    restored = engine.restore(lr, exposure)
    seconds = time.perf_counter() - t0
    base = bicubic_upscale(lr, 4)
    frames_dir = out / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(restored):
        Image.fromarray(to_u8(frame)).save(frames_dir / f"restored_{i:03d}.png")
    mid = len(restored) // 2
    side_by_side([("bicubic input", base[mid]), ("FMA-Net++", restored[mid]), ("ground truth", gt[mid])]).save(
        out / "side_by_side.png")
    return {"engine": engine.describe(), "frames": int(len(restored)), "lr_size": list(lr.shape[1:3]),
            "exposure": [float(e) for e in exposure], "seconds": seconds, "fps": len(restored) / seconds,
            "psnr_bicubic": psnr(base, gt), "psnr_fmanet": psnr(restored, gt)}


def restore_video(out: Path, weights: str | None, device: str | None, frames: int) -> dict:
    """Generate a small video with audio, subtitles and chapters; restore it with fmanet-ffmpeg; compare streams."""
    from ffmpeg_filter import cli
    from ffmpeg_filter.inspect import compare, media_summary
    from ffmpeg_filter.sample import make_sample_clip
    from vs_fmanet.engine import WeightsError, find_default_card

    src = make_sample_clip(out / "sample.mkv", frames=frames, size=(96, 54), overwrite=True)
    dst = out / "sample_restored.mkv"
    argv = ["-i", str(src), "-o", str(dst), "-y", "--progress", "none", "--report", str(out / "ffmpeg_report.json")]
    if device:
        argv += ["--device", device]
    if weights:
        argv += ["--weights", weights]
    else:
        try:
            find_default_card("fmanetpp", 4)
        except WeightsError:
            argv += ["--weights", "random", "--preset", "tiny"]
    t0 = time.perf_counter()
    code = cli.main(argv)
    seconds = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"demo: fmanet-ffmpeg exited with {code}")
    preserved = compare(media_summary(src), media_summary(dst))
    return {"source": str(src), "output": str(dst), "frames": frames, "seconds": seconds,
            "fps": frames / seconds, "preserved": preserved}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="demo_out")
    ap.add_argument("--weights", default=None, help="weights file (default: shipped x4 weights)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--size", default="small", choices=("small", "full"))
    ap.add_argument("--video-frames", type=int, default=24, help="frames of the generated video (0 = skip)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"sample": restore_sample(out, args.weights, args.device, args.size)}
    s = summary["sample"]
    log.info("restored %d frames at %.2f fps; PSNR bicubic %.2f dB -> FMA-Net++ %.2f dB; see %s",
             s["frames"], s["fps"], s["psnr_bicubic"], s["psnr_fmanet"], out / "side_by_side.png")
    if args.video_frames:
        v = summary["video"] = restore_video(out, args.weights, args.device, args.video_frames)
        kept = [k for k, ok in v["preserved"].items() if ok]
        lost = [k for k, ok in v["preserved"].items() if not ok]
        log.info("fmanet-ffmpeg restored %s -> %s (%d frames, %.2f fps); preserved: %s%s", v["source"], v["output"],
                 v["frames"], v["fps"], ", ".join(kept), f"; NOT preserved: {', '.join(lost)}" if lost else "")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
