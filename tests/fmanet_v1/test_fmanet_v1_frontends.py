"""Converted FMA-Net weights run end to end in the front ends: fmanet-ffmpeg --model fmanet and fmanet(clip, ...)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ffmpeg_filter.cli import main as ffmpeg_main
from ffmpeg_filter.sample import make_sample_clip
from vs_fmanet.convert import main as convert_main
from vs_fmanet.engine import Engine

from test_fmanet_convert import make_checkpoints


@pytest.fixture(scope="module")
def converted(tmp_path_factory, small_weights) -> Path:
    folder = tmp_path_factory.mktemp("v1conv")
    d_path, r_path = make_checkpoints(folder, small_weights)
    out = folder / "fmanet_v1_small.safetensors"
    assert convert_main([str(d_path), str(r_path), "-o", str(out)]) == 0
    return out


def test_fmanet_ffmpeg_runs_converted_weights(converted: Path, tmp_path: Path) -> None:
    import av

    src = make_sample_clip(tmp_path / "src.mkv", frames=5, size=(32, 24), subtitles=False, chapters=False)
    out = tmp_path / "out.mkv"
    code = ffmpeg_main(["-i", str(src), "-o", str(out), "--model", "fmanet", "--weights", str(converted),
                        "--device", "cpu", "--progress", "none", "--", "-preset", "ultrafast"])
    assert code == 0
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (128, 96)
        assert sum(1 for _ in c.decode(video=0)) == 5
        assert len(c.streams.audio) == 1


def test_vapoursynth_runs_converted_weights(converted: Path) -> None:
    import vapoursynth as vs

    import vs_fmanet

    core = vs.core
    rng = np.random.default_rng(3)
    frames = rng.random((4, 12, 16, 3), dtype=np.float32)
    clip = core.std.BlankClip(format=vs.RGBS, width=16, height=12, length=4)

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(3):
            np.asarray(out[p])[:] = frames[n, :, :, p]
        return out

    clip = core.std.ModifyFrame(clip, clip, fill)
    restored = vs_fmanet.fmanet(clip, model="fmanet", weights=str(converted.with_suffix(".json")), device="cpu")
    assert (restored.width, restored.height) == (64, 48)
    expected = Engine(model="fmanet", weights=converted, device="cpu").restore(frames)
    got = np.stack([np.stack([np.asarray(restored.get_frame(n)[p]) for p in range(3)], axis=-1) for n in range(4)])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert restored.get_frame(0).props["FMANetModel"]
