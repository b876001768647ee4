"""A missing guard, synthesised from the tests' values: `if <cond>: raise E(...)` where a test
expects E and the code raises nothing (or something else).

Template rules guess a guard's condition (`if not x`, `x <= 0`) and leave it to the model and the
checks to find the right one among hundreds; the condition a test wants is usually one that is
true for the call inside `with pytest.raises(E):` and false for every other call, which the tests'
own values decide (Nopol, angelic-value repair). So:

1. `expectations()`: the blocks of the test files that expect an exception, and which of them hold
   a failing test's line (`DID NOT RAISE`, or another error inside the block);
2. `sites()`: in the functions those blocks call and the suspect functions, the lines a guard can
   go before (the body's start, then each statement below another) with the names in scope there;
3. `conditions()`: per site, conditions over those names, `self`'s attributes, properties and
   methods that only compute a value, `len()` of them and the numbers a bound may be (the module's
   numeric constants, the function's literals): truth, None, sign, comparisons, membership, and
   predicate methods (`self.is_full()`);
4. probe.py runs the tests once and keeps, per site, the conditions that hold (or pairs `a or b`
   where a test has several blocks to fix and no single condition covers them all);
5. `synthesised()` turns the simplest that hold into candidates the search checks first
   (search.py's `first`), ranked by the model among themselves.
"""

from __future__ import annotations

import ast
import builtins
import re
import threading
from dataclasses import dataclass, replace
from typing import Sequence

from ..testing.report import TestReport
from .candidates import Candidate
from .localise import _called_names, suspects
from .probe import Site, observe
from .shapes import _ending, _indent
from .sources import Sources, _body_lines, _enclosing, is_test_path

MAX_FUNCTIONS = 4  # functions whose sites are watched
MAX_SITES = 10  # per function
MAX_TERMS = 8  # names and attributes a site's conditions are made from
MAX_CONDITIONS = 600  # per site
PER_SITE = 3  # conditions that hold, turned into candidates, per site
MAX_FIRST = 6  # candidates in all
PRIOR = 12.0  # above any rule's: what the tests' values point at

_RAISES = frozenset({"raises", "assertRaises", "assertRaisesRegex"})  # the calls whose blocks expect an exception


@dataclass(frozen=True)
class Block:
    """Lines of a test file inside a block that expects an exception; `expect`: a failing test's
    line is in it."""

    path: str
    start: int
    end: int
    expect: bool


def expectations(sources: Sources, report: TestReport | None) -> list[tuple[Block, str, str]]:
    """Every block of the Python test files that expects an exception, with (exception name, match
    text or ""); `Block.expect` is set on those a failing test's line falls in."""
    failing = {(f.path, f.line) for failure in (report.failures if report else ()) for f in failure.frames
               if is_test_path(f.path)}
    out: list[tuple[Block, str, str]] = []
    for path in sources.paths:
        if not (is_test_path(path) and path.endswith(".py")):
            continue
        tree = sources.tree(path)
        for node in ast.walk(tree) if tree is not None else ():
            if not isinstance(node, (ast.With, ast.AsyncWith)):
                continue
            for item in node.items:
                found = _expected(item.context_expr)
                if found is None:
                    continue
                end = node.end_lineno or node.lineno
                hit = any(p == path and node.lineno <= line <= end for p, line in failing)
                out.append((Block(path, node.lineno, end, hit), *found))
                break
    return out


def _expected(call: ast.expr) -> tuple[str, str] | None:
    """(exception, match) of `pytest.raises(E, match=...)`, `self.assertRaises(E)`, `...Regex(E, text)`."""
    if not isinstance(call, ast.Call) or not call.args:
        return None
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in _RAISES:
        return None
    exc = call.args[0]
    if isinstance(exc, ast.Tuple) and exc.elts:
        exc = exc.elts[0]
    exc_name = exc.attr if isinstance(exc, ast.Attribute) else exc.id if isinstance(exc, ast.Name) else None
    if exc_name is None:
        return None
    match = next((k.value for k in call.keywords if k.arg == "match"), None)
    if match is None and name == "assertRaisesRegex" and len(call.args) > 1:
        match = call.args[1]
    text = match.value if isinstance(match, ast.Constant) and isinstance(match.value, str) else ""
    return exc_name, text


