"""The one value the syntax gate deals in: where a file fails to parse, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SyntaxIssue:
    """One syntax error. `line` and `column` are 1-based; 0 means unknown."""

    line: int
    column: int
    message: str


MAX_MESSAGE = 160


def make_issue(line: object, column: object, message: object) -> SyntaxIssue:
    """A SyntaxIssue from whatever a parser reported: numbers clamped to >= 0, the message on one
    short line."""
    return SyntaxIssue(_count(line), _count(column), short_message(message))


def short_message(message: object, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(str(message if message is not None else "").split())
    if not text:
        return "syntax error"
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def _count(value: object) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return 0
    return number if number > 0 else 0
