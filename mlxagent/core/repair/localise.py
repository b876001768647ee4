"""Where to look: `suspects()` lists the lines worth changing, most suspicious first."""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass

from ..testing import hangs
from ..testing.report import TestReport
from .sources import Sources, _body_lines, _enclosing, is_test_path
from .treesit import TsClass, TsFunction, called_in, language_of, tree_file, ts_definitions

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Suspect:
    path: str
    line: int  # 1-based
    weight: float  # higher is more suspicious
    why: str


def _called_names(text: str) -> list[str]:
    names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", text)
    names += re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)", text)
    return [n for n in dict.fromkeys(names) if not keyword.iskeyword(n)]


def suspects(sources: Sources, report: TestReport | None, request: str,
             spectrum: dict[tuple[str, int], float] | None = None) -> list[Suspect]:
    """Lines worth changing, most suspicious first (see the package doc, step 1).

    `spectrum`: Ochiai scores of the lines the tests ran (spectrum.py's `measure()`), 0..1; a
    line the failing tests run and the passing ones do not weighs about as much as a failing
    frame, merged with the other evidence (comments and docstrings are never added)."""
    weights: dict[tuple[str, int], tuple[float, str]] = {}

    def add(path: str, line: int, weight: float, why: str) -> None:
        if is_test_path(path) or path not in sources.paths or not sources.lines(path):
            return
        if not 1 <= line <= len(sources.lines(path)):
            return
        key = (path, line)
        if key not in weights or weights[key][0] < weight:
            weights[key] = (weight, why)

    def add_function(path: str, node, weight: float, why: str) -> None:
        if isinstance(node, (TsFunction, TsClass)):
            _add_ts(sources, path, node, weight, why, add)
            return
        if isinstance(node, ast.ClassDef):
            for fn in (n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
                add_function(path, fn, weight * 0.8, why)
            return
        for line in _body_lines(node):
            add(path, line, weight, why)
        for line in _default_lines(node):  # a wrong default value is a wrong line of the function too
            add(path, line, weight * DEFAULTS_SHARE, f"{why} (a default value)")
        for name, lines in _constants_read(sources, path, node):  # and so is a wrong constant it reads
            for line in lines:
                add(path, line, weight * CONSTANTS_SHARE, f"{why} (the constant {name} it reads)")

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
            elif (tf := tree_file(sources, frame.path)) is not None and (ts_fn := tf.enclosing(frame.line)):
                for line in ts_fn.lines:  # the nearer the frame's line, the heavier
                    add(frame.path, line, 6 * decay / (1 + depth) / (1 + 0.05 * abs(line - frame.line)),
                        f"in {ts_fn.name or 'the function'}() of a failing frame")
        if hangs.is_hang(failure):  # it never finished: the loops it was in are where it went wrong
            for frame in inner[:3]:
                for line in _loop_lines(sources, frame.path, frame.line):
                    add(frame.path, line, 12 * decay, "in a loop of a test that never finished")
        # The test's own lines: the functions they call (an assertion on a wrong result points
        # at the test, while the bug is in what it called).
        for frame in (f for f in frames if is_test_path(f.path)):
            texts = [frame.text]
            test_fn = _enclosing(sources.functions(frame.path), frame.line)
            if test_fn is not None:
                lines = sources.lines(frame.path)
                texts += [lines[i - 1] for i in _body_lines(test_fn) if i <= len(lines)]
            elif (tf := tree_file(sources, frame.path)) is not None and (ts_fn := tf.enclosing(frame.line)):
                texts += [tf.text.splitlines()[i - 1] for i in ts_fn.lines if i <= len(tf.text.splitlines())]
            for order, name in enumerate(_called_names(" ".join(texts))):
                for path, node in _definitions(sources, name):
                    weight = 5 * decay / (1 + 0.2 * order)
                    add_function(path, node, weight, f"{name}() called by a failing test")
                    for callee_path, callee in _py_callees(sources, node):  # and what that calls, less
                        add_function(callee_path, callee, weight * CALLEE_SHARE, f"{callee.name}() called by {name}()")
        for name in _called_names(failure.message):
            for path, node in _definitions(sources, name):
                add_function(path, node, 3 * decay, f"{name}() in a failure message")
    lowered = request.lower()
    for name in dict.fromkeys(_IDENT.findall(request)):
        if len(name) < 3 or keyword.iskeyword(name):
            continue
        for path, node in _definitions(sources, name):
            add_function(path, node, 4, f"{name} named in the request")
    for path in sources.paths:
        base = path.rsplit("/", 1)[-1].lower()
        if (path.lower() in lowered or re.search(rf"(?<![\w.]){re.escape(base)}(?![\w])", lowered)) \
                and len(sources.lines(path)) <= 150:
            for line in range(1, len(sources.lines(path)) + 1):
                add(path, line, 1.5, "file named in the request")
    for path in sorted({p for p, _ in weights if p.endswith(".py")}):  # a linter's warnings in those files
        for line, why in _lint_lines(sources, path):
            add(path, line, LINT_WEIGHT, why)
    if spectrum:
        _merge_spectrum(sources, spectrum, weights, add)
    ranked = sorted(weights.items(), key=lambda item: (-item[1][0], item[0]))
    return [Suspect(path, line, w, why) for (path, line), (w, why) in ranked]


LINT_WEIGHT = 5.0  # a line a linter warns of (a bug pattern), in a file the evidence already points at
_MUTABLE_DEFAULTS = (ast.List, ast.Dict, ast.Set)
_STRIPS = ("strip", "lstrip", "rstrip")


def _lint_lines(sources: Sources, path: str) -> list[tuple[int, str]]:
    """Lines with the bug patterns linters flag whatever the tests say (flake8-bugbear's B005 and
    B006, pyflakes' F632): a mutable default argument, a strip of a several-character string
    meant as a prefix or suffix, `is` against a string or number literal."""
    tree = sources.tree(path)
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in list(node.args.defaults) + [d for d in node.args.kw_defaults if d is not None]:
                if isinstance(d, _MUTABLE_DEFAULTS) or (isinstance(d, ast.Call) and isinstance(d.func, ast.Name)
                                                        and d.func.id in ("list", "dict", "set") and not d.args):
                    out.append((d.lineno, f"a mutable default argument in {node.name}() (a linter's warning)"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _STRIPS \
                and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and len(set(node.args[0].value)) < len(node.args[0].value):
            out.append((node.lineno, f"{node.func.attr}() of a string with repeated characters (a linter's warning)"))
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) \
                and any(isinstance(v, ast.Constant) and isinstance(v.value, (str, int, float))
                        and not isinstance(v.value, bool) for v in [node.left, *node.comparators]):
            out.append((node.lineno, "`is` against a literal (a linter's warning)"))
    return out


MAX_CALLEES = 4  # functions a test-called Python function calls, added as suspects


def _py_callees(sources: Sources, node) -> list[tuple[str, ast.AST]]:
    """The repository's Python functions `node` calls (a class it instantiates: its __init__), in
    the order of the calls; not itself, at most MAX_CALLEES."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    out: list[tuple[str, ast.AST]] = []
    names = [c.func.id if isinstance(c.func, ast.Name) else c.func.attr for c in ast.walk(node)
             if isinstance(c, ast.Call) and isinstance(c.func, (ast.Name, ast.Attribute))]
    for name in dict.fromkeys(names):
        for path, found in sources.definitions(name):
            if isinstance(found, ast.ClassDef):
                found = next((m for m in found.body if isinstance(m, ast.FunctionDef) and m.name == "__init__"), None)
            if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)) and found is not node:
                out.append((path, found))
        if len(out) >= MAX_CALLEES:
            break
    return out[:MAX_CALLEES]


def _loop_lines(sources: Sources, path: str, line: int) -> list[int]:
    """The lines of the Python loops (for, while) around `line` in its function, innermost first."""
    fn = _enclosing(sources.functions(path), line)
    if fn is None:
        return []
    loops = [n for n in ast.walk(fn) if isinstance(n, (ast.For, ast.AsyncFor, ast.While))
             and n.lineno <= line <= (n.end_lineno or n.lineno)]
    loops.sort(key=lambda n: -n.lineno)
    return [ln for n in loops for ln in range(n.lineno, (n.end_lineno or n.lineno) + 1)]


DEFAULTS_SHARE = 0.5  # the signature's lines with default values: this share of the body's weight


def _default_lines(node) -> list[int]:
    """Lines of a Python function's signature that hold its parameters' default values."""
    args = getattr(node, "args", None)
    if not isinstance(args, ast.arguments):
        return []
    body = _body_lines(node)
    lines = {line for d in list(args.defaults) + [d for d in args.kw_defaults if d is not None]
             for line in range(d.lineno, (d.end_lineno or d.lineno) + 1)}
    return sorted(line for line in lines if line not in body and not (node.body and line >= node.body[0].lineno))


CONSTANTS_SHARE = 0.5  # a module-level constant the function reads: this share of its weight


def _constants_read(sources: Sources, path: str, node) -> list[tuple[str, range]]:
    """Module-level names of `path` bound to literals (numbers, strings, and containers of them)
    that the function `node` reads, with the lines of their assignments."""
    tree = sources.tree(path)
    read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    out = []
    for stmt in tree.body if tree is not None else ():
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] \
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else []
        names = [t.id for t in targets if isinstance(t, ast.Name) and t.id in read]
        if names and _literal(stmt.value):
            out.append((names[0], range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)))
    return out


def _literal(value) -> bool:
    """A constant, or a tuple, list, set or dict of constants (nested), as `ast.literal_eval` reads,
    a call made of such only (`re.compile(r"(\\d+)s")`, `frozenset({"a", "b"})`), or a table of
    names (`{"debug": bool, "port": int}`)."""
    if isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)):
        return all(_literal(a) or _flag(a) for a in value.args) and bool(value.args or value.keywords) \
            and all(_literal(k.value) or _flag(k.value) for k in value.keywords)
    if isinstance(value, ast.Dict) and value.keys and all(k is not None for k in value.keys):
        # a table: constants mapped to constants, names or dotted names (`{"debug": bool}`)
        return all(_literal(k) or _named(k) for k in value.keys) and all(_literal(v) or _named(v) for v in value.values)
    try:
        ast.literal_eval(value)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _named(value) -> bool:
    return isinstance(value, ast.Name) or (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name))


def _flag(value) -> bool:
    """A module's named constant or several or-ed together (`re.I`, `re.I | re.M`)."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
        return _flag(value.left) and _flag(value.right)
    return isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)


def _definitions(sources: Sources, name: str) -> list:
    """Python's definitions of `name`, then those of the files tree-sitter parses."""
    return sources.definitions(name) + ts_definitions(sources, name)


CALLEE_SHARE = 0.4  # a function a suspect tree-sitter function calls: this share of its weight


def _add_ts(sources: Sources, path: str, node, weight: float, why: str, add, callees: bool = True) -> None:
    """A tree-sitter function's lines (a class: its methods'), and at a lower weight the lines of
    the repository's functions it calls (Python files have the coverage spectrum for those)."""
    if isinstance(node, TsClass):
        for fn in node.methods:
            _add_ts(sources, path, fn, weight * 0.8, why, add, callees)
        return
    for line in node.lines:
        add(path, line, weight, why)
    if callees and language_of(path) is not None:
        for name in called_in(sources, path, node):
            for callee_path, callee in ts_definitions(sources, name):
                if isinstance(callee, TsFunction) and callee.lineno != node.lineno:
                    _add_ts(sources, callee_path, callee, weight * CALLEE_SHARE,
                            f"{name}() called by {node.name or 'a suspect'}()", add, callees=False)


SPECTRUM_WEIGHT = 8.0  # a line only the failing tests run: a little below the failing frame (10)
SPECTRUM_MIN = 0.3  # lower scores say little (a line most passing tests run too)
SPECTRUM_UNRUN = 0.5  # a line in a measured file that no failing test ran: its weight times this


def _merge_spectrum(sources: Sources, spectrum: dict[tuple[str, int], float],
                    weights: dict[tuple[str, int], tuple[float, str]], add) -> None:
    """Merge the Ochiai scores into `weights`: each statement's score spreads over all its lines
    (coverage names a statement by its first line); a line in a function of a measured file that
    no failing test ran counts less (module-level lines run at import, outside any test)."""
    by_path: dict[str, dict[int, float]] = {}
    for (path, line), score in spectrum.items():
        if isinstance(line, int) and score > 0:
            by_path.setdefault(path, {})[line] = max(score, by_path.get(path, {}).get(line, 0.0))
    for path, scores in by_path.items():
        code = _code_lines(sources, path)
        spread: dict[int, float] = {}
        for first, lines in _statement_lines(sources, path).items():
            if first in scores:
                for line in lines:
                    spread[line] = max(spread.get(line, 0.0), scores[first])
        for line, score in scores.items():
            spread.setdefault(line, score)
        in_functions = {line for fn in sources.functions(path) for line in _body_lines(fn)}
        for key in [k for k in weights if k[0] == path and k[1] in in_functions and k[1] not in spread]:
            weight, why = weights[key]
            weights[key] = (weight * SPECTRUM_UNRUN, why + ", not run by the failing tests")
        for line, score in sorted(spread.items()):
            if line not in code or score < SPECTRUM_MIN:
                continue
            add(path, line, SPECTRUM_WEIGHT * min(1.0, score), f"run by the failing tests (Ochiai {score:.2f})")


def _statement_lines(sources: Sources, path: str) -> dict[int, range]:
    """First line of each statement -> the lines it covers (a compound statement: its header)."""
    tree = sources.tree(path)
    out: dict[int, range] = {}
    if tree is None:
        return out
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        end = node.end_lineno or node.lineno
        body = getattr(node, "body", None)
        if isinstance(body, list) and body:
            end = max(node.lineno, body[0].lineno - 1)
        out[node.lineno] = range(node.lineno, end + 1)
    return out


def _code_lines(sources: Sources, path: str) -> set[int]:
    """Lines of `path` that hold code: not blank, not comments only, not in a docstring."""
    lines = sources.lines(path)
    out = {i for i, text in enumerate(lines, 1) if text.strip() and not text.lstrip().startswith("#")}
    tree = sources.tree(path)
    if tree is not None:
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                out -= set(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return out
