"""``fmanet-probe``: per-frame table, summary, --json, and exit code 2 with a message on bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import expofix as fx
from vs_fmanet.exposure.cli import main

REPO = Path(__file__).resolve().parents[2]


def _dji(tmp_path: Path) -> Path:
    video = fx.write_video(tmp_path / "DJI_0007.MP4", 6, 30)
    edges = [round(i * 1000 / 30) for i in range(7)]
    fx.write_srt(tmp_path / "DJI_0007.SRT", [(edges[i], edges[i + 1], f"[iso: 100] [shutter: 1/{100 * (i + 1)}.0]")
                                            for i in range(6)])
    return video


def test_table_and_summary(tmp_path, capsys):
    assert main([str(_dji(tmp_path))]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["frame", "time_s", "exposure", "seconds", "fraction", "source", "how"]
    assert lines[1].split() == ["0", "0.0000", "1/100", "0.0100000", "0.3000", "srt", "frame"]
    assert lines[6].split()[2] == "1/600"
    assert "frames    6  known 6  coverage 100.0%" in out
    assert "source    srt" in out
    assert "min 1/600" in out and "max 1/100" in out


def test_json_output(tmp_path, capsys):
    assert main([str(_dji(tmp_path)), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["frames"] == 6 and data["summary"]["coverage"] == 1.0
    assert [f["seconds"] for f in data["frames"]] == [1 / (100 * (i + 1)) for i in range(6)]
    assert {f["source"] for f in data["frames"]} == {"srt"}
    assert data["warnings"] == []


def test_override_and_summary_only(tmp_path, capsys):
    assert main([str(_dji(tmp_path)), "--override", "90deg", "--summary-only"]) == 0
    out = capsys.readouterr().out
    assert "frame " not in out.splitlines()[0]
    assert "source    override" in out and "fraction  min 0.2500" in out


def test_bad_input_exits_2_with_message(tmp_path, capsys):
    assert main([str(tmp_path / "nope.mp4")]) == 2
    err = capsys.readouterr().err
    assert "fmanet-probe: error:" in err and "nope.mp4" in err and "does not exist" in err
    video = _dji(tmp_path)
    assert main([str(video), "--override", "abc"]) == 2
    assert "accepted forms" in capsys.readouterr().err


def test_module_entry_point_runs_as_a_process(tmp_path):
    video = _dji(tmp_path)
    exe = shutil.which("fmanet-probe", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "vs_fmanet.exposure.cli"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(cmd + [str(video), "--json", "--summary-only"], capture_output=True, text=True,
                            timeout=120, env=env, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["source"] == "srt" and summary["frames"] == 6
    assert np.isclose(summary["seconds"]["median"], (1 / 300 + 1 / 400) / 2)


def test_json_keeps_a_failed_single_input_on_stdout(tmp_path, capsys):
    """A script reading --json got nothing on stdout when its one input failed; it now gets {"path", "error"}."""
    assert main([str(tmp_path / "nope.mp4"), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["path"].endswith("nope.mp4") and "does not exist" in data["error"]
