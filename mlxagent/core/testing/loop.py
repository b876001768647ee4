"""The test loop of an agent turn: tests as the agent's oracle.

When a test command is known (`toolbox.context.test_command`), the agent runs the tests before
the turn (a failing run is the turn's *baseline*: what the request is to fix) and after each
applied edit. What the retry policy allows then happens here:

* `undo_failing`: an applied edit that leaves the tests failing (made worse or no better than
  the baseline) is undone, byte for byte, and the model tries again, up to `max_attempts` edits;
  an edit made from a plain request's own words (checked "request") is undone only when it makes
  the tests worse: tests that failed before it and have nothing to do with it are not its to fix;
* push-back: a model that ends its turn while the baseline's tests still fail is told so, up to
  `max_pushbacks` times;
* a weak tool user whose edit makes the failing tests pass is done at once.

`TestLoop` also keeps what the tests said during the turn (the baseline, the latest run, the
attempts), which the candidate search (core/repair) reads. It drives the agent it belongs to
(its toolbox, command gate, configuration and model) and never touches a UI: what happens is
told as events, like the rest of the turn.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from ..events import ErrorEvent, Event
from ..formats.calls import new_call_id
from .detect import is_test_path, no_test_command_reason
from .gate import made_worse, made_worse_or_no_better

# "fix the test in test_x.py" is about the test; "make test_x.py pass" is about the code
_ABOUT_TESTS = re.compile(r"\b(fix|update|change|edit|rewrite)\b[^.]*\btests?\b")
_TESTS_PASS = re.compile(r"\btests?\b[^.]*\bpass")

@dataclass(frozen=True)
class RetryPolicy:
    """What happens when an edit does not make the tests pass.

    `undo_failing`: an applied edit that leaves the tests failing is undone and the model tries
    again (up to `max_attempts` edits). `stop_when_stuck`: when the candidate search finds
    nothing for a weak tool user, the turn ends with a question instead of the model guessing.
    Both hold when nobody reviews the edits (auto-approve, `--yes`); see `RetryPolicy.unattended`.
    """

    undo_failing: bool = False
    stop_when_stuck: bool = False
    max_attempts: int = 4
    max_pushbacks: int = 1

    @classmethod
    def unattended(cls, on: bool = True, **limits: int) -> "RetryPolicy":
        return cls(undo_failing=on, stop_when_stuck=on, **limits)


class TestLoop:
    """The tests' side of one agent: state for the current turn and the steps that run them."""

    __test__ = False  # not a pytest class

    def __init__(self, agent) -> None:
        self.agent = agent
        self.new_turn("")

    def new_turn(self, request: str) -> None:
        self.request = request
        self.baseline: Any = None  # TestReport | None: the failing tests at the turn's start
        self.last: Any = None  # TestReport | None: the latest run
        self.attempts = 0  # applied edits undone because the tests still failed
        self.pushbacks = 0
        self.repairs = 0  # candidate searches run
        self.repair_exhausted = False
        # the failing tests are not what this turn's request asks about (core/repair/requested.py
        # `opening`): an edit is judged by "no worse", and the model is not pushed to fix them
        self.not_the_task = False
        self.tried: set = set()  # candidate file sets already applied and undone
        self.finished: tuple[str, str] | None = None  # (reason, message): end the turn now
        self.step_applied: list = []  # proposals applied in this model step (undone together)
        self.more_edits = False  # more edit calls follow in this model message

    # -- state ---------------------------------------------------------------------------

    @property
    def command(self):
        return self.agent.toolbox.context.test_command

    @property
    def policy(self) -> RetryPolicy:
        return self.agent.config.retry

    def enabled(self) -> bool:
        """Auto-test: run the tests before the turn and after each applied edit."""
        return self.command is not None and self.agent.config.auto_test is not False

    def still_failing(self) -> bool:
        return self.last is not None and not self.last.ok

    def consent(self) -> bool:
        """The tests may run without asking (the user allowed this test command)."""
        return self.agent.gate.test_consent(self.command)

    def _weak(self) -> bool:
        return bool(getattr(self.agent.model, "weak_tool_use", False))

    # -- running -------------------------------------------------------------------------

    def run(self, call_id: str, cancel: threading.Event, after_edit: str = "",
            target: str | None = None, baseline: Any = None) -> Iterator[Event]:
        """Run the test command (asking consent the first time); returns (report | None, text)."""
        report, text = yield from self.agent.gate.run_tests(call_id, self.command, cancel, target=target,
                                                            after_edit=after_edit, baseline=baseline)
        if report is not None:
            self.last = report
        return report, text

    def before_turn(self, cancel: threading.Event) -> Iterator[Event]:
        """The run before any change; returns what the request is to carry of it ("" if nothing)."""
        report, text = yield from self.run("tests-before-" + new_call_id()[5:], cancel)
        if report is None or report.ok:
            return ""
        self.baseline = report
        return "\n\n[The tests, run before any change]\n" + text

    def run_now(self, args: str, cancel: threading.Event) -> Iterator[Event]:
        """`/test [ARGS]`: run the tests now. Typing /test consents only to what the user sees, so
        the command is shown on the usual prompt first (unless this exact command is already
        allowed). Returns the text for the conversation, or None."""
        command = self.command
        if command is None:
            yield ErrorEvent(no_test_command_reason(self.agent.toolbox.workspace.root))
            return None
        gate = self.agent.gate
        report, text = yield from gate.run_tests(new_call_id(), command, cancel, target=args.strip() or None)
        if report is None:
            return None
        self.last = report
        return "[I ran the tests]\n" + text

    # -- after an edit ---------------------------------------------------------------------

    def new_step(self) -> None:
        self.step_applied = []

    def applied(self, proposal, cancel: threading.Event) -> Iterator[Event]:
        """An edit was applied: the text the model reads about the tests after it."""
        self.step_applied.append(proposal)
        if not self.enabled():
            return ""
        if self.more_edits:
            return " The tests run after the last edit of this step."
        return (yield from self._after_edit(proposal, cancel))

    def _after_edit(self, proposal, cancel: threading.Event) -> Iterator[Event]:
        before = self.baseline
        requested = getattr(proposal, "checked", "") == "request"
        report, text = yield from self.run("tests-after-" + new_call_id()[5:], cancel, after_edit=proposal.id,
                                           baseline=before if requested else None)
        out = "\n" + text
        if report is None:
            return out
        if report.ok:
            if before is not None and self._weak():
                self.finished = ("done", f"Done: the tests that failed now pass ({report.passed} passed). "
                                         f"Changed {proposal.path}.")
            return out
        policy = self.policy
        if not report.ran and (before is None or not before.ran):
            return out  # no test ran before the edit nor after it (a missing test folder): nothing to judge by
        # An edit that does what a plain request names (checked "request") is not there to fix
        # the tests that failed before it: it is kept when it breaks nothing more.
        judge = made_worse if requested or self.not_the_task else made_worse_or_no_better
        if policy.undo_failing and judge(before, report):
            applied = self.step_applied or [proposal]
            proposals = self.agent.toolbox.proposals
            undone = " ".join(proposals.undo() for _ in applied)  # this step's edits, newest first
            self.step_applied = []
            self.agent.repeats.edited()
            self.attempts += 1
            self.tried.add(tuple((p.path, p.new.decode("utf-8", "replace")) for p in applied))
            out += f"\n{undone} The edit was undone because the tests still fail; try a different fix."
            yield ErrorEvent(f"The edit to {', '.join(p.path for p in applied)} left the tests failing; undone "
                             f"(attempt {self.attempts} of {policy.max_attempts}).")
            if self.attempts >= policy.max_attempts:
                self.finished = ("tests_failing", f"Stopped after {self.attempts} edits that left the "
                                 "tests failing; each was undone. " + report.summary().splitlines()[0])
        return out

    # -- the model ends its turn -------------------------------------------------------------

    def push_back(self) -> str | None:
        """While tests the turn was to fix still fail, what to tell a model that stopped (once)."""
        if (self.baseline is None or not self.still_failing() or self.not_the_task
                or self.pushbacks >= self.policy.max_pushbacks):
            return None
        if not self.baseline.ran:
            return None  # no test ran: there is nothing the model could make pass
        self.pushbacks += 1
        return ("The tests still fail:\n" + self.last.summary()
                + "\nFix the code (not the tests), or explain why they cannot pass.")

    def retry_prompt(self) -> str | None:
        """What to tell the model after the user undoes an edit that left the tests failing."""
        last = self.last
        if last is None or last.ok:
            return None
        return ("I undid your last edit: the tests still failed after it.\n" + last.summary()
                + "\nTry a different fix in the code (not in the tests).")

    def stopped_message(self) -> str:
        return " The tests still fail: " + self.last.summary().splitlines()[0] if self.still_failing() else ""

    # -- where the failure is ---------------------------------------------------------------

    def failing_paths(self) -> list[str]:
        """Files of the last failing run's frames, deepest first, code before tests (tests first
        only when the request is about them)."""
        report = self.last
        if report is None or report.ok:
            return []
        frames = list(dict.fromkeys(f.path for failure in report.failures for f in reversed(failure.frames)))
        request = self.request.lower()
        about_tests = bool(_ABOUT_TESTS.search(request)) and not _TESTS_PASS.search(request)
        code = [p for p in frames if not is_test_path(p)]
        tests = [p for p in frames if is_test_path(p)]
        return tests + code if about_tests else code + tests
