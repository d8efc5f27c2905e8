import numpy as np
import pytest

from vs_fmanet.data.exposure_schedule import (ExposureSchedule, continuous, fixed_level, level_fraction, random_walk,
                                              sample_schedule)


def test_fixed_levels_are_paper_duty_cycles():
    for n in range(1, 6):
        s = fixed_level(n, 7)
        assert s.kind == "fixed" and s.frames == 7
        assert np.all(s.fraction == n / 5) and np.all(s.level == n)
    with pytest.raises(ValueError, match="level must be one of"):
        level_fraction(6)


def test_random_walk_follows_algorithm_s1():
    for seed in range(40):
        rng = np.random.default_rng(seed)
        s = random_walk(60, rng)
        assert s.kind == "random_walk"
        assert s.level.min() >= 1 and s.level.max() <= 5
        np.testing.assert_allclose(s.fraction, s.level / 5)
        steps = np.flatnonzero(np.diff(s.level)) + 1          # frames where the level changed
        assert np.all(np.abs(np.diff(s.level)) <= 1)
        # changes only happen at multiples of the interval I (5 or 7)
        assert all(i % 5 == 0 for i in steps) or all(i % 7 == 0 for i in steps)


def test_random_walk_explicit_start_and_interval():
    s = random_walk(20, np.random.default_rng(0), start=3, interval=5)
    for block in range(4):
        assert len(set(s.level[block * 5:(block + 1) * 5])) == 1   # constant within each interval


def test_continuous_has_label_zero_and_valid_range():
    s = continuous(5, np.random.default_rng(3), low=0.1, high=0.3)
    assert np.all(s.level == 0) and 0.1 <= s.fraction[0] <= 0.3 and np.all(s.fraction == s.fraction[0])
    with pytest.raises(ValueError, match="0 < low <= high <= 1"):
        continuous(5, np.random.default_rng(3), low=0.0)


def test_schedule_rejects_invalid_fraction_with_frame_number():
    with pytest.raises(ValueError, match="frame 1 has duty cycle"):
        ExposureSchedule(np.array([0.5, 1.5]), np.array([0, 0]), "continuous")


def test_sample_schedule_mixture_and_errors():
    kinds = {sample_schedule(10, np.random.default_rng(i)).kind for i in range(60)}
    assert kinds == {"fixed", "random_walk", "continuous"}
    only = {sample_schedule(10, np.random.default_rng(i), {"fixed": 1.0}).kind for i in range(10)}
    assert only == {"fixed"}
    with pytest.raises(ValueError, match="mode_weights"):
        sample_schedule(10, np.random.default_rng(0), {"bogus": 1.0})
