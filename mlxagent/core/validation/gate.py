"""The syntax gate: may an edit go ahead, judged by whether it leaves the file parseable?

An edit to a file that parsed is refused when the file no longer parses. An edit to a file that
was already broken is refused only when it adds errors: more issues than before, or an issue at
a line that had none (lines are followed across the edit, so inserting lines above an old error
does not make it new)."""

from __future__ import annotations

from .issues import SyntaxIssue, short_message
from .parsers import parse_issues

MAX_PROBLEM = 300

# Issues about the file as a whole: the same message before and after is the same problem,
# wherever the parser happens to report it.
_WHOLE_FILE = frozenset({"missing section header", "empty file"})


def syntax_problem(path: str, before: bytes | None, after: bytes) -> str | None:
    """None when the edit may go ahead. Otherwise one message for the model and the user, like
    "app.py:12:5: invalid syntax (the edit leaves the file unparseable; it parsed before)"."""
    try:
        if before is not None and before == after:
            return None
        after_issues = parse_issues(path, after)
        if not after_issues:
            return None  # parses, or no parser for it
        if before is None:
            return _message(path, after_issues[0], len(after_issues), "the new file would not parse")
        before_issues = parse_issues(path, before)
        if before_issues is None:
            # the file before was not text we could read (binary, not UTF-8): judge like a new file
            return _message(path, after_issues[0], len(after_issues), "the edit leaves the file unparseable")
        if not before_issues:
            return _message(path, after_issues[0], len(after_issues),
                            "the edit leaves the file unparseable; it parsed before")
        fresh = new_issues(before, after, before_issues, after_issues)
        if not fresh and len(after_issues) <= len(before_issues):
            return None
        first = fresh[0] if fresh else after_issues[0]
        return _message(path, first, len(after_issues),
                        f"new syntax error; the file had {_count(len(before_issues))} before the edit")
    except Exception:
        return None


def new_issues(before: bytes, after: bytes, before_issues: list[SyntaxIssue],
               after_issues: list[SyntaxIssue]) -> list[SyntaxIssue]:
    """The issues of `after` that are not old ones carried through the edit."""
    old_lines = {issue.line for issue in before_issues}
    old_messages = {issue.message for issue in before_issues}
    before_lines = before.splitlines()
    after_lines = after.splitlines()
    to_before = _line_map(before_lines, after_lines)
    old_texts = {(issue.message, _line_text(before_lines, issue.line)) for issue in before_issues}
    fresh = []
    for issue in after_issues:
        if issue.message in _WHOLE_FILE and issue.message in old_messages:
            continue
        mapped = to_before(issue.line)
        if mapped is not None:
            if mapped in old_lines:
                continue
        elif issue.line in old_lines:
            continue  # the broken line itself was edited and is still broken the same way
        if (issue.message, _line_text(after_lines, issue.line)) in old_texts:
            continue  # the same broken line, moved
        fresh.append(issue)
    return fresh


def _line_map(before_lines: list[bytes], after_lines: list[bytes]):
    """after line (1-based) -> before line, for lines in the unchanged head or tail of the file;
    None for lines inside the changed middle (or 0, an unknown line)."""
    shortest = min(len(before_lines), len(after_lines))
    head = 0
    while head < shortest and before_lines[head] == after_lines[head]:
        head += 1
    tail = 0
    while (tail < shortest - head
           and before_lines[len(before_lines) - 1 - tail] == after_lines[len(after_lines) - 1 - tail]):
        tail += 1
    shift = len(before_lines) - len(after_lines)
    tail_start = len(after_lines) - tail  # 0-based index of the first line of the tail

    def to_before(line: int) -> int | None:
        if line <= 0:
            return None
        if line <= head:
            return line
        if line - 1 >= tail_start:
            return line + shift
        if line > len(after_lines) and not tail:
            return line + shift  # a parser reporting one past the last line (end of file)
        return None

    return to_before


def _line_text(lines: list[bytes], line: int) -> bytes | None:
    if 1 <= line <= len(lines):
        return lines[line - 1].strip()
    return None


def _count(number: int) -> str:
    return "1 error" if number == 1 else f"{number} errors"


def _message(path: str, issue: SyntaxIssue, total: int, why: str) -> str:
    where = short_message(path, 120)
    if issue.line:
        where += f":{issue.line}"
        if issue.column:
            where += f":{issue.column}"
    more = f"; {total - 1} more" if total > 1 else ""
    text = f"{where}: {issue.message} ({why}{more})"
    return short_message(text, MAX_PROBLEM)
