"""JavaScript's well-known slips, as candidate edits of one suspect line (treesit_rules.py's
TreeMaker runs them first for JavaScript and TypeScript files; each yields only where its pattern
is, so a line without one costs nothing).

The language's documented gotchas, each with its usual fix:
- `xs.sort()` on numbers sorts them as strings: a numeric comparator;
- `typeof v === "object"` is true for null: `v !== null && ...`;
- `xs.forEach(async (x) => {...})` neither waits nor keeps order: a `for...of` loop (and
  `await Promise.all(xs.map(...))`);
- `{ ...defaults }` copies one level, so nested objects stay shared: `structuredClone(defaults)`;
- `xs.map(this.format)` calls the method without its `this`: `this.format.bind(this)`;
- `getMonth()` counts from 0: `getMonth() + 1`;
- `for (k in xs)` gives an array's indexes as strings: `for...of`, and the converse on an object;
- an async function's result used without `await`;
- `new Array(n).fill([])` shares one row: `Array.from({ length: n }, () => [])`;
- `Math.max(xs)` of an array: `Math.max(...xs)`;
- `for (var i ...)` captured by callbacks: `let`;
- `delete xs[i]` leaves a hole: `xs.splice(i, 1)`;
- `xs.map(parseInt)` passes the index as the radix: `xs.map(Number)`;
- `new RegExp('^' + source)` matches any longer text too: the end anchored.

Edits are byte spans of the tree (`TreeFile.edit`), so the rest of the file stays byte-identical.
"""

from __future__ import annotations

from typing import Iterator

from .treesit import FUNCTION_TYPES, TreeFile

__all__ = ["js_slips", "SLIP_WEIGHT"]

SLIP_WEIGHT = 1.0  # treesit_rules.TS_WEIGHT's "slip": as likely as its most likely kinds, being so specific

_MONTHS = ("getMonth", "getUTCMonth")
_OBJECT_WORDS = ("'object'", '"object"')
_PRIMITIVES = frozenset(("number", "string", "template_string", "true", "false", "null", "undefined",
                         "unary_expression"))
# calls that are never promises: the language's and node's synchronous helpers
_SYNC_OWNERS = frozenset(("console", "Math", "JSON", "Object", "Array", "Number", "String", "Date", "assert",
                          "require", "Symbol", "Reflect", "path", "util"))
_SYNC_METHODS = frozenset(("push", "pop", "shift", "unshift", "splice", "slice", "map", "filter", "forEach",
                           "reduce", "join", "split", "set", "get", "has", "delete", "add", "clear", "sort",
                           "concat", "includes", "indexOf", "keys", "values", "entries", "toString", "trim",
                           "replace", "now", "log", "emit", "resolve", "reject", "setTimeout", "setImmediate"))
# where an expression stands whole, needing no brackets around a sum
_WHOLE = frozenset(("arguments", "parenthesized_expression", "variable_declarator", "template_substitution",
                    "return_statement", "expression_statement", "pair"))

Spans = list[tuple[int, int, str]]


def js_slips(f: TreeFile, nodes) -> Iterator[tuple[Spans, str]]:
    """(spans, "slip") for each of the module doc's slips among `nodes` (those starting on the line)."""
    for node in nodes:
        kind = node.type
        if kind == "call_expression":
            yield from _calls(f, node)
        elif kind == "binary_expression":
            yield from _typeof_object(f, node)
        elif kind == "object":
            yield from _spread_copy(f, node)
        elif kind == "for_in_statement":
            yield from _for_in(f, node)
        elif kind == "for_statement":
            yield from _for_var(f, node)
        elif kind == "unary_expression" and f.node_text(node).startswith("delete "):
            yield from _delete(f, node)
        elif kind == "new_expression":
            yield from _new(f, node)


def _member(f: TreeFile, call) -> tuple[object, object, str] | None:
    """(object, property node, property name) of `obj.prop(...)`."""
    target = call.child_by_field_name("function")
    if target is None or target.type != "member_expression":
        return None
    obj, prop = target.child_by_field_name("object"), target.child_by_field_name("property")
    if obj is None or prop is None:
        return None
    return obj, prop, f.node_text(prop)


def _args(call) -> list:
    args = call.child_by_field_name("arguments")
    return list(args.named_children) if args is not None else []


