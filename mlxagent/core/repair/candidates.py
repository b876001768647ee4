"""What to try: `candidates()` makes small edits of the suspect lines (`CandidateMaker`, one
method per kind of rule), each a `Candidate` with a prior from where it is and which rule made it."""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import os
import re
import tokenize
from dataclasses import dataclass, replace
from typing import Iterator

from ..testing.report import TestReport
from .localise import _IDENT, suspects
from .shapes import ShapeMaker, comment_start, first_changed_line, protected_lines
from .shapes_expr import separators
from .shapes_gotchas import GOTCHA_WEIGHT
from .shapes_more import MoreShapes
from .sources import Sources, _body_lines, _enclosing, is_test_path
from .treesit import language_of
from .treesit_rules import TS_WEIGHT, TreeMaker

COMPARE = ("<", "<=", ">", ">=", "==", "!=")
ARITH = {"+": ("-", "*"), "-": ("+",), "*": ("//", "/", "+", "**"), "/": ("//", "*"), "//": ("/", "*", "%"),
         "%": ("//",), "**": ("*",), "+=": ("-=",), "-=": ("+=",), "*=": ("/=", "//="), "/=": ("*=",),
         "//=": ("/=", "*=")}
# Every other operator of the same family (mutation testing's operator replacement), after ARITH's
# likely ones and with a lower weight: `n - i == 0` where `n % i == 0` was meant.
ARITH_FAR = {op: tuple(o for o in family if o != op and o not in ARITH.get(op, ()))
             for family in (("+", "-", "*", "/", "//", "%", "**"), ("+=", "-=", "*=", "/=", "//=", "%="))
             for op in family}
WORD_SWAPS = {"and": ("or",), "or": ("and",), "True": ("False",), "False": ("True",), "is": ("is not",),
              "in": ("not in",)}
# Calls and methods that are easily confused with each other.
CALL_SWAPS: dict[str, tuple[str, ...]] = {}
for group in (("min", "max"), ("any", "all"), ("lower", "upper", "title", "capitalize", "swapcase"),
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

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)*(?![\w])")
_QUOTED = re.compile(r"\"([^\"\n]{1,80})\"|'([^'\n]{1,80})'|`([^`\n]{1,80})`")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_SHORT_WORD = re.compile(r"[A-Za-z]{2,}")
_IDENT_CHAR = re.compile(r"[\w]")
# How often each kind of edit is the fix, roughly: a multiplier on where it is (the prior).
RULE_WEIGHT = {"rename": 1.0, "literal": 1.2, "compare": 1.0, "arith": 1.0, "string": 1.0, "word": 1.0,
               "number": 0.9, "call": 0.9, "swap": 0.9, "logic": 0.85, "guard": 0.8, "sign": 0.8,
               "bound": 0.7, "name": 0.5, "arith_far": 0.5,
               # shapes.py's (modest: the checks see only the best-ranked few)
               "import": 1.2, "raise": 0.75, "bitwise": 0.7, "augment": 0.45, "container": 0.5,
               "unwrap": 0.45, "yield": 0.5, "attr": 0.45, "key": 0.45, "return": 0.65, "unguard": 0.4,
               "loop_exit": 0.4, "update": 0.4, "recurse": 0.35, "delete": 0.3, "wrap": 0.3, "cond": 0.25,
               # shapes_more.py's (few candidates each, on strong preconditions)
               "fstring": 1.0, "track": 0.7, "default": 0.7, "conjunct": 0.6,
               # shapes_expr.py's
               "returns": 0.6, "reverse": 0.6, "operand": 0.5, "element": 0.4, "separator": 0.6,
               # shapes_slips.py's
               "identity": 0.9, "maxsplit": 0.6, "quantifier": 0.6, "regroup": 0.6, "copy_iter": 0.7,
               "materialize": 0.6, "reorder": 0.35, "compare_all": 0.6,
               **GOTCHA_WEIGHT}  # shapes_gotchas.py's
