"""Python's well-known gotchas, each as the edit that fixes it, for one suspect line of shapes.py's
`_File` (the same contract as shapes_slips.py: `ast` positions, the rest of the file byte-identical):

- `delta.seconds` is the seconds part of a timedelta, not its length: `delta.total_seconds()`;
- `s.lstrip("www.")` strips characters, not a prefix: `s.removeprefix("www.")` (and rstrip);
- `Decimal.quantize(q)` rounds half to even: `rounding=ROUND_HALF_UP`, imported as the module
  imports decimal;
- a generator expression (or map, filter, zip) kept in a name and read twice is empty the second
  time: `list(...)` around it;
- a `return` at the end of a loop's body returns after the first item: the `return` after the loop;
- `a // b` rounds down where a count of pages or batches rounds up: `-(-a // b)`;
- `[[0] * n] * m` repeats one row m times: a comprehension makes m rows;
- a sort key that reads a number kept as text sorts "9" after "10": `float(...)` around it;
- `bool` (or `int`, `float`) used as a converter where the module has its own for that type
  (`parse_bool`): `bool("false")` is True.
"""

from __future__ import annotations

import ast
from typing import Iterator

from .shapes import _ending, _File, _indent

__all__ = ["GOTCHA_WEIGHT", "gotchas"]

Shapes = Iterator[tuple[str, str, str]]

GOTCHA_WEIGHT = {"total_seconds": 0.9, "removeprefix": 0.9, "half_up": 0.7, "generator_list": 0.7,
                 "return_after_loop": 0.6, "ceil_div": 0.5, "rows": 0.8, "numeric_key": 0.6, "converter": 0.6}
_CONVERTERS = ("bool", "int", "float")
_KEYED = {"sorted", "sort", "max", "min"}
_ITERATORS = {"map", "filter", "zip", "reversed", "enumerate", "iter"}
_STRIPS = {"lstrip": "removeprefix", "rstrip": "removesuffix"}


def gotchas(f: _File, line_no: int, stmt: ast.stmt | None) -> Shapes:
    """(new file text, rule, description) for each gotcha on the line (rules: GOTCHA_WEIGHT's)."""
    for node in f.on_line.get(line_no, ()):
        if isinstance(node, ast.Attribute) and node.attr == "seconds" and isinstance(node.ctx, ast.Load) \
                and not isinstance(f.parents.get(node), ast.Call):
            new = f"{f.segment(node.value)}.total_seconds()"
            yield f.replace_span(node, new), "total_seconds", f"{f.segment(node)} → {new}"
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                yield from _strip_prefix(f, node)
                yield from _half_up(f, node)
            yield from _numeric_key(f, node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
            a, b = f.segment(node.left), f.segment(node.right)
            new = f"-(-{_atom(node.left, a)} // {_atom(node.right, b)})"
            yield f.replace_span(node, new), "ceil_div", f"{f.segment(node)} → {new}"
        elif isinstance(node, ast.Name) and node.id in _CONVERTERS and isinstance(node.ctx, ast.Load):
            for other in _converters(f, node.id):
                yield f.replace_span(node, other), "converter", f"{node.id} → {other}"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and isinstance(node.left, ast.List) \
                and len(node.left.elts) == 1 and isinstance(node.left.elts[0], (ast.List, ast.BinOp, ast.Dict)):
            new = f"[{f.segment(node.left.elts[0])} for _ in range({f.segment(node.right)})]"
            yield f.replace_span(node, new), "rows", f"{f.segment(node)} → {new}"
    if stmt is not None:
        yield from _generator_kept(f, stmt)
        yield from _return_in_loop(f, stmt)


def _atom(node: ast.expr, text: str) -> str:
    return text if isinstance(node, (ast.Name, ast.Attribute, ast.Constant, ast.Call, ast.Subscript)) else f"({text})"


def _strip_prefix(f: _File, call: ast.Call) -> Shapes:
    """`s.lstrip("abc.")`: a string of several characters meant as a prefix."""
    method = call.func.attr  # type: ignore[union-attr]
    if method in _STRIPS and len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Constant) \
            and isinstance(call.args[0].value, str) and len(call.args[0].value) > 1:
        new = f"{f.segment(call.func.value)}.{_STRIPS[method]}({f.segment(call.args[0])})"  # type: ignore[union-attr]
        yield f.replace_span(call, new), "removeprefix", f"{f.segment(call)} → {new}"


