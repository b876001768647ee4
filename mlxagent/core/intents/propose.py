"""Gather candidate edits for a request from every rule, most plausible first."""

from __future__ import annotations

from dataclasses import replace

from .append import append_candidates
from .base import Edit, Intent, union
from .extract import extract
from .insert import insert_candidates
from .near import change_candidates
from .products import product_candidates
from .remove import remove_candidates
from .rename import rename_candidates
from .replace import replace_candidates
from .structured import set_candidates
from .typos import typo_candidates
from .versions import version_candidates


def _versions(files: dict[str, str], intent: Intent) -> list[Edit]:
    out = version_candidates(files, intent)
    if intent.new:
        out += [e for e in set_candidates(files, Intent("set", intent.old, intent.new, "version", intent.files))
                if not any(e.files == o.files for o in out)]
    return out


# intent kind -> the rule that carries it out
_RULES = {"set": set_candidates, "version": _versions, "typo": typo_candidates, "rename": rename_candidates,
          "replace": replace_candidates, "change": change_candidates, "remove": remove_candidates,
          "append": append_candidates, "product": product_candidates, "insert": insert_candidates}


def _for(files: dict[str, str], intent: Intent) -> list[Edit]:
    rule = _RULES.get(intent.kind)
    return rule(files, intent) if rule else []


def candidates(files: dict[str, str], request: str, limit: int = 12) -> list[Edit]:
    """Candidate edits for `request` over the repository `files` (path -> text, read with newline=""
    so CRLF is kept). Most plausible first; [] when the request names nothing these rules handle."""
    try:
        if not isinstance(files, dict):
            return []
        texts = {p: t for p, t in files.items() if isinstance(p, str) and isinstance(t, str) and "\x00" not in t}
        intents = extract(request)
        out: list[Edit] = []
        for rank, intent in enumerate(intents):
            try:
                got = _for(texts, intent)
            except Exception:  # noqa: BLE001 - one rule failing never sinks the others
                got = []
            got = [replace(e, intent=intent, prior=round(e.prior - 0.05 * rank, 3) if rank else e.prior) for e in got]
            out = union(out, got)
        out.sort(key=lambda e: -e.prior)
        return out[:max(0, int(limit))]
    except Exception:  # noqa: BLE001
        return []
