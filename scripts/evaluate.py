#!/usr/bin/env python3
"""Evaluate FMA-Net++ weights on the synthetic benchmarks: PSNR / SSIM (RGB, 4-px border crop) and tOF.

Rows: SYN-ME levels 1..5, SYN-RE and SYN-RE-real (SYN-RE with sensor noise and H.264, see
vs_fmanet/data/benchmarks.py); for each, the bicubic-upsampled input (baseline) and the model. Both SYN-RE rows are
run twice: with the true per-frame exposure (metadata path) and with the ETE alone (exposure unknown). Prints a table
and writes JSON. ``ms/frame`` is the engine's wall time per output frame on this machine (whole clip in memory for
the bidirectional model, frame by frame for the causal one).

    python scripts/evaluate.py --weights models/fmanetpp_small_x4.safetensors --size small --json eval.json

Several ``--weights`` share one table (rows named by their cards), e.g. the causal model beside the bidirectional
one; each card's model family (``fmanetpp``, ``fmanetpp-causal``, ``fmanet``) is read from the card:

    python scripts/evaluate.py --weights fmanetpp_small_x4 --weights fmanetpp_causal_small_x4 --benchmarks syn-me-5,syn-re
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argcheck import require_at_least  # noqa: E402
from report_json import check_report_target, write_json_atomic  # noqa: E402
from vs_fmanet.evaluation import psnr, ssim, tof  # noqa: E402
from vs_fmanet.evaluation.baseline import bicubic_upscale  # noqa: E402

BENCHMARKS = ("syn-me-1", "syn-me-2", "syn-me-3", "syn-me-4", "syn-me-5", "syn-re", "syn-re-real")


def to_hwc(t) -> np.ndarray:
    """[T, 3, H, W] tensor -> [T, H, W, 3] float32 array."""
    t = torch.as_tensor(t)
    return t.permute(0, 2, 3, 1).float().cpu().numpy()


def scores(out: np.ndarray, gt: np.ndarray, border: int) -> dict[str, float]:
    return {"psnr": psnr(out, gt, border), "ssim": ssim(out, gt, border), "tof": tof(out, gt, border)}


def timed_restore(engine, lr: np.ndarray, exposure: np.ndarray | None) -> tuple[np.ndarray, float]:
    """The engine's output for ``lr`` [T, H, W, 3] and its wall time in milliseconds per frame."""
    t0 = time.perf_counter()
    out = engine.restore(lr, exposure)
    return out, 1000.0 * (time.perf_counter() - t0) / len(lr)


def evaluate(engines: dict, size: str, seed: int, benchmarks: tuple[str, ...], max_clips: int | None,
             border: int = 4) -> dict[str, dict[str, dict[str, float]]]:
    """Average metrics per benchmark and method over the benchmark's clips.

    ``engines`` maps a label ("model", or a card name) to an Engine; every engine runs on the same clips, the SYN-RE
    rows also with the ETE alone (row "<label> (ETE only)"). One bicubic row per benchmark is the baseline."""
    from vs_fmanet.data import benchmark

    scales = {engine.scale for engine in engines.values()}
    if len(scales) != 1:
        raise SystemExit(f"evaluate.py: the weights compared in one table must share a scale; got x{sorted(scales)}")
    scale = scales.pop()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in benchmarks:
        acc: dict[str, list[dict[str, float]]] = {}
        for i, clip in enumerate(benchmark(name, size=size, seed=seed, scale=scale)):
            if max_clips is not None and i >= max_clips:
                break
            lr, gt = to_hwc(clip["lr"]), to_hwc(clip["gt"])
            exposure = torch.as_tensor(clip["exposure"]).double().numpy()
            runs = {"bicubic": (bicubic_upscale(lr, scale), None)}
            for label, engine in engines.items():
                runs[label] = timed_restore(engine, lr, exposure)
                if name.startswith("syn-re"):
                    runs[f"{label} (ETE only)"] = timed_restore(engine, lr, None)
            for method, (out, ms) in runs.items():
                row = scores(out, gt, border)
                if ms is not None:
                    row["ms_per_frame"] = ms
                acc.setdefault(method, []).append(row)
        results[name] = {m: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for m, rs in acc.items()}
        results[name]["clips"] = {"count": float(len(next(iter(acc.values()))))}
    return results


