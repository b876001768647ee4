"""Keeping numbers inside limits."""


def clamp(x, low, high):
    """`x` limited to the closed range [low, high]."""
    if low > high:
        raise ValueError("low must not exceed high")
    if x < low:
        return low
    if x > high:
        return high
    return x


def in_range(x, low, high, inclusive=True):
    """Whether `x` lies between `low` and `high`; the ends count only when `inclusive`."""
    if inclusive:
        return low <= x <= high
    return low < x < high


def wrap(x, low, high):
    """`x` wrapped into the half-open range [low, high), like an angle or an hour."""
    span = high - low
    if span <= 0:
        raise ValueError("empty range")
    return low + (x - low) % span


def scale(x, low, high):
    """Where `x` lies from `low` to `high`, as a fraction clamped to 0.0 .. 1.0."""
    if high == low:
        return 0.0
    return clamp((x - low) / (high - low), 0.0, 1.0)
