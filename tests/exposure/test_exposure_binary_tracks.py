"""Sony rtmd, DJI djmd and Google CAMM timed-metadata tracks (PyAV bin_data samples with the stsd FourCC
renamed), value by value, plus corrupt/truncated samples and unknown schemas."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureFormatError, probe_exposure
from vs_fmanet.exposure.mp4_boxes import read_track_entries
from vs_fmanet.exposure.protobuf_wire import find_path, packed_varints, parse_fields
from vs_fmanet.exposure.rtmd import parse_rtmd_sample

N = 20
FPS = 25


def _per_frame_track(samples: list[bytes], step_ms: int = 40) -> list[tuple[int, int, bytes]]:
    return [(i * step_ms, step_ms, s) for i, s in enumerate(samples)]


def _video_with(tmp_path: Path, name: str, fourcc: bytes, samples: list[bytes], n: int = N, fps: int = FPS,
                step_ms: int = 40) -> Path:
    path = fx.write_video(tmp_path / name, n, fps, data_tracks=[_per_frame_track(samples, step_ms)])
    fx.retag_sample_entry(path, fourcc)
    return path


def test_rtmd_exact_rationals(tmp_path):
    samples = [fx.rtmd_sample(1, 50 + i, fps=(25, 1), iso=100 + i) for i in range(N)]
    path = _video_with(tmp_path, "C0001.MP4", b"rtmd", samples)
    assert {e.fourcc for e in read_track_entries(path).values()} >= {"rtmd"}
    track = probe_exposure(path)
    assert np.array_equal(track.seconds, [float(Fraction(1, 50 + i)) for i in range(N)])
    assert track.source == ["rtmd"] * N and track.granularity == ["frame"] * N
    assert np.allclose(track.fraction, [25 / (50 + i) for i in range(N)], rtol=1e-12)


def test_rtmd_slow_and_quick_uses_capture_rate(tmp_path):
    # 100 fps capture (0x8106) played back at 25 fps: 1/200 s is half the capture interval
    samples = [fx.rtmd_sample(1, 200, fps=(100, 1)) for _ in range(N)]
    track = probe_exposure(_video_with(tmp_path, "sq.mp4", b"rtmd", samples))
    assert np.allclose(track.interval, 0.01)
    assert np.allclose(track.fraction, 0.5)


def test_rtmd_corrupt_sample_is_interpolated_and_named(tmp_path):
    samples = [fx.rtmd_sample(1, 50 + i) for i in range(N)]
    samples[7] = samples[7][:-5]  # cut inside the ISO local set
    track = probe_exposure(_video_with(tmp_path, "bad.mp4", b"rtmd", samples))
    assert track.granularity[7] == "interpolated"
    assert track.seconds[7] == pytest.approx((1 / 56 + 1 / 58) / 2)
    text = "\n".join(track.warnings)
    assert "sample #7" in text and "t=0.280 s" in text and "truncated" in text
    with pytest.raises(ExposureFormatError, match="header length"):
        parse_rtmd_sample(b"\x00\xff" + b"\0" * 10)


def test_djmd_known_schemas(tmp_path):
    for model in ("wm265e", "ac203", "Air3"):
        samples = [fx.djmd_sample(model, 1, 60 + 2 * i, iso=100 + i) for i in range(N)]
        track = probe_exposure(_video_with(tmp_path, f"DJI_{model}.MP4", b"djmd", samples))
        assert np.array_equal(track.seconds, [1 / (60 + 2 * i) for i in range(N)]), model
        assert track.source == ["djmd"] * N


def test_djmd_unknown_schema_is_reported_not_guessed(tmp_path):
    samples = [fx.djmd_sample("NEO2", 1, 100) for _ in range(N)]
    track = probe_exposure(_video_with(tmp_path, "DJI_neo2.MP4", b"djmd", samples))
    assert track.source == ["none"] * N
    assert any("dvtm_NEO2.proto" in w and ".SRT" in w for w in track.warnings)


def test_djmd_truncated_samples(tmp_path):
    samples = [fx.djmd_sample("wm265e", 1, 100 + i) for i in range(N)]
    for k in range(10, N):
        samples[k] = samples[k][:-3]  # the rest of the track is damaged
    track = probe_exposure(_video_with(tmp_path, "DJI_cut.MP4", b"djmd", samples))
    assert np.array_equal(track.seconds[:10], [1 / (100 + i) for i in range(10)])
    assert track.source[10:] == ["none"] * 10
    assert any("truncated" in w for w in track.warnings)


def test_protobuf_walker():
    sample = fx.djmd_sample("wm265e", 1, 60)
    assert find_path(sample, (1, 1, 1)) == [b"dvtm_wm265e.proto"]
    (raw,) = find_path(sample, (3, 2, 3, 1))
    assert packed_varints(raw) == [1, 60]
    assert parse_fields(fx.pb_varint(8) + fx.pb_varint(300)) == [(1, 0, 300)]
    with pytest.raises(ExposureFormatError, match="truncated"):
        parse_fields(sample[:-2])


def test_camm_type1_between_gyro_samples(tmp_path):
    # gyro (type 2) samples at 100 Hz interleaved with one exposure (type 1) record per frame
    track_samples = []
    for ms in range(0, N * 40, 10):
        if ms % 40 == 0:
            track_samples.append((ms, 10, fx.camm_exposure(5_000_000 - (ms // 40) * 50_000)))
        else:
            track_samples.append((ms, 10, fx.camm_gyro(0.1, 0.2, 0.3)))
    path = fx.write_video(tmp_path / "phone.mp4", N, FPS, data_tracks=[track_samples])
    fx.retag_sample_entry(path, b"camm")
    track = probe_exposure(path)
    expected = [(5_000_000 - i * 50_000) * 1e-9 for i in range(N)]
    assert np.array_equal(track.seconds, expected)
    assert track.source == ["camm"] * N


def test_camm_unknown_record_type_is_skipped_with_warning(tmp_path):
    samples = [fx.camm_exposure(4_000_000) for _ in range(N)]
    samples[3] = b"\x00\x00\x09\x00" + b"\0" * 8
    track = probe_exposure(_video_with(tmp_path, "camm_bad.mp4", b"camm", samples))
    assert track.seconds[2] == 0.004 and track.granularity[3] == "interpolated"
    assert any("unknown CAMM record type 9" in w for w in track.warnings)


def test_two_data_tracks_are_told_apart_by_sample_entry(tmp_path):
    rtmd = [fx.rtmd_sample(1, 100) for _ in range(N)]
    shut = [fx.gpmf_payload([1 / 400] * N)]
    path = fx.write_video(tmp_path / "two.mp4", N, FPS,
                          data_tracks=[_per_frame_track(rtmd), [(0, N * 40, shut[0])]])
    fx.retag_sample_entry(path, b"rtmd", occurrence=0)
    entries = sorted(e.fourcc for e in read_track_entries(path).values())
    assert entries == ["gpmd", "mp4v", "rtmd"]
    track = probe_exposure(path)
    assert track.source == ["gpmf"] * N  # GPMF ranks above rtmd
    assert np.array_equal(track.seconds, [np.float32(1 / 400)] * N)
    only_rtmd = probe_exposure(path, prefer="rtmd")
    assert np.array_equal(only_rtmd.seconds, [0.01] * N)
