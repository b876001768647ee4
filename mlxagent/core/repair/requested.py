"""Candidate edits for a plain request, in a turn: no failing test behind it, the request itself
names what to change ("set the port in settings.ini to 9090", "rename calc_area to area").

Before a weak tool user writes anything, the request's candidates (core/intents) are made,
validated by the request's literals (the new text there, the old gone, nothing else changed) and
the syntax gate (core/validation), and ranked: by the rules' priors, and by the model where they
tie (the model ranks well what it cannot write). The winner is one edit_file call through the
usual review: shown in the TUI, applied with `--yes` when its kind is trusted (trust.py; else the
turn ends with a question naming it). When it is applied the turn is done; when nothing validates
the model goes on, and what it writes is held to the same bar under `--yes`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Any, Iterator

from ..events import Event, RepairProgress
from ..intents.base import union
from ..validation import syntax_problem
from ..validation.admit import ask_instead, unattended
from .propose import _propose, scorer, weak
from .sources import Sources
from .trust import question, trusted

MAX_RANKED = 6  # candidates the model ranks when the rules' priors tie


def first(agent) -> bool:
    """Look for the request's own candidates before the model writes (default: weak tool users),
    when no failing test drives the turn (no failing run, or a run in which no test ran)."""
    wanted = agent.config.repair_first
    if wanted is None:
        wanted = weak(agent)
    base = agent.tests.baseline
    return bool(agent.config.repair and wanted and (base is None or not getattr(base, "ran", True)))


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _code_uses(path: str, text: str, name: str) -> int:
    from ..intents.rename import CODE_EXTS, code_spans, ext_of

    return len(code_spans(path, text, name)) if ext_of(path) in CODE_EXTS else 0


def _renamed_names(intents: list[Any], files: dict[str, str]) -> list[tuple[str, str, dict[str, int]]]:
    """(old, new, its uses per code file) for each identifier a request changes that the code uses
    as a name: such a change is a rename through every reference, whatever words the request used."""
    out = []
    for it in intents:
        old, new = getattr(it, "old", None), getattr(it, "new", None)
        if old and new and IDENTIFIER.fullmatch(old) and IDENTIFIER.fullmatch(new):
            uses = {p: n for p, t in files.items() if (n := _code_uses(p, t, old))}
            if uses:
                out.append((old, new, uses))
    return out


def _partial(edit: Any, names: list[tuple[str, str, dict[str, int]]]) -> bool:
    """The edit changes some of a renamed name's uses in code but leaves others: the code breaks."""
    for old, _, uses in names:
        before = sum(uses.values())
        after = before + sum(_code_uses(p, t, old) - uses.get(p, 0) for p, t in edit.files)
        if 0 < after < before:
            return True
    return False


def _admitted(edit: Any, intents: list[Any], names: list, files: dict[str, str]) -> bool:
    """The intents confirm the edit, it renames a name the code uses everywhere or nowhere, and
    every file it touches still parses."""
    from ..intents import confirms

    try:
        if not confirms(edit, intents, files) or _partial(edit, names):
            return False
    except Exception:  # noqa: BLE001 - a rule that cannot judge confirms nothing
        return False
    return _parses(edit, files)


def _parses(edit: Any, files: dict[str, str]) -> bool:
    return not any(syntax_problem(path, files[path].encode("utf-8") if path in files else None, text.encode("utf-8"))
                   for path, text in edit.files)


def validated(files: dict[str, str], request: str) -> list[Any]:
    """The request's candidates that its literals confirm and that leave every file parsing (and,
    for an identifier the code uses, every reference renamed or none): from the phrase rules when
    they read the request, else from its literals alone (core/intents/broad.py)."""
    return _combined(files, request)


def _combined(files: dict[str, str], request: str) -> list[Any]:
    """The phrase rules' candidates stand alone, except where all they read was a loose "… should
    be X" (rule "change": a value put where the words point), which the literal-only ones join.

    The model orders only exact ties of the priors: given more (the best within 0.1), it picked
    worse than the priors on the request sets (59 against 65 right of 73, bench notes)."""
    stated = _stated(files, request)
    if stated and any(e.rule != "change" for e in stated):
        return _docs_last(stated, request)
    return _named_first(_docs_last(union(stated, _broad(files, request)), request), files, request)


NAMED_BONUS = 0.1


def _named_first(edits: list[Any], files: dict[str, str], request: str) -> list[Any]:
    """A request that names a code identifier ("startCountdown should default to 5") means the lines
    that hold it: an edit of such a line ranks above edits elsewhere."""
    from ..intents.validate import _changed_lines

    names = {w for w in IDENTIFIER.findall(request) if len(w) >= 4 and ("_" in w or re.search(r"[a-z][A-Z]", w))}
    pats = [p for w in names if any((p := re.compile(r"(?<![\w$])" + re.escape(w) + r"(?![\w$])")).search(t)
                                    for t in files.values())]
    if not pats:
        return edits
    out = []
    for e in edits:
        changed = [line for path, text in e.files for lost, _ in _changed_lines(files.get(path, ""), text)
                   for line in lost]
        hit = any(p.search(line) for p in pats for line in changed)
        out.append(replace(e, prior=round(e.prior + NAMED_BONUS, 3)) if hit else e)
    return out


