"""Whether an edit may be offered, and whether it may be applied with nobody reviewing it.

Every edit the agent is about to offer (the model's own, a forced one, a candidate's) passes
the syntax gate first: a file that parsed before and would not after is refused, and the model
reads why (`syntax_problem`). Under the "apply" review policy (`--yes`) more is asked of an edit
than that it parses:

* a candidate that the tests or the request's literals already validated is applied;
* a capable model's own edit is applied (the tests, when known, judge it after, as before);
* a forced edit (its only merit: the grammar allowed it), and any edit of a weak tool user, is
  applied only when the request's literals confirm it (core/intents: the new text present, the
  old gone, nothing else changed) or failing tests are there to judge it (the test loop undoes
  it when they still fail). Otherwise it is held: not written, and the turn ends with a question.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator

from ..events import ErrorEvent, Event
from . import syntax_problem


@dataclass(frozen=True)
class Verdict:
    action: str  # "offer" | "refuse" (never offered: it breaks the file) | "hold" (a person must decide)
    reason: str = ""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def confirmed_by_request(proposal: Any, request: str) -> bool:
    """The request's literals confirm the proposal (core/intents)."""
    from ..intents import Edit, confirms, extract

    intents = extract(request or "")
    if not intents:
        return False
    edit = Edit(files=((proposal.path, _text(proposal.new)),), path=proposal.path, line=1, rule="model",
                description="")
    try:
        return bool(confirms(edit, intents, {proposal.path: _text(proposal.old)}))
    except Exception:  # noqa: BLE001 - a rule that cannot judge confirms nothing
        return False


def admit(proposal: Any, *, request: str, forced: bool, weak: bool, unattended: bool,
          tests_judge: bool) -> Verdict:
    """What becomes of `proposal` before anyone sees it.

    `unattended`: the "apply" policy (nobody reviews); `tests_judge`: failing tests are known and
    will run after the edit (the test loop undoes an edit that leaves them failing)."""
    problem = syntax_problem(proposal.path, proposal.old, proposal.new)
    if problem:
        return Verdict("refuse", problem)
    checked = getattr(proposal, "checked", "")
    if not unattended or checked or not (forced or weak):
        return Verdict("offer")
    if confirmed_by_request(proposal, request):
        return Verdict("offer", "the request's literals confirm it")
    if tests_judge:
        return Verdict("offer", "the failing tests judge it")
    who = "a forced edit" if forced else "an edit by a model weak at tools"
    return Verdict("hold", f"{who} to {proposal.path} that nothing confirms: no failing test judges it and the "
                           "request's literals do not match it")


def unattended(agent: Any) -> bool:
    """Nobody reviews the edits: the "apply" policy (`--yes`, the accept-edits and auto modes)."""
    return agent.config.review == "apply"


def ask_instead(agent: Any, question: str) -> tuple[str, str]:
    """End the turn with a question, nothing applied (reason "unconfirmed": `mlxagent run` exits 1):
    an edit that a person must decide on, with nobody there to review it."""
    agent.tests.finished = ("unconfirmed", question)
    return agent.tests.finished


def screen(agent: Any, proposal: Any, forced: bool) -> Iterator[Event]:
    """The agent's step before offering `proposal`: returns (the proposal to offer, "apply" when
    nobody reviews and it may be applied, else "ask"), or (None, the text the model reads) when it
    is refused or held. A refused edit is shown anyway, its reason in the note, only when
    `show_refused` is on and a person reviews."""
    nobody = unattended(agent)
    t = agent.tests
    verdict = admit(proposal, request=t.request, forced=forced, weak=bool(getattr(agent.model, "weak_tool_use", False)),
                    unattended=nobody,
                    tests_judge=t.enabled() and t.baseline is not None and not t.not_the_task)
    if verdict.action == "offer":
        return proposal, "apply" if nobody else "ask"
    yield ErrorEvent(("Not offered: " if verdict.action == "refuse" else "Not applied: ") + verdict.reason)
    agent.toolbox.proposals.discard(proposal)
    if verdict.action == "refuse" and agent.config.show_refused and not nobody:
        shown = dataclasses.replace(proposal, note=f"Refused by the syntax gate: {verdict.reason}")
        agent.toolbox.proposals.add(shown)
        return shown, "ask"
    if forced:
        agent._forced_edit_invalid(verdict.reason[:200])  # the guard counts it; a retry must differ
    else:
        agent._forced_invalid = False
    if verdict.action == "hold":
        ask_instead(agent, "I did not apply an edit I could not confirm. Which file should change, "
                           "and what exact text should it have?")
        return None, f"Not applied: {verdict.reason}. Nothing was written."
    return None, f"Refused: {verdict.reason}. Nothing was written; propose a corrected edit."
