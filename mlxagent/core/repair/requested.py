"""Candidate edits for a plain request, in a turn: no failing test behind it, the request itself
names what to change ("set the port in settings.ini to 9090", "rename calc_area to area").

Before a weak tool user writes anything, the request's candidates (core/intents) are made,
validated by the request's literals (the new text there, the old gone, nothing else changed) and
the syntax gate (core/validation), and ranked: by the rules' priors, and by the model where they
tie (the model ranks well what it cannot write). The winner is one edit_file call through the
usual review: shown in the TUI, applied with `--yes` when its kind is trusted (trust.py; else the
turn ends with a question naming it). When it is applied the turn is done; when nothing validates
the model goes on, and what it writes is held to the same bar under `--yes`.

`opening` chooses how a turn opens: a failing test drives it (the test-driven search), except
for a plain instruction beside failing tests that speak of nothing it names ("set the port to
9090" while calc.py's test fails): that turn is the request's, and the unrelated failure stays.
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
from .propose import _propose, first as repair_first, repair, scorer, weak
from .sources import Sources
from .trust import question, trusted

MAX_RANKED = 6  # candidates the model ranks when the rules' priors tie


def _searches_first(agent) -> bool:
    """Candidate searches run before the model writes (the setting; default: weak tool users)."""
    wanted = agent.config.repair_first
    if wanted is None:
        wanted = weak(agent)
    return bool(agent.config.repair and wanted)


def first(agent) -> bool:
    """Look for the request's own candidates before the model writes (default: weak tool users),
    when no failing test drives the turn (no failing run, or a run in which no test ran)."""
    base = agent.tests.baseline
    return _searches_first(agent) and (base is None or not getattr(base, "ran", True))


# (a bare "tests" is not enough: "write unit tests for stats.py" asks for new ones)
_ABOUT_FAILURES = re.compile(r"\b(?:failing|fails?|failures?|bugs?|broken|crash\w*|"
                             r"exceptions?|tracebacks?|pass(?:es|ing)?|ignored)\b|"
                             r"\btest_\w+|\w_tests?\b|\.(?:test|spec)\.\w+", re.I)


# what a bug report says of the code's behaviour: a call shown ("average([90, 85]) comes out as
# 87"), a verb of output ("gives", "returns", "prints", "shows", "reads", "leaves"), or a symptom
# ("keeps returning True", "is far above the capacity", "is always an empty list", "KeyError")
_BEHAVIOUR = re.compile(r"[A-Za-z_][\w.]*\(|\b(?:gives?|gave|returns?|returned|returning|prints?|printed|shows?|"
                        r"showed|comes?\s+(?:out|back)|came\s+(?:out|back)|outputs?|reads|raises?|throws?|leaves|"
                        r"wipes|ends\s+up|produces?|yields?|displays?|renders?|reports?|keeps\s+\w+ing|"
                        r"(?:is|are)\s+always|far\s+(?:above|below))\b|\b\w+(?:Error|Exception)\b", re.I)


def leads(agent) -> bool:
    """A request that may come before the failing tests: it says nothing of tests, failures or
    bugs, and it is not a bug report telling what the code does ("average([90, 85]) comes out as
    87 instead of 87.5") unless the phrase rules read a plain change in it ("set the port to
    9090"). Whether it does come first depends on its candidates (`opening`)."""
    from ..intents import extract

    base = agent.tests.baseline
    if not (_searches_first(agent) and base is not None and getattr(base, "ran", True)):
        return False
    request = agent.tests.request or ""
    if _ABOUT_FAILURES.search(request):
        return False
    plain = any(it.kind != "change" for it in extract(request))
    return plain or not _BEHAVIOUR.search(request)


def _failure_text(agent) -> str | None:
    """The failing run's names, messages and lines (None without one); a runner's progress
    ("[100%]") is not about anything."""
    report = agent.tests.baseline
    return None if report is None else re.sub(r"\[\s*\d+%\]", " ", report.summary())


def about_failures(agent, edits: list[Any] = ()) -> bool:
    """The failing tests speak of what the request names (one of its literals, or of its
    candidates' hypotheses, a word of two or more characters, appears in their report): fixing
    them may be the way to do it."""
    from ..intents import extract

    text = _failure_text(agent)
    if text is None:
        return False
    intents = list(extract(agent.tests.request or "")) + [e.intent for e in edits if getattr(e, "intent", None)]
    words = set()
    for it in intents:
        words.update(v for v in (it.old, it.new) if v and len(v) >= 2)
        words.update(p for p in str(getattr(it, "key", None) or "").split(".") if len(p) >= 2)
    return any(re.search(r"(?<![\w.])" + re.escape(w) + r"(?![\w])", text) for w in words)


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# a request for something new, not a fix: it opens with a verb of making
_CREATES = re.compile(r"^\s*(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:add|write|create|implement|introduce|"
                      r"refactor|document|generate|extract|split|translate|convert|build|scaffold|port)\b", re.I)
_PLAIN_WORDS = frozenset(
    "about after also because before being code could does every file files from function functions have "
    "into just like make method module more need needs only other please should some than that their them "
    "then there these they this those value values what when where which while will with would your "
    "test tests failed passed error errors assert assertion".split())  # a test report's own words


def _named_in_failures(agent) -> bool:
    """A word of the request (four letters or more, not a common one) is in the failing tests'
    report: a name, a value or a word of a message they share."""
    text = _failure_text(agent)
    if text is None:
        return False
    text = text.lower()
    parts = set(re.findall(r"[a-z0-9]+", text))
    words = {w.lower() for w in IDENTIFIER.findall(agent.tests.request or "") if len(w) >= 4}
    return any(w in parts or re.search(r"(?<![a-z0-9_])" + re.escape(w) + r"(?![a-z0-9_])", text)
               for w in words - _PLAIN_WORDS)


def _code_uses(path: str, text: str, name: str, before: str | None = None) -> int:
    from ..intents.rename import CODE_EXTS, code_spans, ext_of

    return len(code_spans(path, text, name, before=before)) if ext_of(path) in CODE_EXTS else 0


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


def _partial(edit: Any, names: list[tuple[str, str, dict[str, int]]], files: dict[str, str]) -> bool:
    """The edit changes some of a renamed name's uses in code but leaves others: the code breaks."""
    for old, _, uses in names:
        before = sum(uses.values())
        after = before + sum(_code_uses(p, t, old, files.get(p)) - uses.get(p, 0) for p, t in edit.files)
        if 0 < after < before:
            return True
    return False


def _admitted(edit: Any, intents: list[Any], names: list, files: dict[str, str]) -> bool:
    """The intents confirm the edit, it renames a name the code uses everywhere or nowhere, and
    every file it touches still parses."""
    from ..intents import confirms

    try:
        if not confirms(edit, intents, files) or _partial(edit, names, files) or _own_name(edit, files):
            return False
    except Exception:  # noqa: BLE001 - a rule that cannot judge confirms nothing
        return False
    return _parses(edit, files)


_KEY_IS_VALUE = re.compile(r"[\"']?([A-Za-z_][\w\-]*)[\"']?\s*[:=]\s*[\"']?\1[\"']?(?![\w\-])")


def _own_name(edit: Any, files: dict[str, str]) -> bool:
    """The edit sets a key to its own name (`"track": "track"`): the request's word for the key
    was read as its value."""
    from ..intents.validate import _changed_lines

    for path, after in edit.files:
        for lost, got in _changed_lines(files.get(path, ""), after):
            if any(_KEY_IS_VALUE.search(line) for line in got) and not any(_KEY_IS_VALUE.search(line) for line in lost):
                return True
    return False


def _parses(edit: Any, files: dict[str, str]) -> bool:
    return not any(syntax_problem(path, files[path].encode("utf-8") if path in files else None, text.encode("utf-8"))
                   for path, text in edit.files)


def validated(files: dict[str, str], request: str) -> list[Any]:
    """The request's candidates that its literals confirm and that leave every file parsing (and,
    for an identifier the code uses, every reference renamed or none): from the phrase rules when
    they read the request, else from its literals alone (core/intents/broad.py). Quantities in
    words are read as numbers first ("a quarter of an hour" as 15 minutes)."""
    from ..intents.quantities import spoken

    return _combined(files, spoken(request))


def _combined(files: dict[str, str], request: str) -> list[Any]:
    """The phrase rules' candidates stand alone, except where all they read was a loose "… should
    be X" (rule "change": a value put where the words point), which the literal-only ones join.

    The model orders only exact ties of the priors: given more (the best within 0.1), it picked
    worse than the priors on the request sets (59 against 65 right of 73, bench notes)."""
    stated = _stated(files, request)
    if stated and any(e.rule != "change" for e in stated):
        return _with_mentions(_docs_last(stated, request), files, request)
    return _with_mentions(_named_first(_docs_last(union(stated, _broad(files, request)), request), files, request),
                          files, request)


EXTENDED = 10  # the best candidates whose value's other mentions are looked for


def _with_mentions(edits: list[Any], files: dict[str, str], request: str) -> list[Any]:
    """Beside each of the best candidates that changes one value, the same change made in the
    value's other mentions (the README's "2,500 tiles" with `maxOfflineTiles`), when they parse."""
    from ..intents.companions import extend

    more = []
    for e in sorted(edits, key=lambda e: -e.prior)[:EXTENDED]:
        try:
            ext = extend(files, e, request)
        except Exception:  # noqa: BLE001 - a value it cannot read extends nothing
            ext = None
        if ext is not None and _parses(ext, files):
            more.append(ext)
    return union(edits, more)


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
    from ..intents.compound import combine

    admitted = [edit for edit in edits if _admitted(edit, intents, names, files)]
    return [e for e in combine(files, admitted, intents) if e.rule != "combined" or _parses(e, files)]


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


def _made(agent) -> tuple[Sources, list[Any]]:
    """The repository read once, and the request's validated candidates in it."""
    ws = agent.toolbox.workspace
    sources = Sources(ws.root, ws.list_files())
    files = {p: text for p in sources.paths if (text := sources.text(p)) is not None}
    return sources, validated(files, agent.tests.request)


_WHAT = (("combined", "the request's settings, together"), ("set", "a setting"), ("change", "a value"),
         ("rename", "a rename"), ("typo", "a spelling"), ("remove", "an entry taken out"),
         ("append", "an element added"), ("insert", "an entry added"), ("product", "a version"),
         ("version", "the version"), ("replace", "the text"))


def what_it_is(edit: Any) -> str:
    """The review's words for a request candidate: "a setting, and its other mentions"."""
    rule = str(getattr(edit, "rule", ""))
    words = next((w for prefix, w in _WHAT if rule.startswith(prefix)), rule)
    if "+mentions" in rule:
        words += ", and its other mentions"
    if rule.endswith("+part"):
        words += "; one part of what the request asks"
    return words


def propose(agent, cancel: threading.Event, made: tuple[Sources, list[Any]] | None = None) -> Iterator[Event]:
    """Offer the best validated candidate for the turn's request (`made`: already found). Returns
    ("done", message) when it was applied, ("unconfirmed", question) when nobody reviews and its
    kind is not trusted (trust.py: nothing is written, the turn ends), else None (the turn goes on
    with the model)."""
    ws = agent.toolbox.workspace
    sources, edits = made or _made(agent)
    request = agent.tests.request
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
                                   note="made from the request and checked against its words", what=what_it_is(best))
    if finished is not None:
        return finished
    done = all((ws.resolve(path).read_bytes() == text.encode("utf-8")) for path, text in best.files)
    if not done:
        return None
    message = f"Done: {best.description}."
    t = agent.tests
    if t.baseline is not None and t.still_failing():
        message += (" Tests that failed before this change still fail (" + t.last.summary().splitlines()[0]
                    + "); I left them alone: say if they are to be fixed too.")
    return ("done", message)


