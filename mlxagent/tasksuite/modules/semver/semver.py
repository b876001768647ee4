"""Semantic version strings like "1.4.2"."""


def parse_version(text):
    """(major, minor, patch) for "MAJOR.MINOR.PATCH", allowing one leading "v"."""
    if text.startswith("v"):
        text = text[1:]
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a version: {text!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


def compare_versions(a, b):
    """-1, 0 or 1 as version `a` is older than, the same as, or newer than `b`."""
    left, right = parse_version(a), parse_version(b)
    if left < right:
        return -1
    if left > right:
        return 1
    return 0


def bump(version, part="patch"):
    """`version` with `part` ("major", "minor" or "patch") raised by one and lower parts reset."""
    major, minor, patch = parse_version(version)
    if part == "major":
        major, minor, patch = major + 1, 0, 0
    elif part == "minor":
        minor, patch = minor + 1, 0
    elif part == "patch":
        patch = patch + 1
    else:
        raise ValueError(f"unknown part: {part!r}")
    return ".".join(str(n) for n in (major, minor, patch))


def latest(versions):
    """The newest of `versions`, or None when there are none."""
    if not versions:
        return None
    return max(versions, key=parse_version)
