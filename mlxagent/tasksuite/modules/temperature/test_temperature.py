import pytest

from temperature import Temperature


def test_from_fahrenheit_converts_to_celsius():
    assert Temperature.from_fahrenheit(212).celsius == pytest.approx(100)
    assert Temperature.from_fahrenheit(32).celsius == pytest.approx(0)
    assert Temperature.from_fahrenheit(-40).celsius == pytest.approx(-40)


def test_fahrenheit_of_a_celsius_temperature():
    assert Temperature(100).fahrenheit == pytest.approx(212)
    assert Temperature(37).fahrenheit == pytest.approx(98.6)
    assert Temperature(0).fahrenheit == pytest.approx(32)


def test_kelvin_in_both_directions():
    assert Temperature(0).kelvin == pytest.approx(273.15)
    assert Temperature.from_kelvin(0).celsius == pytest.approx(-273.15)
    assert Temperature.from_kelvin(373.15).celsius == pytest.approx(100)


def test_nothing_is_colder_than_absolute_zero():
    Temperature(-273.15)
    with pytest.raises(ValueError):
        Temperature(-273.16)
    with pytest.raises(ValueError):
        Temperature.from_kelvin(-1)


def test_describe_at_the_boundaries():
    assert Temperature(-5).describe() == "freezing"
    assert Temperature(0).describe() == "freezing"
    assert Temperature(0.5).describe() == "mild"
    assert Temperature(29.9).describe() == "mild"
    assert Temperature(30).describe() == "hot"


def test_round_trip_through_fahrenheit():
    for c in (-40, 0, 25, 100):
        assert Temperature.from_fahrenheit(Temperature(c).fahrenheit).celsius == pytest.approx(c)
