"""Does an edit do what the request's literals say, and nothing else?"""

from __future__ import annotations

import difflib
import re

from .base import Edit, Intent
from .rename import code_spans
from .versions import target

_FAMILY = {"set": "set", "rename": "rename", "typo": "typo", "version": "version", "replace": "replace", "change": "change",
           "remove": "remove", "append": "append", "product": "product",
           "insert": "insert"}


def _family(rule: str) -> str:
    return _FAMILY.get(rule.split("-", 1)[0], "")


def _changed_lines(before: str, after: str) -> list[tuple[list[str], list[str]]]:
    a, b = before.splitlines(True), after.splitlines(True)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            out.append((a[i1:i2], b[j1:j2]))
    return out


def _word_in(word: str, text: str, case: bool = True) -> bool:
    flags = 0 if case else re.I
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])", text, flags) is not None


def _satisfies(edit: Edit, intent: Intent, before: dict[str, str], changed: list[tuple[str, str]]) -> bool:
    if intent.kind == "remove":
        from .remove import removed

        return removed(edit, intent, before)
    if intent.kind == "append":
        from .append import appended

        return appended(edit, intent, before)
    if intent.kind == "insert":
        from .insert import inserted

        return inserted(edit, intent, before)
    new, old = intent.new, intent.old
    if intent.kind == "version":
        old, new = target(before, intent)
        if not new:
            return False
    fold = intent.kind in ("set", "typo") or (intent.kind == "replace" and intent.key == "case")
    for path, after in changed:
        prev = before.get(path, "")
        for lost, got in _changed_lines(prev, after):
            if got:
                blob = "".join(got)
                if new:
                    units = [blob] if "\n" in new.strip("\r\n") else [ln for ln in got if ln.strip()] or [blob]
                    if not all((new.lower() in u.lower()) if fold else (new in u) for u in units):
                        return False
                elif old and not any(old.lower() in line.lower() for line in lost):
                    return False
                if intent.kind == "set" and intent.old and intent.old in blob and intent.old not in new:
                    return False
                if intent.kind in ("change", "product") and old and old not in new and re.search(
                        r"(?<![\w.])" + re.escape(old) + r"(?![\w]|\.\d)", blob):
                    return False
                if intent.kind == "version" and old and re.search(r"(?<![\w.])" + re.escape(old) + r"(?![\w]|\.\d)",
                                                                  blob):
                    return False
            elif not (old and any(old in line for line in lost)):
                return False
    if not any(new and (new.lower() in a.lower() if fold else new in a) for _, a in changed) and new:
        return False
    if old and intent.kind in ("rename", "typo", "replace"):
        for path, after in changed:
            if intent.kind == "rename":
                if code_spans(path, after, old, strings=intent.key == "all", before=before.get(path)):
                    return False
            elif intent.kind == "typo":
                if _word_in(old, after, case=False):
                    return False
            elif intent.key == "case" and intent.kind == "replace":
                if re.search(r"(?<!\w)" + re.escape(old) + r"(?!\w)", after, re.I) and old.lower() not in new.lower():
                    return False
            elif old in after and not (old in new and after.count(old) <= after.count(new)):
                wordy = re.match(r"\w", old[0]) and re.match(r"\w", old[-1])
                if not wordy or _word_in(old, after):
                    return False
    return True


def confirms(edit: Edit, intents: list[Intent], before: dict[str, str]) -> bool:
    """True when some intent of the edit's kind is fully carried out by the edit: its `new` is in the
    changed lines, its named `old` is gone (rename: no code occurrence left in the changed files), and
    every changed line holds the new literal (or, where the new text is left to the rules, held the old)."""
    try:
        changed = [(p, t) for p, t in edit.files if isinstance(t, str) and before.get(p) != t]
        if not changed or not intents:
            return False
        fam = _family(edit.rule)
        pool = [i for i in intents if i.kind == fam] or list(intents)
        return any(_satisfies(edit, i, before, changed) for i in pool)
    except Exception:  # noqa: BLE001 - odd input never raises
        return False
