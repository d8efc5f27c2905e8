"""scripts/bench_speed.py at a tiny CPU size: the JSON report's fields, the quality guard, peers that cannot be
built, the end-to-end mode and the refusal to overwrite a report."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

ROW_FIELDS = {"kind", "model", "preset", "size", "output", "window", "overlap", "tile", "precision", "compile",
              "channels_last", "fps", "s_per_frame", "model_fps", "model_s_per_frame", "runs_s", "first_call_s",
              "stages_s_per_run", "precision_used", "pinned"}


@pytest.fixture(scope="module")
def cpu_report(bench_speed, trained_like_card, tmp_path_factory):
    """One small run: reference + fp32 channels-last + bf16 rows, RVRT as peer (cannot run on the CPU), and the
    end-to-end mode; guard threshold 100 dB so the bf16 row (about 60-80 dB) must fail it and fp32 must pass."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    rc = bench_speed.main(["--device", "cpu", "--preset", "tiny", "--weights", str(trained_like_card),
                           "--sizes", "16x24", "--frames", "2", "--precisions", "fp32,bf16",
                           "--channels-last", "on", "--warmup", "1", "--repeats", "2", "--peers", "rvrt",
                           "--guard-db", "100", "--e2e", "--e2e-size", "16x24", "--e2e-frames", "6",
                           "--json", str(out)])
    return rc, json.loads(out.read_text())


def test_report_has_every_row_field_and_sane_timings(cpu_report) -> None:
    rc, data = cpu_report
    assert data["schema"] == "vs_fmanet.bench_speed/1"
    assert data["device"]["type"] == "cpu" and data["device"]["torch"]
    assert data["settings"]["window"] == 2 and data["settings"]["sizes"] == ["16x24"]
    assert data["paper"]["fmanetpp_s_per_frame"] == 0.074
    ours = [r for r in data["rows"] if r["kind"] in ("reference", "fmanetpp")]
    assert [(r["kind"], r["precision"], r["channels_last"]) for r in ours] == [
        ("reference", "fp32", False), ("fmanetpp", "fp32", True), ("fmanetpp", "bf16", True)]
    for r in ours:
        assert ROW_FIELDS <= set(r), ROW_FIELDS - set(r)
        assert "error" not in r
        assert len(r["runs_s"]) == 2 and all(t > 0 for t in r["runs_s"])
        assert r["fps"] == pytest.approx(2 / r["s_per_run"])
        assert r["s_per_frame"] == pytest.approx(r["s_per_run"] / 2)
        assert 0 < r["model_s_per_frame"] <= r["s_per_frame"]          # the model is part of the whole run
        assert set(r["stages_s_per_run"]) >= {"upload", "code", "model", "download"}
        assert r["output"] == "64x96" and r["pinned"] is False          # pinned means nothing on the CPU
        assert "peak_gpu_gb" not in r                                   # no GPU, no made-up number
    assert data["summary"]["params"] > 0
    assert data["summary"]["16x24"]["speedup_vs_fp32_eager"] > 0
    assert "targets" not in data["summary"]                             # targets are for the paper preset on CUDA


def test_quality_guard_passes_fp32_fails_bf16_and_sets_exit_status(cpu_report) -> None:
    rc, data = cpu_report
    rows = {(r["kind"], r["precision"]): r for r in data["rows"] if r["kind"] != "peer"}
    assert "quality" not in rows["reference", "fp32"]
    fp32 = rows["fmanetpp", "fp32"]["quality"]
    bf16 = rows["fmanetpp", "bf16"]["quality"]
    assert fp32["ok"] is True and fp32["max_abs"] < 1e-5 and (fp32["psnr_db"] is None or fp32["psnr_db"] > 100)
    assert bf16["ok"] is False and 30 < bf16["psnr_db"] < 100 and bf16["max_abs"] > 1e-4
    assert data["guard"] == {"threshold_db": 100.0, "rows_checked": 2, "passed": False,
                             "failures": [data["guard"]["failures"][0]]}
    assert "bf16" in data["guard"]["failures"][0]
    assert rc == 3


