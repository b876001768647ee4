import pytest

from durations import format_duration, parse_duration


def test_parse_duration_adds_up_every_unit():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("45s") == 45
    assert parse_duration("2d") == 172800
    assert parse_duration("1d1h1m1s") == 90061


def test_parse_duration_ignores_case_and_surrounding_spaces():
    assert parse_duration(" 10M ") == 600
    assert parse_duration("2H") == 7200


def test_parse_duration_rejects_bad_input():
    for bad in ("", "   ", "5", "h", "5x", "1h30"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_format_duration_uses_the_largest_units_first():
    assert format_duration(5400) == "1h30m"
    assert format_duration(90061) == "1d1h1m1s"
    assert format_duration(86400) == "1d"


def test_format_duration_at_unit_boundaries():
    assert format_duration(0) == "0s"
    assert format_duration(1) == "1s"
    assert format_duration(59) == "59s"
    assert format_duration(60) == "1m"
    assert format_duration(3600) == "1h"


def test_format_duration_rejects_negative_seconds():
    with pytest.raises(ValueError):
        format_duration(-1)


def test_format_then_parse_gives_back_the_seconds():
    for seconds in (1, 61, 3599, 3661, 100000):
        assert parse_duration(format_duration(seconds)) == seconds
