"""The README's demo command path (scripts/demo.py) runs end to end and writes what it promises."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_script_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--out", str(out), "--device", "cpu",
                           "--video-frames", "8"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == "", "the demo must log to stderr only"
    summary = json.loads((out / "summary.json").read_text())
    sample = summary["sample"]
    assert sample["frames"] == len(list((out / "frames").glob("restored_*.png"))) > 0
    assert (out / "side_by_side.png").stat().st_size > 0
    assert 10 < sample["psnr_bicubic"] < 60 and 5 < sample["psnr_fmanet"] < 60
    video = summary["video"]
    assert Path(video["output"]).exists()
    assert video["preserved"] and all(video["preserved"].values()), video["preserved"]
