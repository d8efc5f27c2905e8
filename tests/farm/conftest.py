"""Fixtures for the farm tests: tiny clips generated with the real ffmpeg (lavfi), the tiny random-weight model,
and (in the Ray test module) one real local Ray per module. Helpers live in farmfix.py, which Ray workers can
import too (the Ray fixture puts this folder on the workers' PYTHONPATH).

Bit-identity with single-pass references needs the same torch thread count on both sides: tests/conftest.py
sets one thread for the whole suite, and chunk tasks run with --cpus-per-task 1 (one thread)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from ffmpeg_filter.sample import make_sample_clip  # noqa: E402


@pytest.fixture(scope="session")
def farm_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("farm_clips")


@pytest.fixture(scope="session")
def vfr_clip(farm_clips: Path) -> Path:
    """16 frames 32x24, first 8 at 24 fps then 12 fps (VFR), AAC audio (eng), SRT subtitles (fra), 2 chapters,
    container and video-stream tags."""
    return make_sample_clip(farm_clips / "vfr.mkv", frames=16, size=(32, 24), fps="24", vfr=True)


@pytest.fixture(scope="session")
def cfr_clip(farm_clips: Path) -> Path:
    """12 frames 32x24 at 24000/1001 fps with audio."""
    return make_sample_clip(farm_clips / "cfr.mkv", frames=12, size=(32, 24), subtitles=False, chapters=False)


@pytest.fixture(scope="session")
def interlaced_clip(farm_clips: Path) -> Path:
    """12 top-field-first interlaced frames 32x24 at 24000/1001 fps with audio."""
    return make_sample_clip(farm_clips / "interlaced.mkv", frames=12, size=(32, 24), subtitles=False,
                            chapters=False, interlaced=True)
