"""Parsers for the test output of cargo test (Rust), go test and jest (JavaScript).

Each parser reads its runner's counts and, for each failing test, the message
and the repository frames of its panic or stack trace; cargo and go compile
errors (no test could run) become failures of kind "error". Each returns
`(counts, failures)`, or None when the output is not its runner's;
`report.parse_test_output` chooses among them.
"""

from __future__ import annotations

import re

from .parse_common import Failure, Frame, _dedupe, _message, _Paths


# --- cargo test ----------------------------------------------------------------------

_CARGO_RESULT = re.compile(
    r"^test result: (?:ok|FAILED)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored;"
)
_CARGO_BLOCK = re.compile(r"^---- (?P<name>.+?) (?:stdout|stderr) ----$")
_CARGO_PANIC_NEW = re.compile(r"^thread '.*' panicked at (?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+):$")
_CARGO_PANIC_OLD = re.compile(
    r"thread '.*?' panicked at '(?P<msg>.*?)', (?P<path>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+)", re.S
)
_CARGO_ERROR = re.compile(r"^error(?:\[(?P<code>E\d+)\])?: (?P<msg>.+)$")
_CARGO_ARROW = re.compile(r"^\s*--> (?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+)$")


def _parse_cargo(lines: list[str], paths: _Paths):
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    seen = False
    for line in lines:
        m = _CARGO_RESULT.match(line)
        if m:
            seen = True
            counts["passed"] += int(m["passed"])
            counts["failed"] += int(m["failed"])
            counts["skipped"] += int(m["ignored"])
    if not seen:
        return _parse_cargo_build(lines, paths)
    failures: list[Failure] = []
    i = 0
    while i < len(lines):
        m = _CARGO_BLOCK.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        body: list[str] = []
        while j < len(lines) and not _CARGO_BLOCK.match(lines[j]) and lines[j] not in ("failures:",):
            if lines[j].startswith("test result:"):
                break
            body.append(lines[j])
            j += 1
        failures.append(_cargo_failure(m["name"], body, paths))
        i = j
    return counts, failures


def _cargo_failure(name: str, body: list[str], paths: _Paths) -> Failure:
    for k, line in enumerate(body):
        m = _CARGO_PANIC_NEW.match(line)
        if m:  # Rust 1.73+: the location, then the message on the following lines
            message_lines = []
            for line2 in body[k + 1 :]:
                if not line2.strip() or line2.startswith(("note:", "stack backtrace:", "thread '")):
                    break
                message_lines.append(line2)
            frame = paths.frame(m["path"], m["line"])
            return Failure(name, _message(message_lines, paths), (frame,) if frame else ())
    m = _CARGO_PANIC_OLD.search("\n".join(body))
    if m:
        frame = paths.frame(m["path"], m["line"])
        return Failure(name, _message(m["msg"].split("\n"), paths), (frame,) if frame else ())
    return Failure(name, _message([b for b in body if not b.startswith("note:")], paths))


def _parse_cargo_build(lines: list[str], paths: _Paths):
    """No test ran because the crate does not compile: each error, at its location."""
    if not any(line.startswith("error: could not compile") for line in lines):
        return None
    failures: list[Failure] = []
    for i, line in enumerate(lines):
        m = _CARGO_ERROR.match(line)
        if not m or m["msg"].startswith(("could not compile", "aborting due to")):
            continue
        for follow in lines[i + 1 : i + 4]:
            arrow = _CARGO_ARROW.match(follow)
            if arrow:
                frame = paths.frame(arrow["path"], arrow["line"])
                label = f"error[{m['code']}]" if m["code"] else "error"
                failures.append(Failure("compile error", f"{label}: {m['msg']}", (frame,) if frame else (), "error"))
                break
    return {"errors": max(1, len(failures))}, failures


# --- go test --------------------------------------------------------------------------

_GO_RESULT = re.compile(r"^(?P<indent>\s*)--- (?P<kind>FAIL|PASS|SKIP): (?P<name>\S+) \([\d.]+s\)$")
_GO_PACKAGE = re.compile(
    r"^(?:ok\s+\S+\s+(?:[\d.]+s|\(cached\))|FAIL\s+\S+\s+(?:[\d.]+s|\[build failed\]|\[setup failed\])|\?\s+\S+\s+\[no test files\])"
)
_GO_LOG = re.compile(r"^\s+(?P<path>[^\s:]+\.go):(?P<line>\d+): (?P<msg>.*)$")
_GO_STACK = re.compile(r"^\t(?P<path>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$")
_GO_BUILD = re.compile(r"^(?P<path>[^\s:]+\.go):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<msg>.+)$")


