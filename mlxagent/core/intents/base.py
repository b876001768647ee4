"""Shared value types and small text helpers for request-grounded edits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

_EOL = re.compile(r"\r\n|\r|\n")
# files that keep their history: a value changed elsewhere is not changed in them
HISTORY = re.compile(r"(?:^|/)(?:changelog|changes|history|news|releases?)(?:\.(?:md|markdown|rst|txt|adoc))?$|"
                     r"(?:^|/)(?:package-lock\.json|yarn\.lock|poetry\.lock|pnpm-lock\.yaml|cargo\.lock|uv\.lock|go\.sum)$|"
                     r"(?:^|/)node_modules/", re.I)


@dataclass(frozen=True)
class Intent:
    """One thing the user's request asks for.

    kind: "set" | "replace" | "rename" | "version" | "typo".
    old: the literal to go (None where the request does not name it).
    new: the literal to appear ("" where the request leaves it to the rules, e.g. a typo's fix).
    key: for "set" the key path; for "version" the part to bump ("major"/"minor"/"patch") when no
         number is given; for "rename" "all" when strings and comments should change too.
    files: files the request names, as written.
    basis: "" for what the phrase rules read in the request (extract.py); for a hypothesis from
           its literals alone (broad.py) the family that made it ("pair", "slot", "switch", …).
    """

    kind: str
    old: str | None
    new: str
    key: str | None = None
    files: tuple[str, ...] = ()
    basis: str = field(default="", compare=False)


@dataclass(frozen=True)
class Edit:
    files: tuple[tuple[str, str], ...]
    path: str
    line: int
    rule: str
    description: str
    prior: float = 0.0
    intent: Intent | None = field(default=None, compare=False, repr=False)  # the hypothesis it carries out


def union(first: list[Edit], second: list[Edit]) -> list[Edit]:
    """Both lists' edits, each once, in order: where both made the same edit (the same files), the
    first one stands with the higher of the two priors."""
    out = list(first)
    at = {e.files: i for i, e in enumerate(out)}
    for e in second:
        i = at.get(e.files)
        if i is None:
            at[e.files] = len(out)
            out.append(e)
        elif e.prior > out[i].prior:
            out[i] = replace(out[i], prior=e.prior)
    return out


def split_lines(text: str) -> list[tuple[int, str, str]]:
    """(start offset, content, line ending) for every line; the ending is "" on a last line without one."""
    out: list[tuple[int, str, str]] = []
    pos = 0
    for m in _EOL.finditer(text):
        out.append((pos, text[pos:m.start()], m.group()))
        pos = m.end()
    if pos < len(text):
        out.append((pos, text[pos:], ""))
    return out


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    head = text[:max(0, offset)]
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1


def first_changed_line(before: str, after: str) -> int:
    a = before.splitlines(True)
    b = after.splitlines(True)
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i + 1
    return min(len(a), len(b)) + 1 if len(a) != len(b) else 1


def line_text(text: str, offset: int) -> str:
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    ends = [i for i in (text.find("\n", offset), text.find("\r", offset)) if i >= 0]
    return text[start:min(ends) if ends else len(text)]


def splice(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Replace the (start, end, new) spans (non-overlapping) in text."""
    out, pos = [], 0
    for start, end, new in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def norm_name(name: str) -> str:
    """Key spelling that ignores case and the difference between _, - and spaces."""
    return re.sub(r"[\s_\-]+", "_", name.strip().strip("\"'`").lower())


def file_matches(path: str, named: str) -> bool:
    """Whether repo path `path` is the file the request calls `named` (by suffix or base name)."""
    p = path.replace("\\", "/").lower()
    n = named.replace("\\", "/").strip().lower() if named else ""
    while n.startswith("./"):
        n = n[2:]
    if not n:
        return False
    base = p.rsplit("/", 1)[-1]
    if "." not in n and "/" not in n and base.split(".", 1)[0] == n and "." in base:
        return True  # "the readme" is README.md
    return p == n or p.endswith("/" + n) or base == n.rsplit("/", 1)[-1] and "/" not in n


def scoped(files: dict[str, str], named: tuple[str, ...]) -> list[str]:
    """Repo paths the request names (sorted); [] when it names none or none match."""
    if not named:
        return []
    return sorted(p for p in files if any(file_matches(p, n) for n in named))


def short(text: str, width: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= width else text[:width - 1] + "…"


def is_text(text: object) -> bool:
    return isinstance(text, str) and "\x00" not in text[:4096]


STOP = set("""a an the of in on at to for from with by into onto as is are be been being should must needs need
it its it's this that these those our my your their his her and or not instead than rather please so then also
set change update make use using upgrade downgrade bump raise lower increase decrease point switch turn modify
configure move value setting option key field entry default currently now new old times time file""".split())


def tokens_of(text: str) -> set[str]:
    """Lower-case tokens of a context (whole dotted/hyphenated tokens and their parts, camelCase split)."""
    out: set[str] = set()
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text or "")
    for tok in re.findall(r"[A-Za-z0-9][\w.\-]*", text):
        tok = tok.lower().strip(".-")
        if tok:
            out.add(tok)
            out.update(p for p in re.split(r"[_\-.]+", tok) if p)
    return out


def word_hit(word: str, toks: set[str]) -> bool:
    """Whether a request word names one of the context tokens (equal, or a prefix either way of 3+ letters)."""
    w = word.lower()
    if w in toks:
        return True
    if len(w) > 4 and w.endswith("ies") and w[:-3] + "y" in toks:  # "lobbies" names "lobby"
        return True
    if len(w) < 3 or not w.isalpha():
        return False
    for t in toks:
        if len(t) >= 3 and t.isalpha() and (t.startswith(w) or w.startswith(t)) and min(len(t), len(w)) >= 3:
            if abs(len(t) - len(w)) <= max(4, len(w)):
                return True
    return False


def request_words(text: str) -> list[str]:
    """The content words of a request fragment, in order."""
    out: list[str] = []
    for w in re.findall(r"[A-Za-z0-9][\w.\-]*", re.sub(r"'s\b", "", text or "")):
        w = w.lower().strip(".-")
        if w and w not in STOP and w not in out:
            out.append(w)
    return out


def md_section(text: str, name: str, exact: bool = True) -> tuple[list[tuple[int, str, str]], int, int] | None:
    """(split_lines(text), first, end) of the one Markdown section whose heading is `name` (any
    case; with exact=False, whose heading holds it): its heading's line to the next heading of its
    level or above (end exclusive); None when no single heading fits."""
    lines = split_lines(text)
    heads = [(i, len(m.group(1)), m.group(2).strip().lower()) for i, (_, body, _) in enumerate(lines)
             if (m := re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", body))]
    want = name.strip().lower()
    mine = [(i, level) for i, level, title in heads if (title == want if exact else want in title)]
    if len(mine) != 1:
        return None
    i, level = mine[0]
    return lines, i, next((k for k, lv, _ in heads if k > i and lv <= level), len(lines))
