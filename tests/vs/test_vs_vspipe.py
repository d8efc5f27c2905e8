"""End to end: a .vpy script rendered by vspipe into a y4m pipe and decoded by PyAV (FFmpeg's y4m demuxer)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import vapoursynth as vs

SCRIPT = textwrap.dedent("""
    import numpy as np
    import vapoursynth as vs
    import vs_fmanet

    core = vs.core
    frames = np.random.default_rng(4).random((6, 16, 20, 3), dtype=np.float32)
    blank = core.std.BlankClip(format=vs.RGBS, width=20, height=16, length=6, fpsnum=25, fpsden=1)

    def fill(n, f):
        out = f.copy()
        for p in range(3):
            np.copyto(np.asarray(out[p]), frames[n, :, :, p])
        return out

    clip = core.std.ModifyFrame(blank, blank, fill)
    restored = vs_fmanet.fmanet(clip, preset="tiny", weights="random", window=4, overlap=4)
    core.resize.Bicubic(restored, format=vs.YUV444P8, matrix_s="709").set_output()
""")


def _vspipe() -> str:
    exe = Path(sys.executable).with_name("vspipe")
    check = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, (f"{exe} is not usable ({check.stdout.strip()} {check.stderr.strip()}); run "
                                   "`.venv/bin/vapoursynth config` once (scripts/setup_env.sh does it)")
    return str(exe)


def test_vspipe_y4m_into_pyav_gives_the_restored_video(tmp_path):
    script = tmp_path / "restore.vpy"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([_vspipe(), "-c", "y4m", str(script), "-"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        with av.open(proc.stdout, format="yuv4mpegpipe") as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.width, stream.codec_context.height) == (80, 64)
            assert stream.average_rate == 25
            decoded = [f.to_ndarray(format="yuv444p") for f in container.decode(stream)]
        stderr = proc.communicate(timeout=120)[1].decode(errors="replace")
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, stderr
    assert len(decoded) == 6
    # the same script evaluated here gives the same pixels: vspipe adds nothing (no stray stdout bytes)
    namespace: dict = {}
    exec(compile(SCRIPT.replace(".set_output()", ""), str(script), "exec"), namespace)
    expected = vs.core.resize.Bicubic(namespace["restored"], format=vs.YUV444P8, matrix_s="709")
    for n, got in enumerate(decoded):
        frame = expected.get_frame(n)
        want = np.stack([np.asarray(frame[p]) for p in range(3)])
        assert np.array_equal(got.reshape(want.shape), want), f"frame {n} differs"
