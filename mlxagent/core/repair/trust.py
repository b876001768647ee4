"""Which request candidates may be applied with nobody reviewing them.

A candidate edit for a plain request (requested.py) carries the hypothesis that made it
(`Edit.intent`): one the phrase rules read in the request ("set the port in settings.ini to 9090":
kind "said-set") or one guessed from its literals alone (broad.py: kind "guess-slot", a new value
put in a key the request's words point at). How often the first-ranked candidate of each kind was
the expected edit was measured over the six instruction sets, per kind and per specificity (the
file the edit changes named in the request, the text it removes written there):

    .venv/bin/python bench/request_rules.py --by-kind

Only kinds at 90% or more over 5 or more first choices are trusted, with the specificity they
were measured with. The figures are optimistic: the same sets were read while the rules were
written (only the fourth set's requests were written blind to them), so a kind that looks sure
here can still guess on a request shape none of them holds. Under unattended approval (`--yes`,
the accept-edits and auto modes) a candidate of any other kind is not applied: the turn ends with
a question naming it (requested.propose). With a person reviewing, every candidate is offered.
"""

from __future__ import annotations

import re
from typing import Any

# kind -> the specificity it needs ("file": every changed file named in the request; "old": the
# text it removes written in the request). First choices right/all over dev, heldout, blind, fresh,
# third, fourth, fifth and sixth, from `.venv/bin/python bench/request_rules.py --by-kind` (bench's
# `suggested`: >= 90% over >= 5; of the specificities that reach it, the most precise, the least
# specific of equals). A tie at the top is left out of the counts: the model orders it in a turn,
# so it says nothing of the rules' precision (counted as wrong, "the typo in the Retention section"
# with its two dictionary words tied took said-typo off the table and with it "fix the spelling
# mistakes in README.md" under --yes). Optimistic: the rules were written with these sets in view,
# the fourth to sixth included (each was written blind and measured once; their misses were read on
# 2026-12-07 and rules made for their kinds). With each set left out of the derivation and the table
# applied to it (the bench's leave-one-set-out lines): fourth 7 right / 2 wrong applied of its 20
# right / 3 wrong first choices, fifth 9 / 0 of 26 / 3, sixth 9 / 4 of 15 / 7. Not trusted, among
# others: said-change 33/37 (it was, at 27/30, until the sixth set's two wrong multi-file edits),
# guess-slot, guess-pair, and kinds seen under 5 times (said-version, guess-version-near,
# guess-insert, guess-combined).
TRUSTED: dict[str, frozenset[str]] = {
    "said-set": frozenset(),              # 15/15
    "said-rename": frozenset(),           # 10/10
    "said-typo": frozenset(),             # 8/8
    "guess-typo": frozenset(),            # 8/8
    "guess-remove": frozenset(),          # 14/14
    "guess-switch": frozenset(),          # 14/15
    "guess-unit": frozenset(),            # 8/8
    "guess-product": frozenset(),         # 6/6
    "guess-version": frozenset(),         # 6/6
    "guess-words": frozenset(),           # 5/5
}


def kind_of(edit: Any) -> str:
    """The hypothesis family of a candidate: "said-<intent kind>" for what the phrase rules read,
    "guess-<family>" for what the literals alone suggested, "unknown" without a hypothesis."""
    intent = getattr(edit, "intent", None)
    if intent is None:
        return "unknown"
    basis = intent.basis
    if not basis:
        return "said-" + intent.kind
    return basis if basis.startswith("said-") else "guess-" + basis


def specificity(edit: Any, request: str) -> frozenset[str]:
    """What the request itself pins down of this edit: "file" (it names every file the edit
    changes) and "old" (it writes the text the edit removes)."""
    from ..intents.base import file_matches
    from ..intents.extract import _files, _Lits

    out = set()
    try:
        named = _files(_Lits(request or "").text)[1]
    except Exception:  # noqa: BLE001 - odd input names nothing
        named = ()
    if named and all(any(file_matches(path, n) for n in named) for path, _ in edit.files):
        out.add("file")
    old = getattr(getattr(edit, "intent", None), "old", None)
    if old and re.search(r"(?<![\w.])" + re.escape(old.strip("\"'")) + r"(?![\w])", request or "", re.I):
        out.add("old")
    return frozenset(out)


def label(edit: Any, request: str) -> str:
    """The kind with its specificity, as the bench's table rows read: "said-set+file+old"."""
    return kind_of(edit) + "".join("+" + s for s in sorted(specificity(edit, request)))


def trusted(edit: Any, request: str) -> bool:
    """The candidate's kind, with the specificity it has here, measured sure enough to apply unread;
    never one clause of a request that asks for several (compound.py's "+part")."""
    if str(getattr(edit, "rule", "")).endswith("+part"):
        return False
    need = TRUSTED.get(kind_of(edit))
    return need is not None and need <= specificity(edit, request)


def question(edit: Any) -> str:
    """The turn's last words when a candidate is held: what it would change, and how to get it."""
    what = getattr(edit, "description", "") or "an edit"
    kind = kind_of(edit)
    how = "a guess from the request's words" if kind.startswith("guess-") else "read from the request's words"
    return (f"Not applied without review: {what} ({how}; {kind} edits are not applied unreviewed). "
            "Run without --yes (or in ask mode) to review it, or say exactly which file and text should change.")
