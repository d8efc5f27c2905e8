"""EXIF image sequences: JPEG, PNG, WebP, TIFF, HEIC (Pillow/pillow-heif) and CinemaDNG (ExifRead),
checked value by value against what the fixtures wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureInputError, probe_exposure
from vs_fmanet.exposure.exif import timecode_to_frame

STILL_FORMATS = ["jpg", "png", "webp", "tif", "heic"]
EXPOSURES = [(1, 60), (1, 120), (1, 250), (10, 4000)]  # per-frame unique, 10/4000 is deliberately not reduced


def _sequence(tmp_path: Path, ext: str, exposures=EXPOSURES, **kwargs) -> Path:
    folder = tmp_path / ext
    folder.mkdir()
    for i, exposure in enumerate(exposures):
        fx.write_exif_still(folder / f"img_{i + 1:04d}.{ext}", exposure, **kwargs)
    return folder


@pytest.mark.parametrize("ext", STILL_FORMATS)
def test_still_formats_value_by_value(tmp_path, ext):
    folder = _sequence(tmp_path, ext)
    track = probe_exposure(folder, fps=25)
    expected = np.array([float(Fraction(*e)) for e in EXPOSURES])
    assert len(track) == len(EXPOSURES)
    assert np.array_equal(track.seconds, expected)
    assert np.allclose(track.fraction, expected * 25, rtol=1e-12)
    assert track.source == ["exif"] * len(EXPOSURES)
    assert track.granularity == ["frame"] * len(EXPOSURES)
    assert np.allclose(track.frame_times, np.arange(len(EXPOSURES)) / 25)
    assert track.warnings == []


def test_sequence_argument_forms(tmp_path):
    folder = _sequence(tmp_path, "jpg")
    expected = np.array([float(Fraction(*e)) for e in EXPOSURES])
    by_pattern = probe_exposure(str(folder / "img_%04d.jpg"), fps=25)
    by_glob = probe_exposure(str(folder / "img_*.jpg"), fps=25)
    from_second = probe_exposure(folder / "img_0002.jpg", fps=25)
    assert np.array_equal(by_pattern.seconds, expected)
    assert np.array_equal(by_glob.seconds, expected)
    assert np.array_equal(from_second.seconds, expected[1:])
    with pytest.raises(ExposureInputError, match="no file matches"):
        probe_exposure(str(folder / "shot_%04d.jpg"), fps=25)


def test_natural_order_and_numbering_gap(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    # frames 8, 9, 10, 12: '10' must sort after '9'; 11 is missing
    values = {8: (1, 80), 9: (1, 90), 10: (1, 100), 12: (1, 120)}
    for number, exposure in values.items():
        fx.write_exif_still(folder / f"f{number}.png", exposure)
    track = probe_exposure(folder, fps=10)
    assert np.array_equal(track.seconds, [1 / 80, 1 / 90, 1 / 100, 1 / 120])
    assert any("skips 1 number" in w for w in track.warnings)


def test_apex_shutter_speed_value_fallback(tmp_path):
    folder = tmp_path / "apex"
    folder.mkdir()
    fx.write_exif_still(folder / "a_0001.jpg", None, shutter_apex=(7, 1))      # Tv 7 -> 1/128 s
    fx.write_exif_still(folder / "a_0002.jpg", None, shutter_apex=(13, 2))     # Tv 6.5 -> 2**-6.5 s
    track = probe_exposure(folder, fps=30)
    assert track.seconds[0] == 1 / 128
    assert track.seconds[1] == pytest.approx(2 ** -6.5, rel=1e-12)
    assert track.source == ["exif", "exif"]
    assert any("APEX" in w for w in track.warnings)


def test_frame_times_from_exif_subseconds(tmp_path):
    folder = tmp_path / "subsec"
    folder.mkdir()
    for i in range(4):
        fx.write_exif_still(folder / f"b_{i:03d}.jpg", (1, 200 + i), subsec_ms=40 * i)
    track = probe_exposure(folder)  # no fps: the 40 ms EXIF steps give 25 fps
    assert np.allclose(track.frame_times, [0.0, 0.04, 0.08, 0.12], atol=1e-9)
    assert np.allclose(track.fraction, [(1 / (200 + i)) / 0.04 for i in range(4)], rtol=1e-6)
    assert any("SubSecTimeOriginal" in w for w in track.warnings)


def test_without_any_frame_rate_fraction_is_unknown(tmp_path):
    folder = _sequence(tmp_path, "png")  # DateTimeOriginal without sub-seconds
    track = probe_exposure(folder)
    assert np.array_equal(track.seconds, [float(Fraction(*e)) for e in EXPOSURES])
    assert np.all(np.isnan(track.fraction))
    assert any("pass fps=" in w for w in track.warnings)
    assert track.summary()["coverage"] == 0.0


def test_cinemadng_frame_rate_and_timecodes(tmp_path):
    folder = tmp_path / "cdng"
    folder.mkdir()
    exposures = [(1, 48), (1, 50), (1, 96)]
    for i, exposure in enumerate(exposures):
        fx.write_cinemadng(folder / f"A001_C002_{i:06d}.dng", exposure, (24000, 1001), fx.timecode_bytes(10, 0, 0, i))
    track = probe_exposure(folder)
    interval = 1001 / 24000
    assert np.array_equal(track.seconds, [1 / 48, 1 / 50, 1 / 96])
    assert np.allclose(track.frame_times, np.arange(3) * interval, rtol=1e-12)
    assert np.allclose(track.fraction, np.array([1 / 48, 1 / 50, 1 / 96]) / interval, rtol=1e-12)
    assert track.source == ["exif"] * 3


def test_cinemadng_dropped_frame_shows_in_timecodes(tmp_path):
    folder = tmp_path / "cdng_gap"
    folder.mkdir()
    for i, frame in enumerate([0, 1, 3]):  # frame 2 was never written
        fx.write_cinemadng(folder / f"C_{i:04d}.dng", (1, 100), (25, 1), fx.timecode_bytes(1, 2, 3, frame))
    track = probe_exposure(folder)
    assert np.allclose(track.frame_times, [0.0, 0.04, 0.12])
    assert np.allclose(track.interval, [0.04, 0.06, 0.08])  # centred differences, VFR-safe
    assert np.allclose(track.fraction, 0.01 / np.array([0.04, 0.06, 0.08]))


def test_drop_frame_timecode():
    # 00:01:00;02 at 29.97 drop-frame is frame 1800 (frames ;00 and ;01 do not exist at minute 1)
    code = bytes([0x02 | 0x40, 0x00, 0x01, 0x00, 0, 0, 0, 0])
    assert timecode_to_frame(code, Fraction(30000, 1001)) == 1800
    assert timecode_to_frame(fx.timecode_bytes(1, 0, 0, 5), 25) == 90005


def test_corrupt_and_truncated_stills_become_none(tmp_path):
    folder = _sequence(tmp_path, "jpg")
    (folder / "img_0002.jpg").write_bytes(b"\xff\xd8\xff\xe1 this is not a JPEG any more" * 3)
    good = (folder / "img_0003.jpg").read_bytes()
    (folder / "img_0003.jpg").write_bytes(good[:24])  # cut inside the APP1/Exif segment
    track = probe_exposure(folder, fps=25)
    assert track.source == ["exif", "none", "none", "exif"]
    assert track.seconds[0] == 1 / 60 and track.seconds[3] == 10 / 4000
    assert np.isnan(track.seconds[1]) and np.isnan(track.seconds[2])
    text = "\n".join(track.warnings)
    assert "frame 1 (img_0002.jpg)" in text and "frame 2 (img_0003.jpg)" in text


def test_impossible_exif_values_are_rejected_with_frame_and_source(tmp_path):
    folder = _sequence(tmp_path, "jpg", exposures=[(1, 100), (0, 1), (1, 2), (1, 25)])
    track = probe_exposure(folder, fps=25)
    assert track.source == ["exif", "none", "none", "exif"]   # 1/25 s at 25 fps is exactly the interval: kept
    assert track.fraction[3] == pytest.approx(1.0)
    text = "\n".join(track.warnings)
    assert "frame 1 (img_0002.jpg): ExposureTime 0/1 is not a positive time" in text
    assert "longer than the frame interval" in text and "frame 2" in text


def test_unusable_exposure_tags_fall_back_or_say_what_is_wrong(tmp_path):
    """ExposureTime 0/1 or 1/0 with a valid APEX Tv uses the Tv (0/1 used to be kept, then rejected); 1/0 alone
    says so (it used to say the tag was absent); a Tv of -2000 (2 ** 2000 s) used to end the probe in an
    OverflowError traceback."""
    folder = tmp_path / "odd"
    folder.mkdir()
    for i, (exposure, tv) in enumerate([((0, 1), (7, 1)), ((1, 0), (7, 1)), ((1, 0), None), (None, (-2000, 1)),
                                        ((1, 100), None)]):
        fx.write_exif_still(folder / f"img_{i + 1:04d}.jpg", exposure, shutter_apex=tv)
    track = probe_exposure(folder, fps=25)
    assert track.source == ["exif", "exif", "none", "none", "exif"]
    assert track.seconds[0] == track.seconds[1] == 1 / 128 and track.seconds[4] == 1 / 100
    text = "\n".join(track.warnings)
    assert "frame 2 (img_0003.jpg): ExposureTime 1/0 is not a positive time; no exposure" in text
    assert "frame 3 (img_0004.jpg): ShutterSpeedValue: APEX time value -2000 is out of range" in text


def test_frame_times_argument_and_length_check(tmp_path):
    folder = _sequence(tmp_path, "webp")
    track = probe_exposure(folder, frame_times=np.array([0.0, 0.1, 0.2, 0.3]))
    assert np.allclose(track.fraction, np.array([float(Fraction(*e)) for e in EXPOSURES]) / 0.1)
    with pytest.raises(ExposureInputError, match="frame_times has 3 entries"):
        probe_exposure(folder, frame_times=np.array([0.0, 0.1, 0.2]))


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed (optional oracle)")
def test_exiftool_oracle_agrees(tmp_path):
    folder = _sequence(tmp_path, "jpg")
    result = subprocess.run(["exiftool", "-j", "-n", "-ExposureTime", "-fileOrder", "FileName", str(folder)],
                            check=True, capture_output=True, text=True, timeout=60)
    oracle = [row["ExposureTime"] for row in json.loads(result.stdout)]
    track = probe_exposure(folder, fps=25)
    assert np.allclose(track.seconds, oracle, rtol=1e-6)


def test_a_first_image_named_with_glob_characters(tmp_path):
    """'take [A]_0001.jpg' exists: it is the first image of its sequence, not a glob pattern matching nothing."""
    folder = tmp_path / "br"
    folder.mkdir()
    for i, exposure in enumerate(EXPOSURES):
        fx.write_exif_still(folder / f"take [A]_{i + 1:04d}.jpg", exposure)
    track = probe_exposure(folder / "take [A]_0002.jpg", fps=25)
    assert np.array_equal(track.seconds, [float(Fraction(*e)) for e in EXPOSURES[1:]])
