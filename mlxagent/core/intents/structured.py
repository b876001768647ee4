"""Set one key's value in INI/TOML/YAML/JSON (and plain `KEY = value` files) by editing only the
value's characters, so everything else stays byte for byte."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .base import (Edit, Intent, file_matches, line_of, line_text, norm_name, request_words, short, split_lines,
                   tokens_of, word_hit)


@dataclass
class Entry:
    path: list[str]      # normalised key path (sections/tables/parents + key)
    start: int           # value span in the file text
    end: int
    raw: str
    fmt: str


def fmt_of(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1].lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext in ("json", "json5") or name in (".babelrc", ".eslintrc", ".prettierrc"):
        return "json"
    if ext == "toml":
        return "toml"
    if ext in ("yaml", "yml"):
        return "yaml"
    if ext in ("ini", "cfg", "conf", "properties", "env", "editorconfig") or name.startswith(".env") \
            or name in (".flake8", ".pylintrc", ".coveragerc", "pylintrc", ".npmrc"):
        return "ini"
    if ext in ("py", "js", "ts", "mjs", "cjs", "rb", "sh", "go", "rs", "php", "txt", "mk") or name == "makefile":
        return "assign"
    return None


def _strip_comment(s: str, marks: str) -> int:
    """Length of s before an inline comment (a mark after whitespace, outside quotes)."""
    q = None
    for i, c in enumerate(s):
        if q:
            if c == "\\" and q == '"':
                continue
            if c == q and (i == 0 or s[i - 1] != "\\"):
                q = None
        elif c in "\"'":
            q = c
        elif c in marks and (i == 0 or s[i - 1] in " \t"):
            return len(s[:i].rstrip())
    return len(s.rstrip())


def _quoted_end(s: str, i: int) -> int:
    """Index just past the quoted string that starts at s[i]; -1 if it never closes."""
    q = s[i]
    j = i + 1
    while j < len(s):
        if s[j] == "\\" and q == '"':
            j += 2
            continue
        if s[j] == q:
            return j + 1
        j += 1
    return -1


def _scalar_span(s: str, marks: str) -> tuple[int, int] | None:
    """Span of the scalar value at the start of s (quoted string or bare token up to a comment)."""
    if not s:
        return None
    if s[0] in "\"'":
        if s[:3] in ('"""', "'''"):
            return None
        end = _quoted_end(s, 0)
        return (0, end) if end > 0 else None
    if s[0] in "[{|>&*":
        return None
    end = _strip_comment(s, marks)
    return (0, end) if end > 0 else None


def scan_ini(text: str) -> list[Entry]:
    out, section = [], []
    for start, line, _ in split_lines(text):
        m = re.match(r"^\s*\[([^\]]+)\]\s*(?:[#;].*)?$", line)
        if m:
            section = [norm_name(m.group(1))]
            continue
        m = re.match(r"^(\s*(?:export\s+)?)([^\s=:#;\[][^=:]*?)(\s*[=:]\s*)(.*)$", line)
        if not m or line.lstrip().startswith(("#", ";")):
            continue
        rest = m.group(4)
        off = start + m.end(3)
        span = _scalar_span(rest, "#;") if rest else (0, 0)
        if span is None:
            continue
        out.append(Entry(section + [norm_name(m.group(2))], off + span[0], off + span[1],
                         rest[span[0]:span[1]], "ini"))
    return out


def _toml_key(k: str) -> list[str]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[^.\s]+', k)
    return [norm_name(p.strip("\"'")) for p in parts]


def scan_toml(text: str) -> list[Entry]:
    out, table = [], []
    for start, line, _ in split_lines(text):
        m = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$", line)
        if m:
            table = _toml_key(m.group(1))
            continue
        m = re.match(r"^(\s*)((?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)"
                     r"(\s*=\s*)(.*)$", line)
        if not m:
            continue
        rest = m.group(4)
        span = _scalar_span(rest, "#")
        if span is None:
            continue
        raw = rest[span[0]:span[1]]
        if raw[:1] not in "\"'":
            raw2 = re.match(r"[^\s,#\]}]+(?:[ T][0-9:.+\-Z]+)?", raw)
            raw = raw2.group(0) if raw2 else raw
        off = start + m.end(3)
        out.append(Entry(table + _toml_key(m.group(2)), off + span[0], off + span[0] + len(raw), raw, "toml"))
    return out


