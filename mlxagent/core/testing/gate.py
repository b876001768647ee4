"""Between a command the agent wants and the process that runs it: consent, running, reporting.

Every command is shown to the user before it runs (`CommandApproval`, a round trip like a
proposal's review), unless the user already allowed it for this repository ("always", saved
by core/testing/consent.py) or the session was started with commands allowed (`--allow-commands`).
The test command needs consent once per session ("run") or once per repository ("always"). With no one
to ask (`allow=False`), a command is refused with a note the model can act on.

Running streams `CommandStarted`, `CommandOutput` and `CommandFinished`; a test run adds a
`TestResult` parsed by core/testing/report.py. All of these are generators of events whose
return value (`yield from`) is the outcome.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from .runner import CommandError, CommandResult, format_command, run_command, stream_command
from ..events import (MODEL_ASKED, CommandApproval, CommandDecision, CommandFinished, CommandOutput,
                      CommandStarted, ErrorEvent, Event, TestResult, display_command, wait_for_reply)
from . import hangs
from .consent import CommandPermissions, ConsentNotSaved
from .detect import TestCommand
from .report import TestReport, parse_test_output

REFUSED_NO_REVIEWER = "commands are not allowed in this run (start it with --allow-commands to allow them)"


class CommandGate:
    def __init__(self, root: Path, permissions: CommandPermissions | None = None, *, allow: bool | None = None,
                 timeout: float = 120.0, max_output_chars: int = 20_000):
        self.root = Path(root)
        self.permissions = permissions or CommandPermissions(None, self.root)
        self.allow = allow  # True: run without asking; False: refuse without asking; None: ask
        self.timeout = timeout
        self.max_output_chars = max_output_chars

    # -- consent -------------------------------------------------------------------------

    def approve(self, call_id: str, argv: Sequence[str], cwd: str, purpose: str,
                cancel: threading.Event, source: str = "") -> Iterator[Event]:
        """Ask (or not) for consent to run `argv`; returns a CommandDecision.

        "always" saves the command for this repository; "once" runs it this time, and for the
        tests also for the rest of this session (in memory only), as the prompt says."""
        if self.allow is True or self.permissions.allowed(argv):
            return CommandDecision.once()
        if self.allow is False:
            return CommandDecision.refuse(REFUSED_NO_REVIEWER)
        event = CommandApproval(call_id, tuple(argv), cwd, purpose, source or (MODEL_ASKED if purpose == "command"
                                                                                else ""))
        yield event
        decision = wait_for_reply(event.reply, cancel)
        if decision is None:
            return CommandDecision.refuse("the user interrupted")
        if decision.action == "always":
            try:
                self.permissions.allow(argv)
            except ConsentNotSaved as exc:
                yield ErrorEvent(f"Could not save the approval of {display_command(argv)} ({exc}); "
                                 "it is allowed for this session only.")
        elif decision.allowed and purpose == "tests":
            self.permissions.allow_for_session(argv)
        return decision

    # -- running -------------------------------------------------------------------------

    def run(self, call_id: str, argv: Sequence[str], cwd: str, purpose: str, cancel: threading.Event,
            *, ask: bool = True, source: str = "", env: Mapping[str, str] | None = None,
            stdin: bytes | None = None, stop_when: Callable[[str], bool] | None = None,
            stop_reason: str = "") -> Iterator[Event]:
        """Consent, then run (with `env` added to the environment and `stdin` as its input; stopped
        early when `stop_when(output)`); returns (CommandResult | None, refusal text)."""
        if ask:
            decision = yield from self.approve(call_id, argv, cwd, purpose, cancel, source)
            if not decision.allowed:
                reason = decision.reason or "the user refused to run it"
                yield CommandFinished(call_id, tuple(argv), None, 0.0, refused=True,
                                      message=f"refused: {reason}")
                return None, f"The command was not run: {reason}. {format_command(argv)}"
        folder = (self.root / cwd).resolve()
        yield CommandStarted(call_id, tuple(argv), cwd, purpose)
        result: CommandResult | None = None
        for item in stream_command(argv, folder, timeout=self.timeout, max_output_chars=self.max_output_chars,
                                   cancel=cancel, env=env, stdin=stdin, stop_when=stop_when,
                                   stop_reason=stop_reason or "its output asked to stop it"):
            if isinstance(item, str):
                yield CommandOutput(call_id, item)
            else:
                result = item
        assert result is not None
        yield CommandFinished(call_id, tuple(argv), result.exit_code, result.duration, result.timed_out,
                              result.cancelled, result.truncated, message=result.describe())
        return result, ""

    def run_tests(self, call_id: str, command: TestCommand, cancel: threading.Event, *,
                  target: str | None = None, after_edit: str = "", ask: bool = True,
                  baseline: TestReport | None = None) -> Iterator[Event]:
        """Run the test command (narrowed to `target`); returns (TestReport | None, text for the model).
        `baseline`: the failing run an edit made from a plain request is judged against (its event
        says when only those old failures remain)."""
        try:
            argv = tuple(command.narrowed(target)) if target else tuple(command.argv)
        except CommandError as exc:
            return None, str(exc)
        result, refusal = yield from self.run(call_id, argv, ".", "tests", cancel, ask=ask,
                                              source=getattr(command, "source", ""),
                                              env=hangs.environment(command.runner, hangs.seconds_for(self.timeout)),
                                              stop_when=hangs.dumped,
                                              stop_reason=hangs.reason(hangs.seconds_for(self.timeout)))
        if result is None:
            return None, refusal
        hung = hangs.hung_test(result.output, self.root) if result.timed_out else None
        if result.exit_code is None and hung is None:
            return None, f"The tests did not finish: {result.describe()}.\n{result.output[-2000:]}"
        if hung is not None:  # a test that never finished: a failure at the line it was running
            report = TestReport(command.runner or "pytest", None, failed=1, failures=(hung,), recognised=True,
                                tail=result.output[-2000:])
        else:
            report = parse_test_output(result.output, result.exit_code, self.root, command.runner)
        old = baseline is not None and not baseline.ok and not report.ok and not made_worse(baseline, report)
        yield test_event(call_id, report, after_edit, old_failures=old)
        return report, report.summary()

    def check(self, command: TestCommand, root: Path, cancel: threading.Event | None = None,
              per_test: int | None = None) -> bool:
        """Whether the tests pass in another copy of the repository (no events, no asking:
        the caller holds the consent for this test command). A pytest test still running after
        `per_test` seconds (default: hangs.seconds_for the time limit) stops the check: it fails."""
        report = self.check_report(command, root, cancel, per_test)
        return report is not None and report.ok

    def check_report(self, command: TestCommand, root: Path, cancel: threading.Event | None = None,
                     per_test: int | None = None, env: dict[str, str] | None = None) -> TestReport | None:
        """check()'s run, its report (None: it did not finish); `env` is added to the run's."""
        seconds = per_test if per_test is not None else hangs.seconds_for(self.timeout)
        result = run_command(list(command.argv), root, timeout=self.timeout,
                             max_output_chars=self.max_output_chars, cancel=cancel,
                             env={**hangs.environment(command.runner, seconds), **(env or {})},
                             stop_when=hangs.dumped, stop_reason=hangs.reason(seconds))
        if result.exit_code is None:
            return None
        return parse_test_output(result.output, result.exit_code, root, command.runner)

    def test_consent(self, command: TestCommand) -> bool:
        return self.allow is True or self.permissions.allowed(command.argv)


def test_event(call_id: str, report: TestReport, after_edit: str = "", old_failures: bool = False) -> TestResult:
    return TestResult(
        call_id, report.ok, report.passed, report.failed, report.errors, report.skipped,
        failing=tuple(f.name for f in report.failures),
        locations=tuple(f"{f.frame.path}:{f.frame.line}" for f in report.failures if f.frame is not None),
        summary=report.summary(), after_edit=after_edit, old_failures=old_failures,
    )


def failing_names(report: TestReport | None) -> set[str]:
    return {f.name for f in report.failures} if report is not None else set()


def made_worse(before: TestReport | None, after: TestReport) -> bool:
    """An applied edit broke something: tests fail after it that did not before, or more fail."""
    if after.ok:
        return False
    if before is None or before.ok:
        return True
    new_failures = failing_names(after) - failing_names(before)
    return bool(new_failures) or (after.failed + after.errors) > (before.failed + before.errors)


def made_worse_or_no_better(before: TestReport | None, after: TestReport) -> bool:
    """An applied edit did not help: tests fail after it, and either new tests fail or no fewer fail."""
    if after.ok:
        return False
    if made_worse(before, after):
        return True
    return (after.failed + after.errors) >= (before.failed + before.errors)