def opening(agent, cancel: threading.Event) -> Iterator[Event]:
    """The search a turn opens with, before the model writes (weak tool users by default).
    Returns (reason, message) when the turn should end, else None.

    A failing test drives the turn (the candidate search, whose checks are the tests themselves)
    unless the request is a plain instruction (`leads`) that has candidates of its own, and the
    failing tests speak of nothing it or they name: then those candidates are the turn's, and the
    test-driven search is off for it: fixing an unrelated failure is not what was asked, and its
    winner would be reported as done."""
    if not agent.mode.edits:
        return None
    if leads(agent):
        made = _made(agent)
        if made[1] and not about_failures(agent, made[1]):
            agent.tests.repair_exhausted = agent.tests.not_the_task = True
            return (yield from propose(agent, cancel, made))
        if not made[1] and (_CREATES.search(agent.tests.request or "") or not _named_in_failures(agent)):
            # nothing to make of the request, and it asks for something new ("add a function median
            # to calc.py") or the failures name none of its words: the model goes on (held to the
            # gate), the failing tests are not its task
            agent.tests.repair_exhausted = agent.tests.not_the_task = True
            return None
    if repair_first(agent):
        return (yield from repair(agent, cancel))
    if first(agent):
        return (yield from propose(agent, cancel))
    return None
