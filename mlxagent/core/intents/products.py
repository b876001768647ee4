"""Versions named with what they are a version of: "we've moved to Postgres 16", "Node 22
everywhere", "Rust 1.76 is the minimum now".

The request writes a name and a number. The repository writes the same name with its current
number in several shapes: `image: postgres:15-alpine`, "PostgreSQL 15", `node-version: 18`,
`"node": ">=18"`, "Node 18 or newer". A mention is the name (or a longer word it starts:
"postgresql", "node-version") followed, across a short separator (`:`, `=`, `@`, a quote, `>=`, a
space), by a number of the new one's shape (as many dots). Where every such mention holds one old
number, the candidate changes all of them; where they hold several, one candidate per old number.
"""

from __future__ import annotations

import re

from .base import HISTORY, STOP, Edit, Intent, file_matches, line_of, line_text, short

_SAID = re.compile(r"(?<![\w.\-/])([A-Za-z][A-Za-z+#]{1,20})(?:\.js)?\s+v?(\d+(?:\.\d+){0,2})(?![\w.]|\.\d)")
_NOT_NAMES = STOP | {"port", "ports", "line", "lines", "page", "pages", "step", "steps", "item", "items", "up", "max",
                     "min", "at", "least", "most", "every", "each", "after", "before", "about", "only", "just",
                     "over", "under", "around", "top", "last", "first", "next", "than", "by", "per", "and", "or",
                     "version", "release", "v", "is", "are", "was", "were", "keep", "allow", "wait", "retry",
                     "retries", "times", "seats", "holds", "hold", "now"}
ADDS = re.compile(r"\b(?:support|supports|supported|add|also|too|as\s+well|alongside)\b", re.I)
_MINIMUM = re.compile(r"\b(?:minimum|min|at\s+least|or\s+(?:newer|later|above|higher)|oldest|lowest)\b", re.I)


def adds(request: str) -> bool:
    """The request adds a version beside the others ("we support Python 3.12 now"), unless it says
    the new one is the least ("Node 20 is the minimum we support now")."""
    return bool(ADDS.search(request or "")) and not _MINIMUM.search(request or "")
_LOOSE = r"[^\w\n]{1,6}v?"
_SEP = r"(?:[\"']?\s*[:=@]\s*[\"']?\s*(?:>=|\^|~=?|==|v)?\s*|\s+v?)"


def said(request: str) -> list[tuple[str, str]]:
    """(name, number) pairs the request writes: "Postgres 16" -> ("postgres", "16")."""
    out = []
    for m in _SAID.finditer(request or ""):
        name = m.group(1).lower()
        if name in _NOT_NAMES or len(name) < 2 or (name, m.group(2)) in out:
            continue
        out.append((name, m.group(2)))
    return out


def _number(dots: int) -> str:
    return r"\d+" + r"\.\d+" * dots


def mentions(files: dict[str, str], name: str, new: str, named: tuple[str, ...] = (),
             loose: bool = False) -> dict[str, list[tuple[str, int, int]]]:
    """number -> [(path, start, end)] of the name's mentions with a number of the new one's shape,
    the new one's own among them (loose: across any short run of punctuation, "Python :: 3.11")."""
    dots = new.count(".")
    pat = re.compile(r"(?<![\w\-/.@])" + re.escape(name) + r"[A-Za-z0-9_\-]*" + (_LOOSE if loose else _SEP) + r"(" +
                     _number(dots) + r")(?![\d]|\.\d)", re.I)
    found: dict[str, list[tuple[str, int, int]]] = {}
    for path in sorted(files):
        text = files[path]
        if not isinstance(text, str) or HISTORY.search(path) or (named and not any(file_matches(path, n)
                                                                                    for n in named)):
            continue
        for m in pat.finditer(text):
            found.setdefault(m.group(1), []).append((path, m.start(1), m.end(1)))
    return found


def product_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    """Every mention of `intent.key` holding `intent.old` (a number) given `intent.new`."""
    if not intent.key or not intent.new:
        return []
    places = mentions(files, intent.key, intent.new, intent.files).get(intent.old or "", [])
    if not places:
        return []
    out = {}
    for path, start, end in sorted(places, key=lambda p: (p[0], -p[1])):
        text = out.get(path, files[path])
        out[path] = text[:start] + intent.new + text[end:]
    path, start, _ = places[0]
    more = len(places) - 1
    desc = f"{path}: {short(line_text(files[path], start))} → {short(line_text(out[path], start))}"
    if more:
        desc += f" (and {more} other mention{'s' if more > 1 else ''} of {intent.key} {intent.old})"
    return [Edit(tuple(sorted(out.items())), path, line_of(files[path], start), "product", desc, 0.5)]


def hypotheses(files: dict[str, str], request: str, named: tuple[str, ...]) -> list[tuple[Intent, float]]:
    """(intent, prior): for each name and number the request writes, each old number its mentions
    hold; one old number for all of them is likelier than several."""
    if adds(request):
        return []  # "we support Python 3.12 now": one more, not another
    out = []
    for name, num in said(request):
        loose = mentions(files, name, num, named, loose=True)
        if num in loose:
            continue  # "still builds on Node 18": the number the files hold is the old one, not the new
        if len(loose) > 1:
            continue  # the files name several (3.10 and 3.11): which one goes is not said
        new = num
        found = mentions(files, name, new, named)
        for old, places in sorted(found.items(), key=lambda kv: -len(kv[1])):
            prior = 0.76 if len(found) == 1 else 0.6
            out.append((Intent("product", old, new, key=name, files=named), prior + 0.01 * min(len(places), 3)))
    return out
