"""Candidate fixes for the languages tree-sitter parses (JavaScript and TypeScript first; Go, Rust,
Java, C and the rest get what their trees share): `TreeMaker.variants()` yields (new file text, rule,
description) for one suspect line. The kinds of edit are the usual one-token faults of the program
repair literature: an operator swapped for its neighbour (=== / !==, < / <=, && / ||, + / -), a
number or bound off by one, a literal flipped (true / false, '' / ' ', a regular expression's
flags), a variable replaced by another in scope, a condition inverted, a `return` missing before a
function's last expression, a method confused with its sibling (push / unshift, slice / splice,
Math.min / Math.max, ...), and `if (i)` after indexOf made `if (i !== -1)`.

Edits are made on the tree's byte spans, so the rest of the file stays byte-identical; comments
are never touched and string contents only when the failure message names the string; every
candidate parses with no more ERROR or MISSING nodes than the file had (`TreeFile.parses`)."""

from __future__ import annotations

import difflib
import re
from typing import Iterator

from .shapes_expr import separators
from .sources import Sources
from .treesit import FUNCTION_TYPES, TreeFile, _declares, _walk, tree_file
from .treesit_slips import SLIP_WEIGHT, js_slips

# how often each kind is the fix, roughly: a multiplier on where it is (candidates.py's prior)
TS_WEIGHT = {"return": 1.1, "regex": 1.1, "compare": 1.0, "logic": 1.0, "call": 1.0, "literal": 1.0,
             "index": 1.0, "arith": 0.9, "string": 0.9, "bound": 0.8, "number": 0.75, "invert": 0.7,
             "swap": 0.6, "bitwise": 0.6, "name": 0.5, "truthy": 0.5, "attr": 0.45, "update": 0.4,
             "template": 1.0, "wrap": 0.5, "arith_far": 0.45, "returns": 0.55, "operand": 0.45, "separator": 0.55,
             "compare_far": 0.5, "slip": SLIP_WEIGHT}
PER_LINE = 40  # candidates one suspect line yields at most

OPERATORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "===": ("compare", ("!==", "==")), "!==": ("compare", ("===", "!=")), "==": ("compare", ("!=", "===")),
    "!=": ("compare", ("==", "!==")), "<": ("compare", ("<=", ">", ">=")), "<=": ("compare", ("<", ">=", ">")),
    ">": ("compare", (">=", "<", "<=")), ">=": ("compare", (">", "<=", "<")),
    "&&": ("logic", ("||",)), "||": ("logic", ("&&", "??")), "??": ("logic", ("||",)),
    "+": ("arith", ("-",)), "-": ("arith", ("+",)), "*": ("arith", ("/",)), "/": ("arith", ("*",)),
    "%": ("arith", ("/",)), "**": ("arith", ("*",)),
    "&": ("bitwise", ("|",)), "|": ("bitwise", ("&",)), "^": ("bitwise", ("|",)),
    "<<": ("bitwise", (">>",)), ">>": ("bitwise", ("<<", ">>>")), ">>>": ("bitwise", (">>",)),
    # augmented assignment and update
    "+=": ("arith", ("-=",)), "-=": ("arith", ("+=",)), "*=": ("arith", ("/=",)), "/=": ("arith", ("*=",)),
    "||=": ("logic", ("&&=", "??=")), "&&=": ("logic", ("||=",)), "??=": ("logic", ("||=",)),
    "++": ("update", ("--",)), "--": ("update", ("++",)),
}
# every other operator of the family, after OPERATORS' likely ones, with a lower weight (candidates.ARITH_FAR)
ARITH_FAR = {op: tuple(o for o in family if o != op and o not in OPERATORS[op][1])
             for family in (("+", "-", "*", "/", "%", "**"), ("+=", "-=", "*=", "/=", "%="))
             for op in family if op in OPERATORS}
COMPARE_FAR = {op: tuple(o for o in ("===", "!==", "<", "<=", ">", ">=") if o != op and o not in OPERATORS[op][1]
                         and {o, op} != {"===", "=="} and {o, op} != {"!==", "!="})
               for op in ("===", "!==", "==", "!=", "<", "<=", ">", ">=")}
BINARY_TYPES = frozenset(("binary_expression", "binary", "augmented_assignment_expression",
                          "compound_assignment_expr", "assignment_expression", "update_expression",
                          "operator_assignment"))
NUMBER_TYPES = frozenset(("number", "integer", "integer_literal", "int_literal", "number_literal",
                          "decimal_integer_literal", "float", "float_literal", "real_literal"))
