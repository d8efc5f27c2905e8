"""scripts/evaluate.py: the benchmark table (model vs bicubic, RE with metadata and ETE-only) and the card record."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vs_fmanet.engine import save_weights
from vs_fmanet.model import build_model

ROOT = Path(__file__).resolve().parents[2]


def test_evaluate_writes_table_json_and_card(tmp_path: Path) -> None:
    torch.manual_seed(0)
    card = save_weights(build_model("tiny").state_dict(), tmp_path / "tiny.safetensors", preset="tiny", scale=4)
    out = tmp_path / "eval.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--weights", str(card),
                           "--benchmarks", "syn-me-5,syn-re,syn-re-real", "--max-clips", "1", "--device", "cpu",
                           "--json", str(out), "--record-card",
                           "--side-by-side", str(tmp_path / "sbs.png"), "--side-by-side-benchmark", "syn-re-real",
                           "--fmanet-weights", "random"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "syn-re      model (ETE only)" in proc.stdout and "syn-re-real model (ETE only)" in proc.stdout
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"syn-me-5", "syn-re", "syn-re-real"}
    for name in ("syn-re", "syn-re-real"):
        assert set(results[name]) == {"bicubic", "model", "model (ETE only)", "clips"}
    # noise and H.264 cost the input: the degraded row's bicubic baseline is below the clean one
    assert results["syn-re-real"]["bicubic"]["psnr"] < results["syn-re"]["bicubic"]["psnr"]
    for name in results:
        for method in ("bicubic", "model"):
            m = results[name][method]
            assert 10 < m["psnr"] < 60 and 0 < m["ssim"] <= 1 and m["tof"] >= 0
    assert "FMA-Net (random weights)" in proc.stdout and (tmp_path / "sbs.png").stat().st_size > 0
    recorded = json.loads(card.read_text())["evaluation"]["small-seed0-fp32"]["results"]
    assert recorded["syn-me-5"]["bicubic"]["psnr"] == round(results["syn-me-5"]["bicubic"]["psnr"], 4)


def test_evaluate_puts_the_causal_model_beside_the_bidirectional_one(tmp_path: Path) -> None:
    from vs_fmanet.model.causal import build_causal_model

    torch.manual_seed(0)
    bidi = save_weights(build_model("tiny").state_dict(), tmp_path / "bidi.safetensors", preset="tiny", scale=4,
                        name="bidi")
    causal = save_weights(build_causal_model("causal-tiny").state_dict(), tmp_path / "live.safetensors",
                          preset="causal-tiny", scale=4, name="live", model="fmanetpp-causal")
    out = tmp_path / "eval.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--weights", str(bidi),
                           "--weights", str(causal), "--benchmarks", "syn-re", "--max-clips", "1", "--device", "cpu",
                           "--json", str(out), "--record-card", "--markdown"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())["results"]["syn-re"]
    live = rows["live (ETE only)"]
    assert (f"| SYN-RE | live (ETE only) | {live['psnr']:.2f} / {live['ssim']:.4f} / {live['tof']:.3f} | "
            f"{live['psnr'] - rows['bicubic']['psnr']:+.2f} dB | {live['ms_per_frame']:.0f} |") in proc.stdout
    assert set(rows) == {"bicubic", "bidi", "bidi (ETE only)", "live", "live (ETE only)", "clips"}
    assert rows["bidi"]["ms_per_frame"] > 0 and rows["live"]["ms_per_frame"] > 0
    assert "ms_per_frame" not in rows["bicubic"]
    assert rows["bidi"]["psnr"] != rows["live"]["psnr"]
    assert "syn-re     live (ETE only)" in proc.stdout
    for card, label in ((bidi, "bidi"), (causal, "live")):
        recorded = json.loads(card.read_text())["evaluation"]["small-seed0-fp32"]["results"]["syn-re"]
        assert set(recorded) == {"bicubic", "model", "model (ETE only)", "clips"}
        assert recorded["model"]["psnr"] == round(rows[label]["psnr"], 4)


def test_x2_and_x1_weights_are_scored_on_their_own_scale(tmp_path: Path) -> None:
    """The benchmark is rendered at the weights' scale (no --scale needed); weights of different scales are not
    mixed in one table."""
    torch.manual_seed(0)
    cards = {s: save_weights(build_model("tiny", s).state_dict(), tmp_path / f"x{s}.safetensors", preset="tiny",
                             scale=s, name=f"x{s}") for s in (2, 1)}
    for s, card in cards.items():
        out = tmp_path / f"eval{s}.json"
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--weights", str(card),
                               "--benchmarks", "syn-me-5", "--max-clips", "1", "--device", "cpu", "--json", str(out),
                               "--side-by-side", str(tmp_path / f"sbs{s}.png")],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        payload = json.loads(out.read_text())
        assert payload["engines"]["model"]["scale"] == s
        rows = payload["results"]["syn-me-5"]
        assert 10 < rows["model"]["psnr"] < 60 and 10 < rows["bicubic"]["psnr"] < 60
        assert (tmp_path / f"sbs{s}.png").stat().st_size > 0
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--weights", str(cards[2]),
                           "--weights", str(cards[1]), "--benchmarks", "syn-me-5", "--max-clips", "1",
                           "--device", "cpu"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "must share a scale" in proc.stderr


def test_ensemble_rows_sit_beside_the_plain_rows_and_are_recorded_apart(tmp_path: Path) -> None:
    torch.manual_seed(0)
    card = save_weights(build_model("tiny").state_dict(), tmp_path / "tiny.safetensors", preset="tiny", scale=4)
    out = tmp_path / "eval.json"
    cmd = [sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--weights", str(card), "--benchmarks", "syn-re",
           "--max-clips", "1", "--device", "cpu", "--json", str(out), "--record-card"]
    proc = subprocess.run([*cmd, "--ensemble", "1,4"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())["results"]["syn-re"]
    assert set(rows) == {"bicubic", "model", "model (ETE only)", "model, ensemble 4", "model, ensemble 4 (ETE only)",
                         "clips"}
    assert rows["model"]["psnr"] != rows["model, ensemble 4"]["psnr"]
    recorded = json.loads(card.read_text())["evaluation"]
    assert set(recorded) == {"small-seed0-fp32", "small-seed0-fp32-ensemble4"}
    assert recorded["small-seed0-fp32-ensemble4"]["results"]["syn-re"]["model"]["psnr"] == \
        round(rows["model, ensemble 4"]["psnr"], 4)
    bad = subprocess.run([*cmd, "--ensemble", "1,3"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "expected a comma list of 1, 2, 4, 8" in bad.stderr


def test_a_pinned_tile_is_used_and_recorded(tmp_path: Path) -> None:
    """Automatic tiles follow free memory, so two runs can tile differently; --tile pins them (JSON records it)."""
    torch.manual_seed(0)
    card = save_weights(build_model("tiny").state_dict(), tmp_path / "tiny.safetensors", preset="tiny", scale=4)
    tiles = {}
    for tile in ("0", "32"):
        out = tmp_path / f"eval{tile}.json"
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--weights", str(card),
                               "--benchmarks", "syn-me-5", "--max-clips", "1", "--device", "cpu", "--tile", tile,
                               "--json", str(out)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        engine = json.loads(out.read_text())["engines"]["model"]
        tiles[tile] = (engine["tile"], list(engine["tiles_in_use"].values()))
    assert tiles["0"] == (0, [None])
    assert tiles["32"] == ([32, 32], [[32, 32]])


def test_the_card_gathers_rows_of_the_same_weights_and_drops_rows_of_older_ones(tmp_path: Path) -> None:
    torch.manual_seed(0)
    card = save_weights(build_model("tiny").state_dict(), tmp_path / "tiny.safetensors", preset="tiny", scale=4)

    def record(benchmarks: str) -> dict:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--weights", str(card),
                               "--benchmarks", benchmarks, "--max-clips", "1", "--device", "cpu", "--record-card"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(card.read_text())["evaluation"]["small-seed0-fp32"]

    first = record("syn-me-5")
    second = record("syn-re-real")   # a row added later for the same weights joins the table
    assert set(second["results"]) == {"syn-me-5", "syn-re-real"}
    assert second["results"]["syn-me-5"] == first["results"]["syn-me-5"]
    assert len(second["commands"]) == 2 and "syn-re-real" in second["command"]
    # new weights under the same card (its evaluation kept, as train.py's re-export does): the old rows measured
    # other weights and go
    newer = save_weights(build_model("tiny").state_dict(), tmp_path / "newer.safetensors", preset="tiny", scale=4)
    (tmp_path / "newer.safetensors").replace(tmp_path / "tiny.safetensors")
    data = json.loads(card.read_text())
    data["sha256"] = json.loads(newer.read_text())["sha256"]
    card.write_text(json.dumps(data))
    third = record("syn-re")
    assert set(third["results"]) == {"syn-re"} and third["sha256"] != second["sha256"]


def test_bad_arguments_fail_before_any_evaluation_and_results_are_not_overwritten(tmp_path: Path) -> None:
    """An unknown benchmark, --max-clips 0 or a --json in a missing folder used to fail with a traceback after the
    earlier benchmarks had run (their numbers lost); an existing --json was replaced silently."""
    existing = tmp_path / "kept.json"
    existing.write_text("{}\n")
    for args, message in [
        (["--benchmarks", "syn-me-1,syn-me-9"], "--benchmarks: unknown 'syn-me-9'"),
        (["--max-clips", "0"], "--max-clips 0: must be at least 1"),
        (["--json", str(tmp_path / "missing" / "x.json")], "does not exist; create it first"),
        (["--json", str(existing)], "already exists; pass -y to replace it"),
        (["--scale", "3"], "no weights found for model='fmanetpp', scale=3"),
        (["--precision", "fp8"], "precision='fp8' is not supported"),
    ]:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--device", "cpu", *args],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert existing.read_text() == "{}\n"


def test_side_by_side_and_seed_are_checked_before_any_work(tmp_path: Path, capsys) -> None:
    """--side-by-side replaced an existing image without -y, and a folder or a name without an image extension failed
    in PIL only after the whole evaluation; a negative --seed failed in numpy."""
    import evaluate

    keep = tmp_path / "keep.png"
    keep.write_bytes(b"mine")
    for args, says in ((["--side-by-side", str(keep)], "pass -y"),
                       (["--side-by-side", str(tmp_path)], "is a folder"),
                       (["--side-by-side", str(tmp_path / "sbs.noext")], "name a .png"),
                       (["--seed", "-1"], "--seed -1: must be at least 0")):
        with pytest.raises(SystemExit) as stopped:
            evaluate.main(args)
        assert stopped.value.code == 2 and says in capsys.readouterr().err, args
    assert keep.read_bytes() == b"mine"
