"""The other places that write a value an edit changes.

A value rarely lives in one place: `maxOfflineTiles: 2500` has "up to 2,500 tiles per region" in the
README, `hold_timeout_seconds = 600` has "holds expire after 10 minutes" in the docs, `rust-version =
"1.74"` has "needs Rust 1.74" and a CI toolchain. A person changing the value changes those too.

`extend` takes a candidate that changes one value (a number or a version, the rest of each changed
line kept) and finds the value's other mentions: written the same, with thousands separators, or as
a duration in another unit when the key names its unit (600 in `..._seconds` is "10 minutes"). A
mention counts when it is about the same thing: a version with a dot is distinctive enough by
itself; a plain number needs its line, or the lines beside it, to share a word with the key or the
request ("tiles", "holds"). Changelogs and lock files keep their history. The extended candidate
is the same hypothesis carried out in every place, ranked just above the one-place edit.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .base import HISTORY, STOP, Edit, file_matches, request_words, split_lines, tokens_of
from .broad import _DURATION, _hit, _slot_unit, _unit
from .extract import _files, _Lits

_VALUE = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)*)(?![\w]|\.\d)")
_PROSE = re.compile(r"\.(?:md|markdown|rst|txt|adoc)$|(?:^|/)readme[^/]*$", re.I)
_GENERIC = frozenset("max min maximum minimum default defaults value values limit size count num number version "
                     "timeout seconds secs ms millis minutes mins hours days int str float bool const let var "
                     "export self config settings set get new old per up".split())
EVERYWHERE = re.compile(r"\b(?:everywhere|every\s*where|all\s+(?:places|files|mentions|over|of\s+them)|throughout|"
                        r"wherever|each\s+place|across|both|(?:and|also)\s+in\s+the|match(?:es)?|in\s+sync|"
                        r"consistent(?:ly)?|get\s+them\s+all|a\s+few\s+(?:spots|places))\b", re.I)
BONUS, BONUS_EVERYWHERE = 0.02, 0.06


def _one_change(before: str, after: str) -> tuple[str, str, str, str] | None:
    """(old value, new value, old line, new line) when the texts differ in one line and that line
    in one value; else None."""
    a, b = split_lines(before), split_lines(after)
    if len(a) != len(b):
        return None
    diff = [(x[1], y[1]) for x, y in zip(a, b) if x[1] != y[1]]
    if len(diff) != 1:
        return None
    old_line, new_line = diff[0]
    va, vb = list(_VALUE.finditer(old_line)), list(_VALUE.finditer(new_line))
    if len(va) != len(vb):
        return None
    changed = [(x, y) for x, y in zip(va, vb) if x.group(1) != y.group(1)]
    if len(changed) != 1:
        return None
    x, y = changed[0]
    if old_line[:x.start(1)] + old_line[x.end(1):] != new_line[:y.start(1)] + new_line[y.end(1):]:
        return None
    return x.group(1), y.group(1), old_line, new_line


def _unit_of(line: str) -> float | None:
    """The unit a key on this line holds by its name (timeout_ms, hold_timeout_seconds, ttlMinutes)."""
    key = re.match(r"\s*[\"']?([A-Za-z_$][\w$\-.]*)", line)
    if not key:
        return None
    name = key.group(1)
    return _slot_unit(name)


def _grouped(n: int) -> str:
    return f"{n:,}"


def _topic(old_line: str, value: str, words: list[str]) -> set[str]:
    toks = tokens_of(old_line.replace(value, " ")) | {w.lower() for w in words}
    return {t for t in toks if len(t) >= 3 and t.isalpha() and t not in _GENERIC and t not in STOP}


def _about(lines: list[tuple[int, str, str]], i: int, topic: set[str]) -> bool:
    """The mention's line, or the one before or after it, shares a word (or its stem) with the topic."""
    near = set()
    for j in (i - 1, i, i + 1):
        if 0 <= j < len(lines) and lines[j][1].strip():
            near |= tokens_of(lines[j][1])
    return any(_hit(t, near) for t in topic)


def _comment(line: str) -> bool:
    return bool(re.match(r"\s*(?:#|//|/?\*|;|--|<!--)", line)) or bool(re.search(r"\s(?:#|//)\s", line))


