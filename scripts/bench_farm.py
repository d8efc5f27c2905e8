"""Benchmark fmanet-farm: wall time and speed-up for 1, 2, ... workers on one local Ray, plus the single-file
tool (no Ray) as the baseline.

Generates a test clip with ffmpeg (nothing is downloaded), starts one embedded Ray with ``--cpus`` CPUs (and GPUs
when asked), warms every worker process once (torch import and model load are not what is measured), then runs
the same farm job with each worker count ``--repeat`` times and keeps the best wall time. Prints a table and
writes the numbers as JSON.

    python scripts/bench_farm.py --frames 64 --size 64x48 --preset tiny --workers 1,2 --json bench_farm.json
    python scripts/bench_farm.py --device cuda --gpus 1 --num-gpus 0.5 --workers 1,2 --preset paper ...

Random weights are used unless ``--weights`` names a model card: speed does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from report_json import check_report_target, write_json_atomic  # noqa: E402


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=64, help="frames of the generated clip (default 64)")
    p.add_argument("--size", type=_size, default=(64, 48), help="clip size WxH (default 64x48)")
    p.add_argument("--preset", default="tiny", help="model preset (default tiny)")
    p.add_argument("--weights", default="random", help="model card, or 'random' (default)")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--chunk-frames", type=int, default=16, help="frames per chunk (default 16)")
    p.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    p.add_argument("--repeat", type=int, default=2, help="runs per worker count; the best is kept (default 2)")
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the embedded Ray (default 2)")
    p.add_argument("--gpus", type=float, default=0, help="GPUs of the embedded Ray (default 0)")
    p.add_argument("--num-gpus", type=float, default=None, help="GPUs per chunk task (default: 1 if --gpus)")
    p.add_argument("--device", default="cpu", help="engine device in the workers (default cpu)")
    p.add_argument("--torch-threads", type=int, default=1, help="torch threads per worker (default 1)")
    p.add_argument("--json", default="bench_farm.json", help="where to write the results (default bench_farm.json)")
    p.add_argument("-y", "--overwrite", action="store_true", help="replace an existing --json file")
    args = p.parse_args(argv)
    check_report_target(p, args.json, args.overwrite)

    import ray
    import torch

    from ffmpeg_filter.farm.inputs import FileJob
    from ffmpeg_filter.farm.runner import FarmOptions, run_farm
    from ffmpeg_filter.pipeline import RunOptions, run
    from ffmpeg_filter.restoring import EngineSettings
    from ffmpeg_filter.sample import make_sample_clip

    workers = [int(w) for w in args.workers.split(",")]
    engine = EngineSettings(preset=args.preset, weights=args.weights, scale=args.scale, device=args.device)
    tmp = Path(tempfile.mkdtemp(prefix="bench-farm-"))
    clip = make_sample_clip(tmp / "clip.mkv", frames=args.frames, size=args.size, fps="24", subtitles=False)
    rows: list[dict[str, object]] = []

    # baseline: the single-file tool in this process, same thread count as one worker
    torch.set_num_threads(args.torch_threads)
    t = time.monotonic()
    run(RunOptions(input=str(clip), output=str(tmp / "single.mkv"), engine=engine, progress="none",
                   exposure_from="none", preflight=False))
    first = time.monotonic() - t
    t = time.monotonic()
    run(RunOptions(input=str(clip), output=str(tmp / "single2.mkv"), engine=engine, progress="none",
                   exposure_from="none", preflight=False))
    single = min(first, time.monotonic() - t)
    rows.append({"mode": "fmanet-ffmpeg (no Ray)", "workers": 1, "wall_s": round(single, 2),
                 "fps": round(args.frames / single, 2)})

    ray.init(num_cpus=args.cpus, num_gpus=args.gpus, include_dashboard=False, object_store_memory=128 * 2 ** 20,
             log_to_driver=False, runtime_env={"env_vars": {"OMP_NUM_THREADS": str(args.torch_threads)}})
    try:
        def farm(n: int, tag: str) -> float:
            out = tmp / f"farm-{tag}.mkv"
            opts = FarmOptions(jobs=[FileJob(str(clip), str(out), clip.name)], engine=engine, workers=n,
                               num_gpus=args.num_gpus, cpus_per_task=args.torch_threads, chunk_frames=args.chunk_frames,
                               exposure_from="none", progress="none", overwrite=True)
            t0 = time.monotonic()
            report = run_farm(opts)
            if report.exit_code != 0:
                raise SystemExit(f"farm run failed: {report.files[0].error}")
            return time.monotonic() - t0

        farm(max(workers), "warm-up")                 # start and warm every worker process once
        chunks = -(-args.frames // args.chunk_frames)
        base = None
        for n in workers:
            best = min(farm(n, f"{n}-{r}") for r in range(args.repeat))
            base = base or best
            rows.append({"mode": "fmanet-farm", "workers": n, "chunks": chunks, "wall_s": round(best, 2),
                         "fps": round(args.frames / best, 2), "speedup_vs_1_worker": round(base / best, 2)})
    finally:
        ray.shutdown()

    load = os.getloadavg()
    result = {"clip": {"frames": args.frames, "size": list(args.size), "fps": 24}, "engine": dataclasses.asdict(engine),
              "chunk_frames": args.chunk_frames, "ray_cpus": args.cpus, "ray_gpus": args.gpus,
              "torch_threads_per_worker": args.torch_threads, "host_cpus": os.cpu_count(),
              "load_average_after": [round(x, 2) for x in load], "results": rows}
    write_json_atomic(args.json, result, indent=2)
    print(f"{'mode':<24} {'workers':>7} {'wall s':>8} {'frames/s':>9} {'speed-up':>9}")
    for r in rows:
        print(f"{r['mode']:<24} {r['workers']:>7} {r['wall_s']:>8} {r['fps']:>9} "
              f"{r.get('speedup_vs_1_worker', ''):>9}")
    print(f"(load average after the run: {load[0]:.2f}; results in {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