def _parse_go(lines: list[str], paths: _Paths):
    results = [(i, _GO_RESULT.match(line)) for i, line in enumerate(lines)]
    results = [(i, m) for i, m in results if m]
    packages = [line for line in lines if _GO_PACKAGE.match(line)]
    if not results and not packages:
        return None
    failed_names = [m["name"] for _, m in results if m["kind"] == "FAIL"]
    leaves = {n for n in failed_names if not any(other.startswith(n + "/") for other in failed_names)}
    counts = {
        "passed": sum(1 for _, m in results if m["kind"] == "PASS"),
        "skipped": sum(1 for _, m in results if m["kind"] == "SKIP"),
        "failed": len(leaves),
    }
    failures: list[Failure] = []
    for i, m in results:
        if m["kind"] != "FAIL" or m["name"] not in leaves:
            continue
        indent = len(m["indent"])
        frames: list[Frame] = []
        message: list[str] = []
        for line in lines[i + 1 :]:
            if not line.strip():
                continue
            if len(line) - len(line.lstrip()) <= indent or _GO_RESULT.match(line):
                break
            log = _GO_LOG.match(line)
            if log:
                frame = paths.frame(log["path"], log["line"], search=True)
                if frame is not None:
                    frames.append(frame)
                message.append(log["msg"])
            elif message:
                message.append(line.strip())
        failures.append(Failure(m["name"], _message(message, paths), _dedupe(frames)))
    failures = _go_panics(lines, paths, failures)
    build = _go_build_errors(lines, paths)
    if build:
        counts["errors"] = len(build)
        failures.extend(build)
    return counts, failures


def _go_panics(lines: list[str], paths: _Paths, failures: list[Failure]) -> list[Failure]:
    """A panic ends the test binary: its message and the repository frames of its stack."""
    for i, line in enumerate(lines):
        if not line.startswith("panic: "):
            continue
        message = line[len("panic: ") :].removesuffix(" [recovered]")
        stack: list[Frame] = []
        for follow in lines[i + 1 :]:
            if follow.startswith(("FAIL", "ok ", "exit status")):
                break
            s = _GO_STACK.match(follow)
            if s:
                frame = paths.frame(s["path"], s["line"], search=True)
                if frame is not None:
                    stack.append(frame)
        frames = _dedupe(list(reversed(stack)))  # go prints the innermost call first
        if failures and not failures[-1].frames:
            failures[-1] = Failure(failures[-1].name, message, frames)
        else:
            failures.append(Failure("panic", message, frames))
        break  # the first panic is the one that matters
    return failures


def _go_build_errors(lines: list[str], paths: _Paths) -> list[Failure]:
    out: list[Failure] = []
    package = ""
    for line in lines:
        if line.startswith("# "):
            package = line[2:].strip()
            continue
        m = _GO_BUILD.match(line)
        if m and package:
            frame = paths.frame(m["path"], m["line"], search=True)
            out.append(Failure(f"build failed: {package}", m["msg"], (frame,) if frame else (), "error"))
    return out


# --- jest --------------------------------------------------------------------------------

_JEST_TESTS = re.compile(r"^Tests:\s+(?P<body>.*?)(?P<total>\d+) total")
_JEST_SUITES = re.compile(r"^Test Suites:\s+.*\d+ total")
_JEST_BULLET = re.compile(r"^\s*● (?P<title>.+)$")
_JEST_FILE = re.compile(r"^\s?(?:FAIL|PASS)\s+(?P<path>\S+)")
_JEST_CODE = re.compile(r"^\s*>?\s*\d+ \|")
_JEST_AT = re.compile(r"^\s*at (?:.*? \()?(?P<path>[^()\s]+?):(?P<line>\d+):(?P<col>\d+)\)?$")


def _parse_jest(lines: list[str], paths: _Paths):
    counts: dict[str, int] = {}
    found = False
    for line in lines:
        m = _JEST_TESTS.match(line)
        if m:
            found = True
            for number, word in re.findall(r"(\d+) ([a-z]+)", m["body"]):
                key = {"failed": "failed", "passed": "passed", "skipped": "skipped", "todo": "skipped", "pending": "skipped"}.get(word)
                if key:
                    counts[key] = counts.get(key, 0) + int(number)
        elif _JEST_SUITES.match(line):
            found = True
    if not found:
        return None
    failures: list[Failure] = []
    seen: set[str] = set()
    current_file = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        f = _JEST_FILE.match(line)
        if f:
            current_file = f["path"]
        m = _JEST_BULLET.match(line)
        if not m:
            i += 1
            continue
        title = m["title"].strip()
        j = i + 1
        body: list[str] = []
        while j < len(lines):
            nxt = lines[j]
            if _JEST_BULLET.match(nxt) or _JEST_FILE.match(nxt) or _JEST_SUITES.match(nxt) or nxt.startswith("Summary of all failing"):
                break
            body.append(nxt)
            j += 1
        i = j
        if title == "Console":
            continue
        suite_error = title == "Test suite failed to run"
        name = current_file if suite_error and current_file else title
        if name in seen:
            continue
        seen.add(name)
        message_lines: list[str] = []
        for b in body:
            if _JEST_CODE.match(b) or _JEST_AT.match(b):
                break
            message_lines.append(b)
        stack = []
        for b in body:
            at = _JEST_AT.match(b)
            if at:
                frame = paths.frame(at["path"], at["line"])
                if frame is not None:
                    stack.append(frame)
        frames = _dedupe(list(reversed(stack)))  # the innermost call is printed first
        failures.append(Failure(name, _message(message_lines, paths), frames, "error" if suite_error else "failed"))
    errors = sum(1 for f in failures if f.kind == "error")
    if errors:
        counts["errors"] = errors
    return counts, failures
