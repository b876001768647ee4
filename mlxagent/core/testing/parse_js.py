"""Parsers for JavaScript test output other than jest's: node's built-in test
runner (`node --test`, TAP or its spec reporter), mocha (spec reporter) and
vitest (default reporter).

Each reads its runner's counts and, for each failing test, its name (suites
joined with " > "), the error message (an assertion's diff boiled down to
"expected:" and "actual:" lines) and the repository frames of its stack, which
node prints innermost first (`at fn (/abs/src/x.js:12:5)`, `file:///abs/...`,
or paths relative to the project as mocha and vitest print them). A test file
that could not even load (a syntax error, a missing module) becomes a failure
of kind "error". Each returns `(counts, failures)`, or None when the output is
not its runner's; `report.parse_test_output` chooses among them. The lines npm
wraps around a script (`> pkg@1.0.0 test`, `npm ERR!`, `npm error`) are never
read as part of a failure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

from .parse_common import Failure, Frame, _dedupe, _message, _Paths

# One frame of a V8 stack: "at fn (/abs/x.js:3:9)", "at /abs/x.js:3:9", or TAP's
# "fn (/abs/x.js:3:9)" without the "at"; the spec reporter may end it with " {".
_AT = re.compile(
    r"^\s*(?:at\s+)?(?:async\s+)?(?:.*?\s\()?(?P<path>(?:file://)?[^\s()]+?):(?P<line>\d+):(?P<col>\d+)\)?(?:\s*\{)?$"
)
_AT_LINE = re.compile(r"^\s*at\s")
# "node:internal/...", "internal/...": not files of the project.
_SCHEME = re.compile(r"^[A-Za-z][\w+.-]+:(?!//)")
_ERROR_CODE = re.compile(r"^(?P<cls>[A-Z]\w*)(?: \[[\w-]+\])?: ")
_ERROR_LINE = re.compile(r"^(?:Uncaught )?(?:[A-Z]\w*(?:Error|Exception)|Error)(?: \[[\w-]+\])?: ")
_SYNTAX_HEAD = re.compile(r"^(?P<path>(?:file://)?/\S+|[A-Za-z]:\\\S+):(?P<line>\d+)$")
_PROP = re.compile(r"^\s*(?P<key>actual|expected): (?P<value>.*?),?$")
# What npm, yarn and pnpm print around a script: never part of a failure.
_NPM_NOISE = re.compile(
    r"^(?:npm (?:ERR!|error|warn|WARN|notice)\b|> \S+@\S+ \S|error Command failed|info Visit|\s*ELIFECYCLE\b)"
)
# node's word on an error thrown after its test had ended (the test itself passed).
_AFTER_END = re.compile(
    r'^(?:# |ℹ )Error: Test "(?P<name>.+?)" at (?P<path>.+?):(?P<line>\d+):\d+ (?P<msg>generated asynchronous activity.*)$'
)
_SUBTESTS_FAILED = re.compile(r"^'?\d+ subtests? failed'?$")
_JS_FILE = re.compile(r"\.[cm]?[jt]sx?$")


# --- frames and messages, shared ---------------------------------------------------


def _frame(paths: _Paths, path_text: str, line: str | int) -> Frame | None:
    """A frame inside the repository; a path relative to it must name a file there."""
    if path_text.startswith("file://"):
        path_text = unquote(path_text[len("file://") :])
    elif _SCHEME.match(path_text):
        return None
    frame = paths.frame(path_text, line)
    if frame is not None and not Path(path_text).is_absolute() and not (paths.root / frame.path).is_file():
        return None
    return frame


def _stack_frames(lines: list[str], paths: _Paths) -> tuple[Frame, ...]:
    """The repository frames of a stack printed innermost first, outermost first."""
    frames: list[Frame] = []
    for line in lines:
        m = _AT.match(line)
        if m:
            frame = _frame(paths, m["path"], m["line"])
            if frame is not None:
                frames.append(frame)
    return _dedupe(list(reversed(frames)))


_LEGENDS = {
    "+ actual - expected": {"+": "actual", "-": "expected"},  # node's assert
    "+ expected - actual": {"+": "expected", "-": "actual"},  # mocha's own diff
    "- Expected": {"-": "expected", "+": "received"},  # vitest, followed by "+ Received"
}


def _compact_diff(lines: list[str]) -> list[str]:
    """An assertion's diff, down to its changed lines, each said in words."""
    for i, line in enumerate(lines):
        signs = _LEGENDS.get(line.strip())
        if signs is None:
            continue
        start = i + 1
        if line.strip() == "- Expected":
            if start >= len(lines) or lines[start].strip() != "+ Received":
                continue
            start += 1
        out = [text.strip() for text in lines[:i]]
        for text in lines[start:]:
            stripped = text.strip()
            if stripped in _LEGENDS:
                break
            if stripped[:1] in signs and stripped[1:].strip():
                out.append(f"{signs[stripped[0]]}: {stripped[1:].strip()}")
        return out
    return lines