def functions(sources: Sources, report: TestReport | None, request: str, expected: Sequence[Block],
              spectrum=None) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The functions to watch: those the expecting blocks call, then the suspects' functions."""
    out: list[tuple[str, ast.AST]] = []
    seen: set[tuple[str, int]] = set()

    def add(path: str, fn) -> None:
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and (path, fn.lineno) not in seen \
                and not is_test_path(path) and path.endswith(".py"):
            seen.add((path, fn.lineno))
            out.append((path, fn))

    for block in expected:
        text = "".join(sources.lines(block.path)[block.start - 1:block.end])
        for name in _called_names(text):
            for path, node in sources.definitions(name):
                add(path, node)
    for suspect in suspects(sources, report, request, spectrum)[:200]:
        if suspect.path.endswith(".py"):
            add(suspect.path, _enclosing(sources.functions(suspect.path), suspect.line))
    return out[:MAX_FUNCTIONS]


def sites(sources: Sources, path: str, fn) -> list[tuple[int, list[str]]]:
    """(line a guard goes before, names in scope there) in `fn`: before each of its statements
    (not the first of a block other than the body's: an `if` or loop holds its own guard's place
    above it), the body's start first, with the parameters and the names assigned above."""
    params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
    start = _body_lines(fn).start
    out = {start: list(params)}
    for body in _blocks(fn):
        for before, stmt in zip(body, body[1:]):
            if stmt.lineno <= start or stmt.lineno in out:
                continue
            assigned = [n.id for s in ast.walk(fn) if isinstance(s, ast.stmt) and s.lineno <= before.lineno
                        for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
            out[stmt.lineno] = list(dict.fromkeys(params + assigned))
    return sorted(out.items())[:MAX_SITES]


def _blocks(fn) -> list[list[ast.stmt]]:
    out = []
    for node in ast.walk(fn):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not fn:
            continue
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                out.append(body)
    return out


def conditions(sources: Sources, path: str, fn, scope: list[str]) -> list[str]:
    """Conditions over the names in scope, `self`'s attributes and predicate methods, simplest first."""
    cls = _class_of(sources, path, fn)
    members, predicates = _members(cls) if cls is not None and fn.args.args and fn.args.args[0].arg == "self" \
        else ([], [])
    limits = _limits(sources, path, fn)
    terms = (scope + members)[:MAX_TERMS]
    sized = [f"len({t})" for t in terms if not t.endswith(")")]
    out: list[str] = []
    for t in terms:
        out += [f"not {t}", f"{t} is None", f"{t} <= 0", f"{t} < 0"]
    for m in predicates:
        out += [f"self.{m}()", f"not self.{m}()"]
    pairs = [(a, b) for i, a in enumerate(terms) for b in terms[i + 1:]]
    pairs += [(a, b) for a in sized for b in terms if a != f"len({b})"]
    pairs += [(a, b) for a in terms + sized for b in limits]
    for a, b in pairs:
        out += [f"{a} > {b}", f"{a} >= {b}", f"{a} < {b}", f"{a} <= {b}"]
    for a in terms:
        for b in terms:
            if a != b:
                out += [f"{a} not in {b}", f"{a} in {b}"]
    for a, b in pairs:
        for t in (a, b):
            if not t.startswith("len("):
                out += [f"{t} is not None and {a} {op} {b}" for op in (">", ">=", "<", "<=")]
    return list(dict.fromkeys(out))[:MAX_CONDITIONS]


MAX_LIMITS = 4  # numbers a site's names are compared with


def _limits(sources: Sources, path: str, fn) -> list[str]:
    """Numbers a bound may be: the module's constants bound to numbers (`MAX_PORT = 65535`), then
    the function's own number literals other than 0."""
    tree = sources.tree(path)
    names = [t.id for stmt in (tree.body if tree is not None else ()) if isinstance(stmt, ast.Assign)
             and isinstance(stmt.value, ast.Constant) and type(stmt.value.value) in (int, float)
             for t in stmt.targets if isinstance(t, ast.Name) and t.id.isupper()]
    numbers = [repr(n.value) for n in ast.walk(fn) if isinstance(n, ast.Constant) and type(n.value) in (int, float)
               and n.value not in (0, 1)]
    return list(dict.fromkeys(names + numbers))[:MAX_LIMITS]


def _class_of(sources: Sources, path: str, fn) -> ast.ClassDef | None:
    tree = sources.tree(path)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.ClassDef) and any(getattr(m, "lineno", None) == fn.lineno for m in node.body):
            return node
    return None


