import pytest

from chunks import chunk, dedupe, flatten, windows


def test_chunk_keeps_a_short_last_chunk():
    assert chunk([1, 2, 3, 4, 5, 6, 7], 3) == [[1, 2, 3], [4, 5, 6], [7]]
    assert chunk([1, 2, 3, 4, 5, 6], 3) == [[1, 2, 3], [4, 5, 6]]
    assert chunk([1, 2], 5) == [[1, 2]]


def test_chunk_of_nothing_and_bad_sizes():
    assert chunk([], 2) == []
    with pytest.raises(ValueError):
        chunk([1], 0)


def test_windows_include_the_last_window():
    assert windows([1, 2, 3, 4], 2) == [(1, 2), (2, 3), (3, 4)]
    assert windows([1, 2, 3], 3) == [(1, 2, 3)]
    assert windows([1, 2, 3], 1) == [(1,), (2,), (3,)]


def test_windows_longer_than_the_list_give_nothing():
    assert windows([1, 2], 3) == []
    with pytest.raises(ValueError):
        windows([1, 2], 0)


def test_dedupe_keeps_the_first_occurrence_in_order():
    assert dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]
    assert dedupe("abca") == ["a", "b", "c"]
    assert dedupe([]) == []


def test_flatten_any_depth():
    assert flatten([1, [2, [3, [4]]], 5]) == [1, 2, 3, 4, 5]
    assert flatten([[], [[]]]) == []
    assert flatten(["ab", ["c"]]) == ["ab", "c"]
