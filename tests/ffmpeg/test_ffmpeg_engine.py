"""The real engine behind fmanet-ffmpeg: exposure metadata found in the file reaches it frame by frame, and an
end-to-end run (tiny preset, seeded random weights, CPU) produces a 4x video that still carries the source's
other streams."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from ffmpegfix import DJI_SHUTTERS, NearestRestorer, Recording, packet_digests, stream_summary, subtitle_cues

from ffmpeg_filter import cli, pipeline
from ffmpeg_filter.restoring import build_restorer
from ffmpeg_filter.sample import make_sample_clip

ENGINE = ["--preset", "tiny", "--weights", "random", "--device", "cpu", "--window", "4", "--overlap", "2"]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[Recording]:
    """Build the real engine from the command's settings, wrapped so the test sees what it received."""
    made: list[Recording] = []

    def build(settings):
        rec = Recording(build_restorer(settings))
        made.append(rec)
        return rec

    monkeypatch.setattr(pipeline, "build_restorer", build)
    return made


def expected_fractions(fps: float = 30.0) -> list[float]:
    return [fps / s for s in DJI_SHUTTERS]


def test_dji_srt_track_exposure_reaches_the_engine(dji_clip: Path, tmp_path: Path, recorder: list[Recording]):
    report = tmp_path / "report.json"
    out = tmp_path / "out.mkv"
    code = cli.main(["-i", str(dji_clip), "-o", str(out), "--progress", "none", "--report", str(report), *ENGINE,
                     "--", "-preset", "ultrafast"])
    assert code == 0
    (rec,) = recorder
    assert rec.exposures == pytest.approx(expected_fractions(), rel=2e-3)
    assert rec.shapes == [(24, 32, 3)] * len(DJI_SHUTTERS)
    data = json.loads(report.read_text())
    assert data["exposure_sources"] == ["srt"] * len(DJI_SHUTTERS)
    assert data["engine"]["model_name"] == "random-tiny" and data["engine"]["scale"] == 4
    # the telemetry track itself is kept in the output
    assert [c[2] for c in subtitle_cues(out)] == [c[2] for c in subtitle_cues(dji_clip)]


@pytest.mark.parametrize("interlaced", [False, True], ids=["progressive", "1080i-style"])
def test_avchd_camcorder_exposure_reaches_the_engine(tmp_path: Path, recorder: list[Recording], interlaced: bool):
    """An AVCHD-style .MTS whose H.264 SEI carries MDPM ExposureTime per frame (B-frames reorder them; MBAFF
    interlaced as 1080i camcorders record, then deinterlaced frame for frame): the engine gets each frame's own
    fraction, and the report names the source."""
    import expofix

    denominators = [100, 125, 160, 200, 250, 320, 400, 500]
    clip = expofix.write_h264_with_sei(tmp_path / "00001.MTS", [expofix.mdpm_block((1, d)) for d in denominators],
                                       fps=25, interlaced=interlaced)
    report, out = tmp_path / "report.json", tmp_path / "out.mkv"
    assert cli.main(["-i", str(clip), "-o", str(out), "--progress", "none", "--report", str(report), *ENGINE,
                     "--", "-preset", "ultrafast"]) == 0
    (rec,) = recorder
    assert rec.exposures == pytest.approx([25 / d for d in denominators], rel=2e-3)
    data = json.loads(report.read_text())
    assert data["exposure_sources"] == ["mdpm"] * len(denominators)
    assert data["deinterlace"] == ("interlaced" if interlaced else None)    # auto: only what is interlaced
    assert rec.shapes == [(48, 64, 3)] * len(denominators)


def test_dji_srt_sidecar_exposure_reaches_the_engine(tmp_path: Path, recorder: list[Recording], dji_clip: Path):
    clip = make_sample_clip(tmp_path / "DJI_0001.mkv", frames=len(DJI_SHUTTERS), size=(32, 24), fps="30",
                            subtitles=False, chapters=False)
    # a DJI-style sidecar next to the video, cue times from the telemetry track of the other fixture
    lines = []
    for k, (a, b, text) in enumerate(subtitle_cues(dji_clip)):
        ts = [f"00:00:{t:06.3f}".replace(".", ",") for t in (a, b)]
        lines.append(f"{k + 1}\n{ts[0]} --> {ts[1]}\n{text}\n")
    (tmp_path / "DJI_0001.SRT").write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "o.mkv"
    assert cli.main(["-i", str(clip), "-o", str(out), "--progress", "none", *ENGINE, "--", "-preset",
                     "ultrafast"]) == 0
    assert recorder[-1].exposures == pytest.approx(expected_fractions(), rel=2e-3)


