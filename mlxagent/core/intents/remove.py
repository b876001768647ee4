"""Remove an entry the request names ("drop the node-fetch dependency", "remove http://localhost:3000
from the CORS origins"): a line that holds the literal and little else (a list item, a key with a
version, an array element) goes, or the element goes from an inline list; a JSON/JS comma left
dangling before a closing bracket goes with it. Everything else stays byte for byte."""

from __future__ import annotations

import json
import re

from .base import Edit, Intent, file_matches, first_changed_line, md_section, short, split_lines

_VERBS = re.compile(r"\b(?:remove|drop|delete|get\s+rid\s+of|take\s+(?:[\w:\-.]+\s+){0,3}?(?:out|off)|no\s+longer\s+(?:use|need)|"
                    r"(?:do\s*n[o']?t|dont)\s+(?:use|need)\s+\S+\s+any\s*more)\b", re.I)
_SPEC = re.compile(r"[\^~><=!]=?\s*v?[\d*x][\w.*\-+]*")
_LEFT = re.compile(r"[\s\"',:=\-\[\]{}()#;]+")


def asks_removal(request: str) -> bool:
    return bool(_VERBS.search(request or ""))


def object_of(request: str) -> str | None:
    """The first word the removal verb takes ("drop the ferry tag" -> "ferry"), or None."""
    m = _VERBS.search(request or "")
    if not m:
        return None
    rest = re.sub(r"^\s*(?:the|a|an|our|its|their|that|this|those|these|all)\s+", "", request[m.end():], flags=re.I)
    word = re.match(r"\s*[\"'`\[]?([\w.:@/\-]+)", rest)  # "[export] section": export
    return word.group(1) if word else None


def _bounded(value: str) -> re.Pattern:
    return re.compile(r"(?<![\w$.@/])" + re.escape(value) + r"(?![\w$@])")


def _only_entry(line: str, value: str) -> bool:
    """The line holds the entry and little else: a list item, "name": "^1.2", name = "1.2", "name>=2"."""
    if re.search(r"[\[(][^\])]*,[^\])]*[\])]", line) and _drop_inline(line, value) is not None:
        return False  # one element of an inline list ("tags: [harbour, ferry]"): the others stay
    rest = _bounded(value).sub(" ", line, count=1)
    rest = _SPEC.sub(" ", rest)
    rest = re.sub(r"\b(?:python|js|node|py|lib)\b", " ", rest)  # python-dateutil for "dateutil"
    rest = _LEFT.sub("", rest)
    return len(rest) <= 12 and " " not in rest.strip()


def _drop_line(text: str, lines: list[tuple[int, str, str]], i: int, fmt_json: bool) -> str:
    start, body, eol = lines[i]
    end = start + len(body) + len(eol)
    out = text[:start] + text[end:]
    if fmt_json and not body.rstrip().endswith(","):
        # the last element went: the one before it must lose its comma
        j = i - 1
        while j >= 0 and not lines[j][1].strip():
            j -= 1
        if j >= 0 and lines[j][1].rstrip().endswith(","):
            s, b, _ = lines[j]
            k = s + len(b.rstrip()) - 1
            out = out[:k] + out[k + 1:]
    return out


def _drop_inline(line: str, value: str) -> str | None:
    """Take one element out of an inline list on the line: ["a", "dateutil>=2", "b"] or [a, b]."""
    el = r"(?:\"[^\"\n]*?" + re.escape(value) + r"[^\"\n]*\"|'[^'\n]*?" + re.escape(value) + r"[^'\n]*'|" \
         + r"(?<![\w.\-])" + re.escape(value) + r"(?![\w\-]))"
    for pat in (el + r"\s*,\s*", r"\s*,\s*" + el):
        m = re.search(pat, line)
        if m and re.search(r"[\[(]", line[:m.start() + 1]):
            return line[:m.start()] + line[m.end():]
    return None


_SECTION = re.compile(r"\s*\[\[?\s*([^\]\n]+?)\s*\]\]?\s*(?:[#;].*)?$")
_KEY_LINE = re.compile(r"\s*(?:-\s+)?(?:\"([^\"\n]+)\"|'([^'\n]+)'|([\w$.\-]+))\s*[:=]")


