"""fmanet-ffmpeg as a command: exit codes, error messages, interrupts, progress lines and the run report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from clifix import interactive_command
from ffmpegfix import FailingRestorer, NearestRestorer

from ffmpeg_filter import cli, pipeline
from ffmpeg_filter.binary import encoder_pixel_formats
from ffmpeg_filter.sample import make_sample_clip

REPO = Path(__file__).resolve().parents[2]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["--progress", "none", *args])
    return code, capsys.readouterr().err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name or ".fmanet-" in p.name)


# ------------------------------------------------------------------------------------------------ bad input
def test_missing_input(tmp_path: Path, capsys, nearest):
    code, err = run_cli(capsys, "-i", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mkv"))
    assert code == 1 and "nope.mp4' does not exist; check the path" in err


def test_input_without_video(tmp_path: Path, ffmpeg_exe: str, capsys, nearest):
    audio = tmp_path / "tone.mka"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.3", "-c:a", "flac", str(audio)],
                   check=True)
    code, err = run_cli(capsys, "-i", str(audio), "-o", str(tmp_path / "o.mkv"))
    assert code == 1 and "has no video stream (it holds audio)" in err
    assert not (tmp_path / "o.mkv").exists()


def test_unsupported_codec(tmp_path: Path, ffmpeg_exe: str, capsys, nearest):
    """AVS2 video: the ffmpeg binary can encode it, PyAV's FFmpeg has no decoder for it."""
    if encoder_pixel_formats(ffmpeg_exe, "libxavs2") is None:
        pytest.skip("this ffmpeg build has no libxavs2 encoder to make the fixture")
    clip = tmp_path / "avs2.ts"
    subprocess.run([ffmpeg_exe, "-v", "quiet", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24:duration=0.25",
                    "-c:v", "libxavs2", str(clip)], check=True)
    code, err = run_cli(capsys, "-i", str(clip), "-o", str(tmp_path / "o.mkv"))
    assert code == 1
    assert "cannot decode (codec 'avs2'); transcode it first" in err


def test_not_a_media_file(tmp_path: Path, capsys, nearest):
    junk = tmp_path / "notes.mp4"
    junk.write_text("this is not a video\n" * 20)
    code, err = run_cli(capsys, "-i", str(junk), "-o", str(tmp_path / "o.mkv"))
    assert code == 1 and "is not a media file FFmpeg can read" in err


def _unwritable_folder(tmp_path: Path) -> Path:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        (locked / "probe").touch()
    except OSError:
        return locked
    (locked / "probe").unlink()  # running as root: permissions do not bind, use sysfs (read-only for files)
    return Path("/sys")


def test_unwritable_or_missing_output_folder(sdr_clip: Path, tmp_path: Path, capsys, nearest):
    code, err = run_cli(capsys, "-i", str(sdr_clip), "-o", str(tmp_path / "no" / "such" / "o.mkv"))
    assert code == 1 and "does not exist; create it first" in err
    folder = _unwritable_folder(tmp_path)
    code, err = run_cli(capsys, "-i", str(sdr_clip), "-o", str(folder / "fmanet-test-out.mkv"))
    assert code == 1 and "is not writable" in err
    assert nearest.frames_in == 0


# ------------------------------------------------------------------------------------------------ bad usage
@pytest.mark.parametrize("args, message", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["-to", "1", "-t", "1"], "not allowed with argument"),
    (["-ss", "abc"], "cannot read 'abc' as a time"),
    (["--exposure", "banana"], "--exposure 'banana'"),
    (["--exposure-from", "psychic"], "invalid choice: 'psychic'"),
    (["-ss", "30"], "holds no frames"),
    (["--", "-c:v", "no_such_encoder"], "encoder 'no_such_encoder' is not in the ffmpeg build"),
    (["--enc", "=5"], "expected KEY=VALUE"),
])
def test_bad_usage_exits_2(args: list[str], message: str, sdr_clip: Path, tmp_path: Path, capsys, nearest):
    code, err = run_cli(capsys, "-i", str(sdr_clip), "-o", str(tmp_path / "o.mkv"), *args)
    assert code == 2, err
    assert message in err
    assert not (tmp_path / "o.mkv").exists() and nearest.frames_in == 0


def test_missing_output_option_exits_2(capsys):
    code, err = run_cli(capsys, "-i", "x.mp4")
    assert code == 2 and "the following arguments are required: -o/--output" in err


def test_rejected_encoder_options_fail_before_processing(sdr_clip: Path, tmp_path: Path, capsys, nearest):
    code, err = run_cli(capsys, "-i", str(sdr_clip), "-o", str(tmp_path / "o.mkv"), "--", "-preset", "warp9")
    assert code == 1
    assert "rejected before processing started" in err and "ffmpeg stderr" in err
    assert nearest.frames_in == 0 and list(tmp_path.iterdir()) == []


