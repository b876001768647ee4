import pytest

from stats import mean, median, percent, value_range


def test_mean_of_several_values():
    assert mean([1, 2, 3, 4]) == 2.5
    assert mean([5]) == 5
    assert mean([-2, 2]) == 0


def test_mean_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        mean([])


def test_median_of_an_odd_count_is_the_middle_value():
    assert median([3, 1, 2]) == 2
    assert median([7]) == 7
    assert median([9, 1, 5, 3, 7]) == 5


def test_median_of_an_even_count_averages_the_middle_two():
    assert median([4, 1, 3, 2]) == 2.5
    assert median([1, 2]) == 1.5
    with pytest.raises(ValueError):
        median([])


def test_percent_rounds_to_the_requested_digits():
    assert percent(1, 3) == 33.3
    assert percent(1, 3, 2) == 33.33
    assert percent(2, 3, 0) == 67.0
    assert percent(50, 200) == 25.0


def test_percent_of_a_zero_whole_is_zero():
    assert percent(5, 0) == 0.0


def test_value_range_gives_smallest_and_largest():
    assert value_range([3, -1, 2]) == (-1, 3)
    assert value_range([4]) == (4, 4)
    assert value_range([]) is None
