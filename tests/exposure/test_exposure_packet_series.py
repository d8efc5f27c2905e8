"""The loop shared by the timed-track readers: per-packet parsing with warnings, one sample per packet."""

from __future__ import annotations

import math

import numpy as np

from vs_fmanet.exposure.container import TimedPacket
from vs_fmanet.exposure.errors import ExposureFormatError
from vs_fmanet.exposure.packet_series import PacketSamples, parsed_packets


def _parse(payload: bytes, *, where: str) -> int:
    if payload == b"bad":
        raise ExposureFormatError(f"{where}: corrupt")
    return len(payload)


def test_parsed_packets_skips_corrupt_packets_with_a_warning_naming_index_and_time():
    packets = [TimedPacket(0.0, 0.5, b"ab"), TimedPacket(0.5, 0.5, b"bad"), TimedPacket(1.25, math.nan, b"abc")]
    warnings: list[str] = []
    got = [(k, p.start, n) for k, p, n in parsed_packets(packets, "test (t1) sample", _parse, warnings, "skipped")]
    assert got == [(0, 0.0, 2), (2, 1.25, 3)]
    assert warnings == ["test (t1) sample #1 at t=0.500 s: corrupt; skipped"]


def test_packet_samples_cover_each_packet_and_leave_unknown_ends_nan():
    samples = PacketSamples()
    samples.add(TimedPacket(0.0, 0.5, b""), 0.01)
    samples.add(TimedPacket(0.5, math.nan, b""), 0.02)
    series = samples.series("camm", "t1", ["w"], capture_interval=np.array([0.1, math.nan]))
    assert series.source == "camm" and series.label == "t1" and series.warnings == ["w"]
    assert series.seconds.tolist() == [0.01, 0.02] and series.start.tolist() == [0.0, 0.5]
    assert series.end[0] == 0.5 and math.isnan(series.end[1])
    assert series.capture_interval[0] == 0.1
    empty = PacketSamples().series("rtmd", "t2", [])
    assert len(empty) == 0 and empty.seconds.dtype == np.float64 and empty.start.shape == (0,)