def test_failure_mid_run_leaves_no_file(sdr_clip: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(pipeline, "build_restorer", lambda settings: FailingRestorer(2, message="GPU fell off the bus"))
    code, err = run_cli(capsys, "-i", str(sdr_clip), "-o", str(tmp_path / "o.mkv"), "--", "-preset", "ultrafast")
    assert code == 1 and "GPU fell off the bus" in err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ progress, report
def test_json_progress_and_report(sdr_clip: Path, tmp_path: Path, capsys, nearest):
    report = tmp_path / "report.json"
    code = cli.main(["-i", str(sdr_clip), "-o", str(tmp_path / "o.mkv"), "--progress", "json",
                     "--progress-interval", "0", "--exposure", "1/100", "--report", str(report),
                     "--", "-preset", "ultrafast"])
    err = capsys.readouterr().err
    assert code == 0
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert events[0]["event"] == "start" and events[0]["total"] == 24
    progress = [e for e in events if e["event"] == "progress"]
    assert [e["frame"] for e in progress] == list(range(1, 25))
    assert set(progress[-1]) >= {"fps", "eta_s", "elapsed_s", "out_time_s", "percent"}
    assert events[-1] == {**events[-1], "event": "end", "state": "done", "exit_code": 0, "frame": 24}
    data = json.loads(report.read_text())
    assert data["frames"] == 24 and data["source"]["codec"] == "h264"
    rate = 24000 / 1001  # the readers divide by the measured frame interval (1 ms timestamps): within 0.1 %
    assert data["exposure"] == pytest.approx([rate / 100] * 24, rel=1e-3)
    assert data["exposure_sources"] == ["override"] * 24
    assert nearest.exposures == pytest.approx(data["exposure"])
    assert data["command"][-1] == str(tmp_path / "o.mkv")


# ------------------------------------------------------------------------------------------------ interrupts
def _spawn(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(interactive_command("ffmpeg_filter.cli", *args), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO))


@pytest.mark.parametrize("sig, code, wait_for", [(signal.SIGINT, 130, "progress"), (signal.SIGTERM, 143, "start")])
def test_signal_mid_run_leaves_no_output(sig: int, code: int, wait_for: str, clips: Path, tmp_path: Path):
    """A real run (tiny random-weight engine on the CPU) stopped by Ctrl-C or SIGTERM: exit 130/143, the
    'end' event says interrupted, and neither the output nor a temporary file remains."""
    clip = clips / "long.mkv"
    if not clip.exists():
        make_sample_clip(clip, frames=96, size=(32, 24), fps="24", subtitles=False)
    out = tmp_path / "out.mkv"
    proc = _spawn(["-i", str(clip), "-o", str(out), "--preset", "tiny", "--weights", "random", "--device", "cpu",
                   "--window", "4", "--overlap", "2", "--progress", "json", "--progress-interval", "0",
                   "--", "-preset", "ultrafast"])
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    try:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("{") and json.loads(line)["event"] == wait_for:
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert proc.poll() is None, "".join(lines)
        proc.send_signal(sig)
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines += rest.splitlines(keepends=True)
    assert proc.returncode == code, "".join(lines)
    end = [json.loads(x) for x in lines if x.startswith("{") and '"end"' in x]
    assert end and end[-1]["state"] == "interrupted" and end[-1]["frame"] < 96
    assert end[-1]["exit_code"] == code          # the JSON says what the process returns (SIGTERM: 143, not 130)
    assert not out.exists() and leftovers(tmp_path) == []
    assert "partial output was removed" in "".join(lines) and "fmanet-farm" in "".join(lines)


def test_an_output_filter_after_the_double_dash_sizes_the_result(sdr_clip: Path, tmp_path: Path):
    """x2 restoration, then the user's own ffmpeg filter to an exact width: the README's recipe for a target size
    that is not a multiple of the input; the colour tags and the other streams survive the filter."""
    from ffmpegfix import stream_summary

    out = tmp_path / "sized.mkv"
    pipeline.run(pipeline.RunOptions(input=str(sdr_clip), output=str(out), progress="none", exposure_from="none",
                                     user_args=["-vf", "scale=100:-2", "-c:v", "libx264", "-preset", "ultrafast"]),
                 restorer=NearestRestorer(2))
    got, src = stream_summary(out), stream_summary(sdr_clip)
    assert (got["video"]["width"], got["video"]["height"]) == (100, 76)             # 64x48 -> 128x96 -> 100x76
    assert {k: got["video"][k] for k in ("color_range", "colorspace", "color_primaries", "color_trc")} == \
        {k: src["video"][k] for k in ("color_range", "colorspace", "color_primaries", "color_trc")}
    assert got["audio"] and got["subtitles"] and got["chapters"] == src["chapters"]


def test_aborting_the_encoder_does_not_wait_for_the_kill_timeout(tmp_path: Path):
    """The NUT writer kept its own descriptor of ffmpeg's stdin open, so ffmpeg never saw the end of its input and
    every abort (Ctrl-C, SIGTERM, a failed run) waited the 5 s before SIGKILL."""
    from fractions import Fraction

    import numpy as np

    from ffmpeg_filter.binary import find_ffmpeg
    from ffmpeg_filter.encode import EncoderProcess

    argv = [find_ffmpeg(), "-hide_banner", "-v", "error", "-y", "-f", "nut", "-i", "pipe:0", "-c:v", "libx264",
            "-preset", "ultrafast", str(tmp_path / "aborted.mkv")]
    enc = EncoderProcess(argv, width=64, height=48, time_base=Fraction(1, 25)).start()
    for i in range(5):
        enc.write(np.zeros((48, 64, 3), np.float32), i)
    time.sleep(0.5)
    t0 = time.monotonic()
    enc.abort()
    assert time.monotonic() - t0 < 3.0
