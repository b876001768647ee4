"""Generate-and-validate repair: small candidate edits near the failure, ranked by the model,
checked by the tests in a scratch copy.

A small model writes fixes badly but ranks them well (shared/notes/small-model-repair.md), so
when the read-loop guard forces an edit and the tests tell us where things fail, the agent
does not ask the model to *write* the replacement. Instead:

1. `suspects()` lists the lines that matter, most suspicious first: the failing traceback's
   frames outside the tests, the functions those frames are in, the functions the failing
   test lines call, and the functions and files the user's request names.
2. `candidates()` makes small edits of those lines (`rules`): an operator swapped for its
   neighbours, a number or bound ±1, a literal changed towards a literal of the request or the
   tests, a call or name replaced by another in scope, arguments or operands swapped, a
   `None`/empty guard added, a rename the request asks for.
3. The model scores each candidate file against the buggy one (`ChatModel.score_texts`, a
   prefill over a shared prefix: dozens cost about one sampled edit).
4. The best-ranked are tried in a scratch copy of the repository with the test command, in
   order, until one makes the tests pass; the user's tree is never touched here. The winner
   goes back to the agent as an ordinary proposal that the user reviews.

Nothing here imports a model or a UI: the scorer and the test runner are passed in.
"""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import re
import shutil
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..testing.report import TestReport

MAX_SCORED = 120  # candidates the model scores
MAX_CHECKED = 14  # candidates the tests check, best-ranked first
CHECK_SECONDS = 150.0  # time for all checks together
MAX_FILE_BYTES = 200_000  # larger files are not mutated
MAX_COPY_BYTES = 200 * 1024 * 1024  # the scratch copy's size limit

COMPARE = ("<", "<=", ">", ">=", "==", "!=")
ARITH = {"+": ("-", "*"), "-": ("+",), "*": ("//", "/", "+", "**"), "/": ("//", "*"), "//": ("/", "*", "%"),
         "%": ("//",), "**": ("*",), "+=": ("-=",), "-=": ("+=",), "*=": ("/=", "//="), "/=": ("*=",),
         "//=": ("/=", "*=")}
WORD_SWAPS = {"and": ("or",), "or": ("and",), "True": ("False",), "False": ("True",), "is": ("is not",),
              "in": ("not in",)}
# Calls and methods that are easily confused with each other.
CALL_SWAPS: dict[str, tuple[str, ...]] = {}
for group in (("min", "max"), ("any", "all"), ("lower", "upper", "title", "capitalize"),
              ("startswith", "endswith"), ("lstrip", "rstrip", "strip"), ("append", "extend"),
              ("floor", "ceil", "round"), ("sorted", "reversed"), ("keys", "values", "items"),
              ("isdigit", "isalpha", "isalnum", "isspace"), ("int", "float", "str"), ("sum", "len"),
              ("find", "rfind", "index"), ("split", "rsplit"), ("pop", "popleft"), ("get", "setdefault"),
              ("insert", "append"), ("remove", "discard"), ("ljust", "rjust", "center"),
              ("list", "tuple", "set", "sorted"), ("dict", "list"), ("abs", "round"), ("join", "split")):
    for name in group:
        CALL_SWAPS[name] = tuple(dict.fromkeys(CALL_SWAPS.get(name, ()) + tuple(n for n in group if n != name)))
GUARD_VALUES = ("None", "[]", "0", '""', "{}", "False", "0.0")
COMMON_NUMBERS = (0, 1, 2, 10, 60, 100, 1000, 24, 3600)

_TEST_PATH = re.compile(r"(^|/)(tests?/|test_[^/]*$|[^/]*_test\.[a-z]+$|[^/]*\.(test|spec)\.[jt]sx?$|conftest\.py$)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)*(?![\w])")
_QUOTED = re.compile(r"\"([^\"\n]{1,80})\"|'([^'\n]{1,80})'|`([^`\n]{1,80})`")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_SHORT_WORD = re.compile(r"[A-Za-z]{2,}")
# How often each kind of edit is the fix, roughly: a multiplier on where it is (the prior).
RULE_WEIGHT = {"rename": 1.0, "literal": 1.2, "compare": 1.0, "arith": 1.0, "string": 1.0, "word": 1.0,
               "number": 0.9, "call": 0.9, "swap": 0.9, "logic": 0.85, "guard": 0.8, "sign": 0.8,
               "bound": 0.7, "name": 0.5}


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path.replace("\\", "/").lower()))


