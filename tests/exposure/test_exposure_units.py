"""Units: override parsing (seconds, 1/x, degrees), rationals with decimal denominators, APEX."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vs_fmanet.exposure import ExposureInputError, parse_exposure_override
from vs_fmanet.exposure.units import apex_to_seconds, format_seconds, parse_exposure_text, parse_rational


@pytest.mark.parametrize("text, fps, expected", [
    ("0.01", 25, 0.01),
    (0.01, 25, 0.01),
    ("1/100", 25, 0.01),
    ("1/80.0", 25, 0.0125),
    ("1/100s", 25, 0.01),
    ("180deg", 25, 0.02),
    ("180°", 25, 0.02),
    ("90 deg", 50, 0.005),
    ("172.8deg", 25, 0.0192),
    ("360deg", 30, 1 / 30),
])
def test_override_forms(text, fps, expected):
    assert parse_exposure_override(text, fps) == pytest.approx(expected, rel=1e-12)


def test_override_angle_at_ntsc_rate_is_exact():
    # 180 degrees at 24000/1001 fps = 1001/48000 s
    assert parse_exposure_text("180deg", Fraction(24000, 1001)) == Fraction(1001, 48000)
    assert parse_exposure_override("180deg", 24000 / 1001) == pytest.approx(1001 / 48000, rel=1e-12)


@pytest.mark.parametrize("text, fps, needle", [
    ("abc", 25, "accepted forms"),
    ("1/0", 25, "accepted forms"),
    ("180deg", None, "needs the capture frame rate"),
    ("100", 25, "did you mean '1/100'"),
    ("0", 25, "positive"),
    ("-1/100", 25, "positive"),
    ("400deg", 25, "longer than the frame interval"),
])
def test_override_errors_are_clear(text, fps, needle):
    with pytest.raises(ExposureInputError) as info:
        parse_exposure_override(text, fps)
    message = str(info.value)
    assert "parse_exposure_override" in message
    assert needle in message
    assert repr(text) in message or text in message


def test_rational_with_decimal_denominator_is_exact():
    assert parse_rational("1/80.0") == Fraction(1, 80)
    assert parse_rational("1/30.15") == Fraction(100, 3015)
    assert parse_rational(" 24000/1001 ") == Fraction(24000, 1001)
    with pytest.raises(ValueError):
        Fraction("1/80.0")  # the pitfall the parser exists for
    with pytest.raises(ValueError):
        parse_rational("")


def test_apex_and_formatting():
    assert apex_to_seconds(7) == 1 / 128
    assert apex_to_seconds(Fraction(-1)) == 2.0
    assert format_seconds(0.01) == "1/100"
    assert format_seconds(1 / 30.15) == "1/30.15"
    assert format_seconds(float("nan")) == "-"


@pytest.mark.parametrize("text", ["1e400", "1/1e-400", "1e-400", "-1e400", "1e100000000",
                                  "1e1/1e100000000"])
def test_numbers_no_float_can_hold_are_refused_by_name(text):
    """Exact as Fractions, but float() of them overflowed: a sidecar or tag with 1e400 ended the whole probe in an
    OverflowError traceback (and building Fraction('1e100000000') alone takes minutes: refused before)."""
    with pytest.raises(ValueError, match="out of range"):
        parse_rational(text)
    with pytest.raises(ExposureInputError, match=f"cannot read '{text}'.*out of range"):
        parse_exposure_text(text)
    with pytest.raises(ValueError, match="out of range"):
        apex_to_seconds(-2000)


def test_override_shorter_than_a_microsecond_is_refused():
    assert parse_exposure_override("1/32000", 25) == pytest.approx(1 / 32000)
    with pytest.raises(ExposureInputError, match="shorter than 1e-06 s"):
        parse_exposure_override("1e-9", 25)