SHAPE_LIMIT = 240  # shapes.py candidates at most, besides the `limit` of the others
SPECIFIC_SUSPECTS = 40  # suspects whose few-candidate shapes (shapes_more.py's) are made before the rest
SPECIFIC_LIMIT = 120  # those candidates at most, besides SHAPE_LIMIT


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
        self._protected: dict[str, set[int]] = {}

    def protected(self, path: str) -> set[int]:
        """Lines of `path` no rule changes: docstrings and comment-only lines (Python files)."""
        if path not in self._protected:
            self._protected[path] = protected_lines(self.sources.text(path) or "", self.sources.tree(path)) \
                if path.endswith(".py") else set()
        return self._protected[path]

    # each rule yields (new line text or lines, rule, description)
    def line_variants(self, path: str, line_no: int) -> Iterator[tuple[str, str, str]]:
        lines = self.sources.lines(path)
        line = lines[line_no - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        indent = body[: len(body) - len(body.lstrip())]
        seen = {body}
        if line_no in self.protected(path):
            return  # a docstring or a comment
        comment = comment_start(body) if path.endswith(".py") else None

        def out(new: str, rule: str):
            if comment is not None and not new.endswith(body[comment:]):
                return None  # the comment changed
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
            elif tok.type == tokenize.OP and tok.string in ARITH_FAR:
                for other in ARITH.get(tok.string, ()):
                    results.append(out(_replace_span(body, s, e, other), "arith"))
                for other in ARITH_FAR[tok.string]:
                    results.append(out(_replace_span(body, s, e, other), "arith_far"))
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
                results.extend(out(_replace_span(body, s, e, n), "separator") for n in separators(tok.string))
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
        results.extend(out(new, "word") for new in self._words(body, python))
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

    def _word_fixes(self, text: str, short: bool = False, whole: bool = False) -> list[str]:
        """`text` with one word replaced by a near word of the request, the tests or the code's
        prose (`short`: two-letter words too, for string literals; `whole`: never a part of an
        identifier, `count` of `even_count`)."""
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
            if whole and (_IDENT_CHAR.match(text, m.end()) or (m.start() and _IDENT_CHAR.match(text, m.start() - 1))):
                continue
            if word.lower() in vocab_set and not short:
                continue
            cutoff = 0.75 if len(word) > 3 else 0.66
            for other in difflib.get_close_matches(word.lower(), [v.lower() for v in vocab], n=3, cutoff=cutoff):
                if other == word.lower():
                    continue
                fixed = other if not word[:1].isupper() else other[:1].upper() + other[1:]
                out.append(text[:m.start()] + fixed + text[m.end():])
        return list(dict.fromkeys(out))

    def _words(self, body: str, python: bool = False) -> list[str]:
        """Prose and config lines: a near-miss word fixed towards the request or the tests (in
        Python code a whole word only: a part of a name changed at one use is a NameError)."""
        return self._word_fixes(body, whole=python)[:6]

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
        if m is None or line_no >= len(lines) or line_no in self.protected(path):
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


def candidates(sources: Sources, request: str, report: TestReport | None, limit: int = 600,
               spectrum: dict[tuple[str, int], float] | None = None) -> list[Candidate]:
    """Candidate fixes, most promising first by where they are (not yet by the model)."""
    maker = CandidateMaker(sources, request, report)
    shaper, shaped = MoreShapes(maker), []  # shapes(_more).py's candidates, kept apart until the end
    out: list[Candidate] = list(maker.renames())
    seen_texts = {c.files for c in out}
    found_guard_for: set[tuple[str, int]] = set()
    tree_maker = TreeMaker(sources, maker.failure_text, maker.hint_quoted)  # JavaScript, TypeScript, Go, ...
    found = suspects(sources, report, request, spectrum)
    specific: list[Candidate] = []  # the few-candidate shapes first, for suspects the broad ones never reach
    for suspect in found[:SPECIFIC_SUSPECTS]:
        specific += _shaped(shaper, suspect, seen_texts, SPECIFIC_LIMIT - len(specific), specific=True)
    for suspect in found:
        if len(out) >= limit:
            break
        lines = sources.lines(suspect.path)
        if language_of(suspect.path) is not None:
            for new_text, rule, description in tree_maker.variants(suspect.path, suspect.line):
                files = ((suspect.path, new_text),)
                if files not in seen_texts:
                    seen_texts.add(files)
                    out.append(Candidate(files, suspect.path, suspect.line, rule,
                                         f"{suspect.path}:{suspect.line}: {description}",
                                         prior=suspect.weight * TS_WEIGHT.get(rule, 0.5)))
        for new_line, rule, description in maker.line_variants(suspect.path, suspect.line):
            if rule == "word" and language_of(suspect.path) is not None:
                continue  # code: identifiers, comments and strings are not prose
            new_text = "".join(lines[: suspect.line - 1]) + new_line + "".join(lines[suspect.line:])
            if suspect.path.endswith(".py") and sources.tree(suspect.path) is not None:
                try:  # compiled, not only parsed: a repeated argument or keyword parses
                    compile(new_text, suspect.path, "exec", dont_inherit=True)
                except (SyntaxError, ValueError):
                    continue
                if not _same_parameters(sources, suspect.path, suspect.line, new_text):
                    continue  # a signature line: its default values may change, its parameters not
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
        shaped += _shaped(shaper, suspect, seen_texts, SHAPE_LIMIT - len(shaped))
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
    return _merged(out[:limit], specific + shaped, limit, sources)


def _same_parameters(sources: Sources, path: str, line: int, new_text: str) -> bool:
    """False when `line` is in a function's signature (before its body) and `new_text` changes
    that function's parameter names."""
    fn = next((f for f in sources.functions(path) if f.lineno <= line < f.body[0].lineno), None)
    if fn is None:
        return True
    try:
        new_fn = next((f for f in ast.walk(ast.parse(new_text))
                       if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.lineno == fn.lineno), None)
    except SyntaxError:
        return False

    def names(f) -> list[str]:
        a = f.args
        return [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs + [v for v in (a.vararg, a.kwarg) if v]]
    return new_fn is not None and new_fn.name == fn.name and names(new_fn) == names(fn)


def _shaped(shaper: ShapeMaker, suspect, seen_texts: set, room: int, specific: bool = False) -> list[Candidate]:
    """shapes.py's new candidates for one suspect line, `room` at most (`specific`: only the rules
    of strong preconditions)."""
    out: list[Candidate] = []
    old = shaper.sources.text(suspect.path) or ""
    for new_text, rule, description in (shaper.shapes(suspect.path, suspect.line, specific) if room > 0 else ()):
        files = ((suspect.path, new_text),)
        if files in seen_texts:
            continue
        seen_texts.add(files)
        line = first_changed_line(old, new_text)
        out.append(Candidate(files, suspect.path, line, rule, f"{suspect.path}:{line}: {description}",
                             prior=suspect.weight * RULE_WEIGHT.get(rule, 0.3)))
        if len(out) >= room:
            break
    return out


def _merged(out: list[Candidate], shaped: list[Candidate], limit: int, sources: Sources) -> list[Candidate]:
    """The two lists together, `limit` at most: the lowest priors go (on ties, the shapes)."""
    both = _spread(out + shaped, sources)
    keep = sorted(sorted(range(len(both)), key=lambda i: -both[i].prior)[:limit])
    return [both[i] for i in keep]


GROUP_FREE = 8  # candidates of one rule at one line that keep their prior; past these, it shrinks:
GROUP_SPREAD = 6.0  # the k-th (from 0) gets its prior / (1 + (k - GROUP_FREE) / GROUP_SPREAD)


def _spread(cands: list[Candidate], sources: Sources) -> list[Candidate]:
    """Candidates of one rule at one place (a function's guards, the names in scope for one
    token, the numbers for one literal) are alternatives to each other: past the first few made,
    each gets a smaller prior than the one before, so that one family does not fill the few the
    model scores (ranking.py). A place is a line and the column where the edit starts (lines
    inserted there: all one place)."""
    made: dict[tuple[str, int, str, int], int] = {}
    out = []
    for c in cands:
        old, new = sources.text(c.path) or "", dict(c.files).get(c.path, "")
        at = len(os.path.commonprefix([old, new]))  # an edit in a line: where; lines inserted: -1
        column = at - old.rfind("\n", 0, at) - 1 if old.count("\n") == new.count("\n") else -1
        key = (c.path, c.line, c.rule, column)
        k = made.get(key, 0)
        made[key] = k + 1
        out.append(replace(c, prior=c.prior / (1 + (k - GROUP_FREE) / GROUP_SPREAD)) if k > GROUP_FREE else c)
    return out
