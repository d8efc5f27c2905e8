#!/usr/bin/env bash
# GPU speed benchmark of FMA-Net++ (issue 10): prepare the wheels here, run the phases on the device machine.
#
# Here, in the repo root (network to PyPI, no GPU needed), once per checkout:
#     bash scripts/gpu_run.sh wheels
#   .whl/bench/  vapoursynth + the peers' packages (vsbasicvsrpp, vsrvrt) and the dependencies the GPU image lacks
#                (mmengine, addict, yapf, termcolor, platformdirs): about 8 MB
#   .whl/e2e/    PyAV, ffmpeg-python, future, and ffmpeg.xz: the static ffmpeg 4.2.2 binary from the imageio-ffmpeg
#                0.5.1 wheel, xz-compressed (19 MB instead of the 27-68 MB wheels), used only if the device has no
#                ffmpeg on PATH: about 55 MB in all, so the e2e phase carries nothing else
#   (.whl/ is in .gitignore; the GPU image already has torch, numpy, safetensors, tqdm, einops, torchvision,
#   opencv-python-headless, rich, matplotlib, pyyaml, requests.)
#
# On the device (the `run` tool), one phase per call (timeout_s 600), in this order:
#     carry [".whl/bench"]   command: bash scripts/gpu_run.sh model     # eager sweep + peers + quality guard (~8 min)
#     carry [".whl/e2e"]     command: bash scripts/gpu_run.sh e2e       # 1080p end to end, pinned on/off (~3 min)
#     (no carry)             command: bash scripts/gpu_run.sh compile   # torch.compile modes, cold compile cost
#     carry [".bundle"]      command: bash scripts/gpu_run.sh train     # GPU data rate, then paper-preset training
#     (no carry)             command: bash scripts/gpu_run.sh latency   # causal latency + 10,000-frame stream
# Each phase writes $OUT/bench_<name>.json (rewritten after every row, so a phase cut short keeps its rows) and
# $OUT/bench_<name>.log (table and progress). A phase stops starting new rows after MAX_MINUTES (default per phase,
# below). BENCH_ARGS="..." appends options to every bench command (e.g. BENCH_ARGS="--tiles 0,256").
# Reading the results: scripts/README_GPU.md.
set -euo pipefail
cd "$(dirname "$0")/.."
phase="${1:-}"
out="${OUT:-out}"     # $OUT on the device machine; ./out/ (ignored by git) elsewhere

platforms=(--platform manylinux_2_39_x86_64 --platform manylinux_2_35_x86_64 --platform manylinux_2_34_x86_64
           --platform manylinux_2_31_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux2010_x86_64
           --platform any)
download() {  # download DEST PACKAGE==VERSION...
  local dest="$1"; shift
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --abi cp312 --abi abi3 --abi none "${platforms[@]}" -d "$dest" "$@"
}

