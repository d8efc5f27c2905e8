"""scripts/train.py: the three stages run, a run resumes where the last one stopped (also after its time limit), the
export is a checked fp16 card the engine loads, --init-from warm-starts another model from matching tensors, and the
calibrate stage refits only the metadata exposure embedding."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from vs_fmanet.engine import Engine, save_weights
from vs_fmanet.engine.weights import load_state_dict, read_model_card
from vs_fmanet.model import build_model

ROOT = Path(__file__).resolve().parents[2]
TINY_RECIPE = ["--batch", "2", "--frames", "4", "--lr-size", "16"]


def train(tmp: Path, *args: str, recipe: list[str] = TINY_RECIPE) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "--workdir", str(tmp / "work"),
           "--models", str(tmp / "models"), "--preset", "tiny", "--device", "cpu", *recipe, *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def card_training(path: Path) -> dict:
    return json.loads(path.read_text())["training"]


def test_stages_resume_and_export(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    train(tmp_path, "--name", "t", "--plan", "ete:2,degradation:2,joint:2", "--export", "--log-json", str(log))
    card = tmp_path / "models" / "t.json"
    rec = card_training(card)
    assert rec["progress"] == {"ete": 2, "degradation": 2, "joint": 2, "calibrate": 0}
    assert rec["plan"] == "ete:2,degradation:2,joint:2" and rec["sampler"]["next_clip"] > 0
    stages = [json.loads(line)["stage"] for line in log.read_text().splitlines()]
    assert stages == ["ete", "degradation", "joint"]
    for name in ("model.safetensors", "state.json", "optim_ete.safetensors", "optim_degradation.safetensors",
                 "optim_joint.safetensors"):
        assert (tmp_path / "work" / "t" / name).is_file(), name
    first = load_state_dict(read_model_card(card))
    assert all(v.dtype == torch.float16 for v in first.values() if v.is_floating_point())

    # the engine loads the export by its card (sha256 checked) and restores
    eng = Engine(weights=str(card), device="cpu", precision="fp32")
    out = eng.restore(np.random.default_rng(0).random((3, 12, 12, 3), dtype=np.float32))
    assert out.shape == (3, 48, 48, 3) and np.isfinite(out).all()

    # a longer plan continues from the work directory instead of starting over
    proc = train(tmp_path, "--name", "t", "--plan", "ete:2,degradation:2,joint:4", "--export")
    assert "resumed from" in proc.stderr and "stage ete" not in proc.stderr and "stage joint: step 2/4" in proc.stderr
    assert card_training(card)["progress"]["joint"] == 4
    second = load_state_dict(read_model_card(card))
    assert any(not torch.equal(first[k], second[k]) for k in first)
    # ETE is frozen after its stage: the joint steps leave it untouched
    assert all(torch.equal(first[k], second[k]) for k in first if k.startswith("exposure_code.ete."))


def test_time_limit_stops_with_a_resumable_checkpoint(tmp_path: Path) -> None:
    proc = train(tmp_path, "--name", "t", "--plan", "ete:3,degradation:0,joint:0", "--time-limit", "0")
    assert "(time limit)" in proc.stderr
    state = json.loads((tmp_path / "work" / "t" / "state.json").read_text())
    assert state["progress"]["ete"] == 1
    proc = train(tmp_path, "--name", "t", "--plan", "ete:3,degradation:0,joint:0")
    assert "stage ete: step 1/3" in proc.stderr
    assert json.loads((tmp_path / "work" / "t" / "state.json").read_text())["progress"]["ete"] == 3


def test_init_from_copies_matching_tensors_into_the_causal_model(tmp_path: Path) -> None:
    torch.manual_seed(3)
    source = save_weights(build_model("tiny").state_dict(), tmp_path / "src.safetensors", preset="tiny", scale=4)
    proc = train(tmp_path, "--name", "c", "--causal", "--init-from", str(source), "--export-only")
    assert "initialised" in proc.stderr
    card = tmp_path / "models" / "c.json"
    assert read_model_card(card).model == "fmanetpp-causal" and read_model_card(card).preset == "causal-tiny"
    assert card_training(card)["init_from"] == "src.json"
    src, got = load_state_dict(read_model_card(source)), load_state_dict(read_model_card(card))
    shared = [k for k in got if k in src and src[k].shape == got[k].shape]
    assert any(k.startswith("exposure_code.ete.") for k in shared) and len(shared) < len(got)
    for k in shared:
        assert torch.allclose(got[k].float(), src[k].float(), atol=1e-3), k


def test_a_resumed_run_keeps_its_data_recipe_unless_a_flag_changes_it(tmp_path: Path) -> None:
    train(tmp_path, "--name", "t", "--plan", "ete:1,degradation:0,joint:1", "--meta-keep", "0.25",
          "--temporal-weight", "0.3", "--degrade-prob", "1")
    state = json.loads((tmp_path / "work" / "t" / "state.json").read_text())
    recipe = {"batch": 2, "frames": 4, "lr_size": 16, "meta_keep": 0.25, "temporal_weight": 0.3,
              "degrade_prob": 1.0}
    assert state["recipe"] == recipe
    # no recipe flags: the resumed run trains on the same 4-frame 16x16 clips, not the 10-frame 64x64 defaults,
    # and keeps its anti-flicker term (the joint steps log it) and its degraded clips (every one, at probability 1)
    log_json = tmp_path / "log.jsonl"
    proc = train(tmp_path, "--name", "t", "--plan", "ete:1,degradation:0,joint:2", "--export",
                 "--log-json", str(log_json), recipe=[])
    assert f"recipe: {recipe}" in proc.stderr
    assert "changes the resumed run's recipe" not in proc.stderr
    joint_logs = [json.loads(line) for line in log_json.read_text().splitlines()]
    assert joint_logs and all(r["stage"] == "joint" and r["temporal"] > 0 and r["degraded"] == 1.0
                              for r in joint_logs)
    rec = card_training(tmp_path / "models" / "t.json")
    assert {k: rec[k] for k in recipe} == recipe
    # a flag that differs is honoured and said aloud
    proc = train(tmp_path, "--name", "t", "--plan", "ete:1,degradation:0,joint:3", recipe=["--frames", "3"])
    assert "--frames 3 changes the resumed run's recipe (it was trained with 4)" in proc.stderr
    assert json.loads((tmp_path / "work" / "t" / "state.json").read_text())["recipe"]["frames"] == 3
    # the shipped card alone (no work directory) carries the recipe too
    shutil.rmtree(tmp_path / "work")
    proc = train(tmp_path, "--name", "t", "--plan", "ete:1,degradation:0,joint:3", "--export-only", recipe=[])
    assert "resumed from shipped weights" in proc.stderr
    assert f"recipe: {recipe}" in proc.stderr


def test_a_second_weight_set_for_a_scale_does_not_take_over_as_the_default(tmp_path: Path, monkeypatch) -> None:
    from vs_fmanet.engine.weights import find_default_card

    train(tmp_path, "--name", "t", "--plan", "ete:0,degradation:0,joint:1", "--export")
    models = tmp_path / "models"
    # a variant (e.g. the real-footage fine-tune) warm-started from it, exported beside it
    train(tmp_path, "--name", "t_real", "--init-from", str(models / "t.json"), "--plan",
          "ete:0,degradation:0,joint:1", "--degrade-prob", "0.5", "--export")
    assert json.loads((models / "t.json").read_text())["default"] is True
    variant = json.loads((models / "t_real.json").read_text())
    assert variant["default"] is False and variant["training"]["degrade_prob"] == 0.5
    monkeypatch.setenv("VS_FMANET_MODELS", str(models))
    assert find_default_card("fmanetpp", 4, "tiny").name == "t"
    # a re-export keeps the card's choice, both ways
    train(tmp_path, "--name", "t_real", "--plan", "ete:0,degradation:0,joint:2", "--export")
    train(tmp_path, "--name", "t", "--plan", "ete:0,degradation:0,joint:2", "--export")
    assert json.loads((models / "t_real.json").read_text())["default"] is False
    assert json.loads((models / "t.json").read_text())["default"] is True
    assert find_default_card("fmanetpp", 4, "tiny").name == "t"


def test_degrade_prob_outside_0_to_1_is_refused(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "--workdir", str(tmp_path / "work"), "--models",
           str(tmp_path / "models"), "--preset", "tiny", "--device", "cpu", *TINY_RECIPE, "--name", "t", "--plan",
           "ete:0,degradation:0,joint:1", "--degrade-prob", "1.5"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "--degrade-prob must be between 0 and 1, got 1.5" in proc.stderr


def test_calibrate_fits_only_the_metadata_embedding_and_leaves_the_ete_path_bit_identical(tmp_path: Path) -> None:
    train(tmp_path, "--name", "t", "--plan", "ete:2,degradation:2,joint:2", "--export")
    card = tmp_path / "models" / "t.json"
    before = load_state_dict(read_model_card(card))
    log = tmp_path / "log.jsonl"
    proc = train(tmp_path, "--name", "t", "--plan", "ete:2,degradation:2,joint:2,calibrate:3", "--export",
                 "--calibrate-lr", "1e-2", "--log-json", str(log))
    assert "stage calibrate: step 0/3" in proc.stderr and "stage joint" not in proc.stderr
    assert [json.loads(line)["lr"] for line in log.read_text().splitlines()] == [1e-2 * 0.125]  # halved x3 at step 3
    assert card_training(card)["progress"] == {"ete": 2, "degradation": 2, "joint": 2, "calibrate": 3}
    after = load_state_dict(read_model_card(card))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("exposure_code.embed.") for k in changed), changed

    models = []
    for state in (before, after):
        model = build_model("tiny")
        model.load_state_dict({k: v.float() for k, v in state.items()})
        models.append(model.eval())
    lr = torch.rand(1, 3, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    exposure = torch.tensor([[0.2, 0.6, 1.0]])
    with torch.no_grad():
        assert torch.equal(models[0](lr), models[1](lr))                        # ETE only: unchanged
        assert not torch.equal(models[0](lr, exposure), models[1](lr, exposure))  # metadata path: refitted


def test_channels_last_on_the_cpu_trains_the_same_network(tmp_path: Path) -> None:
    """The CPU default (channels-last weights, faster convolutions) and --no-channels-last take the same steps:
    same checkpoint up to float rounding, saved contiguous either way."""
    states = {}
    for name, extra in (("cl", []), ("plain", ["--no-channels-last"])):
        train(tmp_path, "--name", name, "--plan", "ete:2,degradation:2,joint:2", *extra)
        states[name] = load_state_dict(read_model_card(tmp_path / "work" / name / "model.json"))
    assert states["cl"].keys() == states["plain"].keys()
    for key, value in states["cl"].items():
        assert value.is_contiguous(), key
        torch.testing.assert_close(value, states["plain"][key], rtol=1e-3, atol=1e-4, msg=key)


def test_a_resume_keeps_its_preset_and_bad_arguments_are_refused_by_name(tmp_path: Path) -> None:
    """Resuming without --preset used to build the default 'small' network and crash loading the 'tiny' checkpoint
    (a size-mismatch traceback); --name could point outside the work folder; --export-only exported untrained
    weights."""
    train(tmp_path, "--name", "t", "--plan", "ete:1,degradation:0,joint:1")
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "--workdir", str(tmp_path / "work"),
           "--models", str(tmp_path / "models"), "--device", "cpu", *TINY_RECIPE]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300, env=env)

    resumed = run("--name", "t", "--plan", "ete:1,degradation:0,joint:2")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((tmp_path / "work" / "t" / "state.json").read_text())["progress"]["joint"] == 2
    for args, message in [
        (["--name", "t", "--preset", "small", "--plan", "joint:3"], "trained with preset 'tiny'; drop --preset"),
        (["--name", "../escape", "--plan", "joint:1"], "--name '../escape': use letters"),
        (["--name", "fresh", "--export-only"], "--export-only: there is no checkpoint"),
        (["--name", "u", "--batch", "0"], "--batch 0: must be at least 1"),
        (["--name", "u", "--plan", "joint:1,joint:2"], "names the stage 'joint' twice"),
        (["--name", "u", "--preset", "nonsense"], "--preset 'nonsense' is not a fmanetpp preset"),
        (["--name", "t", "--seed", "5", "--plan", "joint:3"], "trained with seed 0; drop --seed"),     # tracebacks
        (["--name", "t", "--scale", "2", "--plan", "joint:3"], "trained with scale 4; drop --scale"),  # before
        (["--name", "u", "--save-every", "0"], "--save-every 0: must be at least 1"),
        (["--name", "u", "--seed", "-1"], "--seed -1: must be at least 0"),
        (["--name", "u", "--log-json", str(tmp_path / "no" / "x.jsonl")], "does not exist; create it first"),
    ]:
        proc = run(*args)
        assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "escape").exists() and not (tmp_path / "models" / "fresh.json").exists()


def test_a_resumed_run_is_bit_identical_to_an_unbroken_one(tmp_path: Path) -> None:
    """Every GPU call stops at its time limit and resumes: the metadata-dropout draws used to restart from a new seed
    at each resume, so the weights drifted from an unbroken run's. A cut optimizer file restarts Adam with a warning
    (it used to end in a SafetensorError traceback)."""
    plan = ["--plan", "ete:1,degradation:1,joint:2"]
    train(tmp_path, "--name", "whole", *plan)
    for _ in range(4):
        train(tmp_path, "--name", "steps", *plan, "--time-limit", "0")
    work = tmp_path / "work"
    assert json.loads((work / "steps" / "state.json").read_text())["progress"]["joint"] == 2
    assert (work / "whole" / "model.safetensors").read_bytes() == (work / "steps" / "model.safetensors").read_bytes()

    optim = work / "steps" / "optim_joint.safetensors"
    optim.write_bytes(optim.read_bytes()[:100])
    proc = train(tmp_path, "--name", "steps", "--plan", "ete:1,degradation:1,joint:3")
    assert "not usable" in proc.stderr and "restarting Adam" in proc.stderr and "Traceback" not in proc.stderr


def test_ctrl_c_writes_a_checkpoint_to_resume_from(tmp_path: Path) -> None:
    """Ctrl-C used to end in a traceback, losing every step since the last save (100 steps by default)."""
    import signal

    from clifix import interactive_script, signal_when_ready

    cmd = interactive_script(str(ROOT / "scripts" / "train.py"), "--workdir", str(tmp_path / "work"),
                             "--models", str(tmp_path / "models"), "--preset", "tiny", "--device", "cpu",
                             *TINY_RECIPE, "--name", "c", "--plan", "ete:0,degradation:0,joint:100000")
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    # a progress line every 10 steps: the loop is running
    code, said = signal_when_ready(proc, lambda line: '"step": 10' in line, signal.SIGINT, ready_s=240, exit_s=120)
    assert code == 130, said
    assert "Traceback" not in said and "checkpoint written" in said
    done = json.loads((tmp_path / "work" / "c" / "state.json").read_text())["progress"]["joint"]
    assert done >= 10
    resumed = train(tmp_path, "--name", "c", "--plan", f"ete:0,degradation:0,joint:{done + 1}")
    assert f"stage joint: step {done}/{done + 1}" in resumed.stderr
