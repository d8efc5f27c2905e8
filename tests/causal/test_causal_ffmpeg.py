"""``fmanet-ffmpeg --live``: a file in, a pipe in and out with frames written before the input has ended, the
low-latency encoder command, and the options live mode refuses. Clips are made with the real ffmpeg binary."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import pytest
from clifix import interactive_command, signal_when_ready

from ffmpeg_filter import cli
from ffmpeg_filter.binary import find_ffmpeg
from ffmpeg_filter.live import LiveSource, build_live_command, input_url, is_stream_output

REPO = Path(__file__).resolve().parents[2]
ENGINE = ["--preset", "causal-tiny", "--weights", "random", "--device", "cpu", "--progress", "none"]


@pytest.fixture(scope="module")
def ffmpeg_exe() -> str:
    return find_ffmpeg()


@pytest.fixture(scope="module")
def nut_clip(tmp_path_factory, ffmpeg_exe) -> Path:
    """12 MJPEG frames, 32x24 at 25 fps, in NUT (stream parameters in the header, as a live NUT pipe has)."""
    path = tmp_path_factory.mktemp("live") / "in.nut"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=32x24:rate=25:duration=0.48",
                    "-c:v", "mjpeg", "-f", "nut", str(path)], check=True)
    return path


def _frames(path: Path | str) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return list(c.decode(video=0))


def test_live_file_to_file_with_report(tmp_path, nut_clip, capsys):
    out, report = tmp_path / "out.mkv", tmp_path / "report.json"
    code = cli.main(["--live", "-i", str(nut_clip), "-o", str(out), "--report", str(report), *ENGINE])
    assert code == 0, capsys.readouterr().err
    frames = _frames(out)
    assert len(frames) == 12 and (frames[0].width, frames[0].height) == (128, 96)
    assert [f.pts for f in frames][:3] == [0, 40, 80]                        # timestamps kept (ms time base)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv", "report.json"]   # temp renamed away
    rep = json.loads(report.read_text())
    assert rep["frames"] == 12 and rep["engine"]["model"] == "fmanetpp-causal" and rep["engine"]["causal"]
    assert rep["latency"]["frames"] == 12 and rep["latency"]["p95_ms"] >= rep["latency"]["p50_ms"] > 0
    assert "-tune" in rep["command"] and "zerolatency" in rep["command"]
    # an existing output is never replaced without -y
    code = cli.main(["--live", "-i", str(nut_clip), "-o", str(out), *ENGINE])
    assert code == 1 and "already exists; pass -y" in capsys.readouterr().err


def test_file_mode_runs_the_causal_model_too(tmp_path, nut_clip, capsys):
    out = tmp_path / "out.mkv"
    code = cli.main(["-i", str(nut_clip), "-o", str(out), "--model", "fmanetpp-causal", *ENGINE])
    assert code == 0, capsys.readouterr().err
    assert len(_frames(out)) == 12


def test_live_pipe_plays_as_it_goes(nut_clip, tmp_path):
    """stdin -> stdout: restored frames come out while the input is still open (half of it written)."""
    data = nut_clip.read_bytes()
    cmd = [sys.executable, "-m", "ffmpeg_filter.cli", "--live", "-i", "-", "-o", "-", *ENGINE,
           "--input-option", "analyzeduration=0", "--input-option", "probesize=32", "--", "-f", "nut", "-c:v", "mjpeg"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env=env)
    received = bytearray()
    lock = threading.Lock()

    def drain() -> None:
        while chunk := proc.stdout.read1(65536):
            with lock:
                received.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc.stdin.write(data[: len(data) // 2])
        proc.stdin.flush()
        early = tmp_path / "early.nut"
        deadline = time.monotonic() + 90
        count = 0
        while time.monotonic() < deadline and count < 2:
            time.sleep(0.5)
            with lock:
                early.write_bytes(bytes(received))
            if early.stat().st_size:
                try:
                    count = len(_frames(early))
                except av.FFmpegError:
                    count = 0                      # not even a complete header yet
        assert count >= 2, "no restored frame was written while the input was still open"
        proc.stdin.write(data[len(data) // 2:])
        proc.stdin.close()
        assert proc.wait(timeout=90) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    final = tmp_path / "all.nut"
    final.write_bytes(bytes(received))
    frames = _frames(final)
    assert len(frames) == 12 and (frames[0].width, frames[0].height) == (128, 96)


def test_ctrl_c_finalises_a_live_recording(nut_clip, tmp_path):
    """The source stalls (half written, pipe still open); Ctrl-C ends the input, the frames in the engine (look-ahead
    k = 1) are restored and the output file is finalised under its name, exit code 0."""
    data = nut_clip.read_bytes()
    out = tmp_path / "rec.mkv"
    engine = [a if a != "causal-tiny" else "causal-tiny-k1" for a in ENGINE]
    cmd = interactive_command("ffmpeg_filter.cli", "--live", "-i", "-", "-o", str(out), *engine,
                              "--progress", "json", "--progress-interval", "0",
                              "--input-option", "analyzeduration=0", "--input-option", "probesize=32")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})

    def feed() -> None:
        proc.stdin.write(data[: len(data) // 2])
        proc.stdin.flush()

    code, said = signal_when_ready(
        proc, lambda line: '"event": "progress"' in line and json.loads(line)["frame"] >= 2, signal.SIGINT, feed=feed)
    assert code == 0, said
    frames = _frames(out)
    assert len(frames) >= 3 and (frames[0].width, frames[0].height) == (128, 96)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.mkv"]
    assert "Ctrl-C: ending the input" in said


def test_stream_targets_and_command(nut_clip, ffmpeg_exe, tmp_path):
    for target in ("-", "pipe:1", "udp://127.0.0.1:5000", "srt://host:9000", "rtmp://host/live/key"):
        assert is_stream_output(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert is_stream_output(str(fifo)) and not is_stream_output(str(tmp_path / "out.mkv"))
    assert input_url("-") == "pipe:0" and input_url("srt://h:1") == "srt://h:1"
    src = LiveSource(str(nut_clip)).open()
    try:
        argv = build_live_command(src, ffmpeg=ffmpeg_exe, output="rtmp://host/live/key", out_width=128,
                                  out_height=96, user_args=[], stream_output=True)
        assert argv[argv.index("-f", argv.index("pipe:0")) + 1] == "flv"        # rtmp needs FLV
        assert "-flush_packets" in argv and argv[-1] == "rtmp://host/live/key"
        user = build_live_command(src, ffmpeg=ffmpeg_exe, output="-", out_width=128, out_height=96,
                                  user_args=["-f", "nut", "-c:v", "mjpeg"], stream_output=True)
        assert "libx264" not in user and user[-5:] == ["-f", "nut", "-c:v", "mjpeg", "-"]
        assert [f.index for f in src.frames()][-1] == 11
    finally:
        src.close()


@pytest.mark.parametrize("extra,message", [
    (["-ss", "1"], "--live: -ss and -to need a seekable file"),
    (["--exposure-from", "gpmf"], "--live: exposure metadata readers need a seekable file"),
    (["--dry-run"], "--live: --dry-run would consume the live input"),
    (["--deinterlace", "on"], "--live: --deinterlace on is not available"),
    (["--input-option", "probesize"], "--input-option 'probesize': expected KEY=VALUE"),
    (["-t", "0"], "-t 0: the duration must be positive"),
])
def test_refused_options(nut_clip, tmp_path, capsys, extra, message):
    code = cli.main(["--live", "-i", str(nut_clip), "-o", str(tmp_path / "o.mkv"), *ENGINE, *extra])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o.mkv").exists()


def test_the_weights_card_picks_the_model_and_the_farm_refuses_a_causal_card(tmp_path, nut_clip):
    from ffmpeg_filter.errors import UsageError
    from ffmpeg_filter.farm import cli as farm_cli
    from vs_fmanet.engine import Engine, save_weights

    net = Engine(model="fmanetpp-causal", preset="causal-tiny", weights="random", device="cpu")._net
    card = save_weights(net.state_dict(), tmp_path / "live.safetensors", preset="causal-tiny", scale=4,
                        model="fmanetpp-causal")
    ns, rest = cli.parse_args(["-i", str(nut_clip), "-o", str(tmp_path / "o.mkv"), "--weights", str(card)])
    assert cli.options_from_args(ns, rest).engine.model == "fmanetpp-causal"
    ns, rest = farm_cli.parse_args(["-i", str(nut_clip), "-o", str(tmp_path / "o.mkv"), "--weights", str(card)])
    with pytest.raises(UsageError, match=r"--weights .*live\.json \(a fmanetpp-causal card\): the causal model "
                                         r"carries state"):
        farm_cli.options_from_args(ns, rest)


def test_live_refuses_an_ensemble(tmp_path, nut_clip, capsys):
    code = cli.main(["--live", "-i", str(nut_clip), "-o", str(tmp_path / "o.mkv"), *ENGINE, "--ensemble", "2"])
    assert code != 0 and "ensemble=2 does not apply to model='fmanetpp-causal'" in capsys.readouterr().err
    assert not (tmp_path / "o.mkv").exists()


@pytest.mark.parametrize("name, message", [("still.png", "image output"), ("clip.gif", "GIF output needs the whole"),
                                           ("frames_%04d.png", "image output")])
def test_live_refuses_image_and_gif_outputs(nut_clip, tmp_path, capsys, name, message):
    assert cli.main(["--live", "-i", str(nut_clip), "-o", str(tmp_path / name), *ENGINE]) == 2
    assert message in capsys.readouterr().err


def _live(args: list[str], stdin: bytes, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffmpeg_filter.cli", "--live", *args], input=stdin,
                          capture_output=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=timeout)


def test_live_to_dev_stdout_a_restarted_source_and_fps_retiming(nut_clip, ffmpeg_exe, tmp_path):
    """-o /dev/stdout used to exit 0 having written nothing (the encoder's own stdout is a null device); a source
    whose timestamps jump back (a restart, a loop) used to stack every later frame on one timestamp; --fps used to
    change only the exposure maths, not the timing; AVI used to come out at 600 fps."""
    done = _live(["-i", "-", "-o", "/dev/stdout", *ENGINE, "--", "-f", "nut"], nut_clip.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    (tmp_path / "stdout.nut").write_bytes(done.stdout)
    assert len(_frames(tmp_path / "stdout.nut")) == 12

    ts = tmp_path / "a.ts"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=32x24:r=25", "-frames:v", "6",
                    "-c:v", "libx264", "-bf", "0", "-f", "mpegts", str(ts)], check=True)
    looped = tmp_path / "looped.mkv"
    done = _live(["-i", "-", "-o", str(looped), *ENGINE], ts.read_bytes() * 2)
    assert done.returncode == 0, done.stderr.decode()
    assert [f.pts for f in _frames(looped)] == [40 * i for i in range(12)]

    mjpeg = subprocess.run([ffmpeg_exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=32x24:r=10", "-frames:v", "5",
                            "-c:v", "mjpeg", "-f", "image2pipe", "-"], check=True, capture_output=True).stdout
    timed = tmp_path / "ten.mkv"
    done = _live(["-i", "-", "-o", str(timed), "--fps", "10", "--exposure", "1/20", *ENGINE, "--report",
                  str(tmp_path / "r.json")], mjpeg)
    assert done.returncode == 0, done.stderr.decode()
    assert [f.pts for f in _frames(timed)] == [0, 100, 200, 300, 400]
    assert json.loads((tmp_path / "r.json").read_text())["exposure_summary"]["fraction"] == pytest.approx(0.5)

    avi = tmp_path / "live.avi"
    done = _live(["-i", "-", "-o", str(avi), *ENGINE], nut_clip.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    with av.open(str(avi)) as c:
        assert c.streams.video[0].average_rate == 25


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_before_the_first_frame_ends_the_run_at_once(tmp_path, sig, code):
    """Probing a live input waits as long as the source sends nothing; Ctrl-C and SIGTERM used to be noticed only
    when the first frame (or the end of the input) arrived."""
    cmd = interactive_command("ffmpeg_filter.cli", "--live", "-i", "-", "-o", str(tmp_path / "x.mkv"), *ENGINE, "-v")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    # the engine is built and FFmpeg starts reading the (silent) pipe
    code_seen, said = signal_when_ready(proc, lambda line: "live: waiting for the input" in line, sig, settle_s=0.5,
                                        exit_s=20)
    assert code_seen == code, said
    assert not (tmp_path / "x.mkv").exists() and list(tmp_path.iterdir()) == []
    assert "the partial output was removed" in said and "fmanet-farm" not in said, said


def test_the_stop_message_says_what_happened_to_the_output():
    """A file output is written under a temporary name and removed on Ctrl-C; a stream keeps what was sent (the
    message used to claim a removal for both), and only file mode can resume through fmanet-farm."""
    from ffmpeg_filter.cli import _stopped_message, parse_args

    def message(*args: str) -> str:
        return _stopped_message(parse_args(["-i", "in.mkv", *args])[0], "interrupted")

    assert "removed" in message("-o", "out.mkv") and "fmanet-farm" in message("-o", "out.mkv")
    assert "removed" in message("--live", "-o", "out.mkv") and "fmanet-farm" not in message("--live", "-o", "out.mkv")
    for stream in ("-", "/dev/stdout", "udp://127.0.0.1:5000", "pipe:1"):
        said = message("--live", "-o", stream)
        assert "removed" not in said and f"written to {stream} stay there" in said, said
    assert "stay there" in message("-o", "-")