STRING_TYPES = frozenset(("string", "string_literal", "interpreted_string_literal", "raw_string_literal"))
CALL_TYPES = frozenset(("call_expression", "call", "method_invocation", "invocation_expression"))
MEMBER_TYPES = frozenset(("member_expression", "field_expression", "selector_expression"))
PROPERTY_TYPES = frozenset(("property_identifier", "field_identifier", "identifier"))
ATOM_TYPES = frozenset(("identifier", "member_expression", "subscript_expression", "call_expression",
                        "field_expression", "selector_expression", "index_expression")) | NUMBER_TYPES
INDEX_FINDERS = ("indexOf", "lastIndexOf", "findIndex", "findLastIndex", "search")
REGEX_FLAGS = ("g", "i", "m", "s", "u")

# methods and functions easily confused with each other
METHOD_SWAPS: dict[str, tuple[str, ...]] = {}
for _group in (("push", "unshift"), ("pop", "shift"), ("slice", "splice"), ("slice", "substring"),
               ("indexOf", "lastIndexOf"), ("indexOf", "includes"), ("min", "max"),
               ("floor", "ceil", "round", "trunc"), ("toLowerCase", "toUpperCase"), ("keys", "values", "entries"),
               ("startsWith", "endsWith"), ("trim", "trimStart", "trimEnd"), ("find", "findIndex", "filter"),
               ("find", "findLast"), ("findIndex", "findLastIndex"), ("some", "every"), ("map", "forEach", "flatMap"),
               ("filter", "map"), ("padStart", "padEnd"), ("reduce", "reduceRight"), ("replace", "replaceAll"),
               ("charAt", "charCodeAt"), ("parseInt", "parseFloat", "Number"), ("match", "matchAll"),
               ("concat", "push"), ("getDay", "getDate"), ("getMonth", "getFullYear"), ("has", "get"),
               ("sort", "reverse"), ("stringify", "parse"), ("toFixed", "toPrecision"), ("assign", "create"),
               ("Min", "Max"), ("ToLower", "ToUpper"), ("len", "cap"), ("to_lowercase", "to_uppercase"),
               ("first", "last"), ("iter", "into_iter"), ("contains", "starts_with", "ends_with")):
    for _name in _group:
        METHOD_SWAPS[_name] = tuple(dict.fromkeys(METHOD_SWAPS.get(_name, ()) + tuple(n for n in _group if n != _name)))

_QUOTED = re.compile(r"\"([^\"\n]{0,80})\"|'([^'\n]{0,80})'|`([^`\n]{0,80})`")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")