@dataclass(frozen=True)
class Suspect:
    path: str
    line: int  # 1-based
    weight: float  # higher is more suspicious
    why: str


@dataclass(frozen=True)
class Candidate:
    """One candidate fix: the new text of each file it changes."""

    files: tuple[tuple[str, str], ...]  # (path, new text)
    path: str  # the file scored and described
    line: int  # the first line changed
    rule: str
    description: str  # "windows.py:7: len(values) - size → len(values) - size + 1"
    prior: float = 0.0
    score: float = 0.0  # the model's log-likelihood difference from the buggy file


@dataclass
class RepairResult:
    found: Candidate | None
    considered: int = 0
    scored: int = 0
    checked: list[tuple[Candidate, bool]] = field(default_factory=list)
    message: str = ""


# -- reading the repository ---------------------------------------------------------------


class Sources:
    """The repository's text files, read once (utf-8; anything else is left alone)."""

    def __init__(self, root: Path, files: Iterable[str]):
        self.root = Path(root)
        self.paths = sorted(files)
        self._text: dict[str, str | None] = {}

    def text(self, path: str) -> str | None:
        if path not in self._text:
            try:
                data = (self.root / path).read_bytes()
                self._text[path] = None if len(data) > MAX_FILE_BYTES or b"\0" in data[:8192] \
                    else data.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                self._text[path] = None
        return self._text[path]

    def lines(self, path: str) -> list[str]:
        text = self.text(path)
        return text.splitlines(keepends=True) if text is not None else []

    def tree(self, path: str) -> ast.Module | None:
        if not path.endswith(".py") or (text := self.text(path)) is None:
            return None
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError):
            return None

    def functions(self, path: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        tree = self.tree(path)
        if tree is None:
            return []
        return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]

    def definitions(self, name: str) -> list[tuple[str, ast.AST]]:
        """(path, node) of every function or class called `name` outside the tests."""
        out = []
        for path in self.paths:
            if is_test_path(path) or not path.endswith(".py"):
                continue
            tree = self.tree(path)
            if tree is None:
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                    out.append((path, node))
        return out


def _enclosing(functions, line: int):
    best = None
    for fn in functions:
        if fn.lineno <= line <= (fn.end_lineno or fn.lineno) and (best is None or fn.lineno > best.lineno):
            best = fn
    return best


def _body_lines(node: ast.AST) -> range:
    body = getattr(node, "body", [])
    start = body[0].lineno if body else node.lineno
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str) and len(body) > 1:
        start = body[1].lineno  # past the docstring
    return range(start, (node.end_lineno or node.lineno) + 1)


def _called_names(text: str) -> list[str]:
    names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", text)
    names += re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)", text)
    return [n for n in dict.fromkeys(names) if not keyword.iskeyword(n)]