def write_side_by_side(engines: dict, path: str, size: str, seed: int, fmanet_weights: str | None,
                       name: str = "syn-re") -> dict[str, float]:
    """Middle frame of the first clip of benchmark ``name``: bicubic | FMA-Net++ (each engine; labelled by card
    when several) | [FMA-Net] | ground truth, PSNR (whole clip) in the labels."""
    from vs_fmanet.data import benchmark
    from vs_fmanet.engine import Engine
    from vs_fmanet.evaluation.visual import side_by_side

    first = next(iter(engines.values()))
    clip = next(iter(benchmark(name, size=size, seed=seed, scale=first.scale)))
    lr, gt = to_hwc(clip["lr"]), to_hwc(clip["gt"])
    exposure = torch.as_tensor(clip["exposure"]).double().numpy()
    outs = {"bicubic": bicubic_upscale(lr, first.scale)}
    for label, engine in engines.items():
        outs["FMA-Net++" if len(engines) == 1 else label] = engine.restore(lr, exposure)
    if fmanet_weights:
        kw = {"weights": "random", "preset": "official"} if fmanet_weights == "random" else {"weights": fmanet_weights}
        v1 = Engine(model="fmanet", scale=first.scale, device=str(first.device), precision="fp32", **kw)
        outs["FMA-Net" + (" (random weights)" if fmanet_weights == "random" else "")] = v1.restore(lr)
    scores_db = {name: psnr(out, gt) for name, out in outs.items()}
    mid = len(gt) // 2
    panels = [(f"{name} {scores_db[name]:.2f} dB", out[mid]) for name, out in outs.items()] + [("ground truth", gt[mid])]
    target = Path(path)
    tmp = target.with_name(f".{target.stem}.tmp{target.suffix}")
    side_by_side(panels).save(tmp)
    tmp.replace(target)
    return scores_db


def _rows(results: dict) -> Iterator[tuple[str, str, dict[str, float], float]]:
    """(benchmark, method, metrics, PSNR gain over that benchmark's bicubic row) for every row of ``results``."""
    for name, methods in results.items():
        base = methods["bicubic"]["psnr"]
        for method, m in methods.items():
            if method != "clips":
                yield name, method, m, m["psnr"] - base


def format_table(results: dict) -> str:
    width = max([18] + [len(m) for methods in results.values() for m in methods])
    bench = max([10] + [len(name) for name in results])
    lines = [f"{'benchmark':<{bench}} {'method':<{width}} {'PSNR':>7} {'SSIM':>7} {'tOF':>7} {'dPSNR':>7} "
             f"{'ms/frame':>9}"]
    for name, method, m, gain in _rows(results):
        ms = f"{m['ms_per_frame']:9.1f}" if "ms_per_frame" in m else f"{'-':>9}"
        lines.append(f"{name:<{bench}} {method:<{width}} {m['psnr']:7.2f} {m['ssim']:7.4f} {m['tof']:7.3f} "
                     f"{gain:+7.2f} {ms}")
    return "\n".join(lines)


def format_markdown(results: dict) -> str:
    """The same rows as :func:`format_table` as a Markdown table, for model cards and the README."""
    lines = ["| benchmark | method | PSNR / SSIM / tOF | gain over bicubic | ms/frame |", "|---|---|---|---|---|"]
    for name, method, m, gain in _rows(results):
        shown_gain = "-" if method == "bicubic" else f"{gain:+.2f} dB"
        ms = f"{m['ms_per_frame']:.0f}" if "ms_per_frame" in m else "-"
        lines.append(f"| {name.upper()} | {method} | {m['psnr']:.2f} / {m['ssim']:.4f} / {m['tof']:.3f} | "
                     f"{shown_gain} | {ms} |")
    return "\n".join(lines)


def build_engines(weights: list[str] | None, scale: int, device: str | None, precision: str,
                  ensembles: tuple[int, ...] = (1,), tile: int | None = None) -> dict:
    """One Engine per ``--weights`` and ``--ensemble`` value (the engine takes the model family from the card),
    labelled "model" when there is one set of weights, else by card name (and folder, when two cards share a name),
    with ", ensemble N" for N > 1; no ``--weights``: the shipped default FMA-Net++ for ``scale``. ``tile``: the
    engines' spatial tile in input pixels (0 = whole frames, None = automatic from free memory)."""
    from vs_fmanet.engine import Engine

    built = [Engine(scale=scale, weights=w, device=device, precision=precision, tile=tile) for w in weights or [None]]
    names = [e.card.name if e.card else "model" for e in built]
    engines = {}
    for w, engine in zip(weights or [None], built):
        card = engine.card
        if len(built) == 1:
            label = "model"
        else:
            label = card.name if names.count(card.name) == 1 else f"{card.name} [{card.card_path.parent}]"
        if label in engines:
            raise SystemExit(f"evaluate.py: --weights {w!r} repeats {card.card_path}")
        for n in ensembles:
            engines[label if n == 1 else f"{label}, ensemble {n}"] = engine if n == 1 else Engine(
                scale=scale, weights=w, device=device, precision=precision, ensemble=n, tile=tile)
    return engines


