"""Read value changes stated without "set … to" wording: "X instead of Y", "X, not Y", "from Y to X",
"… should be X", "use node 20", "point the client at https://…". They become "change" intents: the
literal to go (when named), the literal to appear, and the request's other words (to find the place)."""

from __future__ import annotations

import re

from .base import STOP, Intent, request_words

_ARTICLES = {"a", "an", "the", "its", "their", "our", "my", "your"}
_TOKEN = re.compile(r"\x00\d+\x00|[A-Za-z][\w+.\-]*://[^\s'\"`<>()\[\]{}]+|[@\w][\w.\-/@:+~^<>=]*|[<>=~^]=?\s*\d[\w.]*")
_CUE = re.compile(r"^(?:set|change|update|make|use|switch|upgrade|downgrade|bump|raise|lower|increase|decrease|"
                  r"point|move|pin|configure|reduce|let|have|modify|adjust|edit)\b|\b(?:should|must|needs?\s+to|"
                  r"has\s+to|have\s+to|ought\s+to)\s+\w+", re.I)
_QUESTION = re.compile(r"^(?:why|what|how|where|when|which|who|does|do|did|is|are|was|were|can|could|would|will|"
                       r"explain|show|tell|describe|list|find|check|test|add|remove|delete|write|create)\b", re.I)
_MARKERS = {"to", "at", "be", "use", "=", "into", "as", "is"}


def shape(value: str, quoted: bool = False) -> str:
    """A literal's kind: quoted, url, date, version, number or word."""
    if quoted:
        return "quoted"
    if re.fullmatch(r"[A-Za-z][\w+.\-]*://\S+", value):
        return "url"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return "date"
    if re.fullmatch(r"[+-]?\d+", value):
        return "number"
    if re.fullmatch(r"v?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.\-]+)?", value):
        return "version"
    if re.fullmatch(r"[A-Za-z][\w\-]*", value):
        return "word"
    return "other"


def _compatible(a: str, b: str) -> bool:
    num = {"number", "version"}
    return a == b or a in num and b in num


def _tokens(clause: str, lits) -> list[tuple[str, str, bool]]:
    """(text as written, literal value, quoted) for each token of the clause."""
    out = []
    for m in _TOKEN.finditer(clause):
        raw = m.group()
        if raw.startswith("\x00"):
            value, quoted = lits.value(raw)
        else:
            raw = raw.rstrip(".,;:!?)")
            value, quoted = raw, False
        if raw:
            out.append((raw.lower(), value, quoted))
    return out


def _valueish(tok: tuple[str, str, bool]) -> bool:
    return tok[2] or shape(tok[1]) in ("url", "date", "number", "version", "other")


def _before(toks: list, i: int, like: tuple[str, str, bool]) -> int | None:
    """Index of the nearest token before i whose shape fits `like` (articles skipped)."""
    want = shape(like[1], like[2])
    for j in range(i - 1, -1, -1):
        t = toks[j]
        if t[0] in _ARTICLES or t[0] in ("instead", "of", "rather", "than", "not", "but", "and"):
            continue
        s = shape(t[1], t[2])
        if _compatible(s, want) or want == "word" and s == "quoted" or want == "quoted":
            if want == "word" and t[0] in ("be", "is", "should", "make", "use"):
                return None
            return j
    return None


def _after(toks: list, i: int) -> int | None:
    for j in range(i, len(toks)):
        if toks[j][0] not in _ARTICLES:
            return j
    return None


def _make(toks: list, old_i: int | None, new_i: int, files: tuple[str, ...]) -> list[Intent]:
    skip = {new_i} | ({old_i} if old_i is not None else set())
    words = request_words(" ".join(t[1] for k, t in enumerate(toks) if k not in skip and not t[2]))
    words = [w for w in words if w not in ("instead", "rather", "than", "not", "but", "from")]
    old = toks[old_i][1] if old_i is not None else None
    new = toks[new_i][1]
    if not new or old == new:
        return []
    out = [Intent("change", old, new, key=" ".join(words), files=files)]
    prev = toks[new_i - 1] if new_i > 0 else None
    if prev is not None and not prev[2] and not toks[new_i][2] and shape(new) == "word" and shape(prev[1]) == "word" \
            and prev[0] not in _ARTICLES and prev[0] not in STOP and prev[1] != old:
        # "go to the beta track, not internal": the value may be the word before its key's name
        out.append(Intent("change", old, prev[1], key=" ".join(w for w in words if w != prev[0]), files=files))
    return out


def change_intents(clause: str, lits, files: tuple[str, ...]) -> list[Intent]:
    """Change intents a clause states, or []."""
    if not isinstance(clause, str) or _QUESTION.match(clause):
        return []
    cue = bool(_CUE.search(clause))
    if not cue and not re.search(r"\binstead\s+of\b|\brather\s+than\b|,\s*(?:but\s+)?not\b", clause, re.I):
        return []
    toks = _tokens(clause, lits)
    low = [t[0] for t in toks]
    for k in range(len(toks) - 1):
        pair = (low[k], low[k + 1])
        if pair in (("instead", "of"), ("rather", "than")):
            o = _after(toks, k + 2)
            if o is not None:
                n = _before(toks, k, toks[o])
                if n is not None:
                    return _make(toks, o, n, files)
    for k, w in enumerate(low):
        if w == "not" and k > 0 and (clause.find(",") >= 0 or low[k - 1] in ("but", "and")):
            o = _after(toks, k + 1)
            if o is not None and (_valueish(toks[o]) or cue and shape(toks[o][1]) == "word"):
                n = _before(toks, k, toks[o])
                if n is not None:
                    return _make(toks, o, n, files)
    for k, w in enumerate(low):
        if w == "from" and k + 3 <= len(toks) - 1 + 1 and k + 2 < len(toks) and low[k + 2] in ("to", "->", "→"):
            if _valueish(toks[k + 1]) and k + 3 < len(toks) and _valueish(toks[k + 3]):
                return _make(toks, k + 1, k + 3, files)
    values = [k for k, t in enumerate(toks) if _valueish(t)]
    if not values or not cue:
        return []
    marked = [k for k in values if k > 0 and (low[k - 1] in _MARKERS or k > 1 and low[k - 2] in _MARKERS)]
    pick = marked[-1] if marked else (values[0] if len(values) == 1 else None)
    if pick is None:
        return []
    return _make(toks, None, pick, files)
