"""Requests that ask for several changes at once: "set the period end to 2023-12-31 and
min_coverage to 0.9", "set port to 9090 and set debug to false".

The phrase rules read one intent (or a set and a change) per clause, each clause with its own new
value. A candidate carries out one clause; applied alone it would leave the rest undone and say
"Done". So where a request has two or more clauses, the best candidate of each is merged into one
edit (when they change different lines), ranked above every single one, and each single one is
marked a part ("+part" on its rule): offered for review, never applied unattended (trust.py). The
merged edit is of its own kind ("guess-combined"), which is not trusted until it has been measured.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from .base import Edit, Intent

PART = "+part"
BONUS = 0.05


def clauses(intents: list[Intent]) -> list[list[Intent]]:
    """The "set K to V" clauses, each with the other readings of its value (a change writing the
    same new value); two readings of one clause ("the beta track, not internal": "beta" or "track")
    are not two clauses."""
    groups: dict[str, list[Intent]] = {}
    for it in intents:
        if it.kind == "set" and it.key and it.new and not any(g[0].new == it.new for g in groups.values()):
            groups.setdefault(it.key.lower(), []).append(it)
    for it in intents:
        for g in groups.values():
            if it not in g and it.new == g[0].new:
                g.append(it)
    return list(groups.values())


def _merge(files: dict[str, str], edits: list[Edit]) -> tuple[tuple[str, str], ...] | None:
    """The edits' changes made together, when no two change the same line of a file."""
    out = {}
    paths = sorted({p for e in edits for p, _ in e.files})
    for path in paths:
        before = files.get(path)
        if before is None:
            return None
        old = before.splitlines(keepends=True)
        ops = []
        for e in edits:
            after = dict(e.files).get(path)
            if after is None:
                continue
            new = after.splitlines(keepends=True)
            ops += [(i1, i2, new[j1:j2]) for tag, i1, i2, j1, j2 in
                    difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if tag != "equal"]
        ops.sort(key=lambda o: (o[0], o[1]))
        if any(a[1] > b[0] or (a[0] == b[0] and a[1] == b[1]) for a, b in zip(ops, ops[1:])):
            return None  # two clauses change the same lines
        text, pos = [], 0
        for i1, i2, lines in ops:
            text += old[pos:i1] + lines
            pos = i2
        out[path] = "".join(text + old[pos:])
    return tuple(sorted(out.items()))


def combine(files: dict[str, str], edits: list[Edit], intents: list[Intent]) -> list[Edit]:
    """The edits, each single clause's marked a part, and the clauses' best edits merged."""
    groups = clauses(intents)
    if len(groups) < 2:
        return edits
    best: list[Edit] = []
    for group in groups:
        mine = [e for e in edits if e.intent is not None and e.intent in group]
        if mine:
            best.append(max(mine, key=lambda e: e.prior))
    out = [replace(e, rule=e.rule + PART, prior=round(e.prior - BONUS, 3))
           if e.intent is not None and any(e.intent in g for g in groups) and not e.rule.endswith(PART) else e
           for e in edits]
    if len(best) == len(groups):
        merged = _merge(files, best)
        if merged is not None:
            first = best[0]
            # its own kind ("guess-combined" in trust.py): not applied unattended until measured
            out.append(Edit(merged, first.path, first.line, "combined", " + ".join(e.description for e in best),
                            round(max(e.prior for e in best) + BONUS, 3), intent=replace(first.intent, basis="combined")))
    return out
