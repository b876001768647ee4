"""Expression shapes the operator and literal rules cannot make, from the template-repair families
(TBar's "mutate expression", "mutate return", "mutate data structure"): an operand too many in
arithmetic (`a * h / 0.5 + 1` → `a * h / 0.5`), every boolean a function returns the wrong way round,
an element too many in a literal (`(1, 2, 3)` → `(1, 3)`), a sort in the wrong order
(`sorted(xs)` → `sorted(xs, reverse=True)`), a separator string that is another (`' '.join` for
`''.join`: `separators()`, for tree-sitter languages too). Each function yields (new file text, rule,
description) for one suspect line of shapes.py's `_File`, under shapes.py's contract: `ast`
positions, the rest of the file byte-identical, docstrings and comments never changed."""

from __future__ import annotations

import ast
from typing import Iterator

from .shapes import _cols, _File
from .sources import _enclosing

ARITH_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
# an operand that can stand where the whole operation stood without brackets
ATOMS = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.List, ast.Tuple, ast.Dict,
         ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.JoinedStr)
ELEMENTS_MAX = 12  # literals longer than this are data, not a slip
SEPARATORS = ("", " ", ",", ", ", "_", "-", ".", ":", ";", "\\n")

Shapes = Iterator[tuple[str, str, str]]


def operands(f: _File, line_no: int) -> Shapes:
    """An arithmetic operation replaced by one of its operands (the other dropped)."""
    for node in f.on_line.get(line_no, ()):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ARITH_OPS)):
            continue
        parent = f.parents.get(node)
        bracket = isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Attribute)) \
            or (isinstance(parent, ast.Subscript) and parent.value is node)
        old = f.segment(node)
        line = f.lines[node.lineno - 1]
        s, e = _cols(line, node)
        if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Compare)) and line[s - 1:s] == "(" and line[e:e + 1] == ")":
            s, e = s - 1, e + 1  # `(b + c) * 2`: the sum's own brackets go with it
        for kept in (node.left, node.right):
            text = f.segment(kept)
            if bracket and not isinstance(kept, ATOMS):
                text = f"({text})"
            yield f.splice(node.lineno, node.lineno, [line[:s] + text + line[e:]]), "operand", f"{old} → {text}"


def boolean_returns(f: _File, stmt: ast.stmt | None, done: set[int]) -> Shapes:
    """Every `return True` of the suspect's function made `return False` and the other way round
    (one candidate a function: a predicate whose answers are all inverted)."""
    fn = _enclosing(f.functions, stmt.lineno) if stmt is not None else None
    if fn is None or fn.lineno in done:
        return
    done.add(fn.lineno)
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return) and isinstance(n.value, ast.Constant)
               and isinstance(n.value.value, bool) and _enclosing(f.functions, n.lineno) is fn
               and n.value.lineno == n.value.end_lineno]
    if len({r.value.value for r in returns}) < 2:
        return
    lines = list(f.lines)
    for ret in sorted(returns, key=lambda r: (r.value.lineno, -r.value.col_offset)):
        line = lines[ret.value.lineno - 1]
        s, e = _cols(line, ret.value)
        lines[ret.value.lineno - 1] = line[:s] + str(not ret.value.value) + line[e:]
    yield "".join(lines), "returns", f"True ↔ False in the {len(returns)} returns of {fn.name}"


def elements(f: _File, line_no: int) -> Shapes:
    """One element of a list, tuple or set of constants left out."""
    for node in f.on_line.get(line_no, ()):
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)) or not 2 <= len(node.elts) <= ELEMENTS_MAX \
                or not all(isinstance(e, ast.Constant) for e in node.elts):
            continue
        old = f.segment(node)
        opening, closing = (old[0], old[-1]) if old[:1] in "([{" else ("", "")
        for i, gone in enumerate(node.elts):
            kept = [f.segment(e) for j, e in enumerate(node.elts) if j != i]
            inner = ", ".join(kept) + ("," if isinstance(node, ast.Tuple) and len(kept) == 1 else "")
            if isinstance(node, ast.Set) and not kept:
                continue
            new = opening + inner + closing
            yield f.replace_span(node, new), "element", f"{old} → {new} (without {f.segment(gone)})"


def reverse(f: _File, line_no: int) -> Shapes:
    """`sorted(xs)` / `xs.sort()` in the other order: `reverse=True` added, or its value flipped."""
    for node in f.on_line.get(line_no, ()):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else None
        if name not in ("sorted", "sort"):
            continue
        old = f.segment(node)
        flag = next((k for k in node.keywords if k.arg == "reverse"), None)
        if flag is None and old.endswith(")"):
            new = old[:-1].rstrip() + (", " if node.args or node.keywords else "") + "reverse=True)"
            yield f.replace_span(node, new), "reverse", f"{old} → {new}"
        elif flag is not None and isinstance(flag.value, ast.Constant) and isinstance(flag.value.value, bool):
            yield f.replace_span(flag.value, str(not flag.value.value)), "reverse", \
                f"reverse={flag.value.value} → reverse={not flag.value.value}"


def separators(literal: str) -> list[str]:
    """A string literal of at most two characters, none a letter or digit (`' '`, `''`, `'__'`),
    as each other such separator: `' '.join` where `''.join` was meant."""
    quote_end = len(literal) - len(literal.lstrip("rbuRBU"))
    prefix, rest = literal[:quote_end], literal[quote_end:]
    q = rest[:1]
    if len(rest) < 2 or q not in "'\"" or rest[-1] != q or rest[:3] == q * 3:
        return []
    inner = rest[1:-1]
    if len(inner) > 2 or any(ch.isalnum() or ch in "\\{}" for ch in inner):
        return []
    return [prefix + q + sep + q for sep in SEPARATORS if sep != inner and q not in sep]