def scan_yaml(text: str) -> list[Entry]:
    out: list[Entry] = []
    stack: list[tuple[int, str]] = []
    block_indent = -1
    for start, line, _ in split_lines(text):
        if not line.strip() or line.lstrip().startswith("#") or line.strip() in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if block_indent >= 0:
            if indent > block_indent:
                continue
            block_indent = -1
        m = re.match(r"^(\s*(?:-\s+)*)(\"[^\"]*\"|'[^']*'|[^\s#\"'\-][^:#]*?|-[^\s:#][^:#]*?)(\s*:)(?:(\s+)(.*))?$", line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = norm_name(m.group(2).strip("\"'"))
        rest = m.group(5) or ""
        if not rest.strip() or rest.lstrip().startswith("#"):
            stack.append((indent, key))
            continue
        if rest[:1] in "|>":
            block_indent = indent
            continue
        span = _scalar_span(rest, "#")
        if span is None:
            continue
        off = start + m.end(4)
        out.append(Entry([k for _, k in stack] + [key], off + span[0], off + span[1], rest[span[0]:span[1]], "yaml"))
    return out


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|[{}\[\]:,]|//[^\n]*|'
                         r'/\*.*?\*/|\s+|.', re.S)


def scan_json(text: str) -> list[Entry]:
    out: list[Entry] = []
    stack: list[str | None] = []
    pending: str | None = None
    expect_value = False
    toks = [(m.group(), m.start()) for m in _JSON_TOKEN.finditer(text)]
    toks = [t for t in toks if not t[0].isspace() and not t[0].startswith(("//", "/*"))]
    for i, (tok, pos) in enumerate(toks):
        if tok in "{[":
            stack.append(pending if expect_value else None)
            pending, expect_value = None, False
        elif tok in "}]":
            if stack:
                stack.pop()
            pending, expect_value = None, False
        elif tok == ":":
            expect_value = pending is not None
        elif tok == ",":
            pending, expect_value = None, False
        elif expect_value:
            path = [k for k in stack if k is not None] + [pending]
            out.append(Entry(path, pos, pos + len(tok), tok, "json"))
            pending, expect_value = None, False
        elif tok.startswith('"') and i + 1 < len(toks) and toks[i + 1][0] == ":":
            try:
                pending = norm_name(json.loads(tok))
            except ValueError:
                pending = norm_name(tok.strip('"'))
    return out


_PROPERTY = re.compile(r"^(\s*([\"']?)([A-Za-z_$][\w$\-]*)\2\s*:\s*)(.*)$")
_OPENS = re.compile(r"^\s*(?:(?:export\s+)?(?:const|let|var)\s+)?([\"']?)([A-Za-z_$][\w$\-]*)\1\s*[:=]\s*"
                    r"(?:[\w$.]+\()?\s*([{\[])\s*$")
_PLAIN = re.compile(r"(?:-?\d[\d_]*(?:\.\d+)?|true|false|True|False|null|None|undefined)")


def _properties(text: str) -> list[Entry]:
    """`key: value,` lines of object and dict literals (JavaScript, TypeScript, Python), with the keys
    of the literals they sit in (`features: {` ... `crashReporting: true,` -> features.crashreporting);
    a value is quoted, a number or a constant."""
    out: list[Entry] = []
    stack: list[str] = []
    for start, line, _ in split_lines(text):
        body = line.strip()
        if body.startswith(("//", "#", "*", "/*")):
            continue
        opened = _OPENS.match(line)
        if opened:
            stack.append(norm_name(opened.group(2)))
            continue
        if re.search(r"[{\[(]\s*$", body):
            stack.append("")  # a literal or call opened by a line of another shape
            continue
        m = _PROPERTY.match(line)
        if m and stack:
            rest = m.group(4)
            span = _scalar_span(rest, "/#")
            if span is not None:
                raw = rest[span[0]:span[1]].rstrip().rstrip(";,").rstrip()
                if raw[:1] in "\"'" or _PLAIN.fullmatch(raw):
                    off = start + m.end(1) + span[0]
                    out.append(Entry([k for k in stack if k] + [norm_name(m.group(3))], off, off + len(raw), raw,
                                     "assign"))
        for _ in range(min(len(re.match(r"[}\])]*", body).group()), len(stack))):
            stack.pop()
    return out


