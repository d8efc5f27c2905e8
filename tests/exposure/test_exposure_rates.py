"""Frame rates and frame intervals the probe works with: shutter angles on Matroska's 1 ms clock, one-frame clips,
and MP4 text tracks that are not truncated telemetry."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from ffmpeg_filter.sample import make_sample_clip
from vs_fmanet.exposure import probe_exposure


@pytest.mark.parametrize("fps, seconds", [("24000/1001", 1001 / 48000), ("60000/1001", 1001 / 120000)])
def test_a_180_degree_shutter_is_half_the_frame_interval_on_matroska(tmp_path: Path, fps: str, seconds: float):
    """Matroska rounds timestamps to 1 ms (42 ms steps at 23.976 fps): the rate used to convert the angle came from
    the median rounded step (23.81 fps, fraction 0.5036); it now comes from the same intervals as the fraction."""
    clip = make_sample_clip(tmp_path / "c.mkv", frames=24, size=(32, 24), fps=fps, audio=False, subtitles=False,
                            chapters=False)
    track = probe_exposure(clip, override="180deg")
    np.testing.assert_allclose(track.fraction, 0.5, atol=1e-9)
    np.testing.assert_allclose(track.seconds, seconds, rtol=2e-3)


def test_a_one_frame_clip_gets_its_fraction_from_the_rate(tmp_path: Path):
    clip = make_sample_clip(tmp_path / "one.mkv", frames=1, size=(32, 24), audio=False, subtitles=False,
                            chapters=False)
    assert probe_exposure(clip, override="1/100", fps=24).fraction[0] == pytest.approx(0.24)
    assert probe_exposure(clip, override="1/100").fraction[0] == pytest.approx(0.01 * 24000 / 1001, rel=1e-3)


def test_a_healthy_mp4_with_subtitles_and_chapters_is_not_called_truncated(tmp_path: Path):
    """MP4 timed text stores the gaps between cues as empty samples, and FFmpeg does not deliver the last sample of
    the chapter-title track: neither is a truncated file."""
    clip = make_sample_clip(tmp_path / "phone.mp4", frames=24, size=(32, 24))
    with av.open(str(clip)) as f:
        assert f.streams.subtitles and f.chapters()
    track = probe_exposure(clip)
    assert not [w for w in track.warnings if "truncated" in w], track.warnings


def test_the_sample_vfr_clip_has_distinct_timestamps_at_a_fractional_rate(tmp_path: Path):
    """make_sample_clip(vfr=True) at 24000/1001 used to repeat timestamps (setpts truncated 2.9999 to 2)."""
    clip = make_sample_clip(tmp_path / "vfr.mkv", frames=40, size=(32, 24), vfr=True)
    with av.open(str(clip)) as f:
        pts = sorted(p.pts for p in f.demux(video=0) if p.size)
    assert len(pts) == 40 and len(set(pts)) == 40
    steps = np.diff(pts)
    assert steps[25] > 1.8 * steps[5]                                  # the second half at half the rate
