"""Test runner output, boiled down for a small model.

`parse_test_output` reads what pytest, unittest, cargo test, go test, jest,
vitest, mocha or node's own test runner (`node --test`, TAP or spec) printed
and returns a `TestReport`: the counts, and for each failure its name, its
message and the frames of the traceback that lie inside the repository (outermost
first), each with the source line read from the file. `TestReport.summary()` is
the short text the model sees; output that is not recognised falls back to its
last lines.

This module holds `TestReport` and the dispatcher; `Frame`, `Failure` and the
helpers the parsers share live in `parse_common`, the parsers themselves in
`parse_python` (pytest, unittest), `parse_other` (cargo, go, jest) and `parse_js`
(vitest, mocha, node --test). `Frame`, `Failure` and the message limits are
imported here too, so
`from mlxagent.core.testing.report import Failure, Frame, TestReport, parse_test_output` works.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Frame and Failure are the report's parts: callers import them from here.
from .parse_common import Failure, Frame, _clip, _Paths  # noqa: F401
from .parse_js import _parse_mocha, _parse_node_spec, _parse_node_tap, _parse_vitest
from .parse_other import _parse_cargo, _parse_go, _parse_jest
from .parse_python import _parse_pytest, _parse_unittest

TAIL_LINES = 40

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


@dataclass(frozen=True)
class TestReport:
    __test__ = False  # not a pytest test class

    runner: str  # "pytest" | "unittest" | "cargo" | "go" | "jest" | "vitest" | "mocha" | "node" | "unknown"
    exit_code: int | None
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: tuple[Failure, ...] = ()
    recognised: bool = False  # the output was parsed (counts found)
    tail: str = ""  # the last lines of the output

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failed == 0 and self.errors == 0

    @property
    def ran(self) -> bool:
        """Some test ran (or failed to load): a run with none (a missing test folder, a runner that
        is not installed) says nothing about the code."""
        return bool(self.failures or self.passed or self.failed or self.errors)

    def summary(self, max_failures: int = 5) -> str:
        """A few short lines for a small model."""
        if not self.recognised:
            if self.exit_code is None:
                head = "Tests did not finish (killed, timed out or could not start)."
            else:
                head = f"Tests exited with code {self.exit_code}."
            return f"{head} Last lines:\n{self.tail}" if self.tail.strip() else f"{head} There was no output."
        lines = [self._counts_line()]
        for failure in self.failures[: max(0, max_failures)]:
            lines.append(f"{'ERROR' if failure.kind == 'error' else 'FAILED'} {failure.name}")
            for text in failure.message.splitlines()[:3]:
                lines.append("  " + _clip(text.strip()))
            frame = failure.frame
            if frame is not None:
                lines.append(f"  at {frame.where()}" + (f": {_clip(frame.text)}" if frame.text else ""))
        more = len(self.failures) - max(0, max_failures)
        if more > 0:
            lines.append(f"… and {more} more.")
        if not self.ok and not self.failures and self.tail.strip():
            lines.append("Last lines:")
            lines.extend(self.tail.splitlines()[-10:])
        return "\n".join(lines)

    def _counts_line(self) -> str:
        bad = self.failed or self.errors
        if not bad and self.exit_code == 0:
            if self.passed:
                text = f"Tests: all {self.passed} passed"
                text += f", {self.skipped} skipped." if self.skipped else "."
            elif self.skipped:
                text = f"Tests: 0 passed, {self.skipped} skipped."
            else:
                text = "Tests: passed."
            return text
        parts = []
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.errors:
            parts.append(f"{self.errors} error" + ("s" if self.errors != 1 else ""))
        if self.passed:
            parts.append(f"{self.passed} passed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if not parts:
            text = "Tests: no tests ran"
        else:
            text = "Tests: " + ", ".join(parts)
        if self.exit_code is None:
            return text + ". The run did not finish (killed or timed out)."
        if not bad:
            return text + f", but the command exited with code {self.exit_code}."
        return text + "."

    def failing_locations(self) -> list[Frame]:
        """The deepest repository frame of each failure, without repeats, in order."""
        seen: set[tuple[str, int]] = set()
        out: list[Frame] = []
        for failure in self.failures:
            frame = failure.frame
            if frame is not None and (frame.path, frame.line) not in seen:
                seen.add((frame.path, frame.line))
                out.append(frame)
        return out

    def to_dict(self) -> dict:
        def frame_dict(frame: Frame) -> dict:
            return {"path": frame.path, "line": frame.line, "text": frame.text}

        return {
            "runner": self.runner,
            "exit_code": self.exit_code,
            "ok": self.ok,
            "recognised": self.recognised,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "failures": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "message": f.message,
                    "frames": [frame_dict(fr) for fr in f.frames],
                    "frame": frame_dict(f.frame) if f.frame else None,
                }
                for f in self.failures
            ],
            "tail": self.tail,
        }


def parse_test_output(
    output: str, exit_code: int | None, repo_root: Path | str, runner: str | None = None
) -> TestReport:
    """Read a test run's output. `runner` is a hint (a TestCommand's runner will do);
    without one, or when the hinted parser does not recognise the output, the
    runner is told from the output itself."""
    text = _ANSI.sub("", output or "").replace("\r\n", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    tail = "\n".join(_last_lines(lines, TAIL_LINES))
    paths = _Paths(repo_root)
    order = list(_PARSERS)
    hint = {"npm": "jest", "yarn": "jest", "pnpm": "jest"}.get(runner or "", runner)
    if hint in _PARSERS:
        order.remove(hint)
        order.insert(0, hint)
    for name in order:
        parsed = _PARSERS[name](lines, paths)
        if parsed is not None:
            counts, failures = parsed
            return TestReport(
                runner=name,
                exit_code=exit_code,
                passed=counts.get("passed", 0),
                failed=counts.get("failed", 0),
                errors=counts.get("errors", 0),
                skipped=counts.get("skipped", 0),
                failures=tuple(failures),
                recognised=True,
                tail=tail,
            )
    return TestReport(runner=hint if hint in _PARSERS else "unknown", exit_code=exit_code, tail=tail)


def _parse_node(lines: list[str], paths: _Paths):
    """node --test: TAP (its reporter when the output is not a terminal, up to node 22) or spec."""
    return _parse_node_tap(lines, paths) or _parse_node_spec(lines, paths)


def _last_lines(lines: list[str], count: int) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[max(0, end - count) : end]


_PARSERS: dict[str, Callable] = {
    "pytest": _parse_pytest,
    "unittest": _parse_unittest,
    "cargo": _parse_cargo,
    "go": _parse_go,
    "jest": _parse_jest,
    # After the others, which they must not take output from: each wants its runner's own closing counts.
    "vitest": _parse_vitest,
    "mocha": _parse_mocha,
    "node": _parse_node,
}