def scan_assign(text: str) -> list[Entry]:
    out = _properties(text)
    for start, line, _ in split_lines(text):
        m = re.match(r"^(\s*(?:export\s+|const\s+|let\s+|var\s+|final\s+|static\s+)*)([A-Za-z_][\w.]*)"
                     r"(\s*(?::\s*[\w\[\], .|]+)?\s*:?=\s*)(.*)$", line)
        if not m or line.lstrip().startswith(("#", "//")):
            continue
        rest = m.group(4)
        span = _scalar_span(rest, "#/")
        if span is None:
            continue
        raw = rest[span[0]:span[1]].rstrip(";,")
        if raw[:1] not in "\"'" and not re.fullmatch(r"-?[\w.]+", raw):
            continue
        off = start + m.end(3)
        out.append(Entry([norm_name(m.group(2))], off + span[0], off + span[0] + len(raw), raw, "assign"))
    return out


SCANNERS = {"ini": scan_ini, "toml": scan_toml, "yaml": scan_yaml, "json": scan_json, "assign": scan_assign}

_BOOL_T = ("true", "yes", "on", "1", "enabled", "enable")
_BOOL_F = ("false", "no", "off", "0", "disabled", "disable")
_NUM = re.compile(r"^[+-]?(?:\d[\d_]*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_VERSIONISH = re.compile(r"^[~^<>=!]*v?\d+(?:\.\d+)+(?:[-+.][0-9A-Za-z.\-]+)?$")


def _bool_of(s: str) -> bool | None:
    low = s.strip().lower()
    return True if low in _BOOL_T else False if low in _BOOL_F else None


def render(fmt: str, raw: str, new: str, quoted: bool = False) -> str:
    """The new value's text in the old value's style (type, quoting, boolean spelling)."""
    q = raw[:1] if raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) >= 2 else ""
    if new[:1] in "\"'" and new[-1:] == new[:1] and len(new) >= 2:
        new, quoted = new[1:-1], True
    if q:
        if fmt == "json" or q == '"' and fmt in ("toml", "yaml"):
            return json.dumps(new, ensure_ascii=False)
        if q == "'" and "'" in new:
            return json.dumps(new, ensure_ascii=False) if fmt != "assign" else '"' + new.replace('"', '\\"') + '"'
        return q + new + q
    if not quoted and re.fullmatch(r"[A-Za-z]{2,}", raw) and re.fullmatch(r"[A-Za-z]{2,}", new) \
            and _bool_of(raw) is None and _bool_of(new) is None and (raw.isupper() or raw.islower()):
        return new.upper() if raw.isupper() else new.lower()  # a level or a mode in the file's own case: WARNING
    oldb, newb = _bool_of(raw), _bool_of(new)
    if raw.lower() in _BOOL_T + _BOOL_F and not raw.isdigit() and newb is not None and not (new.isdigit() or quoted):
        words = {"true": ("true", "false"), "yes": ("yes", "no"), "on": ("on", "off"), "enabled": ("enabled", "disabled"),
                 "enable": ("enable", "disable")}
        base = next((pair for k, pair in words.items() if raw.lower() in pair), ("true", "false"))
        word = base[0] if newb else base[1]
        if fmt == "json" or fmt == "toml":
            word = "true" if newb else "false"
        if raw.isupper():
            return word.upper()
        return word.capitalize() if raw[:1].isupper() else word
    if fmt in ("json", "toml"):
        if _NUM.match(new) and not quoted or new in ("true", "false") or fmt == "json" and new == "null":
            return new
        if fmt == "toml" and newb is not None and not quoted and oldb is not None:
            return "true" if newb else "false"
        return json.dumps(new, ensure_ascii=False)
    if fmt == "assign" and not _NUM.match(new) and _bool_of(new) is None and raw not in ("None", "null", "nil") \
            and not re.fullmatch(r"[A-Z_][A-Z0-9_.]*", new):
        return json.dumps(new, ensure_ascii=False)
    if fmt == "yaml" and (re.search(r":\s|\s#|^[\[\]{}&*!|>%@`,?\-]", new) or quoted and _bool_of(new) is not None):
        return json.dumps(new, ensure_ascii=False)
    return new


