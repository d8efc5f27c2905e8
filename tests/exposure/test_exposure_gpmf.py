"""GoPro GPMF: real ``gpmd`` tracks muxed by PyAV/FFmpeg, SHUT at the video rate and at half of it, NTSC
payload timing, corrupt and truncated variants; the KLV parser on its own."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureFormatError, ExposureInputError, probe_exposure
from vs_fmanet.exposure.gpmf import parse_klv, shutter_from_payload


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def _gopro(tmp_path: Path, name: str, shut: list[float], per_payload: int, n_frames: int, fps=30,
           payload_ms: int = 1000, corrupt: int | None = None, **kwargs) -> Path:
    track = []
    for k in range(0, len(shut), per_payload):
        payload = fx.gpmf_payload(shut[k:k + per_payload], stmp_us=85_608 + k * 33_333, tsmp=k + per_payload)
        if corrupt is not None and k // per_payload == corrupt:
            payload = payload[:40] + struct.pack(">4sBBH", b"SHUT", ord("f"), 4, 999) + payload[48:]
        track.append((k // per_payload * payload_ms, payload_ms, payload))
    return fx.write_video(tmp_path / name, n_frames, fps, data_tracks=[track], **kwargs)


def test_shut_at_video_rate_is_exact(tmp_path):
    shut = [1 / (100 + i) for i in range(60)]
    track = probe_exposure(_gopro(tmp_path, "GX010001.MP4", shut, 30, 60))
    assert np.array_equal(track.seconds, _f32(shut))
    assert np.allclose(track.fraction, _f32(shut) * 30, rtol=1e-9)
    assert track.source == ["gpmf"] * 60
    assert track.granularity == ["frame"] * 60
    assert track.warnings == []
    assert "gpmd" in track.detail["gpmf"]


def test_shut_at_half_the_video_rate_is_held_by_time(tmp_path):
    shut = [1 / (200 + 3 * i) for i in range(30)]
    track = probe_exposure(_gopro(tmp_path, "max.mp4", shut, 15, 60))
    assert np.array_equal(track.seconds, np.repeat(_f32(shut), 2))
    assert track.granularity == ["held"] * 60
    assert track.source == ["gpmf"] * 60


def test_ntsc_payloads_map_by_index(tmp_path):
    # 29.97 fps with 1.001 s payloads of 30 SHUT values each, as HERO cameras write them
    shut = [1 / (500 + i) for i in range(60)]
    path = _gopro(tmp_path, "ntsc.mp4", shut, 30, 60, fps=Fraction(30000, 1001), payload_ms=1001)
    track = probe_exposure(path)
    assert np.array_equal(track.seconds, _f32(shut))
    assert np.allclose(track.interval, 1001 / 30000, rtol=1e-6)


def test_one_sample_short_at_the_end_is_marked_missing(tmp_path):
    shut = [1 / (100 + i) for i in range(59)]
    track = probe_exposure(_gopro(tmp_path, "short.mp4", shut, 30, 60))
    assert np.array_equal(track.seconds[:59], _f32(shut))
    assert track.source[59] == "none" and np.isnan(track.fraction[59])
    assert any("frame 59" in w and "gpmf" in w for w in track.warnings)


def test_corrupt_payload_costs_only_its_own_frames(tmp_path):
    shut = [1 / (100 + i) for i in range(90)]
    track = probe_exposure(_gopro(tmp_path, "corrupt.mp4", shut, 30, 90, corrupt=1))
    assert np.array_equal(track.seconds[:30], _f32(shut[:30]))
    assert np.array_equal(track.seconds[60:], _f32(shut[60:]))
    assert track.source[30:60] == ["none"] * 30  # a 1 s hole is too long to interpolate
    text = "\n".join(track.warnings)
    assert "payload #1" in text and "t=1.000 s" in text and "truncated" in text


def test_truncated_file_with_index_at_the_end_gives_clear_error(tmp_path):
    path = _gopro(tmp_path, "cut.mp4", [1 / 100] * 30, 30, 30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExposureInputError) as info:
        probe_exposure(path)
    assert "cut.mp4" in str(info.value) and "moov" in str(info.value)


def test_truncated_file_with_index_first_reports_readable_frames(tmp_path):
    shut = [1 / (100 + i) for i in range(60)]
    path = _gopro(tmp_path, "cut_fast.mp4", shut, 30, 60, options={"movflags": "faststart"})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    track = probe_exposure(path)
    assert 0 < len(track) < 60
    assert np.array_equal(track.seconds[:len(track)], _f32(shut[:len(track)]))
    assert any("truncated" in w and "lists 60 video frames" in w for w in track.warnings)


def test_impossible_shut_values_are_rejected(tmp_path):
    shut = [1 / 100] * 30
    shut[3] = float("nan")
    shut[4] = 0.0
    shut[5] = 0.5  # 15x the 1/30 s frame interval
    track = probe_exposure(_gopro(tmp_path, "bad.mp4", shut, 30, 30))
    assert track.source[3:6] == ["none"] * 3
    assert track.source[:3] == ["gpmf"] * 3 and track.source[6:] == ["gpmf"] * 24
    text = "\n".join(track.warnings)
    assert "not a number" in text and "frame 3" in text
    assert "zero or negative" in text and "frame 4" in text
    assert "longer than the frame interval" in text and "frame 5" in text


def test_klv_parser_reads_nested_items_and_rejects_truncation():
    payload = fx.gpmf_payload([0.01, 0.02], stmp_us=123, tsmp=2)
    devc = parse_klv(payload)
    assert [i.key for i in devc] == ["DEVC"]
    strm = devc[0].find("STRM")
    assert strm is not None
    assert strm.find("STMP").values() == [123]
    assert strm.find("STNM").values() == ["Exposure time (shutter speed)"]
    assert np.array_equal(shutter_from_payload(payload), _f32([0.01, 0.02]))
    with pytest.raises(ExposureFormatError, match="truncated"):
        shutter_from_payload(payload[:-6], where="test payload")
    with pytest.raises(ExposureFormatError, match="not a GPMF FourCC"):
        parse_klv(b"\x01\x02\x03\x04" + payload)
    bad_type = payload.replace(b"SHUTf", b"SHUTl")
    with pytest.raises(ExposureFormatError, match="float32"):
        shutter_from_payload(bad_type)
