"""Change one literal where the request's words point: the named old literal (or, when none is
named, a literal of the same kind as the new one: number, version, date, URL, string) on the line
whose context (the line, its section header, its parent keys, the file's path) holds most of the
request's words. Only that literal's characters change."""

from __future__ import annotations

import re

from .base import Edit, Intent, file_matches, line_of, line_text, short, splice, split_lines, tokens_of, word_hit
from .phrases import shape

_SKIP = re.compile(r"(?:^|/)(?:package-lock\.json|yarn\.lock|poetry\.lock|pnpm-lock\.yaml|cargo\.lock|uv\.lock|"
                   r"pipfile\.lock|go\.sum)$", re.I)
_SHAPES = {
    "number": r"(?<![\w.:\-/])[+-]?\d+(?![\w]|[.:\-]\d)",
    "version": r"(?<![\w.\-])v?\d+(?:\.\d+)+(?:-[0-9A-Za-z.]+)?(?![\w]|\.\d)",
    "date": r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)",
    "url": r"[A-Za-z][\w+.\-]*://[^\s'\"`<>()\[\]{}]*[^\s'\"`<>()\[\]{}.,;:]",
    "quoted": r"\"((?:[^\"\\\n]|\\.)*)\"|'((?:[^'\\\n]|\\.)*)'",
}


def _spans(text: str, intent: Intent) -> list[tuple[int, int]]:
    old, new = intent.old, intent.new
    if old:
        wordy = re.match(r"\w", old[0]) and re.match(r"\w", old[-1])
        pat = r"(?<![\w.])" + re.escape(old) + r"(?![\w]|\.\d)" if wordy else re.escape(old)
        found = [(m.start(), m.end()) for m in re.finditer(pat, text)]
        if found or not re.fullmatch(r"[A-Za-z]{4,}", old):
            return found
        # "warning" for a file that says "warn": a word sharing a 4+ letter stem with the named one
        out = []
        for m in re.finditer(r"(?<![A-Za-z])[A-Za-z]{4,}(?![A-Za-z])", text):
            w = m.group().lower()
            if w != old.lower() and (old.lower().startswith(w) or w.startswith(old.lower())):
                out.append((m.start(), m.end()))
        return out
    kind = shape(new)
    if kind == "word" or kind == "other":
        kind = "quoted"
    pat = _SHAPES.get(kind)
    if kind == "version" and not re.search(r"\d-", new):
        pat = pat.replace(r"(?:-[0-9A-Za-z.]+)?", "")
    if not pat:
        return []
    out = []
    for m in re.finditer(pat, text):
        if kind == "quoted":
            g = 1 if m.group(1) is not None else 2
            out.append((m.start(g), m.end(g)))
        else:
            out.append((m.start(), m.end()))
    return out


def _context(text: str, lines: list[tuple[int, str, str]], offset: int) -> set[str]:
    """Tokens of the line at offset, its section header and its less-indented parents."""
    idx = 0
    for i, (start, _, _) in enumerate(lines):
        if start > offset:
            break
        idx = i
    line = lines[idx][1] if lines else ""
    parts = [line]
    indent = len(line) - len(line.lstrip())
    for j in range(idx - 1, -1, -1):
        prev = lines[j][1]
        if not prev.strip():
            continue
        if re.match(r"^\s*\[[^\]]+\]\s*$", prev):
            parts.append(prev)
            break
        ind = len(prev) - len(prev.lstrip())
        if ind < indent:
            parts.append(prev)
            indent = ind
        if indent == 0 and not re.match(r"^\s*(?:[\w\-]+\s*=|#)", line):
            break
    return tokens_of(" ".join(parts))


def change_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    new = intent.new
    if not new or intent.old == new:
        return []
    words = [w for w in (intent.key or "").split() if w]
    named = [p for p in sorted(files) if any(file_matches(p, n) for n in intent.files)]
    scope = named or [p for p in sorted(files) if not _SKIP.search(p)]
    quoted_new = intent.old is None and shape(new) in ("word", "other")
    found = []
    for path in scope:
        text = files.get(path)
        if not isinstance(text, str) or (intent.old and intent.old not in text and len(text) > 200000):
            continue
        spans = _spans(text, intent)
        if not spans or len(spans) > 400:
            continue
        lines = split_lines(text)
        ptoks = tokens_of(path.replace("/", " "))
        for s, e in spans:
            if text[s:e] == new:
                continue
            ctx = _context(text, lines, s)
            hits = sum(1 for w in words if word_hit(w, ctx))
            phits = sum(1 for w in words if not word_hit(w, ctx) and word_hit(w, ptoks))
            found.append((path, s, e, hits, phits))
    if intent.old is None:
        need = 2 if quoted_new else 1
        found = [f for f in found if f[3] >= need]
    out: list[Edit] = []
    total = len(found)
    ranked = sorted(found, key=lambda f: (-(f[3] + 0.5 * f[4]), f[0], f[1]))
    for rank, (path, s, e, hits, phits) in enumerate(ranked[:6]):
        text = files[path]
        after = text[:s] + new + text[e:]
        prior = (0.6 if intent.old else 0.5) + 0.07 * min(hits, 3) + 0.03 * min(phits, 2)
        prior += 0.15 if named else 0.0
        if not named and re.search(r"\.(?:md|markdown|rst|txt|adoc)$", path, re.I):
            prior -= 0.03  # a value lives in configuration or code before prose
        prior += 0.05 if total == 1 else 0.0
        prior -= 0.002 * rank
        out.append(Edit(((path, after),), path, line_of(text, s), "change",
                        f"{path}: {short(line_text(text, s))} → {short(line_text(after, s))}", round(min(prior, 0.9), 3)))
    if intent.old and total > 1:
        by_path: dict[str, list[tuple[int, int]]] = {}
        for path, s, e, _, _ in found:
            by_path.setdefault(path, []).append((s, e))
        for path, spans in by_path.items():
            if len(spans) > 1:
                text = files[path]
                after = splice(text, [(s, e, new) for s, e in spans])
                out.append(Edit(((path, after),), path, line_of(text, spans[0][0]), "change",
                                f"{path}: {short(intent.old, 30)} → {short(new, 30)} (every occurrence)",
                                round(0.5 + (0.1 if named else 0.0), 3)))
    return out