def suspects(sources: Sources, report: TestReport | None, request: str) -> list[Suspect]:
    """Lines worth changing, most suspicious first (see the module doc)."""
    weights: dict[tuple[str, int], tuple[float, str]] = {}

    def add(path: str, line: int, weight: float, why: str) -> None:
        if is_test_path(path) or path not in sources.paths or not sources.lines(path):
            return
        if not 1 <= line <= len(sources.lines(path)):
            return
        key = (path, line)
        if key not in weights or weights[key][0] < weight:
            weights[key] = (weight, why)

    def add_function(path: str, node: ast.AST, weight: float, why: str) -> None:
        if isinstance(node, ast.ClassDef):
            for fn in (n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
                add_function(path, fn, weight * 0.8, why)
            return
        for line in _body_lines(node):
            add(path, line, weight, why)

    failures = report.failures if report is not None else ()
    for rank, failure in enumerate(failures[:6]):
        decay = 1.0 / (1 + rank)
        frames = list(failure.frames)
        inner = [f for f in reversed(frames) if not is_test_path(f.path)]
        for depth, frame in enumerate(inner[:3]):
            add(frame.path, frame.line, 10 * decay / (1 + depth), "failing frame")
            fn = _enclosing(sources.functions(frame.path), frame.line)
            if fn is not None:
                add_function(frame.path, fn, 6 * decay / (1 + depth), f"in {fn.name}() of a failing frame")
        # The test's own lines: the functions they call (an assertion on a wrong result points
        # at the test, while the bug is in what it called).
        for frame in (f for f in frames if is_test_path(f.path)):
            texts = [frame.text]
            test_fn = _enclosing(sources.functions(frame.path), frame.line)
            if test_fn is not None:
                lines = sources.lines(frame.path)
                texts += [lines[i - 1] for i in _body_lines(test_fn) if i <= len(lines)]
            for order, name in enumerate(_called_names(" ".join(texts))):
                for path, node in sources.definitions(name):
                    add_function(path, node, 5 * decay / (1 + 0.2 * order), f"{name}() called by a failing test")
        for name in _called_names(failure.message):
            for path, node in sources.definitions(name):
                add_function(path, node, 3 * decay, f"{name}() in a failure message")
    lowered = request.lower()
    for name in dict.fromkeys(_IDENT.findall(request)):
        if len(name) < 3 or keyword.iskeyword(name):
            continue
        for path, node in sources.definitions(name):
            add_function(path, node, 4, f"{name} named in the request")
    for path in sources.paths:
        base = path.rsplit("/", 1)[-1].lower()
        if (path.lower() in lowered or re.search(rf"(?<![\w.]){re.escape(base)}(?![\w])", lowered)) \
                and len(sources.lines(path)) <= 150:
            for line in range(1, len(sources.lines(path)) + 1):
                add(path, line, 1.5, "file named in the request")
    ranked = sorted(weights.items(), key=lambda item: (-item[1][0], item[0]))
    return [Suspect(path, line, w, why) for (path, line), (w, why) in ranked]


# -- making candidates ---------------------------------------------------------------------


def _literals(text: str) -> tuple[list[str], list[str], list[str]]:
    """Quoted strings, numbers and words in `text`."""
    quoted = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)]
    return quoted, _NUMBER.findall(text), _WORD.findall(text)


def _similar(a: str, b: str) -> bool:
    if a == b or not a or not b:
        return False
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio() >= 0.6