@pytest.mark.parametrize("option, expected", [(["--exposure", "180deg"], 0.5), (["--exposure-from", "none"], None)])
def test_override_and_no_metadata(option: list[str], expected: float | None, dji_clip: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch):
    """A clip-wide override beats the metadata (180 degrees = half the frame interval); with metadata off
    every frame is unknown (NaN) and the engine's estimator decides. (Pixel-repetition double: only the
    exposure plumbing is under test here.)"""
    restorer = NearestRestorer(scale=2)
    monkeypatch.setattr(pipeline, "build_restorer", lambda settings: restorer)
    assert cli.main(["-i", str(dji_clip), "-o", str(tmp_path / "o.mkv"), "--progress", "none", *option,
                     "--", "-preset", "ultrafast"]) == 0
    assert len(restorer.exposures) == len(DJI_SHUTTERS)
    if expected is None:
        assert np.isnan(restorer.exposures).all()
    else:
        assert restorer.exposures == pytest.approx([expected] * len(DJI_SHUTTERS), rel=1e-3)


def test_end_to_end_with_the_real_engine(sdr_clip: Path, tmp_path: Path):
    """No test double anywhere: the command builds the tiny engine itself."""
    small = tmp_path / "in.mkv"
    shutil.copy(sdr_clip, small)
    out = tmp_path / "x4.mkv"
    code = cli.main(["-i", str(small), "-o", str(out), "-t", "0.2", "--progress", "none", *ENGINE,
                     "--", "-preset", "ultrafast"])
    assert code == 0
    s = stream_summary(out)
    assert (s["video"]["width"], s["video"]["height"]) == (256, 192)
    assert len(packet_digests(out, "video")) == 5
    assert s["audio"] == [{"codec": "aac", "language": "eng"}]
    src_audio = {d for _, d in packet_digests(sdr_clip, "audio")}
    assert {d for _, d in packet_digests(out, "audio")} <= src_audio  # copied packets, not re-encoded


def test_x2_weights_make_a_x2_video_without_scale_flag(sdr_clip: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture):
    """--scale defaults to the scale the --weights card was trained for; naming another one is refused."""
    import torch

    from vs_fmanet.engine import save_weights
    from vs_fmanet.model import build_model

    torch.manual_seed(4)
    card = save_weights(build_model("tiny", 2).state_dict(), tmp_path / "x2.safetensors", preset="tiny", scale=2)
    out = tmp_path / "x2.mkv"
    weights = ["--weights", str(card), "--device", "cpu", "--window", "4", "--overlap", "2"]
    assert cli.main(["-i", str(sdr_clip), "-o", str(out), "-t", "0.1", "--progress", "none", *weights,
                     "--", "-preset", "ultrafast"]) == 0
    s = stream_summary(out)
    assert (s["video"]["width"], s["video"]["height"]) == (128, 96)
    refused = tmp_path / "refused.mkv"
    assert cli.main(["-i", str(sdr_clip), "-o", str(refused), "--progress", "none", "--scale", "4", *weights]) != 0
    assert not refused.exists() and "holds x2 weights but scale=4 was asked" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, reported, bad, message", [
    ("--ensemble", "4", 4, "3", "argument --ensemble: invalid choice: 3 (choose from 1, 2, 4, 8)"),
    ("--strength", "0.6", 0.6, "1.2", "Engine: strength=1.2 must be a number from 0"),
])
def test_engine_options_reach_the_engine_and_are_reported(sdr_clip: Path, tmp_path: Path, option: str, value: str,
                                                          reported: float, bad: str, message: str,
                                                          capsys: pytest.CaptureFixture):
    out, report = tmp_path / "o.mkv", tmp_path / "report.json"
    assert cli.main(["-i", str(sdr_clip), "-o", str(out), "-t", "0.1", "--progress", "none", *ENGINE,
                     option, value, "--report", str(report), "--", "-preset", "ultrafast"]) == 0
    assert json.loads(report.read_text())["engine"][option[2:]] == reported
    capsys.readouterr()
    code = cli.main(["-i", str(sdr_clip), "-o", str(tmp_path / "bad.mkv"), *ENGINE, option, bad])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "bad.mkv").exists()