def _shape(lines: list[str], paths: _Paths, props: dict[str, str] | None = None) -> str:
    """The message of an error: "Cls [CODE]: text" made "Cls: text", diffs compacted,
    and expected/actual added when the text does not show them."""
    lines = [line.rstrip() for line in lines if not _NPM_NOISE.match(line.strip())]
    cut = min((_indent(line) for line in lines if line.strip()), default=0)
    lines = [line[cut:] for line in lines]
    for k, line in enumerate(lines):
        if line.strip():  # the error's first line: its indentation (mocha's) means nothing
            stripped = line.strip()
            m = _ERROR_CODE.match(stripped)
            lines[k] = m["cls"] + ": " + stripped[m.end() :] if m else stripped
            break
    lines = _compact_diff(lines)
    filled = [line.strip() for line in lines if line.strip()]
    if len(filled) == 1 and len(filled[0]) > 1 and filled[0][0] == filled[0][-1] == "'":
        lines = [filled[0][1:-1].replace("\\'", "'")]  # a bare string, as the spec reporter quotes it
    props = {k: v for k, v in (props or {}).items() if v not in ("", "~", "undefined")}
    shown = "\n".join(lines)
    if "expected" in props and "actual" in props and not re.search(r"!==|!=|expected: |actual: ", shown):
        lines = [*lines, f"expected: {props['expected']}", f"actual: {props['actual']}"]
    return _message(lines, paths)


