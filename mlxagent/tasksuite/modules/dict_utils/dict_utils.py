"""Helpers for plain dicts: defaults, inversion, grouping and counting."""


def merge_defaults(options, defaults):
    """A new dict of `defaults` overridden by `options`; nested dicts are merged the same way."""
    merged = dict(defaults)
    for key, value in options.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_defaults(value, merged[key])
        else:
            merged[key] = value
    return merged


def invert(mapping):
    """`mapping` with keys and values swapped; raises ValueError if two keys share a value."""
    inverted = {}
    for key, value in mapping.items():
        if value in inverted:
            raise ValueError(f"duplicate value: {value!r}")
        inverted[value] = key
    return inverted


def group_by(items, key):
    """A dict from key(item) to the items with that key, in their original order."""
    groups = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def count_values(items):
    """A dict from each distinct item to how many times it occurs."""
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def top(counts, n):
    """The `n` keys with the largest counts, largest first, ties broken by key."""
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    return ranked[:n]
