import pytest

from dict_utils import count_values, group_by, invert, merge_defaults, top


def test_merge_defaults_lets_options_win():
    assert merge_defaults({"a": 1}, {"a": 0, "b": 2}) == {"a": 1, "b": 2}
    assert merge_defaults({}, {"b": 2}) == {"b": 2}


def test_merge_defaults_merges_nested_dicts_without_changing_the_defaults():
    defaults = {"db": {"host": "h", "port": 0}, "debug": False}
    merged = merge_defaults({"db": {"port": 1}}, defaults)
    assert merged == {"db": {"host": "h", "port": 1}, "debug": False}
    assert defaults == {"db": {"host": "h", "port": 0}, "debug": False}


def test_invert_swaps_keys_and_values():
    assert invert({"a": 1, "b": 2}) == {1: "a", 2: "b"}
    assert invert({}) == {}
    with pytest.raises(ValueError):
        invert({"a": 1, "b": 1})


def test_group_by_keeps_the_original_order():
    words = ["apple", "bob", "cat", "pear", "ox"]
    assert group_by(words, len) == {5: ["apple"], 3: ["bob", "cat"], 4: ["pear"], 2: ["ox"]}
    assert group_by([], len) == {}


def test_count_values_counts_each_item():
    assert count_values(["a", "b", "a", "a"]) == {"a": 3, "b": 1}
    assert count_values([]) == {}


def test_top_orders_by_count_then_key():
    counts = {"a": 3, "b": 5, "c": 3, "d": 1}
    assert top(counts, 2) == ["b", "a"]
    assert top(counts, 3) == ["b", "a", "c"]
    assert top(counts, 10) == ["b", "a", "c", "d"]
    assert top(counts, 0) == []
