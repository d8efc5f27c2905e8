#!/usr/bin/env python3
"""Train FMA-Net++ on the synthetic multi-exposure data engine, resumably, in the paper's three stages.

Stages (spec §5): ``ete`` (SupCon on exposure levels, then frozen), ``degradation`` (Net^D with L_D), ``joint``
(L1 + 0.1 L_D end to end). A fourth, optional stage beyond the paper, ``calibrate``, fits only the metadata exposure
embedding (r -> code) to the trained network with the joint loss on every frame's true exposure; everything else is
frozen, so the ETE path's output stays bit-identical while the metadata path can only learn to serve the network
better (``--calibrate-lr``). ``--plan ete:300,degradation:500,joint:4000`` gives each stage's total steps; the Adam
learning rate halves at 70/85/95 % of each stage. Progress lives in ``.train/<name>/`` (fp32 weights + optimizer
state, safetensors) and, after ``--export``, in ``models/<name>.*`` (shipped weights + card + ``.train.json``). A run
resumes from ``.train/<name>`` if present, else from the shipped weights in ``models/`` (optimizer restarts), else
from scratch. ``--time-limit`` stops cleanly (checkpoint written) before a GPU call's 10-minute limit, and so does a
first Ctrl-C (exit code 130). A resumed run continues bit for bit as an unbroken one (the sampler and the
metadata-dropout generator are in the checkpoint); it keeps its preset, scale and seed (a different one is refused)
and its data recipe (``--batch``, ``--frames``, ``--lr-size``, ``--meta-keep``, ``--temporal-weight``,
``--degrade-prob``) unless a flag changes it, which is logged.

``--temporal-weight w`` (beyond the paper, default 0) adds ``w`` times the L1 of the output's frame-to-frame changes
against the ground truth's (:func:`vs_fmanet.training.losses.temporal_difference_loss`) to the joint loss: it
penalises flicker (tOF) directly.

``--degrade-prob p`` (beyond the paper, default 0 = clean, paper-like) trains for real footage: each clip gets
exposure-scaled Poisson-Gaussian sensor noise with probability p and, independently, compression with probability p
(JPEG or H.264, equally likely; ranges of :class:`vs_fmanet.data.DegradationConfig`), on the LR frames only; the
target stays the clean sharp frame. Measure the effect on the ``syn-re-real`` benchmark (a fine-tune of the small
x4 model this way is reported in models/fmanetpp_small_x4.md).

Metadata dropout: in each joint/degradation batch, each frame's true exposure is kept with probability
``--meta-keep`` (default 0.5) and otherwise hidden, so both the metadata and the ETE paths are trained.

Example (CPU, small preset):
    python scripts/train.py --name fmanetpp_small_x4 --preset small --plan ete:150,degradation:300,joint:3000 \
        --batch 4 --frames 6 --lr-size 32 --time-limit 3000 --export

``--causal`` trains the causal low-latency model (``fmanetpp-causal``, :mod:`vs_fmanet.model.causal`) with the same
data, stages and losses; ``--preset small`` then means ``causal-small`` (``causal-small-k1`` etc. for look-ahead), and
the exported card says ``"model": "fmanetpp-causal"``.
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argcheck import require_at_least  # noqa: E402
from vs_fmanet.data.degrade import DegradationConfig  # noqa: E402
from vs_fmanet.model import build_network, count_parameters  # noqa: E402
from vs_fmanet.model.causal_config import CAUSAL_PRESETS  # noqa: E402
from vs_fmanet.model.config import PRESETS  # noqa: E402
from vs_fmanet.engine.accel import to_channels_last_  # noqa: E402
from vs_fmanet.graceful_stop import GracefulStop  # noqa: E402
from vs_fmanet.engine.weights import default_card_in, load_state_dict, read_model_card, save_weights  # noqa: E402
from vs_fmanet.training.losses import degradation_loss, ete_loss, joint_loss, metadata_dropout  # noqa: E402
from vs_fmanet.training.optim_state import load_optimizer, save_optimizer  # noqa: E402

log = logging.getLogger("train")
STAGES = ("ete", "degradation", "joint", "calibrate")
# The data recipe a run keeps across resumes unless a flag changes it on purpose.
RECIPE_DEFAULTS = {"batch": 4, "frames": 10, "lr_size": 64, "meta_keep": 0.5, "temporal_weight": 0.0,
                   "degrade_prob": 0.0}


def parse_plan(text: str) -> dict[str, int]:
    plan = {}
    for part in text.split(","):
        name, _, steps = part.partition(":")
        if name not in STAGES or not steps.isdigit():
            raise SystemExit(f"train.py: bad --plan entry {part!r}; expected e.g. ete:300,degradation:500,joint:4000 "
                             f"(stages: {', '.join(STAGES)})")
        if name in plan:
            raise SystemExit(f"train.py: --plan names the stage {name!r} twice ({text!r}); give each stage once")
        plan[name] = int(steps)
    return plan


def lr_at(base: float, step: int, total: int) -> float:
    """Paper schedule: halve at 70 %, 85 % and 95 % of the stage."""
    factor = sum(step >= int(total * m) for m in (0.70, 0.85, 0.95))
    return base * 0.5 ** factor


def stage_parameters(model, stage: str) -> list[torch.nn.Parameter]:
    if stage == "ete":
        return list(model.exposure_code.ete.parameters())
    if stage == "degradation":
        return list(model.net_d.parameters()) + list(model.exposure_code.embed.parameters())
    if stage == "calibrate":
        return list(model.exposure_code.embed.parameters())
    return list(model.net_d.parameters()) + list(model.net_r.parameters()) + \
        list(model.exposure_code.embed.parameters())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True, help="model name, e.g. fmanetpp_small_x4")
    ap.add_argument("--preset", default=None,
                    help="architecture preset (default small; a resumed run keeps the preset it was trained with)")
    ap.add_argument("--causal", action="store_true",
                    help="train the causal low-latency model (fmanetpp-causal); --preset small = causal-small")
    ap.add_argument("--scale", type=int, default=None, help="4, 2 or 1 (default 4; a resumed run keeps its scale)")
    ap.add_argument("--plan", default="ete:150,degradation:300,joint:3000")
    ap.add_argument("--batch", type=int, default=None,
                    help=f"clips per step (default {RECIPE_DEFAULTS['batch']}, or what the resumed run used)")
    ap.add_argument("--frames", type=int, default=None,
                    help=f"frames per clip (default {RECIPE_DEFAULTS['frames']}, or what the resumed run used)")
    ap.add_argument("--lr-size", type=int, default=None,
                    help=f"LR patch side in pixels (default {RECIPE_DEFAULTS['lr_size']}, or what the resumed run "
                         "used)")
    ap.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate of Net^D / Net^R stages")
    ap.add_argument("--ete-lr", type=float, default=1e-3)
    ap.add_argument("--calibrate-lr", type=float, default=5e-4,
                    help="Adam learning rate of the calibrate stage (metadata exposure embedding only)")
    ap.add_argument("--meta-keep", type=float, default=None,
                    help=f"probability of keeping a frame's true exposure (default {RECIPE_DEFAULTS['meta_keep']}, "
                         "or what the resumed run used)")
    ap.add_argument("--temporal-weight", type=float, default=None,
                    help="weight of the frame-to-frame difference L1 added to the joint and calibrate losses "
                         "(beyond the paper, against flicker; default 0, kept across resumes)")
    ap.add_argument("--degrade-prob", type=float, default=None,
                    help="chance of sensor noise, and separately of JPEG/H.264 compression, per training clip "
                         "(default 0 = clean; kept across resumes)")
    ap.add_argument("--seed", type=int, default=None, help="data and initialisation seed (default 0; a resumed run "
                    "keeps its seed)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA)")
    ap.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                    help="on the CPU, keep the default weight layout (channels-last is ~10 %% faster per step there)")
    ap.add_argument("--time-limit", type=float, default=540.0, help="seconds; stop cleanly before this")
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--workdir", default=str(ROOT / ".train"))
    ap.add_argument("--models", default=str(ROOT / "models"))
    ap.add_argument("--export", action="store_true", help="write models/<name>.safetensors + card at the end")
    ap.add_argument("--export-only", action="store_true", help="export the work-directory checkpoint and stop")
    ap.add_argument("--log-json", default=None, help="append JSON lines of losses/throughput here")
    ap.add_argument("--init-from", default=None, metavar="CARD",
                    help="when starting from scratch, copy every tensor whose name and shape match from these "
                         "weights (a model card .json), e.g. the bidirectional model's for a causal run")
    args = ap.parse_args(argv)
    check_arguments(ap, args)
    args.model = "fmanetpp-causal" if args.causal else "fmanetpp"
    args.preset, args.scale, args.seed = resumed_settings(ap, args)
    if args.causal and not args.preset.startswith("causal-"):
        args.preset = f"causal-{args.preset}"
    if args.preset not in (CAUSAL_PRESETS if args.causal else PRESETS):
        ap.error(f"--preset {args.preset!r} is not a {args.model} preset; choose one of "
                 f"{', '.join(CAUSAL_PRESETS if args.causal else PRESETS)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    from vs_fmanet.data import TrainingSampler

    t_start = time.time()
    plan = parse_plan(args.plan)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    model = build_network(args.model, args.preset, args.scale).to(device)
    if device.type == "cpu" and args.channels_last:
        to_channels_last_(model)   # oneDNN's NHWC convolutions; checkpoints are saved contiguous as before
    work = Path(args.workdir) / args.name
    work.mkdir(parents=True, exist_ok=True)
    models_dir = Path(args.models)
    state_path = work / "state.json"
    progress = {s: 0 for s in STAGES}
    wall = 0.0
    sampler_state: dict | None = None
    dropout_state: str | None = None
    resumed_recipe: dict = {}
    shipped = models_dir / f"{args.name}.json"
    if (work / "model.json").exists() and state_path.exists():
        load_into(model, work / "model.json")
        st = json.loads(state_path.read_text())
        progress.update(st["progress"])
        wall = st.get("wall_seconds", 0.0)
        sampler_state = st.get("sampler")
        dropout_state = st.get("dropout_generator")
        args.init_from = st.get("init_from")
        resumed_recipe = st.get("recipe") or _card_recipe(shipped)
        log.info("resumed from %s: %s", work, progress)
    elif shipped.exists():
        load_into(model, shipped)
        st = read_model_card(shipped).extra.get("training", {})
        progress.update(st.get("progress", {}))
        wall = st.get("wall_seconds", 0.0)
        sampler_state = st.get("sampler")
        args.init_from = st.get("init_from")
        resumed_recipe = _card_recipe(shipped)
        log.info("resumed from shipped weights %s (optimizer state restarts): %s", shipped, progress)
    elif args.init_from:
        copied, total = init_matching(model, Path(args.init_from))
        log.info("initialised %d of %d parameters from %s (matching names and shapes)", copied, total,
                 args.init_from)
    apply_recipe(args, resumed_recipe)
    log.info("parameters: %s", count_parameters(model))
    if args.export_only and not (work / "model.json").exists() and not shipped.exists() and not args.init_from:
        raise SystemExit(f"train.py: --export-only: there is no checkpoint in {work}, no {shipped} and no "
                         "--init-from to export; train first (without --export-only)")
    if args.export_only:
        sampler_state = sampler_state or {}
        export(model, args, progress, wall, models_dir, sampler_state)
        return 0

    sampler = TrainingSampler(split="train", scale=args.scale, frames=args.frames, lr_size=args.lr_size,
                              seed=args.seed, device=str(device), degradations=degradation_config(args.degrade_prob))
    if sampler_state:
        sampler.load_state_dict(sampler_state)
    gen = torch.Generator().manual_seed(args.seed + sum(progress.values()))
    if dropout_state:               # the metadata-dropout draws continue exactly where the checkpoint stopped
        gen.set_state(torch.frombuffer(bytearray(base64.b64decode(dropout_state)), dtype=torch.uint8))
    log_fh = open(args.log_json, "a") if args.log_json else None
    deadline = t_start + args.time_limit
    with GracefulStop("finishing this step and writing a checkpoint", log) as stopper:
        stopped_early = train_stages(model, args, plan, progress, sampler, gen, work, wall, t_start, deadline,
                                     stopper.event, log_fh, device)
    if stopper.event.is_set():
        log.info("interrupted: checkpoint written at %s in %s; run the same command to resume", progress, work)
        return 130
    total_wall = wall + time.time() - t_start
    log.info("progress %s, wall %.0f s%s", progress, total_wall, " (time limit)" if stopped_early else "")
    if args.export:
        export(model, args, progress, total_wall, models_dir, sampler.state_dict())
    return 0


def train_stages(model, args, plan: dict[str, int], progress: dict[str, int], sampler, gen: torch.Generator,
                 work: Path, wall: float, t_start: float, deadline: float, interrupted: threading.Event, log_fh,
                 device: torch.device) -> bool:
    """Run the planned stages from ``progress`` (advanced in place) until done, the ``deadline`` (time.time()) or a
    Ctrl-C (``interrupted``); a checkpoint is written at every stop. Returns True when stopped before the plan's
    end."""
    stopped_early = False

    for stage in STAGES:
        total = plan.get(stage, 0)
        if progress[stage] >= total:
            continue
        params = stage_parameters(model, stage)
        base_lr = {"ete": args.ete_lr, "calibrate": args.calibrate_lr}.get(stage, args.lr)
        opt = torch.optim.Adam(params, lr=base_lr)
        opt_path = work / f"optim_{stage}.safetensors"
        if opt_path.exists():
            try:
                load_optimizer(opt, opt_path)
            except Exception as exc:  # noqa: BLE001 -- a cut or foreign file (SafetensorError, ...): a fresh Adam
                log.warning("optimizer state %s not usable (%s); restarting Adam", opt_path, exc)
        model.train()
        for p in model.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        if stage != "ete":
            model.exposure_code.ete.eval()   # frozen: BN statistics fixed too
        log.info("stage %s: step %d/%d", stage, progress[stage], total)
        t_log, clips = time.time(), 0
        while progress[stage] < total:
            if interrupted.is_set():
                stopped_early = True
                break
            step = progress[stage]
            for g in opt.param_groups:
                g["lr"] = lr_at(base_lr, step, total)
            batch = sampler.sample(args.batch)
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            # calibrate: every frame on its true exposure (the metadata path is what it fits)
            keep = 1.0 if stage == "calibrate" else args.meta_keep
            exposure = metadata_dropout(batch["exposure"].float(), keep, gen)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16 and device.type == "cuda"):
                if stage == "ete":
                    loss, logs = ete_loss(model, batch)
                elif stage == "degradation":
                    loss, logs = degradation_loss(model, batch, exposure)
                else:
                    loss, logs = joint_loss(model, batch, exposure, args.temporal_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            progress[stage] += 1
            clips += args.batch
            if not math.isfinite(float(loss.detach())):
                raise SystemExit(f"train.py: stage {stage} step {step}: loss is {float(loss)}; stopping")
            if progress[stage] % 10 == 0 or progress[stage] == total:
                dt = time.time() - t_log
                rec = {"stage": stage, "step": progress[stage], "loss": float(loss.detach()), **logs,
                       "clips_per_s": clips / max(dt, 1e-9), "lr": opt.param_groups[0]["lr"]}
                if args.degrade_prob:   # share of this batch's clips with noise or compression
                    rec["degraded"] = float(np.mean([bool(d) for d in batch["degradations"]]))
                log.info(json.dumps(rec))
                if log_fh:
                    log_fh.write(json.dumps(rec) + "\n")
                    log_fh.flush()
                t_log, clips = time.time(), 0
            if progress[stage] % args.save_every == 0:
                _checkpoint(model, opt, sampler, gen, work, progress, wall + time.time() - t_start, args, stage)
            if time.time() > deadline or interrupted.is_set():
                stopped_early = True
                break
        _checkpoint(model, opt, sampler, gen, work, progress, wall + time.time() - t_start, args, stage)
        if stopped_early:
            break
    return stopped_early


def load_into(model: torch.nn.Module, card_path: Path) -> None:
    """Load checked weights (sha256 against the card) into ``model``, cast to its fp32 parameters."""
    state = load_state_dict(read_model_card(card_path))
    own = model.state_dict()
    model.load_state_dict({k: v.to(own[k].dtype) if k in own else v for k, v in state.items()}, strict=True)


def init_matching(model: torch.nn.Module, card_path: Path) -> tuple[int, int]:
    """Copy into ``model`` every tensor of the (sha256-checked) weights behind ``card_path`` whose name and shape
    match; the rest keep their initialisation. Returns (parameters copied, parameters in ``model``)."""
    state = load_state_dict(read_model_card(card_path))
    own = model.state_dict()
    matching = {k: v.to(own[k].dtype) for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matching:
        raise SystemExit(f"train.py: --init-from {card_path}: no tensor matches this model's names and shapes")
    model.load_state_dict(matching, strict=False)
    return sum(v.numel() for v in matching.values()), sum(v.numel() for v in own.values())


def degradation_config(probability: float) -> DegradationConfig | None:
    """The training degradations for ``--degrade-prob``: None (clean) at 0, else sensor noise with that probability
    and, independently, compression with that probability (JPEG or H.264, equally likely)."""
    if not 0.0 <= probability <= 1.0:
        raise SystemExit(f"train.py: --degrade-prob must be between 0 and 1, got {probability}")
    if probability == 0.0:
        return None
    return DegradationConfig(noise_probability=probability, jpeg_probability=probability / 2,
                             h264_probability=probability / 2)


def _card_recipe(card: Path) -> dict:
    """The data recipe recorded in a shipped card's training record ({} when there is none)."""
    if not card.exists():
        return {}
    training = read_model_card(card).extra.get("training", {})
    return {k: training[k] for k in RECIPE_DEFAULTS if k in training}


