#!/usr/bin/env python3
"""Write a few synthetic training clips to disk so a person can see what the model is trained on.

    .venv/bin/python scripts/preview_data.py --out preview            # 2 scenes x (levels 1..5 + random walk)
    .venv/bin/python scripts/preview_data.py --out p --benchmark syn-re --size small -y

Output folder (written to a temporary sibling, then renamed; an existing one needs -y):
- contact_sheet.png: one row per clip: sharp HR frame | blurry LR frame (nearest-upscaled) | exposure plot
  (duty cycle r per frame, the middle frame marked) with a caption (level, speeds, sub-frames, sources, and
  the noise / compression of a degraded clip such as ``--benchmark syn-re-real``);
- clip_XX/sharp_TTT.png, clip_XX/blur_TTT.png (LR), clip_XX/preview.mp4 (sharp | blurred side by side, H.264).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from argcheck import require_at_least
from vs_fmanet.data import BENCHMARK_NAMES, benchmark, fixed_level, random_walk, render_clip, sample_scene
from vs_fmanet.data.degrade import to_uint8
from vs_fmanet.data.pool import ImagePool
from vs_fmanet.data.sources import catalogue

log = logging.getLogger("preview_data")


def _clips(args) -> list[dict]:
    if args.benchmark:
        return list(benchmark(args.benchmark, args.size, args.seed, scale=args.scale, device=args.device))
    images = [i for i in catalogue() if i.split == args.split]
    backgrounds = ImagePool([i for i in images if i.kind == "photo"])
    sprites = ImagePool([i for i in images if i.kind == "sprite"])
    hr = (args.lr_size * args.scale, args.lr_size * args.scale)
    out = []
    for scene_index in range(args.scenes):
        rng = np.random.default_rng([args.seed, scene_index])
        spec = sample_scene(rng, backgrounds, size=hr, frames=args.frames, sprites=sprites,
                            camera_speed=float(np.exp(rng.uniform(np.log(4), np.log(30)))), layers=(1, 3))
        schedules = [fixed_level(n, args.frames) for n in range(1, 6)]
        schedules.append(random_walk(args.frames, np.random.default_rng([args.seed, scene_index, 1])))
        for schedule in schedules:
            clip = render_clip(spec, schedule, device=args.device, scales=(args.scale,))
            clip["lr"] = clip.pop(f"lr_x{args.scale}")
            clip["kind"] = schedule.kind
            clip["speed"] = spec.camera_speed
            out.append(clip)
    return out


def _exposure_plot(exposure: np.ndarray, level: np.ndarray, mid: int, width: int, height: int) -> Image.Image:
    img = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=11)
    left, bottom, top = 28, height - 16, 18
    d.line([(left, top), (left, bottom), (width - 4, bottom)], fill=(0, 0, 0))
    for frac in (0.2, 0.4, 0.6, 0.8, 1.0):
        y = bottom - frac * (bottom - top)
        d.line([(left - 3, y), (width - 4, y)], fill=(225, 225, 225))
        d.text((2, y - 6), f"{frac:.1f}", fill=(80, 80, 80), font=font)
    n = len(exposure)
    step = (width - left - 8) / max(n, 1)
    for i, (r, lv) in enumerate(zip(exposure, level)):
        x0 = left + 2 + i * step
        colour = (200, 60, 40) if i == mid else (60, 110, 200)
        d.rectangle([x0, bottom - r * (bottom - top), x0 + step * 0.8, bottom], fill=colour)
        if n <= 24:
            d.text((x0, bottom + 2), str(int(lv)), fill=(0, 0, 0), font=font)
    d.text((left + 4, 2), "duty cycle r per frame (level below)", fill=(0, 0, 0), font=font)
    return img


def _write_video(path: Path, frames: np.ndarray, fps: int = 8) -> None:
    import av

    h, w = frames.shape[1:3]
    # 4:2:0 needs even sides: repeat the last row/column (cropping a 1-pixel-high frame left nothing to encode)
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w + w % 2, h + h % 2, "yuv420p"
        stream.options = {"crf": "16"}
        for frame in frames:
            video = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(video):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _degradation_text(clip: dict) -> str:
    """" | noise 4000 e-, H.264 CRF 23" for a degraded clip (render_clip's plan), "" for a clean one."""
    plan = clip.get("degradations") or {}
    parts = []
    if "noise" in plan:
        parts.append(f"noise {plan['noise'][0]:.0f} e-")
    if "jpeg" in plan:
        parts.append(f"JPEG q{plan['jpeg']}")
    if "h264" in plan:
        parts.append(f"H.264 CRF {plan['h264']}")
    return " | " + ", ".join(parts) if parts else ""


def write_preview(clips: list[dict], out: Path, scale: int) -> None:
    rows = []
    font = ImageFont.load_default(size=12)
    for k, clip in enumerate(clips):
        folder = out / f"clip_{k:02d}"
        folder.mkdir(parents=True)
        sharp = to_uint8(clip["gt"])
        blur = to_uint8(clip["lr"])
        for t in range(sharp.shape[0]):
            Image.fromarray(sharp[t]).save(folder / f"sharp_{t:03d}.png")
            Image.fromarray(blur[t]).save(folder / f"blur_{t:03d}.png")
        blur_up = blur.repeat(scale, axis=1).repeat(scale, axis=2)
        _write_video(folder / "preview.mp4", np.concatenate([sharp, blur_up], axis=2))
        mid = sharp.shape[0] // 2
        h, w = sharp.shape[1:3]
        caption_h = 16
        plot_h = max(h, 140)
        row = Image.new("RGB", (2 * w + max(w, 240) + 8, plot_h + caption_h), (255, 255, 255))
        row.paste(Image.fromarray(sharp[mid]), (0, caption_h))
        row.paste(Image.fromarray(blur_up[mid]), (w + 4, caption_h))
        exposure = clip["exposure"].cpu().numpy()
        level = clip["level"].cpu().numpy()
        row.paste(_exposure_plot(exposure, level, mid, max(w, 240), plot_h), (2 * w + 8, caption_h))
        kind = clip.get("kind") or clip.get("name", "")
        speed = f", camera {clip['speed']:.1f} px/frame" if "speed" in clip else ""
        names = ", ".join(s.rsplit("/", 1)[-1] for s in clip["sources"])
        text = (f"#{k} {kind} level {int(level[mid])} r={exposure[mid]:.2f}{speed}, "
                f"sub-frames {int(clip['subframes'][mid])} | {names}{_degradation_text(clip)}")
        ImageDraw.Draw(row).text((2, 1), text, fill=(0, 0, 0), font=font)
        rows.append(row)
    width = max(r.width for r in rows)
    header = 18
    sheet = Image.new("RGB", (width, header + sum(r.height + 6 for r in rows)), (255, 255, 255))
    ImageDraw.Draw(sheet).text((2, 2), "sharp HR ground truth | blurry LR input (nearest x%d) | exposure" % scale,
                               fill=(0, 0, 0), font=font)
    y = header
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height + 6
    sheet.save(out / "contact_sheet.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--scenes", type=int, default=None,
                   help="random scenes, each at levels 1..5 and a random walk (default 2)")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (default 10)")
    p.add_argument("--lr-size", type=int, default=None, help="LR size in pixels, HR = scale x this (default 64)")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=("train", "test"), default=None, help="source images (default train)")
    p.add_argument("--benchmark", choices=BENCHMARK_NAMES, default=None, help="preview a benchmark instead")
    p.add_argument("--size", choices=("small", "full"), default="small", help="benchmark size")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    own = [f"--{k.replace('_', '-')}" for k in ("scenes", "frames", "lr_size", "split") if getattr(args, k) is not None]
    if args.benchmark and own:
        p.error(f"--benchmark {args.benchmark} has its own scenes, frames and size; drop {', '.join(own)}")
    for key, default in (("scenes", 2), ("frames", 10), ("lr_size", 64), ("split", "train")):
        if getattr(args, key) is None:
            setattr(args, key, default)
    require_at_least(p, args, 1, "scenes", "frames", "lr_size")
    require_at_least(p, args, 0, "seed")
    if args.scale not in (1, 2, 4):
        p.error(f"--scale {args.scale}: must be 1, 2 or 4")
    if args.out.exists() and not args.out.is_dir():
        p.error(f"--out {args.out} is a file; give a folder")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    out = args.out
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            print(f"preview_data: {out} exists and is not empty; pass -y to replace it", file=sys.stderr)
            return 2
        if not (out / "contact_sheet.png").is_file():   # -y replaces an earlier preview, never any other folder
            print(f"preview_data: {out} is not an earlier preview (no contact_sheet.png), so -y does not replace it; "
                  "choose a new --out folder", file=sys.stderr)
            return 2
    torch.manual_seed(args.seed)
    try:
        clips = _clips(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"preview_data: {exc}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)     # mkdtemp makes it private (0700); the preview is an ordinary folder
    try:
        write_preview(clips, tmp, args.scale)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    log.info("wrote %d clips and %s", len(clips), out / "contact_sheet.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
