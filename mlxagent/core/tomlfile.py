"""Reading a TOML file whose errors become one clear line.

`read_toml` gives the parsed table, None for a missing file, and otherwise raises a
`TomlFileError` whose parts are one line each, for the caller to word its own message:
`TomlReadError` (the file cannot be read: a folder, no permission, not UTF-8) and
`TomlSyntaxError` (it is not valid TOML). Used by the user's settings (config.py) and the
repository's `.mlxagent.toml` (core/testing/detect.py).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any


class TomlFileError(Exception):
    """A TOML file that exists but cannot be used; `str()` is the reason, on one line."""

    def __init__(self, reason: str, cause: BaseException) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


class TomlReadError(TomlFileError):
    """The file cannot be read; the reason is the OS's words ("Is a directory")."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(getattr(cause, "strerror", None) or str(cause) or type(cause).__name__, cause)


class TomlSyntaxError(TomlFileError):
    """Not valid TOML. The reason reads "line 3: invalid TOML (...)"; `message` is the
    parser's own message, whitespace folded to one line."""

    def __init__(self, cause: tomllib.TOMLDecodeError) -> None:
        super().__init__(_located(cause), cause)
        self.message = " ".join(str(cause).split())


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The parsed file, or None when there is none; raises TomlReadError / TomlSyntaxError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise TomlReadError(e) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TomlSyntaxError(e) from None


def _located(e: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's TOMLDecodeError has no line attribute; its message ends "(at line 3, column 5)".
    message = str(e)
    if m := re.search(r"\s*\(at line (\d+), column \d+\)$", message):
        return f"line {m.group(1)}: invalid TOML ({message[: m.start()]})"
    return f"invalid TOML ({re.sub(r' [(]at end of document[)]$', '', message)})"