def _props(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        m = _PROP.match(line)
        if m and m["key"] not in out:
            out[m["key"]] = m["value"].strip()
    return out


def _node_error(lines: list[str], paths: _Paths) -> tuple[str, tuple[Frame, ...]]:
    """The message and repository frames of an error as node prints it: the
    message, its "at" lines, then perhaps "{ props }"; a SyntaxError starts with
    the "path:line" it points at and the offending source line."""
    lines = [line for line in lines if not _NPM_NOISE.match(line.strip())]
    head_frames: list[Frame] = []
    start = 0
    for k, line in enumerate(lines):
        if _ERROR_LINE.match(line.strip()):
            start = k
            for before in lines[:k]:
                m = _SYNTAX_HEAD.match(before.strip())
                if m:
                    frame = _frame(paths, m["path"], m["line"])
                    if frame is not None:
                        head_frames = [frame]
            break
    lines = lines[start:]
    first_at = next((k for k, line in enumerate(lines) if _AT_LINE.match(line)), len(lines))
    after = lines[first_at:]
    stack_end = next((k for k, line in enumerate(after) if not _AT_LINE.match(line)), len(after))
    message = _shape(lines[:first_at], paths, _props(after[stack_end:]))
    frames = _stack_frames(after[:stack_end], paths) or tuple(head_frames)
    return message, frames


def _counts_of(values: dict[str, int]) -> dict[str, int]:
    return {
        "passed": values.get("pass", 0),
        "failed": values.get("fail", 0) + values.get("cancelled", 0),
        "skipped": values.get("skipped", 0) + values.get("todo", 0),
    }


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _file_error(name: str, paths: _Paths, loose: list[str], fallback: str) -> Failure:
    """A test file that failed as a whole (it did not load): its error, from the output
    the runner relayed before it."""
    message, frames = _node_error(loose, paths) if any(_ERROR_LINE.match(x.strip()) for x in loose) else ("", ())
    rel = paths.relative(name[len("file://") :] if name.startswith("file://") else name)
    return Failure(rel or paths.clean(name), message or fallback, frames, "error")


def _finish(
    counts: dict[str, int], failures: list[Failure], cancelled: list[Failure], lines: list[str], paths: _Paths
):
    """Counts and failures put together: failed files counted as errors, not failed tests,
    and the errors node reported after a test had ended added as errors of that test."""
    if not failures:
        failures = cancelled
    errors = sum(1 for f in failures if f.kind == "error")
    counts["failed"] = max(0, counts["failed"] - errors)
    for line in lines:
        m = _AFTER_END.match(line.strip())
        if m:
            frame = _frame(paths, m["path"], m["line"])
            error = re.search(r'created the error "(?P<error>.+?)" and', m["msg"])
            message = f"{error['error']} (thrown after the test had ended)" if error else m["msg"]
            failures.append(Failure(m["name"], _message([message], paths), (frame,) if frame else (), "error"))
            errors += 1
    if errors:
        counts["errors"] = errors
    return counts, failures


# --- node --test, TAP ------------------------------------------------------------------

_TAP_SUBTEST = re.compile(r"^(?P<indent>\s*)# Subtest: (?P<name>.*)$")
_TAP_RESULT = re.compile(
    r"^(?P<indent>\s*)(?P<not>not )?ok \d+(?: -)?(?: (?P<name>.*?))?(?:\s+#\s*(?P<directive>SKIP|TODO)\b.*)?$", re.I
)
_TAP_COUNT = re.compile(r"^# (?P<key>tests|suites|pass|fail|cancelled|skipped|todo)\s+(?P<n>\d+)$")
_TAP_COMMENT = re.compile(r"^\s*# ?(?P<text>.*)$")


def _count_blocks(lines: list[str], pattern: re.Pattern) -> dict[str, int] | None:
    """The runner's closing counts ("tests N", "pass N", ...), summed over its runs."""
    total: dict[str, int] = {}
    block: dict[str, int] = {}
    found = False
    for line in [*lines, ""]:
        m = pattern.match(line)
        if m and not (m["key"] == "tests" and block):
            block[m["key"]] = int(m["n"])
            continue
        if "pass" in block and ("tests" in block or "fail" in block):
            found = True
            for key, n in block.items():
                total[key] = total.get(key, 0) + n
        block = {m["key"]: int(m["n"])} if m else {}
    return total if found else None


def _unescape_tap(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def _parse_node_tap(lines: list[str], paths: _Paths):
    values = _count_blocks(lines, _TAP_COUNT)
    if values is None or not any(_TAP_RESULT.match(line) for line in lines):
        return None
    failures: list[Failure] = []
    cancelled: list[Failure] = []
    open_names: dict[int, str] = {}
    loose: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        sub = _TAP_SUBTEST.match(line)
        if sub:
            depth = len(sub["indent"])
            open_names = {k: v for k, v in open_names.items() if k < depth}
            open_names[depth] = _unescape_tap(sub["name"])
            i += 1
            continue
        m = _TAP_RESULT.match(line)
        if not m:
            c = _TAP_COMMENT.match(line)
            if c and not _TAP_COUNT.match(line):
                loose.append(c["text"])
            i += 1
            continue
        depth = len(m["indent"])
        parents = [open_names[k] for k in sorted(open_names) if k < depth]
        open_names = {k: v for k, v in open_names.items() if k < depth}
        block, i = _tap_block(lines, i + 1)
        if m["not"] and not m["directive"]:
            name = _unescape_tap(m["name"] or "")
            failure = _tap_failure(name, parents, _tap_yaml(block), paths, loose)
            if failure is not None:
                (cancelled if failure[1] else failures).append(failure[0])
        loose = []
    return _finish(_counts_of(values), failures, cancelled, lines, paths)


def _tap_block(lines: list[str], i: int) -> tuple[list[str], int]:
    """The YAML lines between "---" and "..." after a result line, and the index after them."""
    if i >= len(lines) or lines[i].strip() != "---":
        return [], i
    marker = _indent(lines[i])
    block: list[str] = []
    j = i + 1
    while j < len(lines):
        if lines[j].strip() == "..." and _indent(lines[j]) == marker:
            return block, j + 1
        if lines[j].strip() and _indent(lines[j]) < marker:
            break
        block.append(lines[j])
        j += 1
    return block, j


def _tap_yaml(block: list[str]) -> dict[str, str]:
    """The top-level keys of a TAP YAML block, each as text (nested parts dedented)."""
    filled = [line for line in block if line.strip()]
    if not filled:
        return {}
    base = min(_indent(line) for line in filled)
    out: dict[str, str] = {}
    key, head, rest = "", "", []

    def flush() -> None:
        if not key:
            return
        inner = list(rest)
        if inner:
            cut = min((_indent(r) for r in inner if r.strip()), default=0)
            inner = [r[cut:] if r.strip() else "" for r in inner]
        if head in ("|", "|-", "|+", ">", ">-", ">+") or (not head and inner):
            out[key] = "\n".join(inner)
        else:
            out[key] = "\n".join([_unquote(head), *[r.strip() for r in inner if r.strip()]])

    for line in block:
        m = re.match(r"^\s*(?P<key>[\w-]+):(?:\s+(?P<value>.*))?$", line)
        if m and _indent(line) == base:
            flush()
            key, head, rest = m["key"], (m["value"] or "").strip(), []
        elif key:
            rest.append(line)
    flush()
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value[1:-1]
    return "" if value == "~" else value


def _tap_failure(name: str, parents: list[str], y: dict[str, str], paths: _Paths, loose: list[str]):
    """(failure, whether it was only cancelled by its parent), or None for a suite
    that failed because its tests did."""
    error = y.get("error", "")
    kind = y.get("failureType", "")
    if kind == "subtestsFailed" or (_SUBTESTS_FAILED.match(error) and "stack" not in y):
        return None
    location = re.match(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+)$", y.get("location", ""))
    is_file = "exitCode" in y or (error == "test failed" and _JS_FILE.search(name) is not None and location is not None
                                  and location["path"] == name)
    if is_file:
        return _file_error(name, paths, loose, error), False
    message_lines = error.split("\n") if error else []
    cls = y.get("name", "")
    if cls and message_lines and not message_lines[0].startswith(cls):
        message_lines[0] = f"{cls}: {message_lines[0]}"
    if not message_lines and y.get("stack"):  # tape and the like: the error's first stack line
        message_lines = [y["stack"].split("\n")[0]]
    props = {k: y[k] for k in ("expected", "actual") if k in y and "\n" not in y[k]}
    frames = _stack_frames(y.get("stack", "").split("\n"), paths)
    if not frames and y.get("at"):
        frames = _stack_frames([y["at"]], paths)
    if not frames and location is not None:
        frame = _frame(paths, location["path"], location["line"])
        frames = (frame,) if frame else ()
    full = " > ".join([*parents, name]) if parents else name
    return Failure(full, _shape(message_lines, paths, props), frames), kind == "cancelledByParent"


# --- node --test, spec reporter ------------------------------------------------------------

_SPEC_COUNT = re.compile(r"^ℹ (?P<key>tests|suites|pass|fail|cancelled|skipped|todo)\s+(?P<n>\d+)$")
_SPEC_MARK = re.compile(r"^(?P<indent>\s*)(?P<mark>[✔✖▶﹣ℹ]) (?P<rest>.+)$")
_SPEC_TAIL = re.compile(r"\s+\([\d.]+m?s\)(?:\s+#.*)?$|\s+#\s*(?:SKIP|TODO)\b.*$")
_SPEC_AT = re.compile(r"^test at (?P<path>.+):(?P<line>\d+):(?P<col>\d+)$")


def _parse_node_spec(lines: list[str], paths: _Paths):
    values = _count_blocks(lines, _SPEC_COUNT)
    if values is None:
        return None
    end = next((k for k, line in enumerate(lines) if line.strip() == "✖ failing tests:"), len(lines))
    where = _spec_locations(lines[end:], paths)
    failures: list[Failure] = []
    cancelled: list[Failure] = []
    open_names: dict[int, str] = {}
    loose: list[str] = []
    i = 0
    while i < end:
        m = _SPEC_MARK.match(lines[i])
        if not m or m["mark"] == "ℹ":
            if lines[i].strip():
                loose.append(lines[i])
            i += 1
            continue
        depth = len(m["indent"])
        open_names = {k: v for k, v in open_names.items() if k < depth}
        name = _SPEC_TAIL.sub("", m["rest"]).strip()
        if m["mark"] == "▶":
            open_names[depth] = name
            i += 1
            continue
        j = i + 1
        while j < end and (not lines[j].strip() or _indent(lines[j]) > depth):
            j += 1
        body = lines[i + 1 : j]
        if m["mark"] == "✖":
            failure = _spec_failure(name, sorted(open_names.items()), body, paths, loose, where)
            if failure is not None:
                (cancelled if failure[1] else failures).append(failure[0])
        loose = []
        i = j
    return _finish(_counts_of(values), failures, cancelled, lines[:end], paths)


def _spec_locations(lines: list[str], paths: _Paths) -> dict[str, Frame]:
    """Where each failing test is declared, from the reporter's closing list."""
    out: dict[str, Frame] = {}
    for k, line in enumerate(lines[:-1]):
        at = _SPEC_AT.match(line.strip())
        mark = _SPEC_MARK.match(lines[k + 1])
        if at and mark:
            frame = _frame(paths, at["path"], at["line"])
            if frame is not None:
                out.setdefault(_SPEC_TAIL.sub("", mark["rest"]).strip(), frame)
    return out


def _spec_failure(name, parents, body, paths: _Paths, loose: list[str], where: dict[str, Frame]):
    text = [line for line in body if line.strip()]
    if not text or (len(text) == 1 and _SUBTESTS_FAILED.match(text[0].strip())):
        return None  # a suite whose tests failed: they are listed themselves
    first = text[0].strip()
    if first == "'test failed'" and _JS_FILE.search(name):
        return _file_error(name, paths, loose, "test failed"), False
    message, frames = _node_error(body, paths)
    if not frames and name in where:
        frames = (where[name],)
    full = " > ".join([*(p for _, p in parents), name])
    return Failure(full, message, frames), "cancelled" in first and "parent" in first


# --- mocha, spec reporter ----------------------------------------------------------------------

_MOCHA_PASSING = re.compile(r"^\s*(?P<n>\d+) passing \(\d+(?:\.\d+)?(?:ms|s|m|h)\)$")
_MOCHA_OTHER = re.compile(r"^\s*(?P<n>\d+) (?P<key>failing|pending)$")
_MOCHA_HEADER = re.compile(r"^  (?P<n>\d+)\) (?P<title>.*)$")


def _parse_mocha(lines: list[str], paths: _Paths):
    values = {"passing": 0, "failing": 0, "pending": 0}
    found = False
    start = len(lines)
    for k, line in enumerate(lines):
        m = _MOCHA_PASSING.match(line)
        if m:
            found = True
            values["passing"] += int(m["n"])
            continue
        o = _MOCHA_OTHER.match(line)
        if o and found:
            values[o["key"]] += int(o["n"])
            if o["key"] == "failing" and start == len(lines):
                start = k + 1
    if not found:
        return None
    counts = {"passed": values["passing"], "failed": values["failing"], "skipped": values["pending"]}
    failures: list[Failure] = []
    i = start
    while i < len(lines):
        m = _MOCHA_HEADER.match(lines[i])
        if not m:
            i += 1
            continue
        parts = [m["title"].strip()]
        j = i + 1
        while not parts[-1].endswith(":") and j < len(lines) and _indent(lines[j]) >= 5 and lines[j].strip():
            parts.append(lines[j].strip())
            j += 1
        parts[-1] = parts[-1].removesuffix(":")
        k = j
        while k < len(lines) and not _MOCHA_HEADER.match(lines[k]) and not _MOCHA_PASSING.match(lines[k]):
            if _NPM_NOISE.match(lines[k]):
                break
            k += 1
        message, frames = _node_error(lines[j:k], paths)
        failures.append(Failure(" > ".join(p for p in parts if p), message, frames))
        i = k
    return counts, failures


# --- vitest, default reporter ---------------------------------------------------------------------

_VITEST_FILES = re.compile(r"^\s*Test Files\s+(?P<body>.*)\(\d+\)$")
_VITEST_TESTS = re.compile(r"^\s*Tests\s+(?P<body>.*?)(?:\(\d+\))?$")
_VITEST_ERRORS = re.compile(r"^\s*Errors\s+(?P<n>\d+) errors?\b")
_VITEST_SECTION = re.compile(r"^[⎯─]{3,}\s*(?P<title>[A-Za-z][A-Za-z ]*?)(?:\s+\d+)?\s*[⎯─]{3,}$")
_VITEST_RULE = re.compile(r"^[⎯─]{3,}")
_VITEST_FAIL = re.compile(r"^\s*FAIL\s+(?P<name>.+?)(?:\s+\[.*\])?$")
_VITEST_FRAME = re.compile(r"^\s*❯ (?:\S+ )?(?P<path>[^\s()]+):(?P<line>\d+):(?P<col>\d+)$")
_VITEST_CODE = re.compile(r"^\s*(?:\d+)?\s*\|")


def _parse_vitest(lines: list[str], paths: _Paths):
    if not any(_VITEST_FILES.match(line) for line in lines):
        return None
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    tests = [m for m in (_VITEST_TESTS.match(line) for line in lines) if m]
    for m in tests:
        for number, word in re.findall(r"(\d+) ([a-z]+)", m["body"]):
            key = {"failed": "failed", "passed": "passed", "skipped": "skipped", "todo": "skipped"}.get(word)
            if key:
                counts[key] += int(number)
    failures: list[Failure] = []
    area = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        section = _VITEST_SECTION.match(line.strip())
        if section:
            area = section["title"].lower()
            if area.startswith("unhandled") and area not in ("unhandled errors",):
                body, i = _vitest_body(lines, i + 1)
                message, frames = _vitest_error(body, paths)
                failures.append(Failure(area, message, frames, "error"))
                continue
            i += 1
            continue
        m = _VITEST_FAIL.match(line)
        if not m or not area.startswith("failed"):
            i += 1
            continue
        names = [m["name"].strip()]
        j = i + 1
        while j < len(lines) and (n := _VITEST_FAIL.match(lines[j])):
            names.append(n["name"].strip())
            j += 1
        body, i = _vitest_body(lines, j)
        message, frames = _vitest_error(body, paths)
        kind = "error" if area == "failed suites" else "failed"
        failures.extend(Failure(name, message, frames, kind) for name in names)
    errors = sum(1 for f in failures if f.kind == "error")
    for line in lines:
        e = _VITEST_ERRORS.match(line)
        if e:
            errors = max(errors, int(e["n"]))
    if errors:
        counts["errors"] = errors
    return counts, failures


def _vitest_body(lines: list[str], i: int) -> tuple[list[str], int]:
    body: list[str] = []
    while i < len(lines):
        line = lines[i]
        if _VITEST_RULE.match(line.strip()) or _VITEST_FAIL.match(line) or _VITEST_FILES.match(line):
            break
        if _NPM_NOISE.match(line):
            break
        body.append(line)
        i += 1
    if i < len(lines) and _VITEST_RULE.match(lines[i].strip()) and not _VITEST_SECTION.match(lines[i].strip()):
        i += 1  # the rule that closes this failure ("⎯⎯⎯[1/2]⎯")
    return body, i


def _vitest_error(body: list[str], paths: _Paths) -> tuple[str, tuple[Frame, ...]]:
    start = next((k for k, line in enumerate(body) if _ERROR_LINE.match(line.strip())), 0)
    body = body[start:]
    stack_line = (_VITEST_FRAME, _AT_LINE, _VITEST_CODE)
    end = next((k for k, line in enumerate(body) if any(p.match(line) for p in stack_line)), len(body))
    stack: list[str] = []
    for line in body[end:]:
        v = _VITEST_FRAME.match(line)
        if v:
            stack.append(f"{v['path']}:{v['line']}:{v['col']}")
        elif _AT_LINE.match(line):
            stack.append(line)
    message_lines = [line for line in body[:end] if not line.strip().startswith("This error originated in")]
    return _shape(message_lines, paths), _stack_frames(stack, paths)
