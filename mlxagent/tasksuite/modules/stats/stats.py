"""Descriptive statistics for small lists of numbers."""


def mean(values):
    """Arithmetic mean of `values`; raises ValueError when there are none."""
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def median(values):
    """Middle value of `values` once sorted; the mean of the middle two for an even count."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def percent(part, whole, digits=1):
    """`part` as a percentage of `whole`, rounded to `digits` places; 0.0 when `whole` is 0."""
    if whole == 0:
        return 0.0
    return round(part * 100 / whole, digits)


def value_range(values):
    """(smallest, largest) of `values`, or None for an empty list."""
    if not values:
        return None
    return min(values), max(values)
