"""XMP exposure for stills without EXIF exposure: darktable sidecars (``name.png.xmp``, attributes), Adobe
sidecars (``IMG_0001.xmp``, child elements), packets embedded in PNG/JPEG/WebP, EXIF taking precedence, capture
times from XMP, and malformed or DOCTYPE-carrying sidecars refused with a warning."""

from __future__ import annotations

import numpy as np
import pytest

import expofix as fx
from vs_fmanet.exposure import ExposureFormatError, probe_exposure
from vs_fmanet.exposure.xmp import parse_xmp

EXPOSURES = ["1/250", "1/500", "0.004", "1/1000"]


def test_darktable_sidecars_give_exposure_and_frame_times(tmp_path):
    """PNG exports with ``<name>.png.xmp`` sidecars, 40 ms apart: exposure per frame and 25 fps from XMP."""
    for i, exposure in enumerate(EXPOSURES):
        image = fx.write_plain_still(tmp_path / f"frame_{i + 1:04d}.png")
        captured = f"2026-11-24T10:00:00.{40 * i:03d}+02:00"
        (tmp_path / f"{image.name}.xmp").write_bytes(fx.xmp_packet(exposure, captured=captured))
    track = probe_exposure(tmp_path)
    assert np.array_equal(track.seconds, [1 / 250, 1 / 500, 0.004, 1 / 1000])
    np.testing.assert_allclose(track.frame_times, [0.0, 0.04, 0.08, 0.12], atol=1e-6)
    np.testing.assert_allclose(track.fraction, np.array([1 / 250, 1 / 500, 0.004, 1 / 1000]) * 25, rtol=1e-6)
    assert track.source == ["exif"] * 4
    assert any("took it from XMP" in w and "frame_0001.png.xmp" in w for w in track.warnings)


def test_adobe_sidecars_with_child_elements(tmp_path):
    for i, exposure in enumerate(EXPOSURES):
        fx.write_plain_still(tmp_path / f"IMG_{i + 1:04d}.jpg")
        (tmp_path / f"IMG_{i + 1:04d}.XMP").write_bytes(fx.xmp_packet(exposure, as_elements=True))
    track = probe_exposure(tmp_path, fps=24)
    assert np.array_equal(track.seconds, [1 / 250, 1 / 500, 0.004, 1 / 1000])


@pytest.mark.parametrize("ext", ["png", "jpg", "webp", "tif"])
def test_embedded_packets(tmp_path, ext):
    for i, exposure in enumerate(EXPOSURES):
        fx.write_plain_still(tmp_path / f"s_{i:03d}.{ext}", xmp=fx.xmp_packet(exposure))
    track = probe_exposure(tmp_path, fps=30)
    assert np.array_equal(track.seconds, [1 / 250, 1 / 500, 0.004, 1 / 1000])
    assert any("embedded in s_000" in w for w in track.warnings)


def test_exif_wins_over_xmp(tmp_path):
    for i in range(3):
        image = fx.write_exif_still(tmp_path / f"e_{i}.jpg", (1, 100))
        (tmp_path / f"e_{i}.xmp").write_bytes(fx.xmp_packet("1/500"))
    track = probe_exposure(tmp_path, fps=25)
    assert np.array_equal(track.seconds, [0.01] * 3) and not any("XMP" in w for w in track.warnings)
    assert image.exists()


def test_bad_sidecars_cost_their_frame_with_a_warning(tmp_path):
    for i in range(3):
        fx.write_plain_still(tmp_path / f"b_{i}.png")
    (tmp_path / "b_0.xmp").write_bytes(fx.xmp_packet("1/200"))
    (tmp_path / "b_1.xmp").write_bytes(b"<x:xmpmeta><rdf:RDF>")                   # cut off
    (tmp_path / "b_2.xmp").write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                                       + fx.xmp_packet("1/200"))
    track = probe_exposure(tmp_path, fps=25)
    assert track.seconds[0] == 1 / 200 and np.isnan(track.seconds[1:]).all()
    assert any("b_1.png" in w and "not well-formed XML" in w for w in track.warnings)
    assert any("b_2.png" in w and "DOCTYPE" in w for w in track.warnings)


def test_parse_forms():
    assert parse_xmp(fx.xmp_packet(shutter_apex="8/1")).exposure_tag == "XMP ShutterSpeedValue"
    assert float(parse_xmp(fx.xmp_packet(shutter_apex="8/1")).exposure) == pytest.approx(1 / 256)
    got = parse_xmp(fx.xmp_packet("1/60", captured="2026-11-24T08:00:00Z"))
    assert float(got.exposure) == 1 / 60 and got.capture_time == 1795507200.0 and not got.has_subsec
    assert parse_xmp(fx.xmp_packet()).exposure is None
    with pytest.raises(ExposureFormatError, match="'fast' cannot be used"):
        parse_xmp(fx.xmp_packet("fast"))


def test_a_broken_embedded_packet_falls_back_to_the_sidecar(tmp_path):
    for i in range(2):
        fx.write_plain_still(tmp_path / f"k_{i}.jpg", xmp=b"<x:xmpmeta><broken")
    (tmp_path / "k_0.xmp").write_bytes(fx.xmp_packet("1/640"))
    track = probe_exposure(tmp_path, fps=25)
    assert track.seconds[0] == 1 / 640 and np.isnan(track.seconds[1])
    assert any("k_1.jpg" in w and "XMP in k_1.jpg" in w and "not well-formed" in w for w in track.warnings)