def check_arguments(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse values that would crash later or write outside the work folder, with the flag named."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", args.name):
        ap.error(f"--name {args.name!r}: use letters, digits, '_', '-' and '.' only (it names a folder in --workdir "
                 "and the files in --models)")
    if args.scale is not None and args.scale not in (1, 2, 4):
        ap.error(f"--scale {args.scale}: must be 1, 2 or 4")
    require_at_least(ap, args, 1, "batch", "frames", "lr_size", "save_every")
    require_at_least(ap, args, 0, "seed")
    if args.log_json and not Path(args.log_json).parent.is_dir():
        ap.error(f"--log-json {args.log_json}: the folder {Path(args.log_json).parent} does not exist; create it first")
    if args.meta_keep is not None and not 0.0 <= args.meta_keep <= 1.0:
        ap.error(f"--meta-keep {args.meta_keep}: must be a probability from 0 to 1")


def resumed_settings(ap: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, int, int]:
    """(preset, scale, seed) to build: what the run being resumed was trained with (its work-folder state, else the
    shipped card), so a resume need not repeat them; a different value is refused by name (the weights would not
    load, or the data stream would restart from another seed). A new run takes the flags, else small, x4, seed 0."""
    stored: dict = {}
    state = Path(args.workdir) / args.name / "state.json"
    card = Path(args.models) / f"{args.name}.json"
    if state.exists():
        stored = json.loads(state.read_text())
    elif card.exists():
        shipped = read_model_card(card)
        stored = {"preset": shipped.preset, "scale": shipped.scale,
                  "seed": shipped.extra.get("training", {}).get("seed")}
    wanted = {"preset": args.preset, "scale": args.scale, "seed": args.seed}
    if wanted["preset"] is not None and args.causal and not wanted["preset"].startswith("causal-"):
        wanted["preset"] = f"causal-{wanted['preset']}"
    chosen = {}
    for key, default in (("preset", "small"), ("scale", 4), ("seed", 0)):
        before = stored.get(key)
        if before is not None and wanted[key] is not None and wanted[key] != before:
            ap.error(f"--{key} {getattr(args, key)}: the run '{args.name}' being resumed was trained with {key} "
                     f"{before!r}; drop --{key} (or give another --name to start a new run)")
        chosen[key] = before if before is not None else (wanted[key] if wanted[key] is not None else default)
    return chosen["preset"], chosen["scale"], chosen["seed"]