def _line_tokens(line: str) -> list[tokenize.TokenInfo]:
    try:
        return [t for t in tokenize.generate_tokens(io.StringIO(line.lstrip()).readline)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def _replace_span(line: str, start: int, end: int, new: str) -> str:
    return line[:start] + new + line[end:]


class CandidateMaker:
    """Small edits of suspect lines; each candidate is a whole new file text."""

    def __init__(self, sources: Sources, request: str, report: TestReport | None):
        self.sources = sources
        self.request = request
        messages = " ".join(f.message for f in (report.failures if report else ()))
        test_text = " ".join(sources.text(p) or "" for p in sources.paths if is_test_path(p))[:200_000]
        self.request_quoted, self.request_numbers, self.request_words = _literals(request)
        self.hint_quoted, hint_numbers, self.hint_words = _literals(messages + " " + test_text)
        # the code's own words (docstrings, comments, other strings) spell what a literal meant
        code_text = " ".join(sources.text(p) or "" for p in sources.paths
                             if not is_test_path(p) and len(sources.text(p) or "") < 100_000)[:300_000]
        self.code_words = list(dict.fromkeys(w.lower() for w in _SHORT_WORD.findall(code_text)))
        self.hint_numbers = list(dict.fromkeys(self.request_numbers + _literals(messages)[1]))
        self.exceptions = list(dict.fromkeys(re.findall(r"\b([A-Z][A-Za-z]*(?:Error|Exception))\b", messages)))
        self.failure_text = messages

    # each rule yields (new line text or lines, rule, description)
    def line_variants(self, path: str, line_no: int) -> Iterator[tuple[str, str, str]]:
        lines = self.sources.lines(path)
        line = lines[line_no - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        indent = body[: len(body) - len(body.lstrip())]
        seen = {body}

        def out(new: str, rule: str):
            if new not in seen:
                seen.add(new)
                return (new + ending, rule, f"{body.strip()} → {new.strip()}")
            return None

        results: list[tuple[str, str, str] | None] = []
        python = path.endswith(".py")
        tokens = _line_tokens(body) if python else []
        shift = len(indent)
        names_in_scope = self._names_in_scope(path, line_no) if python else []
        for i, tok in enumerate(tokens):
            if tok.start[0] != 1:
                continue
            s, e = tok.start[1] + shift, tok.end[1] + shift
            prev = tokens[i - 1] if i else None
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if tok.type == tokenize.OP and tok.string in COMPARE:
                for other in COMPARE:
                    if other != tok.string:
                        results.append(out(_replace_span(body, s, e, other), "compare"))
            elif tok.type == tokenize.OP and tok.string in ARITH:
                for other in ARITH[tok.string]:
                    results.append(out(_replace_span(body, s, e, other), "arith"))
                if tok.string in ("+", "-") and nxt is not None and nxt.string == "1" and prev is not None:
                    # drop "+ 1" / "- 1"
                    end = nxt.end[1] + shift
                    results.append(out(body[:prev.end[1] + shift] + body[end:], "bound"))
            elif tok.type == tokenize.NAME and tok.string in WORD_SWAPS:
                for other in WORD_SWAPS[tok.string]:
                    results.append(out(_replace_span(body, s, e, other), "logic"))
            elif tok.type == tokenize.OP and tok.string == "-" and nxt is not None and nxt.type == tokenize.NUMBER \
                    and (prev is None or prev.string in ("(", "[", ",", ":", "=", "return")):
                results.append(out(body[:s] + body[nxt.start[1] + shift:], "sign"))  # -1 → 1
            elif tok.type == tokenize.NUMBER:
                results.extend(out(_replace_span(body, s, e, n), "number") for n in self._numbers(tok.string))
            elif tok.type == tokenize.STRING:
                results.extend(out(_replace_span(body, s, e, n), "string") for n in self._strings(tok.string))
            elif tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
                called = nxt is not None and nxt.string == "("
                if called or (prev is not None and prev.string == "."):
                    for other in CALL_SWAPS.get(tok.string, ()):
                        results.append(out(_replace_span(body, s, e, other), "call"))
                if called:
                    for other in self._module_functions(path):
                        if other != tok.string:
                            results.append(out(_replace_span(body, s, e, other), "call"))
                elif prev is None or prev.string != ".":
                    for other in names_in_scope:
                        if other != tok.string:
                            results.append(out(_replace_span(body, s, e, other), "name"))
            if tok.type in (tokenize.NAME, tokenize.NUMBER) or tok.string in (")", "]"):
                # a bound ±1: an atom followed by a closing bracket, a slice colon or a comma
                if nxt is not None and nxt.string in (")", "]", ":", ",") and not keyword.iskeyword(tok.string) \
                        and not (nxt.string == ":" and body.rstrip().endswith(":") and nxt.end[1] + shift >= len(body.rstrip())):
                    results.append(out(body[:e] + " + 1" + body[e:], "bound"))
                    results.append(out(body[:e] + " - 1" + body[e:], "bound"))
        if python:
            results.extend(out(new, rule) for new, rule in self._ast_swaps(path, line_no, body))
        results.extend(out(new, "literal") for new in self._task_literals(body))
        results.extend(out(new, "word") for new in self._words(body))
        yield from (r for r in results if r is not None)

    def _names_in_scope(self, path: str, line_no: int) -> list[str]:
        fn = _enclosing(self.sources.functions(path), line_no)
        if fn is None:
            return []
        names = [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.append(node.id)
        return list(dict.fromkeys(names))[:8]

    def _module_functions(self, path: str) -> list[str]:
        tree = self.sources.tree(path)
        if tree is None:
            return []
        return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))][:10]

    def _numbers(self, literal: str) -> list[str]:
        try:
            value = int(literal, 0)
        except ValueError:
            try:
                number = float(literal)
            except ValueError:
                return []
            return [repr(number * 10), repr(number / 10)] + [n for n in self.hint_numbers if n != literal][:6]
        out = [str(value + 1), str(value - 1)] if value else ["1", "-1"]
        out += [str(value * 10)] + ([str(value // 10)] if value >= 10 else [])
        out += [n for n in self.hint_numbers if n != literal and n.isdigit()][:8]
        out += [str(n) for n in COMMON_NUMBERS if abs(n - value) > 1 and n != value][:4]
        return list(dict.fromkeys(out))

    def _strings(self, literal: str) -> list[str]:
        quote_end = len(literal) - len(literal.lstrip("rbuRBUfF"))
        prefix, rest = literal[:quote_end], literal[quote_end:]
        q = rest[:3] if rest[:3] in ('"""', "'''") else rest[:1]
        inner = rest[len(q):-len(q)] if len(rest) >= 2 * len(q) else ""
        if "\\" in inner or "{" in inner:
            return []
        out = []
        for hint in self.request_quoted + self.hint_quoted:
            if _similar(inner, hint) and q not in hint:
                out.append(prefix + q + hint + q)
        for fixed in self._word_fixes(inner, short=True):
            out.append(prefix + q + fixed + q)
        return list(dict.fromkeys(out))[:12]

    def _word_fixes(self, text: str, short: bool = False) -> list[str]:
        """`text` with one word replaced by a near word of the request, the tests or the code's
        prose (`short`: two-letter words too, for string literals)."""
        out = []
        vocab = list(dict.fromkeys(self.request_words + self.hint_words))
        if short:
            vocab += [w for w in self.code_words if w not in vocab]
        vocab_set = {w.lower() for w in vocab}
        counts: dict[str, int] = {}
        for w in self.code_words:
            counts[w] = counts.get(w, 0) + 1
        for m in (_SHORT_WORD if short else _WORD).finditer(text):
            word = m.group(0)
            if word.lower() in vocab_set and not short:
                continue
            cutoff = 0.75 if len(word) > 3 else 0.66
            for other in difflib.get_close_matches(word.lower(), [v.lower() for v in vocab], n=3, cutoff=cutoff):
                if other == word.lower():
                    continue
                fixed = other if not word[:1].isupper() else other[:1].upper() + other[1:]
                out.append(text[:m.start()] + fixed + text[m.end():])
        return list(dict.fromkeys(out))

    def _words(self, body: str) -> list[str]:
        """Prose and config lines: a near-miss word fixed towards the request or the tests."""
        return self._word_fixes(body)[:6]

    def _task_literals(self, body: str) -> list[str]:
        """A line that names something the request names: its literals changed to the request's."""
        out = []
        request_names = {w.lower() for w in _IDENT.findall(self.request) if len(w) > 2}
        line_names = {w.lower() for w in _IDENT.findall(body)}
        numbers = _NUMBER.findall(body)
        for number in numbers:
            if number in self.request_numbers or request_names & line_names:
                for other in self.request_numbers:
                    if other != number and (other.count(".") == number.count(".")):
                        out.append(re.sub(rf"(?<![\w.]){re.escape(number)}(?![\w])", other, body, count=1))
        if request_names & line_names:
            for quoted in _literals(body)[0]:
                for other in self.request_quoted:
                    if other != quoted:
                        out.append(body.replace(quoted, other, 1))
        return out

    def _ast_swaps(self, path: str, line_no: int, body: str) -> Iterator[tuple[str, str]]:
        """Arguments of a call, operands of a comparison or a non-commutative operator, swapped."""
        tree = self.sources.tree(path)
        if tree is None:
            return
        line_text = self.sources.lines(path)[line_no - 1]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) != line_no or getattr(node, "end_lineno", None) != line_no:
                continue
            pairs = []
            if isinstance(node, ast.Call) and len(node.args) >= 2:
                pairs = [(node.args[i], node.args[i + 1]) for i in range(len(node.args) - 1)]
            elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)):
                pairs = [(node.left, node.right)]
            elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
                pairs = [(node.left, node.comparators[0])]
            for a, b in pairs:
                if a.end_col_offset is None or b.end_col_offset is None or a.end_col_offset > b.col_offset:
                    continue
                # col offsets are utf-8 byte offsets
                raw = line_text.encode("utf-8")
                new = (raw[:a.col_offset] + raw[b.col_offset:b.end_col_offset] + raw[a.end_col_offset:b.col_offset]
                       + raw[a.col_offset:a.end_col_offset] + raw[b.end_col_offset:])
                yield new.decode("utf-8").rstrip("\r\n"), "swap"

    def guards(self, path: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[int, list[str], str]]:
        """Lines to insert at the start of a function's body: an empty/None guard per parameter."""
        lines = self.sources.lines(path)
        body_start = _body_lines(node).start
        if body_start > len(lines):
            return
        first = lines[body_start - 1]
        indent = first[: len(first) - len(first.lstrip())]
        ending = first[len(first.rstrip("\r\n")):] or "\n"
        step = "    " if "\t" not in indent else "\t"
        params = [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
        raises = self.exceptions[:2]
        for p in params[:4]:
            for cond in (f"if not {p}:", f"if {p} is None:"):
                for value in GUARD_VALUES + (p,):
                    yield body_start, [indent + cond + ending, indent + step + f"return {value}" + ending], \
                        f"{cond} return {value}"
                for exc in raises:
                    yield body_start, [indent + cond + ending, indent + step + f'raise {exc}("{p} is empty")' + ending], \
                        f"{cond} raise {exc}"
            for exc in raises:
                cond = f"if {p} <= 0:"
                yield body_start, [indent + cond + ending, indent + step + f'raise {exc}("{p} must be positive")' + ending], \
                    f"{cond} raise {exc}"
        if not raises:
            return
        # a bound between two values in scope, checked where both are known
        names = params[:4]
        spots = [(body_start, indent, list(names))]
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.Assign) and stmt.end_lineno and stmt.end_lineno < len(lines) \
                    and stmt.lineno >= body_start:
                targets = [n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
                text = lines[stmt.lineno - 1]
                spots.append((stmt.end_lineno + 1, text[: len(text) - len(text.lstrip())], names + targets))
        made = 0
        for at, ind, scope in spots:
            scope = list(dict.fromkeys(scope))[:5]
            for a in scope:
                for b in scope:
                    if a == b:
                        continue
                    for op in (">", ">=", "<"):
                        cond = f"if {a} {op} {b}:"
                        yield at, [ind + cond + ending, ind + step + f'raise {raises[0]}("{a} {op} {b}")' + ending], \
                            f"{cond} raise {raises[0]}"
                        made += 1
                        if made >= 60:
                            return

    def loop_skips(self, path: str, line_no: int) -> Iterator[tuple[int, list[str], str]]:
        """After `x = ...` inside a loop: skip the item when x is None or empty."""
        lines = self.sources.lines(path)
        text = lines[line_no - 1]
        m = re.match(r"(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]", text)
        if m is None or line_no >= len(lines):
            return
        indent, name = m.group(1), m.group(2)
        above = [l for l in lines[: line_no - 1] if l.strip()]
        loop = next((l for l in reversed(above) if len(l) - len(l.lstrip()) < len(indent)), "")
        if not re.match(r"\s*(for|while)\b", loop):
            return
        ending = text[len(text.rstrip("\r\n")):] or "\n"
        step = "    " if "\t" not in indent else "\t"
        for cond in (f"if {name} is None:", f"if not {name}:"):
            yield line_no + 1, [indent + cond + ending, indent + step + "continue" + ending], f"{cond} continue"

    def renames(self) -> Iterator[Candidate]:
        """The request asks to rename X to Y: every whole-word X outside the tests becomes Y."""
        for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\b\s*(?:\(\))?\s+(?:to|into|->|→)\s+`?([A-Za-z_][A-Za-z0-9_]*)\b",
                             self.request):
            old, new = m.group(1), m.group(2)
            if old == new or keyword.iskeyword(old) or len(old) < 3:
                continue
            pattern = re.compile(rf"(?<![\w]){re.escape(old)}(?![\w])")
            files = []
            for path in self.sources.paths:
                text = self.sources.text(path)
                if text is None or is_test_path(path) or not pattern.search(text):
                    continue
                files.append((path, pattern.sub(new, text)))
            if files:
                path = files[0][0]
                line = next(i for i, l in enumerate(self.sources.lines(path), 1) if pattern.search(l))
                yield Candidate(tuple(files), path, line, "rename", f"rename {old} → {new} in "
                                + ", ".join(p for p, _ in files), prior=20.0)


def candidates(sources: Sources, request: str, report: TestReport | None, limit: int = 400) -> list[Candidate]:
    """Candidate fixes, most promising first by where they are (not yet by the model)."""
    maker = CandidateMaker(sources, request, report)
    out: list[Candidate] = list(maker.renames())
    seen_texts = {c.files for c in out}
    found_guard_for: set[tuple[str, int]] = set()
    for suspect in suspects(sources, report, request):
        if len(out) >= limit:
            break
        lines = sources.lines(suspect.path)
        for new_line, rule, description in maker.line_variants(suspect.path, suspect.line):
            new_text = "".join(lines[: suspect.line - 1]) + new_line + "".join(lines[suspect.line:])
            if suspect.path.endswith(".py") and sources.tree(suspect.path) is not None:
                try:
                    ast.parse(new_text)
                except (SyntaxError, ValueError):
                    continue
            files = ((suspect.path, new_text),)
            if files in seen_texts:
                continue
            seen_texts.add(files)
            out.append(Candidate(files, suspect.path, suspect.line, rule,
                                 f"{suspect.path}:{suspect.line}: {description}",
                                 prior=suspect.weight * RULE_WEIGHT.get(rule, 1.0)))
        if suspect.path.endswith(".py"):
            for at, inserted, description in maker.loop_skips(suspect.path, suspect.line):
                new_text = "".join(lines[: at - 1]) + "".join(inserted) + "".join(lines[at - 1:])
                files = ((suspect.path, new_text),)
                if files not in seen_texts:
                    seen_texts.add(files)
                    out.append(Candidate(files, suspect.path, at, "guard", f"{suspect.path}:{at}: add {description}",
                                         prior=suspect.weight * RULE_WEIGHT["guard"]))
        fn = _enclosing(sources.functions(suspect.path), suspect.line)
        if fn is not None and (suspect.path, fn.lineno) not in found_guard_for:
            found_guard_for.add((suspect.path, fn.lineno))
            for at, inserted, description in maker.guards(suspect.path, fn):
                new_text = "".join(lines[: at - 1]) + "".join(inserted) + "".join(lines[at - 1:])
                files = ((suspect.path, new_text),)
                if files in seen_texts:
                    continue
                seen_texts.add(files)
                out.append(Candidate(files, suspect.path, at, "guard", f"{suspect.path}:{at}: add {description}",
                                     prior=suspect.weight * RULE_WEIGHT["guard"] * (0.75 if " if " in f" {description}"
                                                                                    and any(o in description for o in (" > ", " >= ", " < ")) else 1.0)))
    return out[:limit]


# -- ranking and checking ------------------------------------------------------------------

Scorer = Callable[[str, str, str, list[str]], list[float]]  # (path, request+failure text, base, variants)
Checker = Callable[[Path], bool]  # runs the tests in a scratch root; True when they pass


def rank(cands: list[Candidate], sources: Sources, scorer: Scorer | None, context: str,
         max_scored: int = MAX_SCORED) -> list[Candidate]:
    """Candidates ordered by the model's score (prior order breaks ties; unscored ones last)."""
    head = sorted(cands, key=lambda c: -c.prior)[:max_scored]
    if scorer is None:
        return head
    by_path: dict[str, list[int]] = {}
    for i, c in enumerate(head):
        by_path.setdefault(c.path, []).append(i)
    scored = list(head)
    for path, indices in by_path.items():
        base = sources.text(path) or ""
        variants = [dict(head[i].files)[path] for i in indices]
        scores = scorer(path, context, base, variants)
        scores = list(scores) + [float("-inf")] * (len(indices) - len(scores))  # a cancelled scorer stops early
        for i, s in zip(indices, scores):
            scored[i] = _with_score(head[i], s)
    return sorted(scored, key=lambda c: -c.score)


def _with_score(c: Candidate, score: float) -> Candidate:
    from dataclasses import replace

    return replace(c, score=score)


class ScratchCopy:
    """A throwaway copy of the repository's files, where candidates are tried."""

    def __init__(self, root: Path, files: Sequence[str]):
        total = 0
        for f in files:
            try:
                total += (root / f).lstat().st_size
            except OSError:
                pass
        if total > MAX_COPY_BYTES:
            raise OSError(f"the repository is too large to copy for checks ({total // 2**20} MiB)")
        self.dir = Path(tempfile.mkdtemp(prefix="mlxagent-check-"))
        self.root = self.dir / root.name
        self.root.mkdir()
        for f in files:
            src, dst = root / f, self.root / f
            if src.is_symlink() or not src.is_file():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        self._original: dict[str, bytes | None] = {}

    def apply(self, files: Iterable[tuple[str, str]]) -> None:
        for path, text in files:
            target = self.root / path
            if path not in self._original:
                self._original[path] = target.read_bytes() if target.exists() else None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))

    def restore(self) -> None:
        for path, data in self._original.items():
            target = self.root / path
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(data)
        self._original.clear()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def search(sources: Sources, request: str, report: TestReport | None, scorer: Scorer | None,
           checker: Checker, *, max_checked: int = MAX_CHECKED, check_seconds: float = CHECK_SECONDS,
           cancel: Callable[[], bool] = lambda: False,
           exclude: Iterable[tuple[tuple[str, str], ...]] = ()) -> Iterator[tuple[str, int, int, str]]:
    """The whole search: candidates → ranked → checked in a scratch copy until one passes.

    A generator: yields (stage, candidates, checked, message) as it goes and returns the
    RepairResult (`result = yield from search(...)`)."""
    excluded = set(exclude)
    cands = [c for c in candidates(sources, request, report) if c.files not in excluded]
    yield ("candidates", len(cands), 0, f"{len(cands)} candidate edits near the failure")
    result = RepairResult(None, considered=len(cands))
    if not cands:
        result.message = "no candidate edits: nothing in the failure or the request points at a line to change"
        return result
    context = _context(request, report)
    ranked = rank(cands, sources, scorer, context)
    result.scored = min(len(cands), MAX_SCORED) if scorer is not None else 0
    yield ("ranked", len(ranked), 0, f"the model ranked {result.scored} of them")
    if cancel():
        result.message = "cancelled"
        return result
    scratch = ScratchCopy(sources.root, sources.paths)
    deadline = time.monotonic() + check_seconds
    try:
        for c in ranked[:max_checked]:
            if cancel() or time.monotonic() > deadline:
                break
            scratch.apply(c.files)
            try:
                ok = checker(scratch.root)
            finally:
                scratch.restore()
            result.checked.append((c, ok))
            yield ("checked", len(ranked), len(result.checked), c.description)
            if ok:
                result.found = c
                break
    finally:
        scratch.close()
    if result.found is not None:
        result.message = (f"{result.found.description} makes the tests pass (checked {len(result.checked)} of "
                          f"{len(cands)} candidates in a scratch copy)")
        yield ("found", len(ranked), len(result.checked), result.message)
    else:
        result.message = f"none of the {len(result.checked)} best-ranked of {len(cands)} candidate edits made the tests pass"
        yield ("none", len(ranked), len(result.checked), result.message)
    return result


def _context(request: str, report: TestReport | None) -> str:
    parts = [f"Task: {request.strip()}"]
    if report is not None and report.failures:
        f = report.failures[0]
        parts.append(f"Failing test: {f.name}\n{f.message.strip()[:400]}")
    return "\n".join(parts)


def scoring_messages(path: str, context: str, base: str) -> tuple[list[dict], str]:
    """The chat the model scores candidate files after, and how a file is written as the reply."""
    fence = "```"
    lang = {"py": "python", "js": "javascript", "ts": "typescript", "rs": "rust", "go": "go"}.get(
        path.rsplit(".", 1)[-1], "")
    messages = [
        {"role": "system", "content": "You are a careful programmer who fixes bugs."},
        {"role": "user", "content": f"{context}\n\n{path}:\n{fence}{lang}\n{base}{fence}\n\nWrite the fixed file."},
    ]
    return messages, f"{fence}{lang}\n{{}}{fence}"


def first_change(old: str, new: str) -> tuple[str, str]:
    """The smallest (search, replace) pair of whole lines that turns `old` into `new` in one
    place (unique in `old`), for showing a candidate as an edit_file call."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if not ops:
        return "", ""
    i1, i2, j1, j2 = ops[0][1], ops[-1][2], ops[0][3], ops[-1][4]
    while True:
        search = "".join(a[i1:i2])
        if search and old.count(search) == 1:
            return search, "".join(b[j1:j2])
        if i1 == 0 and i2 >= len(a):
            return old, new
        if i1 > 0:
            i1, j1 = i1 - 1, j1 - 1
        if i2 < len(a):
            i2, j2 = i2 + 1, j2 + 1
