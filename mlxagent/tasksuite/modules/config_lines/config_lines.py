"""Parsing `key = value` configuration lines."""


def parse_line(line):
    """(key, value) for a `key = value` line, or None for blank lines and `#` comments.

    Whitespace around the key and the value is dropped; the value may itself hold `=`.
    """
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if "=" not in stripped:
        raise ValueError(f"not a key=value line: {line!r}")
    key, value = stripped.split("=", 1)
    return key.strip(), value.strip()


def parse_config(text):
    """A dict of every setting in `text`; a later line for the same key wins."""
    settings = {}
    for line in text.splitlines():
        pair = parse_line(line)
        if pair is None:
            continue
        key, value = pair
        settings[key] = value
    return settings


def get_int(settings, key, default=0):
    """settings[key] as an int, or `default` when the key is missing."""
    if key not in settings:
        return default
    return int(settings[key])


def get_bool(settings, key, default=False):
    """settings[key] as a flag: true, yes, on and 1 (any case) are True, anything else False."""
    value = settings.get(key)
    if value is None:
        return default
    return value.lower() in ("true", "yes", "on", "1")