def key_match(entry_path: list[str], want: list[str]) -> int:
    """0 when no match; higher for a closer match of the requested key path to the entry's path."""
    if not want or not entry_path:
        return 0
    if entry_path[-len(want):] == want:
        return 3 if len(entry_path) == len(want) else 2
    # a dotted request may be written as a single key ("server.port" = key "server.port" in INI)
    if norm_name(".".join(want)) == entry_path[-1] or "_".join(want) == entry_path[-1]:
        return 2
    joined = ".".join(entry_path)
    if joined.endswith(".".join(want)):
        return 2
    return 0


def fuzzy_match(entry_path: list[str], words: list[str], filename: str = "") -> float:
    """Key named by loose words ("the database pool max", "level of the datapipe logger"): 1 when every
    word names a part of the entry's path and one names its last key, 0.5 when most do (the rest may
    name the file), else 0."""
    if len(words) < 2 or not entry_path:
        return 0.0
    words = [norm_name(w) for w in words]
    last = tokens_of(entry_path[-1])
    if not any(word_hit(w, last) for w in words):
        return 0.0
    toks = tokens_of(" ".join(entry_path))
    hits = [w for w in words if word_hit(w, toks)]
    if len(hits) == len(words):
        return 1.0
    ftoks = tokens_of(filename.replace("/", " "))
    more = [w for w in words if w not in hits and word_hit(w, ftoks)]
    if len(hits) >= 2 and len(hits) + len(more) == len(words):
        return 0.9
    if len(hits) + len(more) >= 2 and 2 * (len(hits) + len(more)) > len(words):
        return 0.5
    return 0.0


def want_path(key: str) -> list[str]:
    return [norm_name(p) for p in re.split(r"\s*\.\s*|\s*/\s*|\s*>\s*", key.strip()) if p.strip()]


def set_candidates(files: dict[str, str], intent: Intent, quoted: bool = False) -> list[Edit]:
    if not intent.key:
        return []
    want = want_path(intent.key)
    named = [p for p in files if any(file_matches(p, n) for n in intent.files)]
    out: list[Edit] = []
    for path in sorted(files):
        text = files[path]
        fmt = fmt_of(path)
        if fmt is None or not isinstance(text, str):
            continue
        if intent.files and path not in named and named:
            in_named = False
        else:
            in_named = bool(intent.files) and path in named
        try:
            entries = SCANNERS[fmt](text)
        except Exception:  # noqa: BLE001
            continue
        words = request_words(intent.key) if " " in intent.key.strip() else []
        for e in entries:
            score = key_match(e.path, want) or (fuzzy_match(e.path, words, path) if words else 0)
            if not score:
                continue
            if fmt == "assign" and e.path[-1] != want[-1]:
                continue
            newraw = render(fmt, e.raw, intent.new, quoted)
            if newraw == e.raw:
                continue
            bare = e.raw[1:-1] if e.raw[:1] in "\"'" and len(e.raw) >= 2 else e.raw
            prior = 0.5 + 0.1 * score
            if in_named:
                prior += 0.3
            elif named:
                prior -= 0.35
            if fmt == "assign":
                prior -= 0.15
            if intent.old is not None:
                prior += 0.1 if bare.lower() == intent.old.strip("\"'").lower() else -0.3
            if (_NUM.match(intent.new) or _VERSIONISH.match(intent.new)) and re.search(r"[:/(\s]", bare):
                continue  # a number or version never replaces a path, command or entry point
            if _NUM.match(intent.new) and not _NUM.match(bare) and bare and fmt != "yaml":
                prior -= 0.1
            after = text[:e.start] + newraw + text[e.end:]
            before_line = line_text(text, e.start)
            after_line = line_text(after, e.start)
            rule = "set-" + fmt if fmt != "assign" else "set-assign"
            out.append(Edit(((path, after),), path, line_of(text, e.start), rule,
                            f"{path}: {short(before_line)} → {short(after_line)}", round(prior, 3)))
    return out