def _calls(f: TreeFile, call) -> Iterator[tuple[Spans, str]]:
    member = _member(f, call)
    args = _args(call)
    if member is not None:
        obj, prop, name = member
        if name in ("sort", "toSorted") and not args:
            for comparator in ("(a, b) => a - b", "(a, b) => a.localeCompare(b)"):
                yield [(call.end_byte - 1, call.end_byte - 1, comparator)], "slip"
        elif name in _MONTHS and not args and not _plus_one_after(f, call):
            bare = call.parent is not None and call.parent.type in _WHOLE
            text = f"{f.node_text(call)} + 1"
            yield [(call.start_byte, call.end_byte, text if bare else f"({text})")], "slip"
        elif name == "forEach" and len(args) == 1:
            yield from _foreach_async(f, call, obj, args[0])
        elif name == "fill" and len(args) == 1 and args[0].type not in _PRIMITIVES:
            yield from _shared_fill(f, call, obj, args[0])
        elif name == "map" and len(args) == 1 and f.node_text(args[0]) == "parseInt":
            yield [(args[0].start_byte, args[0].end_byte, "Number")], "slip"
        elif name in ("max", "min") and f.node_text(obj) == "Math" and len(args) == 1 \
                and args[0].type in ("identifier", "member_expression"):
            arg = args[0]
            yield [(arg.start_byte, arg.start_byte, "...")], "slip"
    for arg in args:  # a method passed on without its object
        if arg.type == "member_expression" and _is_method(f, arg):
            owner = arg.child_by_field_name("object")
            yield [(arg.end_byte, arg.end_byte, f".bind({f.node_text(owner)})")], "slip"
    if call.parent is not None and call.parent.type != "await_expression" and _is_async_call(f, call):
        yield [(call.start_byte, call.start_byte, "await ")], "slip"


def _new(f: TreeFile, node) -> Iterator[tuple[Spans, str]]:
    """`new RegExp('^' + x)`: anchored at the start only, so it also matches longer text."""
    made = node.child_by_field_name("constructor")
    args = _args(node)
    if made is None or f.node_text(made) != "RegExp" or not args:
        return
    pattern = f.node_text(args[0])
    if pattern.startswith(("'^'", '"^"', "`^")) and "$" not in pattern:
        end = args[0].end_byte
        for anchor in ("'$'", "'/?$'"):
            yield [(end, end, f" + {anchor}")], "slip"


def _plus_one_after(f: TreeFile, call) -> bool:
    parent = call.parent
    if parent is None or parent.type != "binary_expression":
        return False
    right = parent.child_by_field_name("right")
    return right is not None and f.node_text(right) == "1" and parent.child_by_field_name("left") == call


def _foreach_async(f: TreeFile, call, obj, callback) -> Iterator[tuple[Spans, str]]:
    """`xs.forEach(async (x[, i]) => { body })` as a statement: a `for...of` loop over the same
    body (with `.entries()` for an index), and the same callback mapped under Promise.all."""
    if callback.type not in ("arrow_function", "function_expression", "function") \
            or not f.node_text(callback).startswith("async"):
        return
    statement = call.parent
    if statement is None or statement.type != "expression_statement":
        return
    body = callback.child_by_field_name("body")
    params = callback.child_by_field_name("parameters") or callback.child_by_field_name("parameter")
    if body is None or body.type != "statement_block" or params is None or _returns_inside(body):
        return
    names = [f.node_text(p) for p in params.named_children] if params.type == "formal_parameters" \
        else [f.node_text(params)]
    xs = f.node_text(obj)
    if len(names) == 1:
        head = f"for (const {names[0]} of {xs}) "
    elif len(names) == 2:
        head = f"for (const [{names[1]}, {names[0]}] of {xs}.entries()) "
    else:
        return
    yield [(statement.start_byte, statement.end_byte, head + f.node_text(body))], "slip"
    mapped = f"await Promise.all({xs}.map({f.node_text(callback)}));"
    yield [(statement.start_byte, statement.end_byte, mapped)], "slip"


def _returns_inside(body) -> bool:
    """A `return` of the callback itself (a loop's body cannot return from it the same way)."""
    stack = list(body.children)
    while stack:
        node = stack.pop()
        if node.type == "return_statement":
            return True
        if node.type not in FUNCTION_TYPES:
            stack.extend(node.children)
    return False


def _shared_fill(f: TreeFile, call, obj, value) -> Iterator[tuple[Spans, str]]:
    """`new Array(n).fill([])`: every element the same array; `Array.from` makes one each."""
    if obj.type != "new_expression" or f.node_text(obj.child_by_field_name("constructor") or obj) != "Array":
        return
    size = _args(obj)
    if len(size) != 1:
        return
    made = f"Array.from({{ length: {f.node_text(size[0])} }}, () => {f.node_text(value)})"
    yield [(call.start_byte, call.end_byte, made)], "slip"


def _typeof_object(f: TreeFile, node) -> Iterator[tuple[Spans, str]]:
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    op = node.child_by_field_name("operator")
    if left is None or right is None or op is None or left.type != "unary_expression" \
            or not f.node_text(left).startswith("typeof ") or f.node_text(right) not in _OBJECT_WORDS:
        return
    value = left.child_by_field_name("argument")
    if value is None:
        return
    name, text, sign = f.node_text(value), f.node_text(node), f.node_text(op)
    if sign in ("===", "=="):
        made, joiner = f"{name} !== null && {text}", "&&"
    elif sign in ("!==", "!="):
        made, joiner = f"{name} === null || {text}", "||"
    else:
        return
    parent = node.parent  # no brackets where the expression stands whole or in a chain of the same joiner
    within = parent is not None and (parent.type in _WHOLE or (
        parent.type == "binary_expression" and f.node_text(parent.child_by_field_name("operator")) == joiner))
    yield [(node.start_byte, node.end_byte, made if within else f"({made})")], "slip"


