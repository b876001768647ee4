"""Add an entry the request writes out in full: a setting line into a section ("under
[ssh_connection], add ssh_args = -o ControlMaster=auto after the pipelining line", "add
max_retries = 5 to the [worker] section of settings.ini") or a bullet to a Markdown list ("add a
feature bullet to the store listing, at the end of the Features list: "Works in Chrome and Edge"").

The request gives the new text, so it is written as given, in the style of its neighbours (`k = v`
or `k=v`, TOML strings quoted like theirs, the list's own bullet), after the line the request
names or at the end of the section or list. Everything else stays byte for byte. Where the request
does not say which section or list, nothing is made: the model is left to it.
"""

from __future__ import annotations

import re

from .base import Edit, Intent, file_matches, first_changed_line, md_section, short, split_lines
from .remove import _SECTION as _SECTION_HEAD

_SETTING = re.compile(r"\b(?:add|append|insert|put|include|set\s+up)\s+(?:a\s+|an\s+|the\s+)?(?:new\s+)?"
                      r"(?:(?:setting|option|key|entry|line)\s+)?`?(?P<key>[A-Za-z_][\w.\-]*)\s*(?P<sep>=|:)\s*"
                      r"(?P<value>.+?)`?(?=\s+(?:after|below|under|to|in|into|at)\b|[.;]?\s*$|,\s)", re.I)
_SECTION = re.compile(r"(?:under|in|to|into)\s+(?:the\s+)?\[(?P<sec>[^\]\n]+)\](?:\s+section)?|"
                      r"(?:under|in|to|into)\s+(?:the\s+)?(?P<sec2>[\w.\-]+)\s+section\b", re.I)
_AFTER = re.compile(r"\b(?:after|below|under)\s+(?:the\s+)?`?(?P<after>[A-Za-z_][\w.\-]*)`?\s+"
                    r"(?:line|setting|option|key|entry)\b", re.I)
_BULLET = re.compile(r"\badd\s+(?:a|an|one|another)?\s*(?:new\s+)?(?:[\w\-]+\s+)?(?:bullet|item|point|line|entry)\b"
                     r".*?\b(?:to|under|in|of)\s+(?:the\s+)?(?P<list>[\w\s'\-]{1,40}?)\s+(?:list|section)\b", re.I)
_QUOTED_ITEM = re.compile(r"\badd\s+[\"“](?P<t>[^\"”\n]+)[\"”]\s+(?:as\s+(?:a\s+|an\s+)?(?:new\s+)?(?:bullet|item|point|"
                          r"entry)\s+)?(?:to|in|under|at\s+the\s+end\s+of)\s+(?:the\s+)?(?P<list>[\w\s'\-]{1,40}?)\s+"
                          r"(?:list|section)\b", re.I)
_TEXT = re.compile(r"[\"“](?P<t>[^\"”\n]+)[\"”]")
_INI_LIKE = (".ini", ".cfg", ".conf", ".toml", ".properties", ".editorconfig")


def asks_insert(request: str) -> Intent | None:
    """An "insert" intent (new: the line or bullet text; key: "section:<name>" or "list:<name>";
    old: the key to put it after), or None."""
    text = request or ""
    m = _SETTING.search(text)
    if m and not _TEXT.match(m.group("value")):
        sec = _SECTION.search(text)
        if sec is None:
            return None
        after = _AFTER.search(text)
        return Intent("insert", after.group("after") if after else None,
                      f"{m.group('key')}{m.group('sep')}{m.group('value').strip().rstrip('.')}",
                      key="section:" + (sec.group("sec") or sec.group("sec2")).strip(), basis="insert")
    b = _BULLET.search(text)
    said = _TEXT.search(text)
    if b and said:
        return Intent("insert", None, said.group("t"), key="list:" + b.group("list").strip(), basis="insert")
    q = _QUOTED_ITEM.search(text)
    if q:  # add "Dark mode" to the Features list
        return Intent("insert", None, q.group("t"), key="list:" + q.group("list").strip(), basis="insert")
    return None


def _ini_sections(lines) -> list[tuple[str, int, int]]:
    """(name, header line, end) of each [section] (end: the line after its last non-blank line)."""
    heads = [(i, m.group(1).strip()) for i, (_, body, _) in enumerate(lines) if (m := _SECTION_HEAD.fullmatch(body))]
    out = []
    for n, (i, name) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        while end - 1 > i and not lines[end - 1][1].strip():
            end -= 1
        out.append((name, i, end))
    return out


