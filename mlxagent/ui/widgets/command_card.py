"""A command or test run in the transcript.

    $ python -m pytest -q
    ✗ exit 1 in 1.2 s
    ✗ 1 failed, 2 passed · test_calc.py::test_add at calc.py:3
    ▶ 14 lines of output · last: FAILED test_calc.py::test_add - assert 1 == 2

The card follows one call_id through `CommandApproval` (waiting), `CommandStarted`
(running, with the seconds elapsed and the last lines of output as they arrive),
`CommandFinished` (the output folds into one line that expands with Enter or a click,
like a tool card) and `TestResult` (the counts and the first failure).
"""

from __future__ import annotations

import shlex
import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Static

from ...core import events as ev

LIVE_LINES = 12  # lines of output shown while the command runs
KEEP_CHARS = 200_000  # output kept for the expanded view; older text is dropped
SUMMARY_CHARS = 70
TICK = 0.5  # seconds between redraws of the elapsed time


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def finished_text(event: ev.CommandFinished) -> str:
    """"exit 0 in 1.2 s" / "timed out after 120 s" / "cancelled after 3.0 s" / "refused: reason"."""
    if event.refused:
        return event.message or "refused"
    if event.timed_out and event.message.startswith("stopped after"):  # its output stopped it (a hung test)
        text = event.message.replace(" (process group killed)", "")
    elif event.timed_out:
        text = f"timed out after {event.seconds:.0f} s"
    elif event.cancelled:
        text = f"cancelled after {event.seconds:.1f} s"
    elif event.exit_code is None:
        text = event.message or f"ended after {event.seconds:.1f} s"
    else:
        text = f"exit {event.exit_code} in {event.seconds:.1f} s"
    if event.truncated:
        text += " · output shortened"
    return text


def result_text(result: ev.TestResult) -> str:
    """"✓ 3 passed" / "✗ 1 failed, 2 passed · tests/test_x.py::test_a at calc.py:3"."""
    parts = [f"{n} {word}" for n, word in ((result.failed, "failed"),
                                           (result.errors, "error" if result.errors == 1 else "errors"),
                                           (result.passed, "passed"), (result.skipped, "skipped")) if n]
    counts = ", ".join(parts)
    if result.ok:
        return f"✓ {counts or 'tests passed'}"
    text = f"✗ {counts or _first_line(result.summary) or 'tests failed'}"
    first = result.failing[0] if result.failing else ""
    where = result.locations[0] if result.locations else ""
    if first or where:
        text += " · " + " at ".join(p for p in (first, where) if p)
    return text


def _first_line(text: str) -> str:
    return next((_clip(line, SUMMARY_CHARS) for line in text.splitlines() if line.strip()), "")


