"""Literal text replacement ("replace 'foo' with 'bar' in x.md", "change http://old to https://new")."""

from __future__ import annotations

import re

from .base import Edit, Intent, file_matches, first_changed_line, short


def replace_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    old, new = intent.old or "", intent.new
    if not old or old == new:
        return []
    texts = {p: t for p, t in files.items() if isinstance(t, str)}
    named = [p for p in sorted(texts) if any(file_matches(p, n) for n in intent.files)]
    scope = named or sorted(texts)
    wordy = bool(re.match(r"\w", old[0]) and re.match(r"\w", old[-1]))
    pats = []
    if intent.key == "case" and wordy:  # "away mode, not holiday mode": Holiday mode → Away mode too
        pats.append((re.compile(r"(?<!\w)" + re.escape(old) + r"(?!\w)", re.I), 0.85, "any case"))
    elif wordy:
        pats.append((re.compile(r"(?<!\w)" + re.escape(old) + r"(?!\w)"), 0.85, "whole words"))
    pats.append((re.compile(re.escape(old)), 0.75 if wordy else 0.85, "every occurrence"))
    out: list[Edit] = []
    seen = set()
    for pat, prior, what in pats:
        changed = []
        for path in scope:
            after = pat.sub(lambda m: _cased(m.group(), new) if pat.flags & re.I else new, texts[path])
            if after != texts[path]:
                changed.append((path, after))
        if not changed or tuple(changed) in seen:
            continue
        seen.add(tuple(changed))
        p0 = changed[0][0]
        bonus = 0.1 if named else 0.0
        out.append(Edit(tuple(changed), p0, first_changed_line(texts[p0], changed[0][1]), "replace",
                        f"{short(', '.join(p for p, _ in changed), 50)}: {short(old, 30)} → {short(new, 30)} ({what})",
                        round(prior + bonus, 3)))
        if len(changed) > 1:
            for path, after in changed:
                out.append(Edit(((path, after),), path, first_changed_line(texts[path], after), "replace",
                                f"{path}: {short(old, 30)} → {short(new, 30)} ({what}, this file only)",
                                round(prior - 0.35, 3)))
    return out


def _cased(found: str, new: str) -> str:
    """`new` in the case `found` was written in: lower, UPPER, or a capital first letter."""
    if found.isupper() and len(found) > 1:
        return new.upper()
    if found[:1].isupper() and found[1:] == found[1:].lower():
        return new[:1].upper() + new[1:]
    if found == found.lower():
        return new.lower()
    return new
