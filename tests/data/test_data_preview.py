"""scripts/preview_data.py writes PNG frames, an H.264 preview and a contact sheet, and never overwrites silently."""
import importlib.util
from pathlib import Path

import av
import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "preview_data.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("preview_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args):
    return _load_script().main([str(a) for a in args])


def test_preview_writes_sheet_frames_and_video(tmp_path, capsys):
    out = tmp_path / "preview"
    assert _run("--out", out, "--scenes", "1", "--frames", "3", "--lr-size", "16", "--seed", "4") == 0
    assert capsys.readouterr().out == ""
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.width >= 2 * 64 + 240 and sheet.height > 6 * 140   # 6 rows: levels 1..5 + random walk
    clips = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert clips == [f"clip_{k:02d}" for k in range(6)]
    sharp = np.asarray(Image.open(out / "clip_00" / "sharp_001.png"))
    blur = np.asarray(Image.open(out / "clip_00" / "blur_001.png"))
    assert sharp.shape == (64, 64, 3) and blur.shape == (16, 16, 3)
    with av.open(str(out / "clip_04" / "preview.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 3 and frames[0].shape == (64, 128, 3)
    # refuses to replace the folder without -y, then replaces it with -y
    assert _run("--out", out, "--scenes", "1", "--frames", "2", "--lr-size", "8") == 2
    assert "pass -y" in capsys.readouterr().err
    assert _run("--out", out, "--scenes", "1", "--frames", "2", "--lr-size", "8", "-y") == 0
    assert np.asarray(Image.open(out / "clip_00" / "sharp_000.png")).shape == (32, 32, 3)
    # -y replaces an earlier preview only, never another folder (say --out . by mistake)
    other = tmp_path / "my_project"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert _run("--out", other, "--scenes", "1", "--frames", "2", "--lr-size", "8", "-y") == 2
    assert "is not an earlier preview" in capsys.readouterr().err and (other / "notes.txt").read_text() == "keep me"


def test_preview_edges_and_flags_a_benchmark_ignores(tmp_path, capsys):
    """A 1-pixel-high frame crashed the video writer (cropped to nothing); --frames/--lr-size with --benchmark were
    silently ignored; a negative --seed failed inside numpy."""
    import pytest

    out = tmp_path / "one"
    assert _run("--out", out, "--scenes", "1", "--frames", "2", "--lr-size", "1", "--scale", "1") == 0
    with av.open(str(out / "clip_00" / "preview.mp4")) as container:
        assert [f.height for f in container.decode(video=0)] == [2, 2]
    for args, says in ((["--benchmark", "syn-me-1", "--frames", "2"], "drop --frames"),
                       (["--seed", "-1"], "--seed -1: must be at least 0")):
        with pytest.raises(SystemExit):
            _run("--out", tmp_path / "x", *args)
        assert says in capsys.readouterr().err