class CommandCard(Vertical):
    """One command, from the approval prompt to its (test) result."""

    def __init__(self, call_id: str, argv: tuple[str, ...] | list[str], cwd: str = "", purpose: str = "command") -> None:
        super().__init__(classes="command-card -waiting")
        self.call_id = call_id
        self.argv = tuple(argv)
        self.cwd = cwd
        self.purpose = purpose
        self.state = "waiting"  # waiting | approved | running | finished | refused | dropped
        self.finished: ev.CommandFinished | None = None
        self.result: ev.TestResult | None = None
        self.retry_offered = False
        self._state_text = ""  # the state line once refused or dropped
        self._approval = ""  # "once" | "always" once the user said yes
        self._output = ""
        self._output_clipped = False
        self._started: float | None = None
        self._timer = None
        shown = ev.display_request(self.argv, purpose)  # an MCP tool's call: SERVER.tool {arguments}, no "$"
        self._command = Static(Content(shown if purpose == "mcp" else f"$ {shown}"), classes="command-line")
        self._state = Static(Content(""), classes="command-state")
        self._result = Static(Content(""), classes="command-result")
        self._retry = Static(Content(""), classes="command-retry")
        self._live = Static(Content(""), classes="command-output")
        self._fold = Collapsible(self._live, title="output", collapsed=False, classes="command-fold")
        self._result.display = self._retry.display = self._fold.display = False

    @property
    def command_text(self) -> str:
        return ev.display_request(self.argv, self.purpose)

    @property
    def output(self) -> str:
        return self._output

    def compose(self) -> ComposeResult:
        yield self._command
        yield self._state
        yield self._result
        yield self._retry
        yield self._fold

    def on_mount(self) -> None:
        self._show_state()

    # -- states ------------------------------------------------------------------------------

    def _set_class(self, name: str) -> None:
        for cls in ("-waiting", "-running", "-ok", "-failed", "-refused", "-cancelled"):
            self.remove_class(cls)
        self.add_class(name)

    def _show_state(self) -> None:
        if self.state == "waiting":
            text = "⏸ waiting for your approval (y run · A always · r refuse)"
        elif self.state == "approved":
            text = f"✓ {self._approved_text()} · starting…"
        elif self.state == "running":
            elapsed = time.monotonic() - (self._started or time.monotonic())
            text = f"⟳ running · {elapsed:.0f} s"
            if self._approval == "always":
                text += " · always allowed in this repository"
        elif self.state in ("refused", "dropped"):
            text = self._state_text
        else:
            finished = self.finished
            ok = finished is not None and finished.exit_code == 0 and not finished.timed_out
            text = ("✓ " if ok else "✗ ") + (finished_text(finished) if finished else "finished")
        self._state.update(Content(text))

    def _approved_text(self) -> str:
        return "always allowed in this repository" if self._approval == "always" else "approved"

    def approved(self, decision: ev.CommandDecision) -> None:
        """The user answered the approval prompt."""
        if self.state != "waiting":
            return
        if not decision.allowed:
            self.refused(decision.reason)
            return
        self.state = "approved"
        self._approval = decision.action
        self._show_state()

    def refused(self, reason: str = "") -> None:
        self.state = "refused"
        self._state_text = "✗ refused" + (f": {reason}" if reason else " (not now)")
        self._set_class("-refused")
        self._show_state()

    def started(self) -> None:
        self.state = "running"
        self._started = time.monotonic()
        self._set_class("-running")
        self._fold.display = True
        self._fold.collapsed = False
        self._fold.title = "output"
        self._show_state()
        if self._timer is None:
            self._timer = self.set_interval(TICK, self._show_state)

    def add_output(self, text: str) -> None:
        self._output += text.replace("\r\n", "\n")
        if len(self._output) > KEEP_CHARS:
            self._output = self._output[-KEEP_CHARS:]
            self._output_clipped = True
        if self.state in ("running", "approved", "waiting"):
            lines = self._output.rstrip("\n").splitlines()
            self._fold.display = True
            self._live.update(Content("\n".join(lines[-LIVE_LINES:])))

    def finish(self, event: ev.CommandFinished) -> None:
        self._stop_timer()
        self.finished = event
        if event.refused:
            self.state = "refused"
            self._state_text = "✗ " + (event.message or "refused")
            self._set_class("-refused")
        else:
            self.state = "finished"
            if event.timed_out or event.cancelled:
                self._set_class("-cancelled")
            else:
                self._set_class("-ok" if event.exit_code == 0 else "-failed")
        self._show_state()
        self._fold_output()

    def dropped(self, why: str = "the turn ended") -> None:
        """The turn ended with this command waiting or running and no finish was reported."""
        if self.state in ("finished", "refused", "dropped"):
            return
        self._stop_timer()
        self.state = "dropped"
        self._state_text = f"✗ not run: {why}" if self._started is None else f"✗ stopped: {why}"
        self._set_class("-cancelled")
        self._show_state()
        self._fold_output()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _fold_output(self) -> None:
        lines = [line for line in self._output.splitlines() if line.strip()]
        if not lines:
            self._fold.display = False
            return
        n = len(self._output.rstrip("\n").splitlines())
        last = _clip(lines[-1], SUMMARY_CHARS)
        self._fold.title = f"{n} line{'s' if n != 1 else ''} of output · last: {last}"
        full = ("[… earlier output dropped]\n" if self._output_clipped else "") + self._output.rstrip("\n")
        self._live.update(Content(full))
        self._live.add_class("-full")
        self._fold.display = True
        self._fold.collapsed = True

    # -- test results --------------------------------------------------------------------------

    def test_result(self, result: ev.TestResult) -> None:
        self.result = result
        self._result.update(Content(result_text(result)))
        self._result.set_class(result.ok, "-passed")
        self._result.set_class(not result.ok, "-failed")
        self._result.display = True
        self._set_class("-ok" if result.ok else "-failed")
        if result.old_failures:
            self.offer_retry(False)

    def offer_retry(self, on: bool) -> None:
        """After an auto-test that failed: say so, and offer ctrl+z (undo the edit, ask again)."""
        self.retry_offered = on
        if on:
            self._retry.update(Content("the edit left tests failing · ctrl+z undo it and retry"))
        elif self.result is not None and self.result.old_failures:
            self._retry.update(Content("only tests that failed before the edit fail: it broke none"))
        elif self.result is not None and self.result.after_edit and not self.result.ok:
            self._retry.update(Content("the edit left tests failing"))
        self._retry.display = bool(self.result is not None and self.result.after_edit and not self.result.ok)

    # -- for tests and the transcript ------------------------------------------------------------

    @property
    def state_line(self) -> str:
        return str(self._state.render())

    @property
    def result_line(self) -> str:
        return str(self._result.render()) if self._result.display else ""

    @property
    def retry_line(self) -> str:
        return str(self._retry.render()) if self._retry.display else ""

    @property
    def live_text(self) -> str:
        return str(self._live.render())

    @property
    def output_title(self) -> str:
        return str(self._fold.title)


REPAIR_STAGES = {
    "candidates": "looking for candidate fixes",
    "ranked": "candidate fixes ranked",
    "checked": "checking candidate fixes",
    "sampled": "the rules ran out: sampling the model's own rewrites",
    "found": "a candidate fix passes the tests",
    "none": "no candidate fix passed the tests",
}


def repair_text(event: ev.RepairProgress) -> str:
    """"⚕ checking candidate fixes · 2 of 5 checked" and the engine's message."""
    mark = {"found": "✓", "none": "✗"}.get(event.stage, "⚕")
    text = f"{mark} {REPAIR_STAGES.get(event.stage, event.stage)}"
    if event.stage in ("candidates", "ranked") and event.candidates:
        text += f" · {event.candidates} candidate{'s' if event.candidates != 1 else ''}"
    elif event.candidates:
        text += f" · {event.checked} of {event.candidates} checked"
    if event.message:
        text += f" — {event.message}"
    return text


class RepairLine(Static):
    """The candidate-fix search, one line updated in place as it goes."""

    def __init__(self) -> None:
        super().__init__(Content("⚕ looking for candidate fixes"), classes="repair-line")
        self.stage = ""

    def progress(self, event: ev.RepairProgress) -> None:
        self.stage = event.stage
        self.update(Content(repair_text(event)))
        self.set_class(event.stage == "found", "-found")
        self.set_class(event.stage == "none", "-none")

    def checking(self, argv: tuple[str, ...]) -> None:
        if self.stage in ("found", "none"):
            return
        self.update(Content(f"⚕ checking a candidate fix: $ {_clip(shlex.join(argv), SUMMARY_CHARS)}"))