_PURE_CALLS = {"len", "sum", "min", "max", "abs", "any", "all", "sorted", "bool", "int", "float", "str", "round"}
_PURE_METHODS = {"values", "keys", "items", "get", "count", "startswith", "endswith", "lower", "upper", "strip"}


def _members(cls: ast.ClassDef) -> tuple[list[str], list[str]]:
    """(terms of `self`: attributes assigned as `self.x = ...`, properties and argument-free methods
    that only compute a value, as `self.x` / `self.m()`; predicate methods, returning a truth).
    Only methods whose body is one `return` of reads and side-effect-free calls: the probe calls
    them while the tests run, and a method that changed the object would change what they test."""
    attrs = [f"self.{t.attr}" for n in ast.walk(cls) if isinstance(n, (ast.Assign, ast.AnnAssign))
             for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
             if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"]
    values, predicates = [], []
    for m in cls.body:
        if not isinstance(m, ast.FunctionDef) or len(m.args.args) != 1 or m.args.vararg or m.args.kwonlyargs \
                or m.name.startswith("_"):
            continue
        body = m.body[1:] if len(m.body) > 1 and isinstance(m.body[0], ast.Expr) \
            and isinstance(m.body[0].value, ast.Constant) else m.body
        if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None or not _pure(body[0].value):
            continue
        value = body[0].value
        prop = any(isinstance(d, ast.Name) and d.id in ("property", "cached_property") for d in m.decorator_list)
        if m.decorator_list and not prop:
            continue
        truth = isinstance(value, (ast.Compare, ast.BoolOp)) or (isinstance(value, ast.UnaryOp)
                                                                 and isinstance(value.op, ast.Not))
        if prop:
            attrs.append(f"self.{m.name}")
        elif truth or m.name.startswith(("is_", "has_", "can_", "should_")):
            predicates.append(m.name)
        else:
            values.append(f"self.{m.name}()")
    return list(dict.fromkeys(attrs + values)), predicates


def _pure(expr: ast.expr) -> bool:
    """Reads, arithmetic, comparisons and calls of side-effect-free built-ins and methods only."""
    for node in ast.walk(expr):
        if isinstance(node, (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await, ast.Lambda)):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            if not ((isinstance(func, ast.Name) and func.id in _PURE_CALLS)
                    or (isinstance(func, ast.Attribute) and func.attr in _PURE_METHODS)):
                return False
    return True


def _available(sources: Sources, path: str, name: str) -> bool:
    """`name` can be raised in `path`: a built-in exception, or a class or import of that module."""
    if isinstance(getattr(builtins, name, None), type) and issubclass(getattr(builtins, name), BaseException):
        return True
    tree = sources.tree(path)
    for node in tree.body if tree is not None else ():
        if isinstance(node, ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


def _message(cond: str, cls: ast.ClassDef | None, match: str) -> str:
    """The raised exception's message: the test's `match=` text when it is plain words, else the
    condition said in words ("stack is full", "amount must be positive", "invalid port")."""
    if match and all(ch.isalnum() or ch in " _-,:'" for ch in match):
        return match
    if " or " in cond:
        names = [w for w in re.findall(r"[A-Za-z_]\w*", cond.replace("self.", ""))
                 if w not in ("not", "or", "and", "is", "in", "None", "len")]
        return f"invalid {names[0]}" if names else cond
    cond = cond.split(" and ")[-1]
    owner = (cls.name.lower() + " ") if cls is not None else ""
    if re.fullmatch(r"self\.\w+\(\)", cond):  # a predicate method: "stack is full"
        return owner + cond[5:-2].replace("_", " ")
    if re.fullmatch(r"not self\.is_\w+\(\)", cond):  # "stack is not open"
        return f"{owner}is not {cond[12:-2].replace('_', ' ')}"
    if re.fullmatch(r"not self\.\w+\(\)", cond):
        return f"{owner}not {cond[9:-2].replace('_', ' ')}"
    cond = cond.replace("self.", "").replace("()", "")
    words = cond.split()
    if len(words) == 2 and words[0] == "not":
        return f"{words[1]} must not be empty"
    if words[1:] == ["is", "None"]:
        return f"{words[0]} is required"
    if words[1:] == ["<=", "0"]:
        return f"{words[0]} must be positive"
    if words[1:] == ["<", "0"]:
        return f"{words[0]} must not be negative"
    return cond


def synthesised(sources: Sources, report: TestReport | None, request: str, command, *, spectrum=None,
                cancel: threading.Event | None = None) -> list[Candidate]:
    """Guards whose conditions the tests' values call for (the module doc), best first; [] when
    no failing test expects an exception or the probe cannot run."""
    found = expectations(sources, report)
    expected = [(b, exc, match) for b, exc, match in found if b.expect]
    if not expected:
        return []
    _, exc, match = expected[0]  # the first failing block's
    watched: list[tuple[str, object, int, list[str]]] = []  # (path, fn, line, conditions)
    for path, fn in functions(sources, report, request, [b for b, _, _ in expected], spectrum):
        for line, scope in sites(sources, path, fn):
            watched.append((path, fn, line, conditions(sources, path, fn, scope)))
    if not watched:
        return []
    tests = sorted({b.path for b, _, _ in expected})  # the failing blocks' files, not the whole suite
    held = observe(sources.root, sources.paths, command, [Site(p, line, tuple(c)) for p, _, line, c in watched],
                   exc, tests=tests, cancel=cancel)
    if not held:
        return []
    made: list[tuple[float, int, Candidate]] = []
    for (path, fn, line, _), good in zip(watched, held):
        if not good or not _available(sources, path, exc):
            continue
        lines = sources.lines(path)
        indent, ending = _indent(lines[line - 1]), _ending(lines[line - 1])
        step = "\t" if indent.startswith("\t") else "    "
        cls = _class_of(sources, path, fn)
        for cond in good[:PER_SITE]:
            message = _message(cond, cls, match).replace("\\", "\\\\").replace('"', '\\"')
            inserted = [f"{indent}if {cond}:{ending}", f'{indent}{step}raise {exc}("{message}"){ending}']
            new_text = "".join(lines[: line - 1]) + "".join(inserted) + "".join(lines[line - 1:])
            made.append((_cost(cond), len(made), Candidate(
                ((path, new_text),), path, line, "condition",
                f"{path}:{line}: add if {cond}: raise {exc} (the condition the tests' values call for)")))
    made.sort(key=lambda m: m[:2])
    return [replace(c, prior=PRIOR / (1 + k)) for k, (_, _, c) in enumerate(made[:MAX_FIRST])]


def _cost(cond: str) -> float:
    """How much a condition says: its words, and more for each len() and attribute (simplest wins)."""
    return len(cond.split()) + cond.count("len(") + 0.5 * cond.count("self.")