def _half_up(f: _File, call: ast.Call) -> Shapes:
    """`x.quantize(q)` with no rounding: half up, as money is rounded, imported the module's way."""
    if call.func.attr != "quantize" or len(call.args) != 1 or call.keywords:  # type: ignore[union-attr]
        return
    name, import_line = _decimal_name(f)
    if name is None:
        return
    new = f"{f.segment(call)[:-1].rstrip()}, rounding={name})"
    text = f.replace_span(call, new)
    if import_line is not None:  # `from decimal import A, B`: ROUND_HALF_UP joins them
        lines = text.splitlines(keepends=True)
        old = lines[import_line - 1]
        body = old.rstrip("\r\n")
        if body.rstrip().endswith(")") or "\\" in body:
            return  # a bracketed or continued import: left alone
        lines[import_line - 1] = body.rstrip() + ", ROUND_HALF_UP" + _ending(old)
        text = "".join(lines)
    yield text, "half_up", f"{f.segment(call)} → {new}"


def _decimal_name(f: _File) -> tuple[str | None, int | None]:
    """How the module reaches ROUND_HALF_UP: (`decimal.ROUND_HALF_UP`, None), (`ROUND_HALF_UP`, the
    `from decimal import` line to extend, or None when it imports it already), or (None, None)."""
    for node in f.tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "decimal" and node.lineno == node.end_lineno:
            names = {a.asname or a.name for a in node.names}
            return "ROUND_HALF_UP", None if "ROUND_HALF_UP" in names else node.lineno
        if isinstance(node, ast.Import) and any(a.name == "decimal" and a.asname is None for a in node.names):
            return "decimal.ROUND_HALF_UP", None
    return None, None


def _generator_kept(f: _File, stmt: ast.stmt) -> Shapes:
    """`xs = (… for …)` (or map/filter/zip) read at least twice below in the same function."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.lineno == stmt.end_lineno):
        return
    value = stmt.value
    lazy = isinstance(value, ast.GeneratorExp) or (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                                                   and (value.func.id in _ITERATORS
                                                        or value.func.id in _generator_functions(f)))
    if not lazy:
        return
    name = stmt.targets[0].id
    scope = next((fn for fn in f.functions if fn.lineno <= stmt.lineno <= (fn.end_lineno or fn.lineno)), f.tree)
    reads = sum(1 for n in ast.walk(scope) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                and n.lineno > stmt.lineno)
    if reads >= 2:
        text = f.segment(value)
        inner = text[1:-1] if isinstance(value, ast.GeneratorExp) and text.startswith("(") else text
        new = f"[{inner}]" if isinstance(value, ast.GeneratorExp) else f"list({text})"
        yield f.replace_span(value, new), "generator_list", f"{name} = {text} → {name} = {new}"


def _return_in_loop(f: _File, stmt: ast.stmt) -> Shapes:
    """The last statement of a loop's body (of two or more) is a one-line `return`: dedented to run
    after the loop."""
    if not isinstance(stmt, ast.Return) or stmt.lineno != stmt.end_lineno or not f.owns(stmt):
        return
    loop = f.parents.get(stmt)
    if not isinstance(loop, (ast.For, ast.AsyncFor, ast.While)) or loop.body[-1] is not stmt or loop.orelse \
            or len(loop.body) < 2:
        return
    line = f.lines[stmt.lineno - 1]
    moved = _indent(f.lines[loop.lineno - 1]) + line.lstrip(" \t")
    yield f.splice(stmt.lineno, stmt.lineno, [moved]), "return_after_loop", \
        f"`{line.strip()}` moved after the loop"


def _generator_functions(f: _File) -> set[str]:
    """The module's functions that `yield` (their calls are iterators, read once)."""
    return {fn.name for fn in f.functions if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn)
                                                 if _enclosing_function(f, n) is fn)}


def _enclosing_function(f: _File, node: ast.AST):
    return next((a for a in f.ancestors(node) if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))),
                None)


def _numeric_key(f: _File, call: ast.Call) -> Shapes:
    """`sorted(rows, key=lambda r: r["amount"])`: the key's value made a number."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name not in _KEYED:
        return
    for kw in call.keywords:
        if kw.arg == "key" and isinstance(kw.value, ast.Lambda) and isinstance(kw.value.body, (ast.Subscript,
                                                                                               ast.Attribute)):
            body = kw.value.body
            new = f"float({f.segment(body)})"
            yield f.replace_span(body, new), "numeric_key", f"key {f.segment(body)} → {new}"


def _converters(f: _File, builtin: str) -> list[str]:
    """The module's own functions for a built-in conversion's type: `parse_bool`, `to_int`."""
    return [fn.name for fn in f.functions if builtin in fn.name.lower().split("_") and fn.name != builtin
            and len(fn.args.args) == 1 and _enclosing_function(f, fn) is None][:2]