def _mentions(text: str, old: str, new: str, unit: float | None, topic: set[str], prose: bool,
              anywhere: bool) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of the value's mentions in one file that are about the topic: in
    prose (a document, a comment) or, for a version or a request that says "everywhere", anywhere."""
    dotted = "." in old
    anywhere = anywhere or dotted
    out: list[tuple[int, int, str]] = []
    lines = split_lines(text)
    forms = [(re.compile(r"(?<![\w.,])v?" + re.escape(old) + r"(?![\w]|[.,]\d)"), new)]
    if old.isdigit() and new.isdigit() and int(old) >= 1000:
        forms.append((re.compile(r"(?<![\w.,])" + re.escape(_grouped(int(old))) + r"(?![\w]|[.,]\d)"),
                      _grouped(int(new))))
    for i, (start, line, _) in enumerate(lines):
        spans = []
        for pat, repl in forms:
            for m in pat.finditer(line):
                val = m.group()
                spans.append((m.start() + (1 if val.startswith("v") else 0), m.end(), repl))
        if unit is not None and old.isdigit() and new.isdigit():
            for m in _DURATION.finditer(line):  # the words a request's durations are read with
                w = _unit(m.group(2))
                if not w or not m.group(1).isdigit() or int(m.group(1)) * w != int(old) * unit:
                    continue
                value = int(new) * unit / w
                if abs(value - round(value)) > 1e-9 or int(m.group(1)) == 1 or round(value) == 1:
                    continue
                spans.append((m.start(1), m.end(1), str(int(round(value)))))
        if spans and (dotted or _about(lines, i, topic)) and (anywhere or prose or _comment(line)):
            taken: set[int] = set()
            for s, e, r in spans:  # one replacement a place ("600" is not also "600 seconds")
                if not taken & set(range(s, e)):
                    taken |= set(range(s, e))
                    out.append((start + s, start + e, r))
    return out


def extend(files: dict[str, str], edit: Edit, request: str) -> Edit | None:
    """The edit with the value it changes changed in its other mentions too (None when there are none)."""
    changes = []
    for path, after in edit.files:
        before = files.get(path)
        if before is None:
            return None
        got = _one_change(before, after)
        if got is None:
            return None
        changes.append((path, got))
    if not changes or len({(c[0], c[1]) for _, c in changes}) != 1:
        return None
    old, new, old_line, _ = changes[0][1]
    from .products import adds

    if adds(request):
        return None  # "we support 3.12 now" adds one; the old one's mentions stay
    everywhere = bool(EVERYWHERE.search(request or ""))
    if old == new or not ("." in old or everywhere or (old.isdigit() and len(old) >= 3)):
        return None  # a small number (0, 8, 10) is written in too many places that are not this one
    words = [w for w in request_words(request) if not re.search(r"\d", w)]
    topic = _topic(old_line, old, words)
    unit = _unit_of(old_line)
    # the files the request names keep the change to them (a slot's intent names its own file), unless
    # it says the value is in more places ("in the code and in the README")
    named = () if everywhere else _files(_Lits(request or "").text)[1]
    out = dict(edit.files)
    added = 0
    for path in sorted(files):
        text = files[path]
        if not isinstance(text, str) or HISTORY.search(path) or (named and not any(file_matches(path, n)
                                                                                      for n in named)):
            continue
        base = out.get(path, text)  # the edit's own lines hold the new value already
        spans = _mentions(base, old, new, unit, topic, bool(_PROSE.search(path)), everywhere)
        if not spans:
            continue
        for s, e, r in sorted(spans, reverse=True):
            base = base[:s] + r + base[e:]
        out[path] = base
        added += len(spans)
    if not added:
        return None
    bonus = BONUS_EVERYWHERE if everywhere else BONUS
    others = sorted(p for p in out if p not in dict(edit.files))
    where = ", ".join(others[:3]) + (" …" if len(others) > 3 else "") if others else "the same file"
    more = f" (and {added} other mention{'s' if added > 1 else ''} in {where})"
    return replace(edit, files=tuple(sorted(out.items())), rule=edit.rule + "+mentions",
                   description=edit.description + more,
                   prior=round(edit.prior + bonus, 3))
