"""Test runner output, boiled down for a small model.

`parse_test_output` reads what pytest, unittest, cargo test, go test or jest
printed and returns a `TestReport`: the counts, and for each failure its name, its
message and the frames of the traceback that lie inside the repository (outermost
first), each with the source line read from the file. `TestReport.summary()` is
the short text the model sees; output that is not recognised falls back to its
last lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 40
MAX_MESSAGE_LINES = 4
MAX_LINE_CHARS = 200
# Folders whose files are never "the user's code", even inside the repository.
_FOREIGN_DIRS = frozenset(
    {"site-packages", "dist-packages", "node_modules", ".venv", "venv", "__pypackages__", ".tox", ".nox", ".git"}
)
_SKIP_SEARCH_DIRS = _FOREIGN_DIRS | {"target", "vendor", "build", "dist", "__pycache__"}

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
_LEFT_OUT = re.compile(r"^\[… \d+ characters of output left out …\]$")


@dataclass(frozen=True)
class Frame:
    path: str  # relative to the repository root, with forward slashes
    line: int
    text: str  # that source line, stripped

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Failure:
    name: str  # e.g. "test_windows.py::test_every_window_is_summed"
    message: str  # the assertion or exception message, a few lines at most
    frames: tuple[Frame, ...] = ()  # frames inside the repository, outermost first
    kind: str = "failed"  # "failed" (the test failed) or "error" (it could not run)

    @property
    def frame(self) -> Frame | None:
        """The deepest frame inside the repository."""
        return self.frames[-1] if self.frames else None


@dataclass(frozen=True)
class TestReport:
    __test__ = False  # not a pytest test class

    runner: str  # "pytest" | "unittest" | "cargo" | "go" | "jest" | "unknown"
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


# --- paths and source lines ----------------------------------------------------


class _Paths:
    """Turns the paths a runner printed into repository-relative ones, and reads source lines."""

    def __init__(self, repo_root: Path | str) -> None:
        self.root = Path(os.path.realpath(repo_root))
        self._lines: dict[str, list[str] | None] = {}
        self._by_name: dict[str, list[str]] | None = None

    def relative(self, path_text: str, *, search: bool = False) -> str | None:
        path_text = path_text.strip()
        if not path_text or "<" in path_text or ">" in path_text:
            return None
        if path_text.startswith("file://"):
            path_text = path_text[len("file://") :]
        path = Path(path_text)
        if not path.is_absolute():
            path = self.root / path
        resolved = Path(os.path.realpath(path))
        try:
            rel = resolved.relative_to(self.root)
        except ValueError:
            return None
        if not rel.parts or any(part in _FOREIGN_DIRS for part in rel.parts):
            return None
        if search and not resolved.is_file() and not Path(path_text).is_absolute():
            found = self._search(path_text)
            if found is not None:
                return found
        return rel.as_posix()

    def _search(self, path_text: str) -> str | None:
        """A file the runner named relative to its package (go): look for it by name."""
        if self._by_name is None:
            self._by_name = {}
            root_depth = len(self.root.parts)
            for dirpath, dirnames, filenames in os.walk(self.root):
                depth = len(Path(dirpath).parts) - root_depth
                dirnames[:] = [d for d in dirnames if d not in _SKIP_SEARCH_DIRS and not d.startswith(".")]
                if depth >= 6:
                    dirnames[:] = []
                for name in filenames:
                    rel = (Path(dirpath) / name).relative_to(self.root).as_posix()
                    self._by_name.setdefault(name, []).append(rel)
        suffix = Path(path_text).as_posix().lstrip("./")
        candidates = [c for c in self._by_name.get(Path(path_text).name, []) if c == suffix or c.endswith("/" + suffix)]
        return candidates[0] if len(candidates) == 1 else None

    def source(self, rel: str, line: int) -> str:
        if rel not in self._lines:
            try:
                with open(self.root / rel, encoding="utf-8", errors="replace") as f:
                    self._lines[rel] = f.read().splitlines()
            except OSError:
                self._lines[rel] = None
        lines = self._lines[rel]
        if lines is None or not 1 <= line <= len(lines):
            return ""
        return lines[line - 1].strip()

    def frame(self, path_text: str, line: int | str, fallback: str = "", *, search: bool = False) -> Frame | None:
        rel = self.relative(path_text, search=search)
        if rel is None:
            return None
        number = int(line)
        text = self.source(rel, number) or fallback.strip()
        return Frame(rel, number, text)

    def clean(self, message: str) -> str:
        """Absolute paths inside the repository, shortened to relative ones."""
        prefix = str(self.root) + os.sep
        return message.replace(prefix, "")


def _last_lines(lines: list[str], count: int) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[max(0, end - count) : end]


def _clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(lines: list[str], paths: _Paths, drop: Callable[[str], bool] | None = None) -> str:
    """The first few meaningful lines, dedented, clipped."""
    kept = [line for line in lines if line.strip() and not _is_caret_line(line) and not (drop and drop(line))]
    if not kept:
        return ""
    indent = min(len(line) - len(line.lstrip()) for line in kept)
    kept = [_clip(paths.clean(line[indent:].rstrip())) for line in kept[:MAX_MESSAGE_LINES]]
    return "\n".join(kept)


def _is_caret_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) <= set("^~")


def _dedupe(frames: list[Frame]) -> tuple[Frame, ...]:
    out: list[Frame] = []
    for frame in frames:
        if not out or (out[-1].path, out[-1].line) != (frame.path, frame.line):
            out.append(frame)
    return tuple(out)


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


_PARSERS: dict[str, Callable] = {
    "pytest": _parse_pytest,
    "unittest": _parse_unittest,
    "cargo": _parse_cargo,
    "go": _parse_go,
    "jest": _parse_jest,
}