def apply_recipe(args: argparse.Namespace, resumed: dict) -> None:
    """Fill the unset recipe flags from the run being resumed (else the defaults); log each flag that changes it.

    A resumed run that silently switched from 6-frame 32x32 clips to the 10-frame 64x64 defaults would train a
    different objective at a fifth of the speed, so an unset flag keeps what the checkpoint was trained with."""
    for key, default in RECIPE_DEFAULTS.items():
        given = getattr(args, key)
        before = resumed.get(key)
        if given is None:
            setattr(args, key, before if before is not None else default)
        elif before is not None and given != before:
            log.warning("--%s %s changes the resumed run's recipe (it was trained with %s)",
                        key.replace("_", "-"), given, before)
    log.info("recipe: %s", {k: getattr(args, k) for k in RECIPE_DEFAULTS})


def _checkpoint(model, opt, sampler, gen: torch.Generator, work: Path, progress: dict, wall: float, args,
                stage: str) -> None:
    """fp32 weights + Adam state + progress + the metadata-dropout generator in the work directory (not shipped):
    a resumed run continues bit for bit as an unbroken one would."""
    save_weights(model.state_dict(), work / "model.safetensors", preset=args.preset, scale=args.scale,
                 name=f"{args.name}-checkpoint", dtype=torch.float32, overwrite=True, model=args.model)
    save_optimizer(opt, work / f"optim_{stage}.safetensors")
    state = {"progress": progress, "wall_seconds": wall, "preset": args.preset, "scale": args.scale,
             "seed": args.seed, "sampler": sampler.state_dict(), "init_from": args.init_from,
             "dropout_generator": base64.b64encode(gen.get_state().numpy().tobytes()).decode("ascii"),
             "recipe": {k: getattr(args, k) for k in RECIPE_DEFAULTS}}
    tmp = work / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=1) + "\n")
    tmp.replace(work / "state.json")