class TreeMaker:
    """Edits of the suspect lines of tree-sitter files; `failure_text` is the failures' messages
    and `hint_strings` the quoted strings of the messages and the tests: a string the
failure names may become a similar one of those."""

    def __init__(self, sources: Sources, failure_text: str, hint_strings: tuple[str, ...] | list[str] = ()):
        self.sources = sources
        self.failure_text = failure_text
        self.hint_strings = list(dict.fromkeys(
            [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(failure_text)]
            + list(hint_strings)))
        self.message_strings = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(failure_text)]
        self.hint_numbers = list(dict.fromkeys(_NUMBER.findall(failure_text)))[:6]

    def variants(self, path: str, line: int) -> Iterator[tuple[str, str, str]]:
        f = tree_file(self.sources, path)
        if f is None or not 1 <= line <= len(f.text.splitlines()):
            return
        seen = {f.text}
        made = 0
        old_line = f.text.splitlines()[line - 1].strip()
        for spans, rule in self._edits(f, line):
            new = f.edit(spans)
            if new in seen or not f.parses(new):
                continue
            seen.add(new)
            new_lines = new.splitlines()
            changed = new_lines[line - 1].strip() if line <= len(new_lines) else ""
            yield new, rule, f"{old_line} → {changed}"
            made += 1
            if made >= PER_LINE:
                return

    # each rule yields ([(start byte, end byte, new text)], rule)
    def _edits(self, f: TreeFile, line: int) -> Iterator[tuple[list[tuple[int, int, str]], str]]:
        nodes = f.starting_on(line)
        rules = (self._returns, self._index_checks, self._operators, self._methods, self._literals,
                 self._regexes, self._bounds, self._numbers, self._strings, self._inversions, self._names,
                 self._swaps, self._truthy, self._attributes,
                 # the shapes weighed less last: PER_LINE cuts these first
                 self._operands, self._boolean_returns, self._far_operators)
        if f.kind in ("javascript", "typescript", "tsx"):  # the language's own slips first: few, and specific
            rules = (self._slips,) + rules + (self._templates, self._wraps)
        for rule in rules:
            yield from rule(f, nodes, line)

    def _slips(self, f: TreeFile, nodes, line):
        """JavaScript's well-known slips (treesit_slips.py)."""
        yield from js_slips(f, nodes)

    def _returns(self, f: TreeFile, nodes, line):
        """`return` before the last expression of a function body that has none."""
        for node in nodes:
            if node.type != "expression_statement" or node.parent is None or node.parent.type != "statement_block":
                continue
            block = node.parent
            if block.parent is None or block.parent.type not in FUNCTION_TYPES:
                continue
            last = [c for c in block.named_children if c.type != "comment"]
            if not last or last[-1] != node or not node.named_children:
                continue
            expr = node.named_children[0]
            if expr.type in ("assignment_expression", "augmented_assignment_expression", "update_expression"):
                continue
            yield [(node.start_byte, node.start_byte, "return ")], "return"

    def _operands(self, f: TreeFile, nodes, line):
        """An arithmetic operation replaced by one of its operands (shapes_expr.operands)."""
        for node in nodes:
            if node.type not in ("binary_expression", "binary") or _operator(f, node) not in ARITH_FAR:
                continue
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None:
                continue
            inside = node.parent is not None and node.parent.type in ("binary_expression", "binary", "unary_expression")
            for kept in (left, right):
                text = f.node_text(kept)
                if inside and kept.type not in ATOM_TYPES and kept.type != "parenthesized_expression":
                    text = f"({text})"
                yield [(node.start_byte, node.end_byte, text)], "operand"

    def _boolean_returns(self, f: TreeFile, nodes, line):
        """Every `return true` of the function made `return false` and the other way round, once a
        function (shapes_expr.boolean_returns)."""
        if not nodes:
            return
        fn = nodes[0].parent
        while fn is not None and fn.type not in FUNCTION_TYPES:
            fn = fn.parent
        done = f.memo.setdefault("boolean_returns", set())
        if fn is None or fn.start_byte in done:
            return
        done.add(fn.start_byte)
        values, stack = [], list(fn.named_children)
        while stack:
            node = stack.pop()
            if node.type in FUNCTION_TYPES:
                continue  # a nested function's returns are its own
            if node.type == "return_statement":
                values += [c for c in node.named_children if c.type in ("true", "false")]
            stack.extend(node.named_children)
        if len({v.type for v in values}) == 2:
            yield [(v.start_byte, v.end_byte, "false" if v.type == "true" else "true") for v in values], "returns"

    def _index_checks(self, f: TreeFile, nodes, line):
        """`if (i)` where i came from indexOf (or the call itself): `i !== -1`, `i >= 0`."""
        finders = self._index_names(f)
        for node in nodes:
            for cond in _conditions(node, wide=True):
                negated = cond.type == "unary_expression" and f.node_text(cond).startswith("!")
                inner = cond.named_children[0] if negated and cond.named_children else cond
                if not (inner.type == "identifier" and f.node_text(inner) in finders) and not _is_finder_call(f, inner):
                    continue
                text = f.node_text(inner)
                checks = (" === -1", " < 0") if negated else (" !== -1", " >= 0", " > -1")
                for check in checks:
                    yield [(cond.start_byte, cond.end_byte, text + check)], "index"

    @staticmethod
    def _index_names(f: TreeFile) -> set[str]:
        if "index_names" in f.memo:
            return f.memo["index_names"]
        names = f.memo["index_names"] = set()
        for node in f.walk():
            if node.type == "variable_declarator" or node.type == "assignment_expression":
                target = node.child_by_field_name("name") or node.child_by_field_name("left")
                value = node.child_by_field_name("value") or node.child_by_field_name("right")
                if target is not None and value is not None and _is_finder_call(f, value):
                    names.add(f.node_text(target))
        return names

    def _operators(self, f: TreeFile, nodes, line):
        for node, op in _operator_tokens(f, nodes):
            if op not in OPERATORS:
                continue
            rule, others = OPERATORS[op]
            for other in others:
                yield [(node.start_byte, node.end_byte, other)], rule

    def _far_operators(self, f: TreeFile, nodes, line):
        """Every other operator of the family (last: PER_LINE cuts these first)."""
        if "loose" not in f.memo:  # the file's own style of equality
            f.memo["loose"] = "===" not in f.text and "!==" not in f.text
        compares = f.kind in ("javascript", "typescript", "tsx")
        for node, op in _operator_tokens(f, nodes):
            for other in ARITH_FAR.get(op, ()):
                yield [(node.start_byte, node.end_byte, other)], "arith_far"
            for other in COMPARE_FAR.get(op, ()) if compares else ():
                other = {"===": "==", "!==": "!="}.get(other, other) if f.memo["loose"] else other
                if other != op:
                    yield [(node.start_byte, node.end_byte, other)], "compare_far"

    def _methods(self, f: TreeFile, nodes, line):
        """A called method or function swapped for its easily confused sibling."""
        for node in nodes:
            if node.type not in CALL_TYPES:
                continue
            target = node.child_by_field_name("function") or node.child_by_field_name("name") \
                or node.child_by_field_name("method")
            if target is not None and target.type in MEMBER_TYPES:
                target = target.child_by_field_name("property") or target.child_by_field_name("field")
            if target is None or target.type not in PROPERTY_TYPES:
                continue
            for other in METHOD_SWAPS.get(f.node_text(target), ()):
                yield [(target.start_byte, target.end_byte, other)], "call"

    def _literals(self, f: TreeFile, nodes, line):
        flips = {"true": ("false",), "false": ("true",), "null": ("undefined",), "undefined": ("null",),
                 "nil": (), "True": ("False",), "False": ("True",)}
        for node in nodes:
            if node.child_count == 0 and node.type in flips and f.node_text(node) == node.type:
                for other in flips[node.type]:
                    yield [(node.start_byte, node.end_byte, other)], "literal"
            elif node.type in STRING_TYPES:
                text = f.node_text(node)
                quote = text[:1]
                if len(text) == 2 and quote in "'\"`" and text[1] == quote:
                    yield [(node.start_byte, node.end_byte, quote + " " + quote)], "literal"
                elif len(text) == 3 and quote in "'\"`" and text[1] == " " and text[2] == quote:
                    yield [(node.start_byte, node.end_byte, quote + quote)], "literal"

    def _regexes(self, f: TreeFile, nodes, line):
        """A regular expression's flags: one added or one removed (its pattern stays)."""
        for node in nodes:
            if node.type != "regex":
                continue
            flags_node = node.child_by_field_name("flags")
            flags = f.node_text(flags_node) if flags_node is not None else ""
            end = node.end_byte
            start = flags_node.start_byte if flags_node is not None else end
            for flag in REGEX_FLAGS:
                if flag not in flags:
                    yield [(start, end, flags + flag)], "regex"
            for flag in flags:
                yield [(start, end, flags.replace(flag, ""))], "regex"

    def _bounds(self, f: TreeFile, nodes, line):
        """`± 1` dropped; `x.length`, an index, an argument or a compared value given `± 1`."""
        for node in nodes:
            if node.type in ("binary_expression", "binary"):
                op = node.child_by_field_name("operator")
                right = node.child_by_field_name("right")
                left = node.child_by_field_name("left")
                if op is not None and right is not None and left is not None and f.node_text(op) in ("+", "-") \
                        and f.node_text(right) == "1":
                    yield [(left.end_byte, right.end_byte, "")], "bound"
            if node.type not in ATOM_TYPES or not node.is_named:
                continue
            parent = node.parent
            if parent is None:
                continue
            is_length = node.type in MEMBER_TYPES and f.node_text(node).endswith((".length", ".size"))
            in_slot = parent.type in ("arguments", "argument_list", "subscript_expression", "index_expression") \
                and node != parent.child_by_field_name("object")
            compared = parent.type in ("binary_expression", "binary") and _operator(f, parent) in OPERATORS \
                and OPERATORS[_operator(f, parent)][0] == "compare" and parent.child_by_field_name("right") == node
            already = parent.type in ("binary_expression", "binary") and _operator(f, parent) in ("+", "-") \
                and parent.child_by_field_name("left") == node
            if (is_length or in_slot or compared) and not already:
                for step in (" - 1", " + 1"):
                    yield [(node.end_byte, node.end_byte, step)], "bound"

    def _numbers(self, f: TreeFile, nodes, line):
        for node in nodes:
            if node.type not in NUMBER_TYPES:
                continue
            text = f.node_text(node)
            try:
                value = int(text, 0)
            except ValueError:
                continue
            others = [str(value + 1), str(value - 1)] if value else ["1", "2"]
            others += ([str(value * 10)] if value > 1 else []) + ([str(value // 10)] if value >= 10 else [])
            others += [n for n in self.hint_numbers if n.lstrip("-").isdigit() and n != text][:4]
            for other in dict.fromkeys(others):
                if other.startswith("-") and node.prev_sibling is not None and f.node_text(node.prev_sibling) == "-":
                    continue
                yield [(node.start_byte, node.end_byte, other)], "number"
            if node.parent is not None and node.parent.type == "unary_expression" and \
                    f.node_text(node.parent).startswith("-"):
                yield [(node.parent.start_byte, node.start_byte, "")], "number"  # -1 → 1

    def _strings(self, f: TreeFile, nodes, line):
        """A string the failure message names, towards a similar string of the message or the tests."""
        for node in nodes:
            if node.type not in STRING_TYPES:
                continue
            text = f.node_text(node)
            quote = text[:1]
            inner = text[1:-1]
            if quote in "'\"" and inner and "\\" not in inner and self._named(inner):
                outs = [h for h in self.hint_strings if h != inner and quote not in h and "\\" not in h
                        and (difflib.SequenceMatcher(None, h, inner).ratio() >= 0.5 or (len(inner) <= 2 and len(h) <= 2))]
                outs += [inner.lower(), inner.upper()]
                for other in list(dict.fromkeys(o for o in outs if o != inner))[:8]:
                    yield [(node.start_byte, node.end_byte, quote + other + quote)], "string"
            for other in separators(text) if quote in "'\"" else ():
                yield [(node.start_byte, node.end_byte, other)], "separator"

    def _named(self, inner: str) -> bool:
        """The failure names the string `inner`: inside a quoted value of the message, or (a word
        of three characters or more) anywhere in it."""
        return any(inner in q for q in self.message_strings) or \
            (len(inner) >= 3 and re.search(rf"(?<!\w){re.escape(inner)}(?!\w)", self.failure_text) is not None)

    def _inversions(self, f: TreeFile, nodes, line):
        """A condition negated or its negation dropped; a conditional's branches swapped."""
        for node in nodes:
            for cond in _conditions(node):
                text = f.node_text(cond)
                if cond.type == "unary_expression" and text.startswith("!") and cond.named_children:
                    arg = cond.named_children[0]
                    yield [(cond.start_byte, arg.start_byte, "")], "invert"
                elif cond.type in ("identifier", "member_expression", "call_expression", "parenthesized_expression"):
                    yield [(cond.start_byte, cond.start_byte, "!")], "invert"
                else:
                    yield [(cond.start_byte, cond.end_byte, f"!({text})")], "invert"
            if node.type in ("ternary_expression", "conditional_expression"):
                a, b = node.child_by_field_name("consequence"), node.child_by_field_name("alternative")
                if a is not None and b is not None:
                    yield [(a.start_byte, a.end_byte, f.node_text(b)),
                           (b.start_byte, b.end_byte, f.node_text(a))], "invert"
            if node.type == "unary_expression" and f.node_text(node).startswith("!") and node.named_children:
                yield [(node.start_byte, node.named_children[0].start_byte, "")], "invert"

    def _names(self, f: TreeFile, nodes, line):
        """A variable used here replaced by another one in scope."""
        scope = f.scope_names(line)
        if len(scope) < 2:
            return
        for node in nodes:
            if node.type != "identifier" or _declares(node) or node.parent is None:
                continue
            if node.parent.type in CALL_TYPES and node.parent.child_by_field_name("function") == node:
                continue
            name = f.node_text(node)
            if name not in scope:
                continue
            for other in scope[:6]:
                if other != name:
                    yield [(node.start_byte, node.end_byte, other)], "name"

    def _swaps(self, f: TreeFile, nodes, line):
        """The operands of `-` or `/`, or two neighbouring arguments, swapped."""
        for node in nodes:
            pairs = []
            if node.type in ("binary_expression", "binary") and _operator(f, node) in ("-", "/", "%"):
                pairs = [(node.child_by_field_name("left"), node.child_by_field_name("right"))]
            elif node.type in ("arguments", "argument_list") and len(node.named_children) >= 2:
                args = node.named_children
                pairs = [(args[i], args[i + 1]) for i in range(len(args) - 1)]
            for a, b in pairs:
                if a is None or b is None or a.type == "comment" or b.type == "comment":
                    continue
                yield [(a.start_byte, a.end_byte, f.node_text(b)), (b.start_byte, b.end_byte, f.node_text(a))], "swap"

    def _truthy(self, f: TreeFile, nodes, line):
        """`if (x)` where 0 or '' counts: `x != null`, `x !== undefined`."""
        for node in nodes:
            for cond in _conditions(node):
                if cond.type in ("identifier", "member_expression", "subscript_expression"):
                    text = f.node_text(cond)
                    for check in (" != null", " !== undefined"):
                        yield [(cond.start_byte, cond.end_byte, text + check)], "truthy"

    def _attributes(self, f: TreeFile, nodes, line):
        """`this.a` (not called) replaced by another property used on `this` in the file."""
        if "this_props" not in f.memo:
            f.memo["this_props"] = list(dict.fromkeys(
                f.node_text(n.child_by_field_name("property")) for n in f.walk()
                if n.type == "member_expression" and f.node_text(n).startswith("this.")
                and n.child_by_field_name("property") is not None))[:8]
        props = f.memo["this_props"]
        for node in nodes:
            if node.type != "member_expression" or not f.node_text(node).startswith("this."):
                continue
            prop = node.child_by_field_name("property")
            if prop is None or (node.parent is not None and node.parent.type in CALL_TYPES):
                continue
            for other in props:
                if other != f.node_text(prop):
                    yield [(prop.start_byte, prop.end_byte, other)], "attr"


    def _templates(self, f: TreeFile, nodes, line):
        """A quoted string holding `${...}` made a template literal (its contents stay)."""
        for node in nodes:
            if node.type == "string" and "${" in f.node_text(node) and "`" not in f.node_text(node):
                text = f.node_text(node)
                yield [(node.start_byte, node.end_byte, "`" + text[1:-1] + "`")], "template"

    def _wraps(self, f: TreeFile, nodes, line):
        """A division made whole (Math.floor, Math.round, Math.trunc); a one-argument rounding or
        conversion call unwrapped."""
        for node in nodes:
            if node.type == "binary_expression" and _operator(f, node) == "/":
                for fn in ("Math.floor", "Math.round", "Math.trunc"):
                    yield [(node.start_byte, node.start_byte, fn + "("), (node.end_byte, node.end_byte, ")")], "wrap"
            elif node.type == "call_expression":
                target = node.child_by_field_name("function")
                args = node.child_by_field_name("arguments")
                if target is None or args is None or len(args.named_children) != 1:
                    continue
                if f.node_text(target) in ("Math.floor", "Math.round", "Math.ceil", "Math.trunc", "Math.abs",
                                           "parseInt", "parseFloat", "Number", "String"):
                    inner = args.named_children[0]
                    text = f.node_text(inner) if inner.type in ATOM_TYPES else f"({f.node_text(inner)})"
                    yield [(node.start_byte, node.end_byte, text)], "wrap"


def _operator_tokens(f: TreeFile, nodes) -> Iterator[tuple[object, str]]:
    """The operator tokens among `nodes` (of a binary, assignment or update expression) and their text."""
    for node in nodes:
        if not node.is_named and node.parent is not None and node.parent.type in BINARY_TYPES:
            yield node, f.node_text(node)


def _operator(f: TreeFile, node) -> str:
    op = node.child_by_field_name("operator")
    return f.node_text(op) if op is not None else ""


def _is_finder_call(f: TreeFile, node) -> bool:
    if node.type not in CALL_TYPES:
        return False
    target = node.child_by_field_name("function")
    if target is not None and target.type in MEMBER_TYPES:
        target = target.child_by_field_name("property")
    return target is not None and f.node_text(target) in INDEX_FINDERS


def _conditions(node, wide: bool = False) -> list:
    """The condition `node` (a statement or a conditional) tests, parentheses off; `wide`: also
    the operands of `&&` / `||` and an arrow function's expression body."""
    out = []
    cond = node.child_by_field_name("condition") if node.type in (
        "if_statement", "while_statement", "do_statement", "ternary_expression", "conditional_expression",
        "if_expression", "while_expression") else None
    if wide and node.type in ("binary_expression", "binary") and node.child_by_field_name("operator") is not None \
            and node.child_by_field_name("operator").type in ("&&", "||"):
        out += [node.child_by_field_name("left"), node.child_by_field_name("right")]
    if wide and node.type == "arrow_function" and node.child_by_field_name("body") is not None \
            and node.child_by_field_name("body").type != "statement_block":
        out.append(node.child_by_field_name("body"))
    if cond is not None:
        out.append(cond)
    return [_unparenthesised(c) for c in out if c is not None]


def _unparenthesised(node):
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


__all__ = ["TreeMaker", "TS_WEIGHT", "_walk"]