_DOC_FILE = re.compile(r"(?:^|/)(?:readme|changelog|changes|history|contributing|news|authors)[^/]*$|"
                       r"\.(?:md|markdown|rst|txt|adoc)$", re.I)
_DOC_WORDS = re.compile(r"\b(?:readme|docs?|documentation|changelog|guide|manual|wiki|notes?|mentions?|says?|"
                        r"text|wording|typos?|spell\w*|sentences?|paragraphs?|headings?|sections?|links?)\b|"
                        r"\.(?:md|rst|txt)\b", re.I)
DOCS_PENALTY = 0.1


def _docs_last(edits: list[Any], request: str) -> list[Any]:
    """A request that names no document means the code or the settings: where an edit of those
    fits, an edit of documents only (README, CHANGELOG, *.md) ranks below it."""
    if _DOC_WORDS.search(request) or not any(_placed(e) and not _only_docs(e) for e in edits):
        return edits
    return [replace(e, prior=round(e.prior - DOCS_PENALTY, 3)) if _placed(e) and _only_docs(e) else e for e in edits]


def _placed(edit: Any) -> bool:
    """An edit that puts a new value where the request's words point (not one that replaces a
    text the request quoted or a value only one place holds)."""
    return edit.rule == "change" or edit.rule.startswith("set")


def _only_docs(edit: Any) -> bool:
    return all(_DOC_FILE.search(path) for path, _ in edit.files)


def _broad(files: dict[str, str], request: str) -> list[Any]:
    from ..intents.broad import broad_candidates

    names: dict[Any, list] = {}  # per hypothesis: many edits share one
    out = []
    for edit, intent in broad_candidates(files, request):
        if intent not in names:
            names[intent] = _renamed_names([intent], files) if intent.kind in ("rename", "replace", "change") else []
        if _admitted(edit, [intent], names[intent], files):
            out.append(edit)
    return out


def _stated(files: dict[str, str], request: str) -> list[Any]:
    from ..intents import Intent, candidates, extract
    from ..intents.rename import rename_candidates

    intents = extract(request)
    if not intents:
        return []
    names = _renamed_names(intents, files)
    edits = list(candidates(files, request))
    if not any(it.kind == "rename" for it in intents):
        for old, new, _ in names:
            try:
                said = Intent("rename", old, new, basis="said-as-rename")  # a stated change of a name the code uses
                edits += [replace(e, intent=said) for e in rename_candidates(files, said)]
            except Exception:  # noqa: BLE001 - no rename candidates: the others stand
                pass
    return [edit for edit in edits if _admitted(edit, intents, names, files)]


def _ranked(agent, edits: list[Any], sources: Sources, request: str, cancel: threading.Event) -> list[Any]:
    edits = sorted(edits, key=lambda e: -e.prior)
    tied = [e for e in edits if e.prior == edits[0].prior][:MAX_RANKED]
    rank = scorer(agent, cancel) if len(tied) > 1 else None
    if rank is None:
        return edits
    scores: dict[int, float] = {}
    for edit in tied:
        base = sources.text(edit.path) or ""
        try:
            scores[id(edit)] = rank(edit.path, request, base, [dict(edit.files)[edit.path]])[0]
        except Exception:  # noqa: BLE001 - unscored: the rules' order stands
            return edits
    return sorted(tied, key=lambda e: -scores[id(e)]) + [e for e in edits if e not in tied]


def propose(agent, cancel: threading.Event) -> Iterator[Event]:
    """Offer the best validated candidate for the turn's request. Returns ("done", message) when
    it was applied, ("unconfirmed", question) when nobody reviews and its kind is not trusted
    (trust.py: nothing is written, the turn ends), else None (the turn goes on with the model)."""
    ws = agent.toolbox.workspace
    sources = Sources(ws.root, ws.list_files())
    files = {p: text for p in sources.paths if (text := sources.text(p)) is not None}
    request = agent.tests.request
    edits = _combined(files, request)
    if not edits:
        return None
    yield RepairProgress("request", len(edits), len(edits), f"{len(edits)} candidate edit(s) do what the request names")
    best = _ranked(agent, edits, sources, request, cancel)[0]
    if cancel.is_set():
        return None
    if unattended(agent) and not trusted(best, request):
        # nobody reviews, and candidates of this kind were not measured sure enough (trust.py): ask,
        # and leave no room for the model's own edit either
        return ask_instead(agent, question(best))
    finished = yield from _propose(agent, sources, best, cancel, checked="request",
                                   why="An edit that does what the request names",
                                   note="made from the request and checked against its words")
    if finished is not None:
        return finished
    done = all((ws.resolve(path).read_bytes() == text.encode("utf-8")) for path, text in best.files)
    return ("done", f"Done: {best.description}.") if done else None