def parse_ensembles(text: str) -> tuple[int, ...]:
    """``--ensemble 1,4`` -> (1, 4); each value one of the engine's view counts."""
    from vs_fmanet.engine.ensemble import ENSEMBLE_SIZES

    try:
        values = tuple(dict.fromkeys(int(v) for v in text.split(",")))
    except ValueError:
        values = ()
    if not values or any(v not in ENSEMBLE_SIZES for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a comma list of {', '.join(map(str, ENSEMBLE_SIZES))}")
    return values


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", action="append", default=None,
                    help="weights: a card .json, .safetensors or card name (default: the shipped model for --scale); "
                         "repeat to compare several in one table")
    ap.add_argument("--scale", type=int, default=None, help="default: the scale of --weights, else 4")
    ap.add_argument("--size", choices=("small", "full"), default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    ap.add_argument("--max-clips", type=int, default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--json", default=None, help="write results here")
    ap.add_argument("--side-by-side", default=None, metavar="PNG",
                    help="also write bicubic | model(s) | ground truth of the first SYN-RE clip's middle frame")
    ap.add_argument("--side-by-side-benchmark", default="syn-re", choices=BENCHMARKS, metavar="NAME",
                    help="the benchmark whose first clip --side-by-side shows (default syn-re; e.g. syn-re-real)")
    ap.add_argument("--fmanet-weights", default=None,
                    help="add FMA-Net (v1) to the side-by-side: converted weights, or 'random'")
    ap.add_argument("--ensemble", type=parse_ensembles, default=(1,), metavar="N[,N...]",
                    help="self-ensemble views per window (1, 2, 4, 8); several values give one row each, e.g. 1,4")
    ap.add_argument("--tile", type=int, default=None, metavar="N",
                    help="spatial tile in input pixels, 0 = whole frames; default automatic from free memory, which "
                         "can differ between runs: pin it when comparing weights across runs (the tiles used are in "
                         "the JSON, engines.*.tiles_in_use)")
    ap.add_argument("--markdown", action="store_true", help="also print the table in Markdown")
    ap.add_argument("--record-card", action="store_true",
                    help="also store the table under 'evaluation' in the weights' model card")
    ap.add_argument("-y", "--overwrite", action="store_true", help="replace an existing --json or --side-by-side file")
    args = ap.parse_args(argv)
    check_arguments(ap, args)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    try:
        engines = build_engines(args.weights, args.scale, args.device, args.precision, args.ensemble, args.tile)
    except (ValueError, OSError) as exc:       # unknown weights, scale, precision, tile, device: one line, no traceback
        ap.error(str(exc))
    t0 = time.time()
    results = evaluate(engines, args.size, args.seed, tuple(args.benchmarks.split(",")), args.max_clips)
    table = format_table(results)
    print(table)
    if args.markdown:
        print("\n" + format_markdown(results))
    payload = {"weights": args.weights, "engines": {k: e.describe() for k, e in engines.items()}, "size": args.size,
               "seed": args.seed, "seconds": time.time() - t0, "results": results}
    if args.json:
        write_json_atomic(args.json, payload)
    if args.record_card:
        for label, engine in engines.items():
            record_in_card(engine, label, args, results)
    if args.side_by_side:
        shown = write_side_by_side(engines, args.side_by_side, args.size, args.seed, args.fmanet_weights,
                                   args.side_by_side_benchmark)
        print("side by side (PSNR, whole clip): " + ", ".join(f"{k} {v:.2f} dB" for k, v in shown.items()))
    return 0


def check_arguments(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what would fail (or lose the measurements) only after minutes of evaluation, naming the flag."""
    unknown = [b for b in args.benchmarks.split(",") if b not in BENCHMARKS]
    if unknown:
        ap.error(f"--benchmarks: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(BENCHMARKS)}")
    require_at_least(ap, args, 1, "max_clips")
    require_at_least(ap, args, 0, "seed")
    check_report_target(ap, args.json, args.overwrite)
    check_report_target(ap, args.side_by_side, args.overwrite, flag="--side-by-side")
    if args.side_by_side and Path(args.side_by_side).suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        ap.error(f"--side-by-side {args.side_by_side}: name a .png (or .jpg/.webp) file")


def record_in_card(engine, label: str, args: argparse.Namespace, results: dict) -> None:
    """Add this evaluation to the model card of the weights behind ``engine`` (the weights file and its sha256 are
    untouched): the bicubic rows and this engine's rows (stored as "model" / "model (ETE only)").

    A record (one per size, seed, precision and ensemble) holds the sha256 of the weights it measured. Evaluating
    the same weights again on some benchmarks replaces those benchmarks' rows and keeps the others (so
    ``--benchmarks syn-re-real`` adds a row to a full table); for other weights the record starts over."""
    card = engine.card
    if card is None:
        return
    data = json.loads(card.card_path.read_text())
    views = engine.describe()["ensemble"]
    key = f"{args.size}-seed{args.seed}-{args.precision}" + (f"-ensemble{views}" if views > 1 else "")
    own = {"bicubic": "bicubic", label: "model", f"{label} (ETE only)": "model (ETE only)", "clips": "clips"}
    rows = {name: {own[m]: {k: round(v, 4) for k, v in vals.items()} for m, vals in methods.items() if m in own}
            for name, methods in results.items()}
    command = "python scripts/evaluate.py " + " ".join(sys.argv[1:])
    old = data.setdefault("evaluation", {}).get(key) or {}
    if old.get("sha256") == card.sha256:
        rows = {**old.get("results", {}), **rows}
        commands = [c for c in old.get("commands", [old.get("command")]) if c] + [command]
    else:
        commands = [command]
    data["evaluation"][key] = {"command": command, "commands": commands, "sha256": card.sha256,
                               "device": engine.describe().get("device"), "results": rows}
    tmp = card.card_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(card.card_path)


if __name__ == "__main__":
    sys.exit(main())