def _spread_copy(f: TreeFile, node) -> Iterator[tuple[Spans, str]]:
    """`{ ...x }` copies one level: the spread value deep-copied."""
    for spread in (c for c in node.named_children if c.type == "spread_element"):
        inner = spread.named_children[0] if spread.named_children else None
        if inner is None or inner.type not in ("identifier", "member_expression"):
            continue
        if len(node.named_children) == 1:
            yield [(node.start_byte, node.end_byte, f"structuredClone({f.node_text(inner)})")], "slip"
        else:
            yield [(inner.start_byte, inner.end_byte, f"structuredClone({f.node_text(inner)})")], "slip"


def _for_in(f: TreeFile, node) -> Iterator[tuple[Spans, str]]:
    op = node.child_by_field_name("operator")
    if op is None:
        return
    word = f.node_text(op)
    if word in ("in", "of"):
        yield [(op.start_byte, op.end_byte, "of" if word == "in" else "in")], "slip"


def _for_var(f: TreeFile, node) -> Iterator[tuple[Spans, str]]:
    init = node.child_by_field_name("initializer")
    if init is not None and init.type == "variable_declaration" and f.node_text(init).startswith("var "):
        yield [(init.start_byte, init.start_byte + 3, "let")], "slip"


def _delete(f: TreeFile, node) -> Iterator[tuple[Spans, str]]:
    target = node.child_by_field_name("argument")
    if target is None or target.type != "subscript_expression":
        return
    obj, index = target.child_by_field_name("object"), target.child_by_field_name("index")
    if obj is not None and index is not None:
        made = f"{f.node_text(obj)}.splice({f.node_text(index)}, 1)"
        yield [(node.start_byte, node.end_byte, made)], "slip"


def _methods_of(f: TreeFile) -> set[str]:
    """Names defined as methods in the file, or called as `x.name(...)`."""
    if "slip_methods" not in f.memo:
        names: set[str] = set()
        for n in f.walk():
            if n.type == "method_definition":
                key = n.child_by_field_name("name")
                if key is not None:
                    names.add(f.node_text(key))
            elif n.type == "call_expression":
                target = n.child_by_field_name("function")
                if target is not None and target.type == "member_expression":
                    prop = target.child_by_field_name("property")
                    if prop is not None:
                        names.add(f.node_text(prop))
        f.memo["slip_methods"] = names
    return f.memo["slip_methods"]  # type: ignore[return-value]


def _is_method(f: TreeFile, member) -> bool:
    """`this.m` or `obj.m` where m is a method of the file, passed on as a value."""
    obj, prop = member.child_by_field_name("object"), member.child_by_field_name("property")
    if obj is None or prop is None or obj.type not in ("this", "identifier"):
        return False
    return f.node_text(prop) in _methods_of(f) and f.node_text(obj) not in ("console", "Math", "JSON", "Object")


def _async_names(f: TreeFile) -> set[str]:
    """Functions and methods the file declares `async`."""
    if "slip_async" not in f.memo:
        names: set[str] = set()
        for n in f.walk():
            if n.type in ("function_declaration", "method_definition") and f.node_text(n).startswith("async"):
                key = n.child_by_field_name("name")
                if key is not None:
                    names.add(f.node_text(key))
            elif n.type == "variable_declarator":
                value = n.child_by_field_name("value")
                key = n.child_by_field_name("name")
                if value is not None and key is not None and value.type in ("arrow_function", "function_expression",
                                                                             "function") \
                        and f.node_text(value).startswith("async"):
                    names.add(f.node_text(key))
        f.memo["slip_async"] = names
    return f.memo["slip_async"]  # type: ignore[return-value]


def _is_async_call(f: TreeFile, call) -> bool:
    """Inside an async function: a call of one of the file's async functions, or any call whose
    value is kept (`const v = job.run()`) or is the whole statement, other than the language's
    own synchronous helpers (a promise there is a value nobody waited for)."""
    target = call.child_by_field_name("function")
    if target is None:
        return False
    if target.type == "member_expression":
        target = target.child_by_field_name("property")
    if target is None:
        return False
    if f.node_text(target) not in _async_names(f):
        parent = call.parent
        if parent is None or parent.type not in ("variable_declarator", "expression_statement",
                                                 "assignment_expression") \
                or f.node_text(call).split("(")[0].split(".")[0] in _SYNC_OWNERS \
                or f.node_text(target) in _SYNC_METHODS:
            return False
    outer = call.parent
    while outer is not None and outer.type not in FUNCTION_TYPES:
        outer = outer.parent
    return outer is not None and f.node_text(outer).startswith("async")
