import pytest

from bounds import clamp, in_range, scale, wrap


def test_clamp_leaves_values_inside_the_range_alone():
    assert clamp(5, 0, 10) == 5
    assert clamp(3, 3, 3) == 3


def test_clamp_limits_values_outside_the_range():
    assert clamp(-1, 0, 10) == 0
    assert clamp(11, 0, 10) == 10
    assert clamp(0, 0, 10) == 0
    assert clamp(10, 0, 10) == 10


def test_clamp_rejects_low_above_high():
    with pytest.raises(ValueError):
        clamp(1, 5, 4)


def test_in_range_counts_the_ends_only_when_inclusive():
    assert in_range(0, 0, 10) is True
    assert in_range(10, 0, 10) is True
    assert in_range(0, 0, 10, inclusive=False) is False
    assert in_range(10, 0, 10, inclusive=False) is False
    assert in_range(5, 0, 10, inclusive=False) is True
    assert in_range(11, 0, 10) is False


def test_wrap_brings_values_back_into_the_range():
    assert wrap(370, 0, 360) == 10
    assert wrap(-10, 0, 360) == 350
    assert wrap(360, 0, 360) == 0
    assert wrap(5, 1, 4) == 2
    assert wrap(1, 1, 4) == 1


def test_wrap_rejects_an_empty_range():
    with pytest.raises(ValueError):
        wrap(1, 3, 3)
    with pytest.raises(ValueError):
        wrap(1, 4, 3)


def test_scale_gives_a_fraction_between_zero_and_one():
    assert scale(5, 0, 10) == 0.5
    assert scale(2, 1, 5) == 0.25
    assert scale(-5, 0, 10) == 0.0
    assert scale(15, 0, 10) == 1.0
    assert scale(3, 3, 3) == 0.0
