import pytest

from pagination import has_next, page, page_count, page_links


def test_page_count_rounds_up_partial_pages():
    assert page_count(11, 10) == 2
    assert page_count(25, 10) == 3
    assert page_count(10, 10) == 1
    assert page_count(1, 1) == 1


def test_page_count_is_one_for_no_items():
    assert page_count(0, 10) == 1
    with pytest.raises(ValueError):
        page_count(10, 0)


def test_page_returns_the_items_of_that_page():
    items = list(range(25))
    assert page(items, 1) == list(range(10))
    assert page(items, 2, 10) == list(range(10, 20))
    assert page(items, 3, 10) == [20, 21, 22, 23, 24]
    assert page(items, 2, 5) == [5, 6, 7, 8, 9]


def test_page_past_the_end_is_empty_and_page_zero_is_an_error():
    assert page(list(range(25)), 4, 10) == []
    with pytest.raises(ValueError):
        page([1, 2, 3], 0)


def test_page_links_stay_within_the_first_and_last_page():
    assert page_links(1, 10) == [1, 2, 3]
    assert page_links(5, 10) == [3, 4, 5, 6, 7]
    assert page_links(10, 10) == [8, 9, 10]
    assert page_links(1, 1) == [1]
    assert page_links(4, 9, radius=1) == [3, 4, 5]


def test_has_next_is_false_on_the_last_page():
    assert has_next(1, 25, 10) is True
    assert has_next(2, 25, 10) is True
    assert has_next(3, 25, 10) is False
    assert has_next(2, 20, 10) is False
    assert has_next(1, 0) is False
