"""Python slips the operator, literal and statement rules cannot make, from mutation testing's and
template repair's families: identity for equality (`unit is "C"` → `unit == "C"`), a split without
its limit (`line.split("=")` → `line.split("=", 1)`), a regular expression's missing quantifier
(`\\d` → `\\d+`), operator precedence (`x * 1 - d` → `x * (1 - d)`), a list changed while a loop
walks it (`for i in items:` → `for i in list(items):`), an iterator read twice (`rows = list(rows)`
first), two neighbouring statements in the wrong order, and one bound written the same wrong way
in every comparison of a condition. Each function yields (new file text,
rule, description) for one suspect line of shapes.py's `_File`, under shapes.py's contract: `ast`
positions, the rest of the file byte-identical, docstrings and comments never changed."""

from __future__ import annotations

import ast
import re
from typing import Iterator

from .shapes import SIMPLE_STMTS, _cols, _ending, _File, _indent
from .sources import _body_lines, _enclosing

Shapes = Iterator[tuple[str, str, str]]

_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.FloorDiv: 2, ast.Mod: 2, ast.MatMult: 2,
               ast.LShift: 0, ast.RShift: 0, ast.BitAnd: -1, ast.BitXor: -2, ast.BitOr: -3}
_REGEX_CALLS = {"match", "search", "fullmatch", "findall", "finditer", "compile", "sub", "subn", "split"}
_UNQUANTIFIED = re.compile(r"(\\[dwsDWS]|\])(?![+*?{])")  # a class, or a bracket class's end
QUANTIFIERS_MAX = 6  # per literal
_MUTATORS = {"remove", "pop", "discard", "clear", "append", "insert", "extend", "popitem", "update"}
_CONSUMERS = {"sum", "len", "sorted", "list", "tuple", "set", "max", "min", "any", "all", "enumerate", "zip",
              "dict", "map", "filter"}


def identity(f: _File, line_no: int) -> Shapes:
    """`a is b` / `a is not b` where neither is None, True or False: `==` / `!=` (identity of equal
    strings or numbers is an accident of the interpreter; a sentinel's identity is meant, and the
    tests tell the two apart)."""
    for node in f.on_line.get(line_no, ()):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Is, ast.IsNot)):
            continue
        other = node.comparators[0]
        if any(isinstance(v, ast.Constant) and (v.value is None or isinstance(v.value, bool)) or
               (isinstance(v, ast.Name) and v.id in ("None", "True", "False", "NotImplemented", "Ellipsis"))
               for v in (node.left, other)):
            continue
        op = "==" if isinstance(node.ops[0], ast.Is) else "!="
        new = f"{f.segment(node.left)} {op} {f.segment(other)}"
        yield f.replace_span(node, new), "identity", f"{f.segment(node)} → {new}"


def split_limit(f: _File, line_no: int) -> Shapes:
    """`s.split(sep)` / `s.rsplit(sep)` with its limit of one split: a value holding the separator
    stays whole (`"k=a=b".split("=", 1)`)."""
    for node in f.on_line.get(line_no, ()):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("split", "rsplit") \
                and len(node.args) == 1 and not node.keywords:
            old = f.segment(node)
            if old.endswith(")"):
                new = old[:-1].rstrip() + ", 1)"
                yield f.replace_span(node, new), "maxsplit", f"{old} → {new}"


def quantifiers(f: _File, line_no: int) -> Shapes:
    """In a pattern passed to `re.<call>`: `+` after a class that has no quantifier (`\\d` →
    `\\d+`, `[a-z]` → `[a-z]+`), and `*` and `+` for each other."""
    for node in f.on_line.get(line_no, ()):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _REGEX_CALLS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args):
            continue
        pattern = node.args[0]
        if not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)) or pattern.lineno != pattern.end_lineno:
            continue
        literal = f.segment(pattern)
        made = 0
        spans = [(m.end(), "+") for m in _UNQUANTIFIED.finditer(literal)]
        spans += [(m.start(), "*" if m.group() == "+" else "+") for m in re.finditer(r"(?<!\\)[+*]", literal)]
        for at, mark in spans:
            if mark in "+*" and literal[at:at + 1] in "+*":  # swap an existing quantifier
                new = literal[:at] + mark + literal[at + 1:]
            else:
                new = literal[:at] + mark + literal[at:]
            if new == literal:
                continue
            yield f.replace_span(pattern, new), "quantifier", f"{literal} → {new}"
            made += 1
            if made >= QUANTIFIERS_MAX:
                break


def regroup(f: _File, line_no: int) -> Shapes:
    """Brackets where precedence bound otherwise: `a * b - c` → `a * (b - c)`, `a - b * c` →
    `(a - b) * c` (the tighter operation's inner operand joins the looser one)."""
    for node in f.on_line.get(line_no, ()):
        if not isinstance(node, ast.BinOp) or type(node.op) not in _PRECEDENCE:
            continue
        line = f.lines[node.lineno - 1]
        outer = _PRECEDENCE[type(node.op)]
        left, right = node.left, node.right
        if isinstance(left, ast.BinOp) and type(left.op) in _PRECEDENCE and _PRECEDENCE[type(left.op)] > outer:
            s, _ = _cols(line, left.right)
            _, e = _cols(line, node)
            new = line[:s] + "(" + line[s:e] + ")" + line[e:]
            yield f.splice(node.lineno, node.lineno, [new]), "regroup", f"{line[_cols(line, node)[0]:e]} → " \
                f"{new[_cols(line, node)[0]:e + 2]}"
        if isinstance(right, ast.BinOp) and type(right.op) in _PRECEDENCE and _PRECEDENCE[type(right.op)] > outer:
            s, _ = _cols(line, node)
            _, e = _cols(line, right.left)
            new = line[:s] + "(" + line[s:e] + ")" + line[e:]
            end = _cols(line, node)[1]
            yield f.splice(node.lineno, node.lineno, [new]), "regroup", f"{line[s:end]} → {new[s:end + 2]}"


