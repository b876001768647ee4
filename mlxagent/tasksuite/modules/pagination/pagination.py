"""Splitting a list of results into numbered pages (pages are numbered from 1)."""

import math


def page_count(total, per_page):
    """How many pages `total` items fill at `per_page` a page; at least 1, even when empty."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    return max(1, math.ceil(total / per_page))


def page(items, number, per_page=10):
    """The items on page `number`; an empty list past the last page."""
    if number < 1:
        raise ValueError("pages are numbered from 1")
    start = (number - 1) * per_page
    return items[start : start + per_page]


def page_links(current, last, radius=2):
    """The page numbers to link around `current`: `radius` either side, kept within 1..last."""
    first = max(1, current - radius)
    final = min(last, current + radius)
    return list(range(first, final + 1))


def has_next(number, total, per_page=10):
    """Whether another page follows page `number`."""
    return number < page_count(total, per_page)
