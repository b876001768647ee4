import pytest

from roman import from_roman, is_roman, to_roman


def test_to_roman_uses_subtractive_pairs():
    assert to_roman(4) == "IV"
    assert to_roman(9) == "IX"
    assert to_roman(40) == "XL"
    assert to_roman(90) == "XC"
    assert to_roman(400) == "CD"
    assert to_roman(900) == "CM"


def test_to_roman_at_the_ends_of_the_range():
    assert to_roman(1) == "I"
    assert to_roman(3999) == "MMMCMXCIX"
    for bad in (0, 4000, -1):
        with pytest.raises(ValueError):
            to_roman(bad)


def test_from_roman_reads_numerals_in_any_case():
    assert from_roman("MCMXCIV") == 1994
    assert from_roman("xiv") == 14
    assert from_roman("I") == 1
    assert from_roman("MMMCMXCIX") == 3999


def test_from_roman_rejects_non_canonical_text():
    for bad in ("IIII", "IM", "ABC", "", "VX"):
        with pytest.raises(ValueError):
            from_roman(bad)


def test_is_roman():
    assert is_roman("XLII") is True
    assert is_roman("XXXX") is False
    assert is_roman("hello") is False


def test_round_trip_over_the_range():
    for n in list(range(1, 200)) + list(range(200, 4000, 37)) + [3999]:
        assert from_roman(to_roman(n)) == n
