"""The candidate search inside an agent turn: when to run it, and its winner as an edit.

The agent runs the search (search.py) right after a failing test run for a weak tool user
(`repair_first`), and in place of the forced edit the read-loop guard would otherwise have the
model write. The scorer is the model's own `score_texts` (ranking, not writing); the checks run
the test command in scratch copies, with the consent the user already gave for it. A winner
becomes one `edit_file` call in the conversation and goes through the same review as any edit.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

from ..events import ErrorEvent, Event, RepairProgress, ToolCallFinished, ToolCallStarted
from ..formats.calls import ToolCall, new_call_id
from ..proposals import Proposal
from ..testing import hangs
from . import Sources, first_change, scoring_messages, search
from .conditions import synthesised
from .quick import quick_checker
from .sampled import sampler_of
from .spectrum import measure

MAX_SEARCHES = 2  # candidate searches in one turn
WHAT = {"condition": "a guard whose condition the tests' own values call for"}  # the review's words, by rule


def weak(agent) -> bool:
    return bool(getattr(agent.model, "weak_tool_use", False))


def possible(agent) -> bool:
    """The search can run now: it is on, the tests are known, fail, and may run without asking."""
    t = agent.tests
    return (agent.config.repair and t.enabled() and not t.repair_exhausted and t.repairs < MAX_SEARCHES
            and t.still_failing() and t.consent())


def first(agent) -> bool:
    """Search before the model writes anything (default: for weak tool users), when a test failed
    (a run in which no test ran leaves the turn to the request's own candidates)."""
    wanted = agent.config.repair_first
    if wanted is None:
        wanted = weak(agent)
    return wanted and getattr(agent.tests.baseline, "ran", True) and possible(agent)


def scorer(agent, cancel: threading.Event):
    score = getattr(agent.model, "score_texts", None)
    if score is None:
        return None

    def rank(path: str, context: str, base: str, variants: list[str]) -> list[float]:
        messages, reply = scoring_messages(path, context, base)
        return score(messages, reply.format(base), [reply.format(v) for v in variants], cancel=cancel.is_set)

    return rank


def spectrum(agent, sources: Sources, cancel: threading.Event) -> dict[tuple[str, int], float] | None:
    """Ochiai scores of the lines the tests run (spectrum.py) for a pytest project, measured once
    and kept on `agent.tests` while the failing tests and the files stay the same; None when they
    cannot be had (another runner, no coverage in the tests' Python, a timeout, any error)."""
    t = agent.tests
    command = t.command
    if (command is None or getattr(command, "runner", None) != "pytest" or t.last is None or t.last.ok
            or hangs.hung(t.last)):  # a covered run of a test that never ends would only hang too
        return None
    try:
        key = (frozenset(f.name for f in t.last.failures), _fingerprint(sources))
        cached = getattr(t, "spectrum_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        scores = measure(sources.root, sources.paths, command, cancel=cancel)
        if cancel.is_set():
            return None  # cut short: measure again next time
        t.spectrum_cache = (key, scores)
        return scores
    except Exception:  # noqa: BLE001 - localisation goes on without the spectrum
        return None


def _synthesised(sources: Sources, t, command, scores, cancel: threading.Event) -> list:
    """conditions.py's guards for the failing tests (none when anything goes wrong: the search
    goes on with the rules' candidates)."""
    try:
        return synthesised(sources, t.last, t.request, command, spectrum=scores, cancel=cancel)
    except Exception:  # noqa: BLE001 - a guess that cannot be made is not an error of the turn
        return []


def _fingerprint(sources: Sources) -> tuple:
    """The files as they are now (size and change time): a spectrum of other files is stale."""
    out = []
    for path in sources.paths:
        try:
            st = (sources.root / path).stat()
        except OSError:
            continue
        out.append((path, st.st_size, st.st_mtime_ns))
    return tuple(out)


def repair(agent, cancel: threading.Event) -> Iterator[Event]:
    """Search candidate fixes, checked by the tests in a scratch copy; the winner is proposed like
    any edit. Returns (reason, message) when the turn should end, else None."""
    t = agent.tests
    t.repairs += 1
    command = t.command
    ws = agent.toolbox.workspace
    sources = Sources(ws.root, ws.list_files())
    outcome: dict[str, Any] = {}
    hung = hangs.hung(t.last)
    per_test = hangs.CHECK_SECONDS if hung else None
    scores = spectrum(agent, sources, cancel)
    first = [] if hung else _synthesised(sources, t, command, scores, cancel)
    checker = quick_checker(agent.gate, command, sources, None if hung else t.last, cancel, per_test)
    steps = search(sources, t.request, t.last, scorer(agent, cancel), checker, cancel=cancel.is_set, exclude=t.tried,
                   spectrum=scores, first=first,
                   sample=sampler_of(agent.model) if getattr(agent.config, "sampled", True) else None)
    try:
        while True:
            try:
                stage = next(steps)
            except StopIteration as stop:
                outcome["result"] = stop.value
                break
            yield RepairProgress(*stage)
    except Exception as exc:  # noqa: BLE001 - a failed search falls back to the model's own edit
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    result = outcome.get("result")
    if result is not None and result.found is None and result.interrupted:
        t.repairs -= 1  # cut short, not tried: it may run again, and the turn is not over for it
        return None
    if result is None or result.found is None:
        t.repair_exhausted = True
        if "error" in outcome:
            yield ErrorEvent("The candidate search failed: " + outcome["error"])
        elif weak(agent) and agent.config.retry.stop_when_stuck:
            # A weak model's own edits almost never pass (1 in 32 measured) and write garbage
            # on the way: with nobody reviewing, stop and ask rather than flail.
            t.finished = ("tests_failing", f"I could not find a fix that makes the tests pass ({result.message}). "
                          "Which line is wrong, and what should it do?")
            return t.finished
        return None
    return (yield from _propose(agent, sources, result.found, cancel, what=WHAT.get(result.found.rule)))


def _propose(agent, sources: Sources, found, cancel: threading.Event, *, checked: str = "tests",
             why: str = "A candidate fix passes the tests in a scratch copy",
             note: str = "found by the candidate search and checked by the tests",
             what: str | None = None) -> Iterator[Event]:
    """Offer `found` (a candidate: .path, .files, .rule, .description) as one edit_file call
    through the usual review (its note names `what` it is, else its rule); returns the test loop's
    verdict (`finished`)."""
    t = agent.tests
    ws = agent.toolbox.workspace
    old = sources.text(found.path) or ""
    search_text, replace_text = first_change(old, dict(found.files)[found.path])
    call = ToolCall(new_call_id(), "edit_file", {"path": found.path, "search": search_text.replace("\r\n", "\n"),
                                                 "replace": replace_text.replace("\r\n", "\n")})
    agent.append_assistant(f"{why}: {found.description}.", [call])
    yield ToolCallStarted(call.id, call.name, call.arguments)
    texts = []
    t.new_step()
    for n, (path, text) in enumerate(found.files):
        t.more_edits = n + 1 < len(found.files)
        before = ws.resolve(path).read_bytes()
        proposal = Proposal(path, before, text.encode("utf-8"), note=f"{note} ({what or found.rule})", checked=checked)
        agent.toolbox.proposals.add(proposal)
        texts.append((yield from agent.review(proposal, agent.guard.level == "force", cancel)))
        if cancel.is_set() or t.finished is not None:
            break
    result_text = "\n".join(texts)
    agent.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": result_text})
    yield ToolCallFinished(call.id, call.name, call.arguments, result_text, False)
    yield agent.guard.state()
    return t.finished
