"""Add an element to a list the request names ("add py313 to the tox envlist", "add 'es' to the
supported languages"): the list is a key's value whose name the request's words give, on one line
(`envlist = py310, py311`, `langs = ["en", "fr"]`, `"keywords": ["a", "b"]`) or one element a line
(YAML `- item`, a JSON or TOML array over several lines). The element is written like its neighbours
(quotes, separator, indentation) and goes after the last one of the same shape (py313 after py312,
not after lint), else at the end. Everything else stays byte for byte."""

from __future__ import annotations

import re

from .base import Edit, Intent, file_matches, first_changed_line, request_words, short, split_lines, tokens_of, word_hit
from .remove import enclosing

_ASK = re.compile(r"^\W*(?:please\s+|pls\s+|can\s+you\s+|could\s+you\s+)?(?:also\s+)?(?:add|append|include)\s+"
                  r"(?P<item>\"[^\"\n]+\"|'[^'\n]+'|`[^`\n]+`|[\w.@:/+\-]+)\s+(?:to|into|in|on)\s+"
                  r"(?P<where>.+?)\s*[.!]?$", re.I)
_KEY = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<q>[\"']?)(?P<key>[\w.\-]+)(?P=q)\s*(?P<sep>[:=])\s*(?P<value>.*?)\s*,?\s*$")
_FILE = re.compile(r"\b(?:in|of)\s+([\w./\-]+\.\w+)\s*$")
_WEAK = {"list", "array", "entries", "items", "values", "file", "config", "section", "the", "our", "its"}


def asks_append(request: str) -> tuple[str, list[str], tuple[str, ...]] | None:
    """(the element, the words naming the list, the files named) of an "add X to Y" request."""
    m = _ASK.match((request or "").strip())
    if not m:
        return None
    item = m.group("item")
    if item[:1] in "\"'`":
        item = item[1:-1]
    where = m.group("where")
    files: tuple[str, ...] = ()
    if f := _FILE.search(where):
        files, where = (f.group(1),), where[:f.start()]
    words = [w for w in request_words(where) if w not in _WEAK and w != item.lower()]
    return (item, words, files) if item.strip() and words else None


def _sig(value: str) -> str:
    return re.sub(r"[A-Za-z]+", "a", re.sub(r"\d+", "9", value))


def _split_inline(value: str) -> tuple[str, str, list[str], str] | None:
    """(opening, separator, elements, closing) of an inline list: [a, b] or a, b (INI)."""
    opening, closing, body = "", "", value
    if value.startswith("[") and value.endswith("]"):
        opening, closing, body = "[", "]", value[1:-1]
    elif "," not in value:
        return None
    parts = [p.strip() for p in body.split(",")]
    if not body.strip() or any(not p for p in parts) or any(re.search(r"[\[\]{}]", p) for p in parts):
        return None
    sep = ", " if ", " in body or len(parts) == 1 else ","
    return opening, sep, parts, closing


def _quoted_like(item: str, elements: list[str]) -> str:
    q = elements[0][:1] if elements and elements[0][:1] in "\"'" else ""
    return f"{q}{item}{q}"


def _where(elements: list[str], item: str) -> int:
    """Index to insert at: after the last element of the item's shape, else at the end."""
    bare = [e.strip("\"'") for e in elements]
    same = [i for i, e in enumerate(bare) if _sig(e) == _sig(item)]
    return same[-1] + 1 if same else len(elements)


def _named(words: list[str], toks: set[str]) -> int:
    return sum(1 for w in words if word_hit(w, toks))


def _owners(lines, i: int) -> set[str]:
    section, keys = enclosing(lines, i)
    return tokens_of(" ".join([section, *keys]))


def _inline(text: str, lines, i: int, item: str) -> str | None:
    start, body, _ = lines[i]
    m = _KEY.match(body)
    value = m.group("value") if m else ""
    split = _split_inline(value)
    if split is None:
        return None
    opening, sep, elements, closing = split
    if any(e.strip("\"'") == item for e in elements):
        return None
    at = _where(elements, item)
    new = _quoted_like(item, elements)
    joined = opening + sep.join(elements[:at] + [new] + elements[at:]) + closing
    pos = body.index(value, m.start("value"))
    line = body[:pos] + joined + body[pos + len(value):]
    return text[:start] + line + text[start + len(body):]


