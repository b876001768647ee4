"""Parsers for Python test output: pytest, unittest, and plain Python tracebacks.

`_parse_pytest` reads pytest's final counts line, its FAILURES and ERRORS sections
(long or short tracebacks, with SyntaxErrors and the like read as plain
tracebacks) and its short test summary; `_parse_unittest` reads unittest's
"Ran N tests" and FAIL/ERROR blocks. Each returns `(counts, failures)`, or None
when the output is not its runner's; `report.parse_test_output` chooses among them.
"""

from __future__ import annotations

import re

from .parse_common import Failure, Frame, _dedupe, _message, _Paths

_LEFT_OUT = re.compile(r"^\[… \d+ characters of output left out …\]$")


# --- Python tracebacks (unittest, and SyntaxErrors inside pytest output) --------

_PY_FILE = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
_PY_CHAIN = ("During handling of the above exception", "The above exception was the direct cause")


def _python_traceback(lines: list[str], paths: _Paths) -> tuple[list[Frame], str]:
    """Repository frames and the exception message of a plain Python traceback
    (the last one, when exceptions are chained)."""
    frames: list[Frame] = []
    last_file = -1
    for i, line in enumerate(lines):
        if line.startswith(_PY_CHAIN):
            frames = []
            last_file = -1
            continue
        m = _PY_FILE.match(line)
        if m:
            last_file = i
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            fallback = nxt if nxt.startswith((" ", "\t")) and not _PY_FILE.match(nxt) else ""
            frame = paths.frame(m["path"], m["line"], fallback)
            if frame is not None:
                frames.append(frame)
    if last_file < 0:
        return frames, _message(lines, paths)
    # After the last frame: its indented source (and caret) lines, then the message.
    file_indent = len(lines[last_file]) - len(lines[last_file].lstrip())
    i = last_file + 1
    while i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > file_indent:
        i += 1
    rest: list[str] = []
    for line in lines[i:]:
        if not line.strip() and rest:
            break
        if line.startswith(_PY_CHAIN) or line.startswith("Traceback (most recent call last)"):
            break
        rest.append(line)
    return frames, _message(rest, paths)


# --- pytest ----------------------------------------------------------------------

_PYTEST_FINAL = re.compile(
    r"^=*\s*(?P<body>(?:\d+ [a-z]+(?:, )?)+|no tests ran)\s+in\s+[\d.]+\s*s(?:econds)?\b.*?=*$"
)
_PYTEST_BIG = re.compile(r"^={3,} (?P<title>.+?) ={3,}$")
_PYTEST_HEADER = re.compile(r"^_{3,} (?P<title>.+?) _{3,}$")
_PYTEST_LOC = re.compile(r"^(?P<path>[^\s<>:][^<>:]*?):(?P<line>\d+):(?: (?P<rest>.*))?$")
_PYTEST_SHORT = re.compile(r"^(?P<kind>FAILED|ERROR) (?P<id>.+?)(?: - (?P<msg>.*))?$")
_PYTEST_CAPTURED = re.compile(r"^-{3,} .*(?:[Cc]aptured|[Ll]og) .* -{3,}$")
_PYTEST_NOISE = re.compile(r"^\s*(Use -v+ to get more diff|Use -v+ to get the full diff|Omitting \d+ identical items.*)$")


def _parse_pytest(lines: list[str], paths: _Paths):
    final = None
    for line in reversed(lines):
        m = _PYTEST_FINAL.match(line.strip())
        if m:
            final = m
            break
    if final is None:
        return None
    counts: dict[str, int] = {}
    for number, word in re.findall(r"(\d+) ([a-z]+)", final["body"]):
        key = {"passed": "passed", "failed": "failed", "error": "errors", "errors": "errors", "skipped": "skipped"}.get(
            word
        )
        if key:
            counts[key] = counts.get(key, 0) + int(number)

    sections: list[tuple[str, list[str]]] = []  # (header, lines) from FAILURES and ERRORS
    short: list[tuple[str, str, str]] = []  # (kind, node id, message) from the short summary
    area = ""
    current: list[str] | None = None
    for line in lines:
        big = _PYTEST_BIG.match(line)
        if big or _LEFT_OUT.match(line) or line.startswith("!!!!"):
            title = big["title"].strip() if big else ""
            area = title.lower() if big else area
            current = None
            continue
        if area in ("failures", "errors"):
            header = _PYTEST_HEADER.match(line)
            if header:
                current = []
                sections.append((header["title"].strip(), current))
            elif current is not None:
                current.append(line)
        elif area == "short test summary info":
            m = _PYTEST_SHORT.match(line)
            if m:
                short.append((m["kind"], m["id"].strip(), (m["msg"] or "").strip()))

    parsed = [(header, *_pytest_section(body, paths)) for header, body in sections]
    used = [False] * len(parsed)
    failures: list[Failure] = []

    def take(candidates: list[str]) -> int | None:
        for i, (header, _, _) in enumerate(parsed):
            if not used[i] and header in candidates:
                used[i] = True
                return i
        return None

    for kind, node_id, short_msg in short:
        parts = node_id.split("::")
        tail = ".".join(parts[1:])
        if kind == "FAILED":
            candidates = [tail]
        elif len(parts) == 1:
            candidates = [f"ERROR collecting {node_id}"]
        else:
            candidates = [f"ERROR at setup of {tail}", f"ERROR at teardown of {tail}"]
        index = take(candidates)
        frames: tuple[Frame, ...] = ()
        message = short_msg
        if index is not None:
            _, frames, section_msg = parsed[index]
            message = section_msg or short_msg
        failures.append(
            Failure(node_id, paths.clean(message), frames, "failed" if kind == "FAILED" else "error")
        )
    for i, (header, frames, message) in enumerate(parsed):
        if used[i]:
            continue
        if header.startswith("ERROR collecting "):
            failures.append(Failure(header[len("ERROR collecting ") :], message, frames, "error"))
        elif header.startswith("ERROR at "):
            name = header.split(" of ", 1)[-1]
            failures.append(Failure(_pytest_node_id(name, frames), message, frames, "error"))
        else:
            failures.append(Failure(_pytest_node_id(header, frames), message, frames, "failed"))
    return counts, failures


