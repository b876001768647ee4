"""A test that never finishes, as a failure with a place: pytest's faulthandler dump.

A bug that leaves a loop running forever (an update of the loop's variable missing, a condition
that never turns) used to cost the whole test run's time limit and end with "the tests did not
finish": no failing test, no line, nothing for the candidate search to start from. pytest can say
where a slow test is: with `faulthandler_timeout`, a test still running after that many seconds
gets every thread's stack printed ("Timeout (0:00:30)!" and the frames, innermost first). Here:

- `environment()`: PYTEST_ADDOPTS with that option for a pytest run (added after the user's own
  options; the command line the user approved is not changed);
- `dumped()`: whether output shows such a dump, so the runner stops the run there (a looping test
  would only go on looping) instead of at the run's time limit;
- `hung_test()`: the dump as a `Failure`: the test's name, "did not finish in N s", and its frames
  inside the repository (outermost first, so `Failure.frame` is where it was running).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from .detect import is_test_path
from .parse_common import Failure, Frame, _Paths

# faulthandler's first line (after a progress dot, pytest printing no newline), then the first stack
_MARKER = re.compile(r"Timeout \((\d+):(\d\d):(\d\d)(?:\.\d+)?\)!\n(?=(?:Thread|Current thread) 0x)")
_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def seconds_for(timeout: float) -> int:
    """The seconds one test may run before its stack is printed and the run stopped: a quarter of
    the run's time limit, at least 5."""
    return max(5, int(timeout // 4))


def environment(runner: str | None, seconds: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a test run gets so that a test running past `seconds` prints its stack: pytest
    only (other runners: none)."""
    if runner != "pytest":
        return {}
    own = (base if base is not None else os.environ).get("PYTEST_ADDOPTS", "")
    return {"PYTEST_ADDOPTS": f"{own} -o faulthandler_timeout={int(seconds)}".strip()}


# A check of a candidate fix for a test that hung: the fix makes it finish at once, a candidate that
# does not gets stopped after this many seconds rather than the run's quarter.
CHECK_SECONDS = 5
_HUNG = "did not finish in "


def is_hang(failure) -> bool:
    """Whether a failure is a test that never finished (hung_test's)."""
    return (getattr(failure, "message", "") or "").startswith(_HUNG)


def hung(report) -> bool:
    """Whether a report's failures include a test that never finished."""
    return any(is_hang(f) for f in getattr(report, "failures", ()) or ())


def reason(seconds: int) -> str:
    """What a run stopped at a dump says of itself (CommandResult.describe)."""
    return f"a test ran past {int(seconds)} s"


def dumped(text: str) -> bool:
    return _MARKER.search(text) is not None


def hung_test(output: str, root: Path | str) -> Failure | None:
    """The test the (last) dump in `output` shows running, as a failure; None without a dump or
    without a frame inside the repository."""
    marks = list(_MARKER.finditer(output))
    if not marks:
        return None
    mark = marks[-1]
    seconds = int(mark.group(1)) * 3600 + int(mark.group(2)) * 60 + int(mark.group(3))
    paths = _Paths(root)
    inner_first: list[tuple[Frame, str]] = []
    for line in output[mark.end():].splitlines():
        if not line.strip():
            if inner_first:
                break  # the next thread's stack
            continue
        if line.startswith("Thread ") or line.startswith("Current thread "):
            if inner_first:
                break
            continue
        found = _FRAME.match(line)
        if found is None:
            if line.startswith("  "):
                continue
            break
        frame = paths.frame(found.group("path"), found.group("line"))
        if frame is not None:
            inner_first.append((frame, found.group("func")))
    if not inner_first:
        return None
    frames = tuple(frame for frame, _ in reversed(inner_first))
    tests = [(frame, func) for frame, func in reversed(inner_first) if is_test_path(frame.path)]
    name = f"{tests[0][0].path}::{tests[0][1]}" if tests else frames[0].path
    # where it was, innermost first, up to the test: the loop may be in a caller of the frame it was in
    chain = [f"{func} at {frame.where()}: {frame.text}" for frame, func in inner_first
             if not is_test_path(frame.path)][:3]
    return Failure(name, f"{_HUNG}{seconds} s (a loop that never ends?): it was running "
                         + ", called from ".join(chain), frames)