def export(model, args, progress: dict, wall: float, models_dir: Path, sampler_state: dict) -> None:
    """Write models/<name>.safetensors (fp16) + its model card (training record inside). A new card becomes the
    default for its model and scale only when no other card there is; a re-export keeps the card's choice.

    Metrics from scripts/evaluate.py already in an existing card are kept; the sha256 is recomputed."""
    card_path = models_dir / f"{args.name}.json"
    old = json.loads(card_path.read_text()) if card_path.exists() else {}
    keep = {k: v for k, v in old.items() if k not in ("name", "model", "preset", "scale", "file", "sha256", "format")}
    keep.update({"default": old.get("default", default_card_in(models_dir, args.model, args.scale) is None),
                 "weights_dtype": "float16", "parameters": count_parameters(model)["total"],
                 "training": {"progress": progress, "wall_seconds": round(wall), "device": str(args.device),
                              "seed": args.seed, "sampler": sampler_state, "batch": args.batch,
                              "frames": args.frames, "lr_size": args.lr_size, "meta_keep": args.meta_keep,
                              "temporal_weight": args.temporal_weight, "degrade_prob": args.degrade_prob,
                              "plan": args.plan, "init_from": args.init_from and Path(args.init_from).name,
                              "data": "vs_fmanet.data.TrainingSampler(split='train'): synthetic multi-exposure "
                                      "clips (see vs_fmanet/data/README.md)"}})
    save_weights(model.state_dict(), models_dir / f"{args.name}.safetensors", preset=args.preset,
                 scale=args.scale, name=args.name, dtype=torch.float16, overwrite=True, model=args.model, **keep)
    log.info("exported %s", card_path)


if __name__ == "__main__":
    sys.exit(main())
