import pytest

from inventory import Inventory


def make():
    inv = Inventory()
    inv.add("apple", 5, 30)
    inv.add("pear", 2, 50)
    return inv


def test_add_accumulates_and_updates_the_price():
    inv = make()
    inv.add("apple", 3, 40)
    assert inv.count("apple") == 8
    assert inv.total_value() == 8 * 40 + 2 * 50


def test_add_rejects_a_quantity_that_is_not_positive():
    inv = make()
    for bad in (0, -1):
        with pytest.raises(ValueError):
            inv.add("plum", bad, 10)
    assert inv.count("plum") == 0


def test_remove_takes_some_of_an_item():
    inv = make()
    inv.remove("apple", 2)
    assert inv.count("apple") == 3
    assert inv.total_value() == 3 * 30 + 2 * 50


def test_remove_everything_drops_the_item():
    inv = make()
    inv.remove("pear", 2)
    assert inv.count("pear") == 0
    assert inv.names() == ["apple"]


def test_remove_too_many_or_unknown_items_fails():
    inv = make()
    with pytest.raises(ValueError):
        inv.remove("pear", 3)
    assert inv.count("pear") == 2
    with pytest.raises(KeyError):
        inv.remove("kiwi", 1)


def test_total_value_of_an_empty_inventory_is_zero():
    assert Inventory().total_value() == 0
    assert Inventory().names() == []


def test_low_stock_lists_items_below_the_threshold():
    inv = make()
    assert inv.low_stock(5) == ["pear"]
    assert inv.low_stock(6) == ["apple", "pear"]
    assert inv.low_stock(2) == []