def _key(m: re.Match) -> str:
    """The key a _KEY_LINE match names: a quoted one may hold any character ("build:preview")."""
    return next(g for g in m.groups() if g is not None)


def _section(text: str, lines: list[tuple[int, str, str]], value: str) -> str | None:
    """The INI/TOML file without its [value] section (header to the next header), and without the
    blank line that set it apart."""
    heads = [i for i, (_, body, _) in enumerate(lines) if _SECTION.fullmatch(body)]
    mine = [i for i in heads if _SECTION.fullmatch(lines[i][1]).group(1).strip("\"' ") == value]
    if len(mine) != 1:
        return None
    i = mine[0]
    j = next((h for h in heads if h > i), len(lines))
    while j - 1 > i and not lines[j - 1][1].strip():
        j -= 1  # the blank lines before the next header stay
    if i > 0 and not lines[i - 1][1].strip():
        i -= 1  # the blank line above the header goes with it
    elif j < len(lines):
        while j < len(lines) and not lines[j][1].strip() and not _SECTION.fullmatch(lines[j][1]):
            j += 1
    start = lines[i][0]
    end = lines[j][0] if j < len(lines) else len(text)
    return text[:start] + text[end:]


def _md_section(text: str, value: str) -> str | None:
    """The Markdown text without the one section whose heading is `value` ("## Roadmap" for
    "roadmap", any case): the heading to the next heading of its level or above, with the blank line
    that set it apart."""
    found = md_section(text, value)
    if found is None:
        return None
    lines, i, j = found
    if i > 0 and not lines[i - 1][1].strip() and (j == len(lines) or not lines[j - 1][1].strip()):
        i -= 1  # the blank line above the heading goes; the one before the next heading stays
        j -= 1 if j < len(lines) else 0
    start = lines[i][0]
    end = lines[j][0] if j < len(lines) else len(text)
    return text[:start] + text[end:]


def _indent(body: str) -> int:
    return len(body) - len(body.lstrip(" \t"))


def enclosing(lines: list[tuple[int, str, str]], i: int) -> tuple[str, list[str]]:
    """What line i sits under: the [section] header above it ("" if none) and the keys of the lines
    less indented above it, nearest first (YAML, JSON, TOML tables)."""
    keys: list[str] = []
    level = _indent(lines[i][1])
    for j in range(i - 1, -1, -1):
        body = lines[j][1]
        if not body.strip():
            continue
        if (head := _SECTION.fullmatch(body)) is not None:
            return head.group(1), keys
        if _indent(body) < level:
            level = _indent(body)
            if m := _KEY_LINE.match(body):
                keys.append(_key(m))
    return "", keys


def _owners(lines: list[tuple[int, str, str]], i: int) -> set[str]:
    """The names of what a line sits under, lower-case, a section's dotted parts apart, and the
    values of its list item's other lines (`name: Dover` beside `tags: [harbour, ferry]`)."""
    section, keys = enclosing(lines, i)
    out = {k.lower() for k in keys} | ({p for p in re.split(r"[.\s]+", section.lower())} if section else set())
    level = _indent(lines[i][1])
    start = i
    while start > 0 and _indent(lines[start][1]) >= level and not lines[start][1].lstrip().startswith("- ") \
            and lines[start - 1][1].strip():
        start -= 1
    if lines[start][1].lstrip().startswith("- "):
        end = i + 1
        while end < len(lines) and lines[end][1].strip() and _indent(lines[end][1]) >= level \
                and not lines[end][1].lstrip().startswith("- "):
            end += 1
        for _, body, _ in lines[start:end]:
            value = body.split(":", 1)[1] if ":" in body else ""
            out |= set(re.findall(r"[a-z0-9][\w\-]*", value.lower()))
    return out


def _opens_block(body: str) -> bool:
    return bool(re.search(r"(?:[:=]|[\[{(])\s*(?:#.*)?$", body.rstrip()))