def _setting_line(path: str, lines, first: int, end: int, key: str, value: str) -> str:
    """`key = value` written like the section's other settings."""
    sep = " = "
    for _, body, _ in lines[first + 1:end]:
        if m := re.match(r"\s*[\w.\-]+(\s*[=:]\s*)", body):
            sep = m.group(1)
            break
    if path.endswith(".toml") and not re.fullmatch(r"-?\d[\d_.]*|true|false|[\[{\"'].*", value):
        quote = "'" if any(re.search(r"=\s*'", b) for _, b, _ in lines) and not any(
            re.search(r'=\s*"', b) for _, b, _ in lines) else '"'
        value = f"{quote}{value}{quote}"
    return f"{key}{sep}{value}"


def _insert_setting(path: str, text: str, intent: Intent) -> str | None:
    parts = re.match(r"(?P<k>[^=:]+?)\s*[=:]\s*(?P<v>.+)$", intent.new)
    if not parts:
        return None
    key, value = parts.group("k").strip(), parts.group("v").strip()
    want = intent.key.split(":", 1)[1].strip().lower()
    lines = split_lines(text)
    mine = [s for s in _ini_sections(lines) if s[0].lower() == want]
    if len(mine) != 1:
        return None
    _, first, end = mine[0]
    if any(re.match(r"\s*" + re.escape(key) + r"\s*[=:]", body) for _, body, _ in lines[first + 1:end]):
        return None  # the key is there already: a change, not an addition
    at = end - 1
    if intent.old:
        named = [i for i in range(first + 1, end) if re.match(r"\s*" + re.escape(intent.old) + r"\s*[=:]",
                                                               lines[i][1])]
        if len(named) != 1:
            return None
        at = named[0]
    start, body, eol = lines[at]
    if not eol:
        return None  # the section ends the file without a newline: leave it to the model
    new_line = _setting_line(path, lines, first, end, key, value) + eol
    pos = start + len(body) + len(eol)
    return text[:pos] + new_line + text[pos:]


def _insert_bullet(text: str, intent: Intent) -> str | None:
    found = md_section(text, intent.key.split(":", 1)[1], exact=False)
    if found is None:
        return None
    lines, i, j = found
    items = [k for k in range(i + 1, j) if re.match(r"\s*[-*+]\s", lines[k][1])]
    if not items or any(intent.new in lines[k][1] for k in items):
        return None
    last = items[-1]
    start, body, eol = lines[last]
    if not eol:
        return None
    marker = re.match(r"\s*[-*+]\s+", body).group()
    pos = start + len(body) + len(eol)
    return text[:pos] + marker + intent.new + eol + text[pos:]


def insert_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    if not intent.new or not intent.key:
        return []
    scope = [p for p in sorted(files) if any(file_matches(p, n) for n in intent.files)] or sorted(files)
    out = []
    for path in scope:
        text = files[path]
        if not isinstance(text, str):
            continue
        if intent.key.startswith("section:") and path.endswith(_INI_LIKE):
            after = _insert_setting(path, text, intent)
        elif intent.key.startswith("list:") and path.lower().endswith((".md", ".markdown")):
            after = _insert_bullet(text, intent)
        else:
            continue
        if after is not None and after != text:
            out.append(Edit(((path, after),), path, first_changed_line(text, after), "insert",
                            f"{path}: add {short(intent.new, 50)}", 0.8))
    return out if len(out) == 1 else []  # one place the request can mean, or none


def inserted(edit: Edit, intent: Intent, before: dict[str, str]) -> bool:
    """One line was added, in one file, and it holds the new text's key and value (a setting) or
    the text itself (a bullet)."""
    if len(edit.files) != 1:
        return False
    path, after = edit.files[0]
    prev = before.get(path)
    if prev is None:
        return False
    a, b = prev.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(b) != len(a) + 1:
        return False
    k = next((n for n in range(len(a)) if a[n] != b[n]), len(a))
    if b[:k] + b[k + 1:] != a:
        return False
    line = b[k]
    if intent.key.startswith("list:"):
        return intent.new in line
    parts = re.match(r"(?P<k>[^=:]+?)\s*[=:]\s*(?P<v>.+)$", intent.new)
    return bool(parts) and parts.group("k").strip() in line and parts.group("v").strip() in line
