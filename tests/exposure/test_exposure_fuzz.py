"""Corrupt and truncated payloads of every binary format: each parser either returns a value or raises
ExposureFormatError with a message -- never an IndexError/struct.error from deep inside."""

from __future__ import annotations

import random

import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureFormatError
from vs_fmanet.exposure.camm import parse_camm_sample
from vs_fmanet.exposure.djmd import SHUTTER_PATHS, parse_djmd_sample, schema_of
from vs_fmanet.exposure.gpmf import shutter_from_payload
from vs_fmanet.exposure.mdpm import exposure_from_sei_nal
from vs_fmanet.exposure.rtmd import parse_rtmd_sample


def _djmd(buf: bytes):
    schema = schema_of(buf)
    return parse_djmd_sample(buf, schema) if schema in SHUTTER_PATHS else None


PARSERS = {
    "gpmf": (shutter_from_payload, fx.gpmf_payload([1 / 100, 1 / 120, 1 / 150], stmp_us=1, tsmp=3)),
    "rtmd": (parse_rtmd_sample, fx.rtmd_sample(1, 60)),
    "camm": (parse_camm_sample, fx.camm_exposure(4_000_000) + fx.camm_gyro(1, 2, 3)),
    "djmd": (_djmd, fx.djmd_sample("wm265e", 1, 60)),
    "mdpm": (exposure_from_sei_nal, fx.sei_nal(fx.mdpm_block((1, 250)))[4:]),
}


def _variants(good: bytes, rng: random.Random):
    for cut in range(len(good)):
        yield good[:cut]
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        yield bytes(data)
    for _ in range(50):
        yield bytes(rng.randrange(256) for _ in range(rng.randint(1, 80)))


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_corrupt_payloads_raise_only_format_errors(name):
    parse, good = PARSERS[name]
    parse(good)  # the intact sample parses
    rng = random.Random(1234)
    failures = 0
    for data in _variants(good, rng):
        try:
            parse(data)
        except ExposureFormatError as exc:
            assert str(exc)
            failures += 1
    assert failures > 0  # the corruption was noticed at least sometimes
