"""Fix shapes for slips people make that shapes.py's rules do not reach: a tracking variable the
loop never updates (`previous = day`), a condition the `if` is missing (`and not in_quotes`), a
bit cleared with `& flag` for `& ~flag`, a string with `{name}` fields that lacks its `f`, and a
mutable default argument (`tags=[]`); shapes_expr.py's (an operand too many, inverted boolean
returns, an element too many, a sort's order); and shapes_slips.py's (identity for equality, a split's
limit, a pattern's quantifier, precedence, a list changed while walked, an iterator read twice, two
statements in the wrong order). `MoreShapes` is shapes.py's `ShapeMaker` with these rules
first (each makes few candidates, on strong preconditions); the edits follow the same contract:
`ast` positions, the rest of the file byte-identical, docstrings and comments never changed."""

from __future__ import annotations

import ast
import builtins
import string
from typing import Iterator

from . import shapes_expr, shapes_gotchas, shapes_slips
from .shapes import EXIT_STMTS, ShapeMaker, _ending, _File, _indent
from .sources import _enclosing

BOOL_NAMES_MAX = 3  # names in scope tried as an extra condition
COPIES = {"List": "list", "Dict": "dict", "Set": "set"}


def _scope_names(f: _File, fn: ast.AST | None) -> set[str]:
    """Names a line of `fn` can read: its parameters and locals, the module's names, builtins."""
    names = set(dir(builtins))
    for node in f.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = fn.args
        names.update(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
        names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
        names.update(n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def _boolean(value: ast.AST | None) -> bool:
    """An expression whose value is a bool: True/False, `not x`, a comparison, `a and b`."""
    return (isinstance(value, ast.Constant) and isinstance(value.value, bool)) \
        or (isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not)) \
        or isinstance(value, (ast.Compare, ast.BoolOp))


class MoreShapes(ShapeMaker):
    """ShapeMaker with this module's rules before its own."""

    def __init__(self, maker):
        super().__init__(maker)
        self._defaults_done: set[tuple[str, int]] = set()
        self._returns_done: dict[str, set[int]] = {}
        self._materialized: dict[str, set[int]] = {}

    def _makers(self, f: _File, path: str, line_no: int, stmt: ast.stmt | None) -> list:
        return self._specific(f, path, line_no, stmt) + super()._makers(f, path, line_no, stmt)

    def _specific(self, f: _File, path: str, line_no: int, stmt: ast.stmt | None) -> list:
        return [self._fstring(f, line_no), self._complement(f, line_no, stmt), self._conjunct(f, stmt),
                self._tracker(f, stmt), self._mutable_default(f, path, stmt),
                shapes_expr.boolean_returns(f, stmt, self._returns_done.setdefault(path, set())),
                shapes_expr.reverse(f, line_no), shapes_expr.operands(f, line_no), shapes_expr.elements(f, line_no),
                shapes_slips.identity(f, line_no), shapes_slips.split_limit(f, line_no),
                shapes_slips.quantifiers(f, line_no), shapes_slips.regroup(f, line_no),
                shapes_slips.compare_all(f, line_no),
                shapes_slips.iterate_copy(f, stmt),
                shapes_slips.materialize(f, stmt, self._materialized.setdefault(path, set())),
                shapes_slips.reorder(f, stmt), shapes_gotchas.gotchas(f, line_no, stmt)]

    def _fstring(self, f: _File, line_no: int) -> Iterator[tuple[str, str, str]]:
        """A plain string whose `{...}` fields all name something in scope (and that is not
        `.format()`-ed or `%`-formatted): the same string as an f-string."""
        fn = _enclosing(f.functions, line_no)
        scope = None
        for node in f.on_line.get(line_no, ()):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value):
                continue
            parent = f.parents.get(node)
            if isinstance(parent, ast.JoinedStr) or (isinstance(parent, ast.Attribute) and parent.attr == "format") \
                    or (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mod) and parent.left is node):
                continue
            text = f.segment(node)
            prefix = text[: len(text) - len(text.lstrip("rRuUbB"))]
            if "b" in prefix.lower() or "u" in prefix.lower() or not text[len(prefix):][:1] in ("'", '"'):
                continue
            try:
                fields = [name for _, name, _, _ in string.Formatter().parse(node.value) if name is not None]
            except ValueError:
                continue
            if scope is None:
                scope = _scope_names(f, fn)
            roots = [name.replace("[", ".").split(".")[0].strip() for name in fields]
            if not roots or not all(r.isidentifier() and r in scope for r in roots):
                continue
            yield f.replace_span(node, "f" + text), "fstring", f"{text} → f{text}"

    def _complement(self, f: _File, line_no: int, stmt: ast.stmt | None) -> Iterator[tuple[str, str, str]]:
        """`x &= flag` ↔ `x &= ~flag`, `a & b` ↔ `a & ~b`: clearing a bit takes its complement."""
        nodes = list(f.on_line.get(line_no, ()))
        if isinstance(stmt, ast.AugAssign) and stmt.lineno == stmt.end_lineno == line_no:
            nodes.append(stmt)
        for node in nodes:
            if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.BitAnd):
                right = node.right if isinstance(node, ast.BinOp) else node.value
                if right.lineno != right.end_lineno:
                    continue
                old = f.segment(right)
                if isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.Invert):
                    new = f.segment(right.operand)
                elif isinstance(right, (ast.Name, ast.Attribute, ast.Constant, ast.Call, ast.Subscript)):
                    new = "~" + old
                else:
                    new = f"~({old})"
                yield f.replace_span(right, new), "bitwise", f"& {old} → & {new}"

    def _conjunct(self, f: _File, stmt: ast.stmt | None) -> Iterator[tuple[str, str, str]]:
        """An `if`/`elif`/`while` condition with one more condition: `and name` / `and not name`
        for a boolean the function keeps (assigned True/False, `not x`, a comparison)."""
        if not isinstance(stmt, (ast.If, ast.While)) or stmt.test.lineno != stmt.test.end_lineno \
                or stmt.test.lineno != stmt.lineno:
            return
        fn = _enclosing(f.functions, stmt.lineno)
        if fn is None:
            return
        used = {n.id for n in ast.walk(stmt.test) if isinstance(n, ast.Name)}
        flags = []
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                pairs = []
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        pairs.append((target, node.value))
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) \
                            and len(target.elts) == len(node.value.elts):
                        pairs += list(zip(target.elts, node.value.elts))
                flags += [t.id for t, v in pairs if isinstance(t, ast.Name) and _boolean(v)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and _boolean(node.value):
                flags.append(node.target.id)
        defaults = fn.args.defaults
        flags += [a.arg for a, d in zip(fn.args.args[len(fn.args.args) - len(defaults):], defaults) if _boolean(d)]
        test = stmt.test
        old = f.segment(test)
        wrapped = old if not isinstance(test, (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda)) \
            or (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And)) else f"({old})"
        for name in [n for n in dict.fromkeys(flags) if n not in used][:BOOL_NAMES_MAX]:
            for cond in (f"not {name}", name):
                new = f"{wrapped} and {cond}"
                yield f.replace_span(test, new), "conjunct", f"{old} → {new}"

    def _tracker(self, f: _File, stmt: ast.stmt | None) -> Iterator[tuple[str, str, str]]:
        """In a `for` loop: a name set before the loop and read in it, but never set in it (the
        `previous` of a loop comparing each item with the one before), set to the loop's item at
        the end of the body."""
        if stmt is None:
            return
        loop = stmt if isinstance(stmt, ast.For) else next(
            (a for a in f.ancestors(stmt) if isinstance(a, (ast.For, ast.FunctionDef, ast.AsyncFunctionDef))), None)
        fn = _enclosing(f.functions, stmt.lineno)
        if not isinstance(loop, ast.For) or fn is None or loop.body[0].lineno == loop.lineno:
            return
        items = [n for n in ast.walk(loop.target) if isinstance(n, ast.Name)]
        if not items:
            return
        inside = [n for s in loop.body for n in ast.walk(s)]
        stored = {n.id for n in inside if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        stored |= {i.id for i in items}
        before = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                  and n.lineno < loop.lineno}
        read = [n.id for n in sorted((n for n in inside if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)),
                                     key=lambda n: (n.lineno, n.col_offset))]
        stale = [n for n in dict.fromkeys(read) if n in before and n not in stored]
        last = loop.body[-1]
        at = last.lineno if isinstance(last, EXIT_STMTS) else last.end_lineno + 1
        indent = _indent(f.lines[loop.body[0].lineno - 1])
        ending = _ending(f.lines[last.end_lineno - 1])
        values = [i.id for i in items] + ([f.segment(loop.target)] if len(items) > 1
                                          and loop.target.lineno == loop.target.end_lineno else [])
        for name in stale[:3]:
            for value in values[:3]:
                yield f.splice(at, at - 1, [indent + f"{name} = {value}" + ending]), "track", \
                    f"add `{name} = {value}` at the end of the loop at line {loop.lineno}"

    def _mutable_default(self, f: _File, path: str, stmt: ast.stmt | None) -> Iterator[tuple[str, str, str]]:
        """A parameter of the suspect's function defaulting to a list, dict or set (one object
        shared by every call): default None, and a new one (or a copy of the argument) made in
        the body."""
        fn = _enclosing(f.functions, stmt.lineno) if stmt is not None else None
        if fn is None or (path, fn.lineno) in self._defaults_done:
            return
        self._defaults_done.add((path, fn.lineno))
        args = fn.args
        pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        body = [s for s in fn.body if s.lineno not in f.protected]
        if not body or body[0].lineno == fn.lineno:
            return
        first = f.lines[body[0].lineno - 1]
        indent, ending = _indent(first), _ending(first)
        for arg, default in pairs:
            kind = type(default).__name__
            if isinstance(default, ast.Call) and isinstance(default.func, ast.Name) and not default.args \
                    and not default.keywords and default.func.id in ("list", "dict", "set"):
                kind = {"list": "List", "dict": "Dict", "set": "Set"}[default.func.id]
            if kind not in COPIES or default.lineno != default.end_lineno:
                continue
            fresh = {"List": "[]", "Dict": "{}", "Set": "set()"}[kind]
            p = arg.arg
            variants = [([f"if {p} is None:", f"{f.step}{p} = {fresh}"], f"new {fresh} when {p} is None"),
                        ([f"{p} = {COPIES[kind]}({p}) if {p} is not None else {fresh}"], f"a copy of {p}")]
            line = f.lines[default.lineno - 1]
            s_, e_ = _col(line, default.col_offset), _col(line, default.end_col_offset)
            for inserted, why in variants:
                lines = list(f.lines)
                lines[default.lineno - 1] = line[:s_] + "None" + line[e_:]
                lines[body[0].lineno - 1: body[0].lineno - 1] = [indent + text + ending for text in inserted]
                yield "".join(lines), "default", f"{p}={f.segment(default)} → {p}=None, {why}"


def _col(line: str, col: int) -> int:
    return len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))