install_wheels() {  # install_wheels DIR: offline, into /tmp/site-<phase>, and put it and the repo on PYTHONPATH
  local dir="$1" site="/tmp/site-$phase"
  if ls "$dir"/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
      "$dir"/*.whl
  else
    echo "gpu_run: no wheels in $dir (run 'bash scripts/gpu_run.sh wheels' here and carry $dir)" >&2
  fi
  export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
}

environment() {
  echo "== $(date -u +%FT%TZ) phase $phase"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
  python3 -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
    "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), torch.cuda.get_device_name(0))' || true
  echo "ffmpeg on PATH: $(command -v ffmpeg || echo none)"
}

bench() {  # bench NAME ARGS...: run bench_speed.py, log to $OUT/bench_NAME.log, JSON to $OUT/bench_NAME.json
  local name="$1"; shift
  local rc=0
  # shellcheck disable=SC2086  # BENCH_ARGS is a list of options on purpose
  PYTHONUNBUFFERED=1 python3 scripts/bench_speed.py --device cuda --preset paper --json "$out/bench_$name.json" -y \
    "$@" ${BENCH_ARGS:-} 2>&1 | tee -a "$out/bench_$name.log" || rc=$?
  echo "gpu_run: bench_$name finished with exit status $rc (3 = quality guard failed)" | tee -a "$out/bench_$name.log"
}

case "$phase" in
  wheels)
    mkdir -p .whl/bench .whl/e2e
    download .whl/bench vapoursynth==81 vsbasicvsrpp==3.0.0 vsrvrt==1.1.3 mmengine==0.10.7 addict==2.4.0 \
      yapf==0.43.0 termcolor==3.3.0 platformdirs==4.14.7
    download .whl/e2e av==19.0.2 ffmpeg-python==0.2.0 future==1.0.0
    if [ ! -f .whl/e2e/ffmpeg.xz ]; then
      tmp="$(mktemp -d)"
      download "$tmp" imageio-ffmpeg==0.5.1
      unzip -q -j "$tmp"/imageio_ffmpeg-0.5.1-*.whl 'imageio_ffmpeg/binaries/ffmpeg-linux64-v4.2.2' -d "$tmp"
      nice xz -6 -T1 -c "$tmp/ffmpeg-linux64-v4.2.2" > .whl/e2e/ffmpeg.xz.part
      mv .whl/e2e/ffmpeg.xz.part .whl/e2e/ffmpeg.xz
      rm -rf "$tmp"
    fi
    du -sh .whl/bench .whl/e2e
    ;;
  model)
    mkdir -p "$out"
    install_wheels .whl/bench
    environment | tee "$out/env_model.txt"
    bench model --sizes 180x320,270x480,540x960 --precisions fp32,fp16,bf16 --channels-last off,on \
      --warmup 2 --repeats 5 --peers basicvsrpp,rvrt --peer-sizes 180x320,270x480 --max-minutes "${MAX_MINUTES:-8}"
    ;;
  compile)
    mkdir -p "$out"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"    # no peers, so no wheels needed
    environment
    # a cold compile of the paper model can take minutes per shape: stop starting rows earlier
    bench compile --sizes 180x320,270x480 --precisions fp16,bf16 --compile default,reduce-overhead \
      --warmup 2 --repeats 5 --peers none --max-minutes "${MAX_MINUTES:-6}"
    ;;
  e2e)
    mkdir -p "$out"
    install_wheels .whl/e2e
    if ! command -v ffmpeg >/dev/null 2>&1; then
      [ -f .whl/e2e/ffmpeg.xz ] || { echo "gpu_run: no ffmpeg here and no .whl/e2e/ffmpeg.xz carried" >&2; exit 1; }
      mkdir -p /tmp/ffbin
      python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
        .whl/e2e/ffmpeg.xz /tmp/ffbin/ffmpeg
      chmod +x /tmp/ffbin/ffmpeg
      export PATH="/tmp/ffbin:$PATH"
    fi
    environment
    bench e2e --sizes 270x480 --precisions fp16,bf16 --warmup 2 --repeats 5 --peers none \
      --e2e --e2e-frames 96 --max-minutes "${MAX_MINUTES:-5}"
    # the same rows with pageable instead of pinned transfers (compare the upload/download stages)
    bench unpinned --sizes 270x480 --precisions fp16 --pinned off --warmup 2 --repeats 5 --peers none \
      --max-minutes 2
    ;;
  train)
    # carry [".bundle"]: the source images packed here by `python scripts/pack_sources.py --out .bundle/sources`
    # (about 49 MiB; the GPU image has neither the Debian photo packages nor the PyPI sample-data wheels).
    # Resumes from .train/<NAME> (kept on the device while it stays warm) or from models/<NAME>.json; ends with the
    # fp16 export cut into <= 15 MiB parts under $OUT/weights (join here: scripts/weights_parts.py join).
    mkdir -p "$out"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    [ -d .pydeps ] && export PYTHONPATH="$PWD/.pydeps:$PYTHONPATH"   # e.g. PyAV for --degrade-prob (see README_GPU)
    [ -d .bundle/sources ] || { echo "gpu_run: carry .bundle (python scripts/pack_sources.py --out .bundle/sources)" >&2; exit 1; }
    export VS_FMANET_SOURCES="$PWD/.bundle/sources"
    environment | tee -a "$out/train.log"
    if [ ! -f "$out/data_rate.txt" ] && [ -z "${SKIP_DATA_RATE:-}" ]; then   # issue 4: the engine's GPU render rate
      python3 -c 'import time, torch; from vs_fmanet.data import TrainingSampler as S
s = S(device="cuda", frames=10, lr_size=64); s.sample(8); torch.cuda.synchronize(); t = time.time()
[s.sample(8) for _ in range(5)]; torch.cuda.synchronize(); print(f"{(time.time() - t) / 5:.3f} s per batch of 8 clips x 10 frames x 64x64 LR (256x256 HR)")' \
        2>&1 | tee "$out/data_rate.txt"
      python3 -m pytest -q -p no:cacheprovider tests/data/test_data_device.py 2>&1 | tail -3 | tee -a "$out/data_rate.txt"
    fi
    name="${NAME:-fmanetpp_paper_x4}"
    # shellcheck disable=SC2086  # TRAIN_ARGS is a list of options on purpose
    PYTHONUNBUFFERED=1 python3 scripts/train.py --name "$name" --preset "${PRESET:-paper}" \
      --plan "${PLAN:-ete:300,degradation:600,joint:6000,calibrate:300}" --batch "${BATCH:-8}" --frames 10 --lr-size 64 --bf16 \
      --time-limit "$(( ${MAX_MINUTES:-8} * 60 ))" --save-every 100 --log-json "$out/train.jsonl" \
      --export --models /tmp/export ${TRAIN_ARGS:-} 2>&1 | tee -a "$out/train.log"
    python3 scripts/weights_parts.py split "/tmp/export/$name.json" "$out/weights"
    ;;
  latency)
    # issue 12: the causal model's per-frame latency and a 10,000-frame stream (random weights: timing only)
    mkdir -p "$out"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    environment | tee "$out/bench_latency.log"
    PYTHONUNBUFFERED=1 python3 scripts/bench_latency.py --device cuda --presets causal-small,causal-paper \
      --sizes 180x320,270x480 --frames 200 --compare small,paper --long-preset causal-small --long-size 270x480 \
      --long-frames 10000 --json "$out/bench_latency.json" -y ${BENCH_ARGS:-} 2>&1 | tee -a "$out/bench_latency.log"
    ;;
  *)
    echo "usage: bash scripts/gpu_run.sh wheels|model|compile|e2e|train|latency   (see the comments at the top)" >&2
    exit 2
    ;;
esac