def test_peer_that_cannot_be_built_gets_a_row_with_the_reason(cpu_report) -> None:
    _, data = cpu_report
    peers = [r for r in data["rows"] if r["kind"] == "peer"]
    assert [(p["model"], p["package"], p["size"]) for p in peers] == [("rvrt", "vsrvrt", "16x24")]
    assert peers[0]["error"].startswith("not built: ") and "fps" not in peers[0]


def test_end_to_end_mode_splits_the_time(cpu_report) -> None:
    _, data = cpu_report
    e = data["e2e"]
    assert "error" not in e, e.get("error")
    assert (e["frames"], e["input"], e["output"]) == (6, "16x24", "64x96")
    assert e["model_only"]["fps"] > 0 and e["overlapped"]["frames"] == 6
    split = e["serial"]["split_s"]
    assert {"decode", "upload", "code", "model", "download", "encode", "engine_other"} <= set(split)
    assert all(v >= 0 for v in split.values()) and split["model"] > 0 and split["decode"] > 0
    assert sum(split.values()) == pytest.approx(e["serial"]["loop_s"], rel=0.05)
    for name in ("serial", "overlapped"):
        assert e[name]["ratio_to_model_only"] == pytest.approx(e[name]["fps"] / e["model_only"]["fps"])


def test_quality_metric(bench_speed) -> None:
    ref = np.full((2, 4, 4, 3), 0.5, dtype=np.float32)
    same = bench_speed.quality(ref.copy(), ref)
    assert same["max_abs"] == 0.0 and math.isinf(same["psnr_db"])
    off = bench_speed.quality(ref + np.float32(0.01), ref)
    assert off["max_abs"] == pytest.approx(0.01, abs=1e-6)
    assert off["psnr_db"] == pytest.approx(40.0, abs=1e-3)            # 10 log10(1 / 0.01^2)
    with pytest.raises(ValueError, match="shapes differ"):
        bench_speed.quality(ref[:1], ref)


@pytest.mark.parametrize("script", ["bench_speed", "bench_farm", "bench_model", "bench_latency", "evaluate"])
def test_existing_report_is_not_overwritten_without_y(script, tmp_path, capsys) -> None:
    """Every script with --json refuses an existing report (or a missing folder) before any work, naming -y; the
    farm and model benchmarks used to replace it silently."""
    import importlib

    module = importlib.import_module(script)
    out = tmp_path / "keep.json"
    out.write_text("{}")
    for target, says in ((out, "pass -y"), (tmp_path / "missing" / "r.json", "does not exist")):
        with pytest.raises(SystemExit) as stopped:
            module.main(["--json", str(target)])
        assert stopped.value.code == 2 and says in capsys.readouterr().err
    assert out.read_text() == "{}" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]


def test_reports_are_written_whole(tmp_path) -> None:
    from report_json import write_json_atomic

    target = tmp_path / "r.json"
    write_json_atomic(target, {"fps": 1.5})
    with pytest.raises(TypeError):                 # not JSON-serialisable: the old report stays, no temp file left
        write_json_atomic(target, {"fps": object()}, default=None)
    assert json.loads(target.read_text()) == {"fps": 1.5} and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_size_errors_name_the_format(bench_speed, capsys) -> None:
    with pytest.raises(SystemExit):
        bench_speed.main(["--device", "cpu", "--sizes", "180by320"])
    assert "HEIGHTxWIDTH" in capsys.readouterr().err


def test_peers_refuse_what_they_do_not_ship(bench_peers) -> None:
    import torch

    with pytest.raises(bench_peers.PeerUnavailable, match="fp32 and fp16"):
        bench_peers.build_peer("basicvsrpp", torch.device("cpu"), "bf16")
    with pytest.raises(bench_peers.PeerUnavailable, match="CUDA|not importable"):
        bench_peers.build_peer("rvrt", torch.device("cpu"), "fp32")
    with pytest.raises(ValueError, match="unknown peer"):
        bench_peers.build_peer("edvr", torch.device("cpu"), "fp32")