def _key_line(body: str, value: str) -> bool:
    """The line is the entry `value` itself: "value": …, value = …, value: … (a scalar on one line)."""
    m = _KEY_LINE.match(body)
    return bool(m and _key(m) == value and not re.search(r"[\[{]\s*,?\s*$", body))


def _pick(lines: list[tuple[int, str, str]], hits: list[int], value: str, words: set[str]) -> list[int]:
    """Of several lines naming the entry: the one that is the entry's key, else the one under the keys
    the request names ("take organizer off addbook's roles")."""
    keyed = [i for i in hits if _key_line(lines[i][1], value)]
    if len(keyed) == 1:
        return keyed
    if not words:
        return hits
    scored = [(len(words & _owners(lines, i)), i) for i in hits]
    best = max(n for n, _ in scored)
    top = [i for n, i in scored if n == best]
    return top if best and len(top) == 1 else hits


def remove_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    value = intent.old or ""
    if not value or len(value) < 2:
        return []
    named = [p for p in sorted(files) if any(file_matches(p, n) for n in intent.files)]
    scope = named or sorted(files)
    pat = _bounded(value)
    words = set(re.findall(r"[\w$.\-]+", (intent.key or "").lower())) - {value.lower()}
    changed: list[tuple[str, str]] = []
    for path in scope:
        text = files[path]
        if isinstance(text, str) and path.lower().endswith((".md", ".markdown")) and \
                (cut := _md_section(text, value)) is not None:
            changed.append((path, cut))
            continue
        if not isinstance(text, str) or not pat.search(text) or path.endswith("lock"):
            continue
        prose = path.lower().endswith((".md", ".markdown", ".rst", ".txt"))
        fmt_json = path.endswith((".json", ".js", ".mjs", ".cjs", ".ts"))
        lines = split_lines(text)
        if path.endswith((".ini", ".cfg", ".toml", ".conf")) and (cut := _section(text, lines, value)) is not None:
            changed.append((path, cut))
            continue
        hits = [i for i, (_, body, _) in enumerate(lines) if pat.search(body)
                and not (prose and not re.match(r"\s*(?:[-*+]|\d+[.)])\s", body))]
        if len(hits) > 1 and not prose:
            hits = _pick(lines, hits, value, words)
        if len(hits) != 1:
            continue  # one entry to go; more is not "the" entry
        i = hits[0]
        body = lines[i][1]
        if prose and not re.match(r"\s*(?:[-*+]|\d+[.)])\s", body):
            continue  # in prose only a list item is an entry
        if not prose and _opens_block(body):
            continue  # "roles:" or "scripts": { heads a block: the line alone is not the entry
        if path.endswith(".json") and (cut := _drop_object(text, value)) is not None:
            changed.append((path, cut))  # an array's element named by its "name": the whole object
            continue
        if prose or _only_entry(body, value) or _key_line(body, value):
            after = _drop_line(text, lines, i, fmt_json)
        else:
            new_body = _drop_inline(body, value)
            if new_body is None:
                continue
            start = lines[i][0]
            after = text[:start] + new_body + text[start + len(body):]
        changed.append((path, after))
    out = []
    for path, after in changed:
        out.append(Edit(((path, after),), path, first_changed_line(files[path], after), "remove",
                        f"{path}: remove {short(value, 40)}", 0.8 + (0.1 if named else 0.0)))
    if len(changed) > 1:
        out.append(Edit(tuple(changed), changed[0][0], first_changed_line(files[changed[0][0]], changed[0][1]),
                        "remove", f"remove {short(value, 40)} from {len(changed)} files", 0.85))
    return out


_ID_KEYS = ("name", "id", "title", "key", "label", "slug")  # the keys that name an object in a list


