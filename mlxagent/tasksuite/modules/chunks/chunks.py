"""Cutting lists into pieces and putting them back together."""


def chunk(items, size):
    """`items` cut into lists of `size`; the last one may be shorter."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [items[i : i + size] for i in range(0, len(items), size)]


def windows(items, size):
    """Every run of `size` consecutive items, as tuples, in order."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [tuple(items[i : i + size]) for i in range(len(items) - size + 1)]


def dedupe(items):
    """`items` without repeats, keeping the first of each and the original order."""
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def flatten(nested):
    """A flat list of the items in `nested`, a list of lists nested to any depth."""
    flat = []
    for item in nested:
        if isinstance(item, list):
            flat.extend(flatten(item))
        else:
            flat.append(item)
    return flat
