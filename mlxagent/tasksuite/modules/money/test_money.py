import pytest

from money import apply_discount, format_cents, split_bill, to_cents


def test_to_cents_reads_numbers_and_strings():
    assert to_cents("12.34") == 1234
    assert to_cents(2) == 200
    assert to_cents(0.5) == 50
    assert to_cents(-1.25) == -125


def test_to_cents_rounds_half_a_cent_away_from_zero():
    assert to_cents("0.125") == 13
    assert to_cents(-0.125) == -13
    assert to_cents(0.004) == 0


def test_format_cents_pads_the_cents():
    assert format_cents(1234) == "$12.34"
    assert format_cents(5) == "$0.05"
    assert format_cents(100) == "$1.00"
    assert format_cents(0) == "$0.00"


def test_format_cents_puts_the_sign_before_the_dollar():
    assert format_cents(-5) == "-$0.05"
    assert format_cents(-1234) == "-$12.34"


def test_split_bill_gives_the_spare_cents_to_the_first_people():
    assert split_bill(1000, 3) == [334, 333, 333]
    assert split_bill(2, 4) == [1, 1, 0, 0]
    assert split_bill(10, 1) == [10]
    assert split_bill(9, 3) == [3, 3, 3]
    with pytest.raises(ValueError):
        split_bill(10, 0)


def test_apply_discount_rounds_the_discount():
    assert apply_discount(1000, 15) == 850
    assert apply_discount(999, 50) == 499
    assert apply_discount(1000, 0) == 1000
    assert apply_discount(1000, 100) == 0


def test_apply_discount_rejects_percent_outside_zero_to_hundred():
    for bad in (-1, 101):
        with pytest.raises(ValueError):
            apply_discount(1000, bad)
