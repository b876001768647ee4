"""Where edit_file's `search` text is in a file, and what replaces it.

Exact first. Failing that, whole lines compared with trailing whitespace ignored, then
with indentation ignored (the replacement is re-indented by the same amount); a fuzzy
match is reported in the result. A `search` copied with read_file's line numbers has
them removed. No match, or more than one, is an error that shows the candidates.
"""

from __future__ import annotations

import difflib
import heapq
import re
from dataclasses import dataclass
from typing import Callable

from .base import ToolError, clip_line
from .textfile import NUMBERED_PREFIX, numbered

_NUMBERED = re.compile(NUMBERED_PREFIX)
_SHOWN_CANDIDATES = 5
_CANDIDATE_LINE_CHARS = 160


@dataclass(frozen=True)
class Match:
    start: int  # character offsets of the matched text in the file's text
    end: int
    replacement: str
    note: str = ""  # empty for an exact match


def _split(text: str) -> list[str]:
    """Lines with their endings; only "\\n" ends a line."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _body(line: str) -> str:
    return line.rstrip("\n").rstrip("\r")


def _ending(line: str) -> str:
    return line[len(_body(line)) :]


def _model_lines(text: str) -> list[str]:
    """The model's text as lines without endings; a final newline does not make an extra line."""
    if text == "":
        return []
    return text.removesuffix("\n").split("\n")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def locate(text: str, newline: str, search: str, replace: str, rel: str) -> Match:
    search = search.replace("\r\n", "\n")
    replace = replace.replace("\r\n", "\n")
    # A model often drops or adds the final newline on one side only; follow `search`,
    # so the edit neither glues two lines together nor adds a blank one.
    if replace and search.endswith("\n") != replace.endswith("\n"):
        replace = replace + "\n" if search.endswith("\n") else replace[:-1]

    found = _exact(text, newline, search, replace, rel)
    if found is not None:
        return found
    lines = _split(text)
    search_lines = _model_lines(search)
    unnumbered = _strip_numbers(search_lines)
    if unnumbered is not None:
        replace_lines = _strip_numbers(_model_lines(replace)) or _model_lines(replace)
        plain_search = "\n".join(unnumbered) + ("\n" if search.endswith("\n") else "")
        plain_replace = "\n".join(replace_lines) + ("\n" if replace.endswith("\n") and replace_lines else "")
        found = _exact(text, newline, plain_search, plain_replace, rel) or _fuzzy(lines, newline, unnumbered, replace_lines, rel)
        if found is not None:
            note = "matched after removing read_file line numbers from search"
            return Match(found.start, found.end, found.replacement, "; ".join(filter(None, [note, found.note])))
    found = _fuzzy(lines, newline, search_lines, _model_lines(replace), rel)
    if found is not None:
        return found
    raise ToolError(_not_found(lines, search_lines, rel))


def _exact(text: str, newline: str, search: str, replace: str, rel: str) -> Match | None:
    needle = search.replace("\n", newline)
    starts = []
    pos = text.find(needle)
    while pos != -1:
        starts.append(pos)
        pos = text.find(needle, pos + 1)
    if not starts:
        return None
    if len(starts) > 1:
        raise ToolError(_ambiguous(text, [_line_of(text, s) for s in starts], rel, ""))
    return Match(starts[0], starts[0] + len(needle), replace.replace("\n", newline))


def _strip_numbers(lines: list[str]) -> list[str] | None:
    """`lines` without read_file's "  12| " prefixes, or None if they do not all have one."""
    if not lines or not all(_NUMBERED.match(line) for line in lines if line.strip()):
        return None
    return [_NUMBERED.sub("", line, count=1) for line in lines]


# (how lines are compared, what the result says about it)
_FUZZY_LEVELS: list[tuple[Callable[[str], str], str]] = [
    (str.rstrip, "matched ignoring trailing whitespace"),
    (str.strip, "matched ignoring indentation"),
]