def iterate_copy(f: _File, stmt: ast.stmt | None) -> Shapes:
    """`for x in items:` whose body changes `items` (remove, pop, del, ...): the loop walks a copy."""
    if not isinstance(stmt, (ast.For, ast.AsyncFor)) or stmt.iter.lineno != stmt.iter.end_lineno:
        return
    target = f.segment(stmt.iter)
    if not isinstance(stmt.iter, (ast.Name, ast.Attribute)):
        return
    changed = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _MUTATORS
                  and ast.dump(n.func.value) == ast.dump(stmt.iter) for n in ast.walk(stmt))
    changed = changed or any(isinstance(n, ast.Delete) and any(isinstance(t, ast.Subscript)
                                                               and ast.dump(t.value) == ast.dump(stmt.iter)
                                                               for t in n.targets) for n in ast.walk(stmt))
    if changed:
        new = f"list({target})"
        yield f.replace_span(stmt.iter, new), "copy_iter", f"for … in {target} → for … in {new}"


def materialize(f: _File, stmt: ast.stmt | None, done: set[int]) -> Shapes:
    """A parameter the function reads through twice (two loops or consuming calls) and never
    rebinds: an iterator passed in is empty the second time, so it is made a list first."""
    fn = _enclosing(f.functions, stmt.lineno) if stmt is not None else None
    if fn is None or fn.lineno in done:
        return
    done.add(fn.lineno)
    params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
    start = _body_lines(fn).start
    first = f.starts.get(start)
    if first is None or start > len(f.lines):
        return
    for p in params:
        if any(isinstance(n, ast.Name) and n.id == p and isinstance(n.ctx, ast.Store) for n in ast.walk(fn)):
            continue
        reads = 0
        for n in ast.walk(fn):
            if isinstance(n, (ast.For, ast.comprehension)) and isinstance(n.iter, ast.Name) and n.iter.id == p:
                reads += 1
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _CONSUMERS \
                    and any(isinstance(a, ast.Name) and a.id == p for a in n.args):
                reads += 1
        if reads >= 2:
            line = f.lines[start - 1]
            yield f.splice(start, start - 1, [_indent(line) + f"{p} = list({p})" + _ending(line)]), "materialize", \
                f"{p} = list({p}) first ({p} is read through {reads} times)"


def reorder(f: _File, stmt: ast.stmt | None) -> Shapes:
    """The suspect statement and the next one in its block swapped (both simple, one line each):
    a side effect done before the check that should come first."""
    if not isinstance(stmt, SIMPLE_STMTS) or isinstance(stmt, (ast.Return, ast.Raise)):
        return
    block = f.block(stmt)
    if block is None:
        return
    index = next((i for i, s in enumerate(block) if s is stmt), None)
    if index is None or index + 1 >= len(block):
        return
    after = block[index + 1]
    if not isinstance(after, SIMPLE_STMTS) or isinstance(after, (ast.Return, ast.Raise)) \
            or after.lineno != after.end_lineno or stmt.lineno != stmt.end_lineno \
            or after.lineno != stmt.lineno + 1 or not (f.owns(stmt) and f.owns(after)):
        return
    a, b = f.lines[stmt.lineno - 1], f.lines[after.lineno - 1]
    yield f.splice(stmt.lineno, after.lineno, [b, a]), "reorder", f"`{b.strip()}` before `{a.strip()}`"


_BOUNDS = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">")}


def compare_all(f: _File, line_no: int) -> Shapes:
    """A bound written the same wrong way in every comparison of one condition (`a <= x and y <= b`
    for two intervals that touch): each comparison of that operator in the statement's condition
    made strict (or not) together, where a one-token swap changes only one of them."""
    for node in f.on_line.get(line_no, ()):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1 or type(node.ops[0]) not in _BOUNDS:
            continue
        region = next((a for a in f.ancestors(node) if isinstance(a, ast.stmt)), None)
        if isinstance(region, (ast.If, ast.While)):
            region = region.test
        if region is None:
            continue
        op = type(node.ops[0])
        same = [c for c in ast.walk(region) if isinstance(c, ast.Compare) and len(c.ops) == 1
                and type(c.ops[0]) is op and c.lineno == c.end_lineno]
        if len(same) < 2 or node not in same:
            continue
        old, new = _BOUNDS[op]
        lines = list(f.lines)
        for c in sorted(same, key=lambda c: (c.lineno, c.col_offset), reverse=True):
            line = lines[c.lineno - 1]
            _, left_end = _cols(line, c.left)
            right_start, _ = _cols(line, c.comparators[0])
            between = line[left_end:right_start]
            at = between.find(old)
            if at < 0 or between.strip() != old:
                break
            lines[c.lineno - 1] = line[:left_end + at] + new + line[left_end + at + len(old):]
        else:
            yield "".join(lines), "compare_all", f"every `{old}` of the condition → `{new}` ({len(same)})"
        return