def _drop_object(text: str, value: str) -> str | None:
    """A JSON file without the object of an array whose name (`"name": "Apivar"`) is `value`, brace
    to brace, with the comma before it dropped when it was the last; None when the value names no
    such object, or the result would not parse."""
    lines = split_lines(text)
    pat = re.compile(r'^\s*"(?:' + "|".join(_ID_KEYS) + r')"\s*:\s*"' + re.escape(value) + r'"\s*,?\s*$', re.I)
    hits = [i for i, (_, body, _) in enumerate(lines) if pat.match(body)]
    if len(hits) != 1:
        return None
    i = hits[0]
    inner = _indent(lines[i][1])
    j = i - 1
    while j >= 0 and (not lines[j][1].strip() or _indent(lines[j][1]) >= inner):
        j -= 1
    k = i + 1
    while k < len(lines) and (not lines[k][1].strip() or _indent(lines[k][1]) >= inner):
        k += 1
    if j < 0 or k >= len(lines) or lines[j][1].strip() != "{" or lines[k][1].strip() not in ("}", "},") \
            or _indent(lines[k][1]) != _indent(lines[j][1]):
        return None
    p = j - 1
    while p >= 0 and not lines[p][1].strip():
        p -= 1
    if p < 0 or not (lines[p][1].rstrip().endswith("[") or lines[p][1].strip() == "},"):
        return None  # not an element of an array
    start, (k_start, k_body, k_eol) = lines[j][0], lines[k]
    out = text[:start] + text[k_start + len(k_body) + len(k_eol):]
    if k_body.strip() == "}" and lines[p][1].strip() == "},":  # the last element went
        comma = lines[p][0] + lines[p][1].rstrip().rfind(",")
        out = out[:comma] + out[comma + 1:]
    try:
        json.loads(out)
    except ValueError:
        return None
    return out


def removed(edit: Edit, intent: Intent, before: dict[str, str]) -> bool:
    """The named entry is gone from every changed file, and nothing but it (and a comma) went."""
    pat = _bounded(intent.old or "")
    for path, after in edit.files:
        prev = before.get(path)
        if prev is None or len(after) >= len(prev):
            return False
        if path.endswith((".ini", ".cfg", ".toml", ".conf")) and _section(prev, split_lines(prev), intent.old or "") == after:
            continue  # the named section, header to the next one
        if path.lower().endswith((".md", ".markdown")) and _md_section(prev, intent.old or "") == after:
            continue  # the named section of a document, heading to the next one of its level
        if path.endswith(".json") and _drop_object(prev, intent.old or "") == after:
            continue  # the array element the value names, brace to brace
        prose = path.lower().endswith((".md", ".markdown", ".rst", ".txt"))
        if len(pat.findall(after)) >= len(pat.findall(prev)):
            return False
        if not prose and pat.search(after) and not _one_of_many(prev, after, intent):
            return False  # in prose the list item went (a sentence may still name it); elsewhere every mention
        gone = len(prev) - len(after)
        if gone > 200:
            return False
    return bool(edit.files)


def _one_of_many(prev: str, after: str, intent: Intent) -> bool:
    """One line went, and it was the entry: its key, or the one under the keys the request names."""
    a, b = prev.splitlines(keepends=True), after.splitlines(keepends=True)
    lines = split_lines(prev)
    value = intent.old or ""
    hits = [i for i, (_, body, _) in enumerate(lines) if _bounded(value).search(body)]
    if len(a) == len(b):  # one element went from one inline list: the one under the named owner
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        words = set(re.findall(r"[\w$.\-]+", (intent.key or "").lower())) - {value.lower()}
        return len(diff) == 1 and _drop_inline(lines[diff[0]][1], value) == b[diff[0]].rstrip("\r\n") \
            and _pick(lines, hits, value, words) == diff
    if len(a) - len(b) != 1:
        return False
    gone = [i for i in hits if b == a[:i] + a[i + 1:] or _comma_only(a[:i] + a[i + 1:], b)]
    words = set(re.findall(r"[\w$.\-]+", (intent.key or "").lower())) - {value.lower()}
    return len(gone) == 1 and _pick(lines, hits, value, words) == gone


def _comma_only(expected: list[str], got: list[str]) -> bool:
    """The same lines but for a trailing comma dropped from one (a JSON list's new last element)."""
    return len(expected) == len(got) and sum(x != y for x, y in zip(expected, got)) == 1 and all(
        x == y or x.rstrip().rstrip(",") == y.rstrip() for x, y in zip(expected, got))