def _block(text: str, lines, i: int, item: str) -> str | None:
    """Elements one a line below the key line i: YAML `- x`, or an array opened with [ on line i."""
    head = lines[i][1]
    m = _KEY.match(head)
    if not m or m.group("value") not in ("", "["):
        return None
    level = len(head) - len(head.lstrip())
    rows = []
    for j in range(i + 1, len(lines)):
        body = lines[j][1]
        if not body.strip():
            break
        ind = len(body) - len(body.lstrip())
        if m.group("value") == "[":
            if body.strip().startswith("]"):
                break
        elif ind < level or (ind == level and not body.lstrip().startswith("- ")):
            break
        rows.append(j)
    if not rows:
        return None
    yaml = m.group("value") == ""
    elements = [lines[j][1].strip() for j in rows]
    if yaml:
        if not all(e.startswith("- ") for e in elements):
            return None
        elements = [e[2:].strip() for e in elements]
    else:
        elements = [e.rstrip(",").strip() for e in elements]
    if any(e.strip("\"'") == item for e in elements) or any(re.search(r"[\[\]{}:]", e) for e in elements):
        return None
    at = _where(elements, item)
    model = lines[rows[min(at, len(rows)) - 1]] if at else lines[rows[0]]
    indent = model[1][:len(model[1]) - len(model[1].lstrip())]
    new = _quoted_like(item, elements)
    eol = model[2] or "\n"
    if yaml:
        row = f"{indent}- {new}{eol}"
    else:
        last = at == len(rows)
        trailing = lines[rows[-1]][1].rstrip().endswith(",")  # every element ends with a comma, the last too
        row = f"{indent}{new}{'' if last and not trailing else ','}{eol}"
        if last and not trailing:  # the old last element gains a comma
            s, b, _ = lines[rows[-1]]
            text = text[:s + len(b.rstrip())] + ("" if b.rstrip().endswith(",") else ",") + text[s + len(b.rstrip()):]
            lines = split_lines(text)
    anchor = lines[rows[at - 1]] if at else lines[rows[0]]
    pos = anchor[0] + len(anchor[1]) + len(anchor[2]) if at else anchor[0]
    if at and not anchor[2]:
        return None  # the list ends the file without a newline: leave it to the model
    return text[:pos] + row + text[pos:]


def append_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    item = intent.new or ""
    words = [w for w in (intent.key or "").split() if w]
    if not item or not words:
        return []
    scope = [p for p in sorted(files) if any(file_matches(p, n) for n in intent.files)] or sorted(files)
    found: list[tuple[int, Edit]] = []
    for path in scope:
        text = files[path]
        if not isinstance(text, str) or path.endswith((".md", ".rst", ".txt", "lock")):
            continue
        lines = split_lines(text)
        for i, (_, body, _) in enumerate(lines):
            m = _KEY.match(body)
            if not m:
                continue
            hits = _named(words, tokens_of(m.group("key"))) * 2 + _named(words, _owners(lines, i))
            if not _named(words, tokens_of(m.group("key"))):
                continue
            after = _inline(text, lines, i, item) or _block(text, lines, i, item)
            if after is None or after == text:
                continue
            found.append((hits, Edit(((path, after),), path, first_changed_line(text, after), "append",
                                     f"{path}: add {short(item, 30)} to {m.group('key')}",
                                     round(0.7 + 0.05 * min(hits, 4) + (0.1 if intent.files else 0.0), 3))))
    best = max((h for h, _ in found), default=0)
    return [e for h, e in found if h == best]


def appended(edit: Edit, intent: Intent, before: dict[str, str]) -> bool:
    """Only the element (with its quotes, separator or line) was inserted, once, in one file."""
    item = intent.new or ""
    if len(edit.files) != 1 or not item:
        return False
    path, after = edit.files[0]
    prev = before.get(path)
    if prev is None or len(after) <= len(prev):
        return False
    i = 0
    while i < len(prev) and prev[i] == after[i]:
        i += 1
    j = 0
    while j < len(prev) - i and prev[len(prev) - 1 - j] == after[len(after) - 1 - j]:
        j += 1
    middle = after[i:len(after) - j]
    rest = middle.replace(item, "", 1)
    return len(prev) - i - j == 0 and item in middle and re.fullmatch(r"[\s,\"'\-]*", rest) is not None
