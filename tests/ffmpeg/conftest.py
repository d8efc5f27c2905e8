"""Fixtures for the fmanet-ffmpeg tests: clips generated here with the real ffmpeg binary (lavfi sources),
inspected with PyAV (there is no ffprobe). Session-scoped clips are made once; tests write their outputs to
their own tmp_path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
_HERE = str(Path(__file__).resolve().parent)
_EXPOSURE_FIXTURES = str(Path(__file__).resolve().parents[1] / "exposure")   # expofix: camera-metadata files
for _path in (_EXPOSURE_FIXTURES, _HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from ffmpegfix import DJI_SHUTTERS, NearestRestorer, dji_lines  # noqa: E402

from ffmpeg_filter import pipeline  # noqa: E402

from ffmpeg_filter.binary import find_ffmpeg  # noqa: E402
from ffmpeg_filter.sample import make_sample_clip  # noqa: E402


@pytest.fixture
def nearest(monkeypatch: pytest.MonkeyPatch) -> NearestRestorer:
    """The pixel-repetition test double (x2) in place of the engine that the command line would build."""
    restorer = NearestRestorer(scale=2)
    monkeypatch.setattr(pipeline, "build_restorer", lambda settings: restorer)
    return restorer


@pytest.fixture(scope="session")
def ffmpeg_exe() -> str:
    return find_ffmpeg()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def sdr_clip(clips: Path) -> Path:
    """8-bit BT.709 H.264 mkv, 64x48, 24 frames at 24000/1001, AAC audio (eng), SRT subs (fra), 2 chapters, tags."""
    return make_sample_clip(clips / "sdr.mkv", frames=24, size=(64, 48))


@pytest.fixture(scope="session")
def hdr_clip(clips: Path) -> Path:
    """10-bit HEVC HDR10 (BT.2020, PQ, mastering display, MaxCLL 1000/400), 12 frames."""
    return make_sample_clip(clips / "hdr.mkv", frames=12, size=(64, 48), hdr10=True)


@pytest.fixture(scope="session")
def vfr_clip(clips: Path) -> Path:
    """24 frames: the first 12 at 24 fps, the rest at 12 fps (VFR), with audio."""
    return make_sample_clip(clips / "vfr.mkv", frames=24, size=(64, 48), fps="24", vfr=True, subtitles=False)


@pytest.fixture(scope="session")
def full_range_clip(clips: Path) -> Path:
    """8-bit BT.601 full-range ("pc") clip: the decoder and encoder must agree on matrix and range."""
    return make_sample_clip(clips / "pc601.mkv", frames=6, size=(64, 48), matrix="smpte170m",
                            primaries="smpte170m", transfer="smpte170m", color_range="pc", subtitles=False)


@pytest.fixture(scope="session")
def dji_clip(clips: Path) -> Path:
    """Small clip whose subtitle track is DJI-style telemetry: one cue per frame with [shutter : 1/N]."""
    return make_sample_clip(clips / "dji.mkv", frames=len(DJI_SHUTTERS), size=(32, 24), fps="30",
                            subtitle_lines=dji_lines(), chapters=False, audio=True)