def _fuzzy(lines: list[str], newline: str, search_lines: list[str], replace_lines: list[str], rel: str) -> Match | None:
    k = len(search_lines)
    for key, note in _FUZZY_LEVELS:
        wanted = [key(s) for s in search_lines]
        if not any(wanted):
            return None  # blank lines alone match anywhere
        have = [key(line) for line in lines]  # key() also drops the line ending
        hits = [i for i in range(len(lines) - k + 1) if have[i] == wanted[0] and have[i : i + k] == wanted]
        if len(hits) > 1:
            text = "".join(lines)
            raise ToolError(_ambiguous(text, [i + 1 for i in hits], rel, f" ({note})"))
        if hits:
            i = hits[0]
            new_lines = replace_lines
            if key is str.strip:
                new_lines, reindented = _reindent(lines[i : i + k], search_lines, replace_lines)
                if reindented:
                    note += "; the replacement was re-indented to fit"
            start = sum(len(line) for line in lines[:i])
            end = start + sum(len(line) for line in lines[i : i + k])
            ending = _ending(lines[i + k - 1]) if new_lines else ""
            return Match(start, end, newline.join(new_lines) + ending, note)
    return None


def _reindent(found: list[str], search_lines: list[str], replace_lines: list[str]) -> tuple[list[str], bool]:
    """Shift the replacement by the indentation difference between the file and `search`."""
    first = next(n for n, s in enumerate(search_lines) if s.strip())
    have, wrote = _indent(found[first]), _indent(search_lines[first])
    shifted = replace_lines
    if have.endswith(wrote):
        extra = have[: len(have) - len(wrote)]
        shifted = [extra + r if r.strip() else r for r in replace_lines]
    elif wrote.endswith(have):
        extra = wrote[: len(wrote) - len(have)]
        shifted = [r.removeprefix(extra) for r in replace_lines]
    return shifted, shifted != replace_lines


def _ambiguous(text: str, line_numbers: list[int], rel: str, how: str) -> str:
    lines = _split(text)
    shown = [
        numbered(n, clip_line(_body(lines[n - 1]), _CANDIDATE_LINE_CHARS)) for n in line_numbers[:_SHOWN_CANDIDATES]
    ]
    more = f" (and {len(line_numbers) - _SHOWN_CANDIDATES} more)" if len(line_numbers) > _SHOWN_CANDIDATES else ""
    return (
        f"search matches {len(line_numbers)} places in {rel}{how}, starting at:\n"
        + "\n".join(shown)
        + f"{more}\nAdd neighbouring lines to search so that it matches exactly one place."
    )


def _not_found(lines: list[str], search_lines: list[str], rel: str) -> str:
    if not lines:
        return f"search not found: {rel} is empty. Use write_file to give it content."
    advice = "Copy the file's current text exactly into search (without line numbers), or read_file it first."
    window = _closest(lines, search_lines)
    if window is None:
        return f"search not found in {rel}. {advice}"
    a, b = window
    shown = [numbered(n + 1, clip_line(_body(lines[n]), _CANDIDATE_LINE_CHARS)) for n in range(a, b)]
    return f"search not found in {rel}. The most similar lines are {a + 1}-{b}:\n" + "\n".join(shown) + f"\n{advice}"


def _closest(lines: list[str], search_lines: list[str]) -> tuple[int, int] | None:
    """The window of file lines most like `search_lines`, as a 0-based [start, end)."""
    have = [line.strip() for line in lines]
    wanted = [s.strip() for s in search_lines]
    # Anchor on the longest search line (the most telling one), then score whole windows
    # around its best few matches; scoring every window would be slow on large files.
    anchor_at = max(range(len(wanted)), key=lambda n: len(wanted[n]))
    if not wanted[anchor_at]:
        return None
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(wanted[anchor_at])
    best: list[tuple[float, int]] = []  # a min-heap of the top few (ratio, line index)
    for n, line in enumerate(have):
        matcher.set_seq1(line)
        floor = best[0][0] if len(best) == _SHOWN_CANDIDATES else 0.0
        if matcher.real_quick_ratio() <= floor or matcher.quick_ratio() <= floor:
            continue
        ratio = matcher.ratio()
        if ratio > floor:
            heapq.heappush(best, (ratio, n))
            if len(best) > _SHOWN_CANDIDATES:
                heapq.heappop(best)
    if not best or max(best)[0] < 0.4:
        return None
    target = "\n".join(wanted)

    def window(n: int) -> tuple[int, int]:
        start = max(0, n - anchor_at)
        return start, min(len(lines), start + len(wanted))

    def score(n: int) -> float:
        a, b = window(n)
        return difflib.SequenceMatcher(None, "\n".join(have[a:b]), target, autojunk=False).ratio()

    return window(max((n for _, n in best), key=score))