def _pytest_node_id(header: str, frames: tuple[Frame, ...]) -> str:
    """A node id from a section header like "TestX.test_y[1.5]" and the test's file."""
    base, bracket, params = header.partition("[")
    name = "::".join(base.split(".")) + (bracket + params)
    return f"{frames[0].path}::{name}" if frames else name


def _pytest_section(body: list[str], paths: _Paths) -> tuple[tuple[Frame, ...], str]:
    frames: list[Frame] = []
    e_groups: list[list[str]] = []
    last_marked = ""  # the last ">" source line (long tracebacks)
    previous_was_e = False
    for i, line in enumerate(body):
        if _PYTEST_CAPTURED.match(line):
            break
        if line.startswith(_PY_CHAIN):
            frames, e_groups = [], []
            previous_was_e = False
            continue
        if line == "E" or line.startswith("E "):
            if not previous_was_e:
                e_groups.append([])
            e_groups[-1].append(line[1:])
            previous_was_e = True
            continue
        previous_was_e = False
        if line.startswith(">"):
            last_marked = line[1:]
            continue
        m = _PYTEST_LOC.match(line)
        if m and not line.startswith("_ _"):
            rest = m["rest"] or ""
            if rest.startswith("in "):  # --tb=short: the source line follows
                nxt = body[i + 1] if i + 1 < len(body) else ""
                fallback = nxt if nxt.startswith(" ") else ""
            else:
                fallback = last_marked
            frame = paths.frame(m["path"], m["line"], fallback)
            if frame is not None:
                frames.append(frame)
            last_marked = ""
    message_lines = e_groups[-1] if e_groups else []
    if any(_PY_FILE.match(line) for line in message_lines):
        # A SyntaxError and the like: the error's own location is the deepest frame.
        inner_frames, message = _python_traceback(message_lines, paths)
        frames.extend(inner_frames)
    else:
        message = _message(message_lines, paths, drop=lambda line: bool(_PYTEST_NOISE.match(line)))
    return _dedupe(frames), message


# --- unittest ----------------------------------------------------------------------

_UT_RAN = re.compile(r"^Ran (?P<n>\d+) tests? in ")
_UT_RESULT = re.compile(r"^(?P<word>OK|FAILED|NO TESTS RAN)(?: \((?P<details>.*)\))?$")
_UT_HEADER = re.compile(r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<title>.+)$")
_UT_TITLE = re.compile(r"^(?P<method>\S+) \((?P<id>[^)]+)\)(?P<rest>.*)$")


def _parse_unittest(lines: list[str], paths: _Paths):
    ran = None
    result = None
    for line in lines:
        m = _UT_RAN.match(line)
        if m:
            ran = int(m["n"]) + (ran or 0)
            continue
        m = _UT_RESULT.match(line)
        if m and ran is not None:
            result = m
    if ran is None:
        return None
    details: dict[str, int] = {}
    if result is not None and result["details"]:
        for key, value in re.findall(r"([a-z ]+)=(\d+)", result["details"]):
            details[key.strip()] = details.get(key.strip(), 0) + int(value)
    failed = details.get("failures", 0) + details.get("unexpected successes", 0)
    errors = details.get("errors", 0)
    skipped = details.get("skipped", 0)
    counts = {
        "passed": max(0, ran - failed - errors - skipped - details.get("expected failures", 0)),
        "failed": failed,
        "errors": errors,
        "skipped": skipped + details.get("expected failures", 0),
    }
    failures: list[Failure] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _UT_HEADER.match(line) if i > 0 and _is_rule(lines[i - 1], "=") else None
        if not m:
            i += 1
            continue
        j = i + 1
        if j < len(lines) and _is_rule(lines[j], "-"):
            j += 1
        body: list[str] = []
        while j < len(lines) and not _is_rule(lines[j], "=") and not _is_rule(lines[j], "-"):
            body.append(lines[j])
            j += 1
        frames, message = _python_traceback(body, paths)
        title = m["title"].strip()
        t = _UT_TITLE.match(title)
        if t:
            ident = t["id"]
            if not ident.endswith("." + t["method"]):
                ident = f"{ident}.{t['method']}"
            name = ident + t["rest"]
        else:
            name = title
        kind = "error" if m["kind"] == "ERROR" else "failed"
        if m["kind"] == "UNEXPECTED SUCCESS" and not message:
            message = "unexpected success"
        failures.append(Failure(name, message, _dedupe(frames), kind))
        i = j
    return counts, failures


def _is_rule(line: str, char: str) -> bool:
    return len(line) >= 20 and line == char * len(line)
