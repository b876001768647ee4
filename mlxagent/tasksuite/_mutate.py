"""Finding mutation sites in a module's source with `ast` (and `tokenize` for operators).

Every site is a span of the original source and the text that replaces it; applying it gives
one mutant. Sites are listed in a fixed order (by position, then replacement), so a mutant's
index among its module's mutants of one kind names it stably.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

KINDS = (
    "flip_compare",
    "flip_arith",
    "off_by_one",
    "wrong_constant",
    "drop_guard",
    "swap_args",
    "misspell_string",
    "rename_call",
)

_CMP_SWAPS = {
    "<": ("<=", ">"),
    "<=": ("<", ">="),
    ">": (">=", "<"),
    ">=": (">", "<="),
    "==": ("!=",),
    "!=": ("==",),
}
_ARITH_SWAPS = {"+": ("-",), "-": ("+",), "*": ("//", "+"), "/": ("//", "*"), "//": ("/", "*")}
_AUG_SWAPS = {"+=": ("-=",), "-=": ("+=",), "*=": ("//=",)}
_ARITH_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv)
_AUG_OPS = (ast.Add, ast.Sub, ast.Mult)

_BUILTIN_SWAPS = {
    "min": ("max",),
    "max": ("min",),
    "any": ("all",),
    "all": ("any",),
    "sorted": ("list", "reversed"),
    "list": ("sorted",),
    "tuple": ("list",),
    "int": ("round",),
    "round": ("int",),
    "float": ("int",),
    "abs": ("int",),
    "sum": ("max",),
}
_METHOD_SWAPS = {
    "lower": ("upper",),
    "upper": ("lower",),
    "startswith": ("endswith",),
    "endswith": ("startswith",),
    "strip": ("lstrip", "rstrip"),
    "lstrip": ("rstrip",),
    "rstrip": ("lstrip",),
    "split": ("rsplit",),
    "rsplit": ("split",),
    "find": ("rfind",),
    "rfind": ("find",),
    "isdigit": ("isalpha",),
    "isalpha": ("isdigit",),
    "isalnum": ("isalpha",),
    "title": ("capitalize",),
    "capitalize": ("title",),
    "ceil": ("floor",),
    "floor": ("ceil",),
    "keys": ("values",),
    "values": ("keys",),
    "append": ("extend",),
    "extend": ("append",),
    "setdefault": ("get",),
}
# Swapping these calls' arguments only ever gives a TypeError, which makes a dull task.
_NO_SWAP_CALLS = {"isinstance", "issubclass", "getattr", "setattr", "hasattr", "super"}
_STR_METHODS = {
    "join", "lower", "upper", "strip", "lstrip", "rstrip", "replace", "format", "title",
    "capitalize", "zfill", "ljust", "rjust", "center",
}
_SIMPLE_STMTS = (ast.Return, ast.Raise, ast.Continue, ast.Break, ast.Assign, ast.AugAssign,
                 ast.Expr, ast.Pass, ast.Delete)


@dataclass(frozen=True)
class Mutant:
    kind: str
    index: int             # position among the module's mutants of this kind
    line: int              # 1-based line of the change in the mutated source
    source: str            # the whole mutated module
    original_line: str     # the original text of the line(s) changed (without newline)
    mutated_line: str      # the mutated text of that line ("" when lines were removed)
    cls: str | None        # the enclosing class, if any
    func: str | None       # the enclosing function or method, if any
    is_property: bool      # the enclosing method is a @property


@dataclass(frozen=True)
class _Site:
    kind: str
    start: int
    end: int
    replacement: str
    node: ast.AST
    whole_lines: bool = False   # drop_guard: the span is complete lines


class _Module:
    def __init__(self, source: str):
        if not source.isascii():
            raise ValueError("task modules must be ASCII (ast columns are byte offsets)")
        self.source = source
        self.tree = ast.parse(source)
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for text in self.lines:
            self.starts.append(self.starts[-1] + len(text))
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.ops = []   # (start, end, string) of every operator token
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.OP:
                self.ops.append((self.offset(*tok.start), self.offset(*tok.end), tok.string))
        self.functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        self.methods: dict[str, dict[str, ast.FunctionDef]] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef):
                self.methods[node.name] = {
                    n.name: n for n in node.body
                    if isinstance(n, ast.FunctionDef) and not n.name.startswith("__")
                    and not n.decorator_list
                }

    # positions -------------------------------------------------------------------------
    def offset(self, lineno: int, col: int) -> int:
        return self.starts[lineno - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end]

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def op_between(self, start: int, end: int, wanted) -> tuple[int, int, str] | None:
        for tok in self.ops:
            if tok[0] >= start and tok[1] <= end and tok[2] in wanted:
                return tok
        return None

    # context ---------------------------------------------------------------------------
    def ancestors(self, node: ast.AST):
        while node in self.parents:
            node = self.parents[node]
            yield node

    def excluded(self, node: ast.AST) -> bool:
        """Inside a while loop (a mutant could hang) or an f-string (positions are unreliable)."""
        return any(isinstance(a, (ast.While, ast.JoinedStr)) for a in self.ancestors(node))

    def where(self, node: ast.AST) -> tuple[str | None, str | None, bool]:
        func = cls = None
        for a in self.ancestors(node):
            if func is None and isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef)):
                func = a
            elif isinstance(a, ast.ClassDef):
                cls = a
                break
        prop = func is not None and any(
            isinstance(d, ast.Name) and d.id == "property" for d in func.decorator_list)
        return (cls.name if cls else None, func.name if func else None, prop)

    def single_line(self, node: ast.AST) -> bool:
        return node.lineno == node.end_lineno

    def in_index(self, node: ast.AST) -> bool:
        """Whether `node` is (part of arithmetic in) a range() argument or a subscript/slice."""
        child, parent = node, self.parents.get(node)
        while isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Slice)):
            child, parent = parent, self.parents.get(parent)
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) \
                and parent.func.id == "range" and child in parent.args:
            return True
        return isinstance(parent, ast.Subscript) and child is parent.slice


def _is_stringy(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_stringy(node.left) or _is_stringy(node.right)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id in ("str", "repr", "format", "chr")
        if isinstance(node.func, ast.Attribute):
            return node.func.attr in _STR_METHODS
    return False


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _constant_swaps(value) -> list[str]:
    if isinstance(value, float):
        if value == 0:
            return ["1.0"]
        return [repr(round(value * 10, 6)), repr(round(value + 1, 6))]
    if value == 0:
        return ["1"]
    if value == 1:
        return ["0", "2"]
    return [str(value + 1), str(value - 1), str(value * 10)]


def _misspellings(value: str) -> list[str]:
    m = len(value) // 2
    out = [value[:m] + value[m + 1:], value[:m] + value[m] + value[m:]]
    if len(value) >= 2 and value[m - 1] != value[m]:
        out.append(value[: m - 1] + value[m] + value[m - 1] + value[m + 1:])
    seen, result = set(), []
    for text in out:
        if text != value and text not in seen:
            seen.add(text)
            result.append(text)
    return result


def _accepts(fn: ast.FunctionDef, nargs: int, method: bool) -> bool:
    params = fn.args.posonlyargs + fn.args.args
    if method:
        params = params[1:]
    required = len(params) - len(fn.args.defaults)
    return required <= nargs <= len(params) or (fn.args.vararg is not None and nargs >= required)


def _sites(mod: _Module) -> list[_Site]:
    sites: list[_Site] = []
    add = sites.append
    for node in ast.walk(mod.tree):
        if mod.excluded(node):
            continue
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i in range(len(node.ops)):
                tok = mod.op_between(mod.span(operands[i])[1], mod.span(operands[i + 1])[0],
                                     _CMP_SWAPS)
                if tok:
                    for rep in _CMP_SWAPS[tok[2]]:
                        add(_Site("flip_compare", tok[0], tok[1], rep, node))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _ARITH_OPS):
            if not (_is_stringy(node.left) or _is_stringy(node.right)):
                tok = mod.op_between(mod.span(node.left)[1], mod.span(node.right)[0], _ARITH_SWAPS)
                if tok:
                    for rep in _ARITH_SWAPS[tok[2]]:
                        add(_Site("flip_arith", tok[0], tok[1], rep, node))
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, _AUG_OPS):
            if not _is_stringy(node.value):
                tok = mod.op_between(mod.span(node.target)[1], mod.span(node.value)[0], _AUG_SWAPS)
                if tok:
                    for rep in _AUG_SWAPS[tok[2]]:
                        add(_Site("flip_arith", tok[0], tok[1], rep, node))
        elif _is_number(node) and not isinstance(node.value, bool):
            parent = mod.parents.get(node)
            negated = isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub)
            target = parent if negated else node
            value = -node.value if negated else node.value
            start, end = mod.span(target)
            if isinstance(value, int) and mod.in_index(target):
                for rep in (str(value + 1), str(value - 1)):
                    add(_Site("off_by_one", start, end, rep, node))
            elif not mod.in_index(target):
                for rep in _constant_swaps(value):
                    add(_Site("wrong_constant", start, end, rep, node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            _string_sites(mod, node, add)
        elif isinstance(node, ast.If):
            _guard_site(mod, node, add)
        if isinstance(node, ast.Call):
            _call_sites(mod, node, add)
    return sites


def _string_sites(mod: _Module, node: ast.Constant, add) -> None:
    if isinstance(mod.parents.get(node), ast.Expr) or not mod.single_line(node):
        return
    seg = mod.text(node)
    if len(seg) < 3 or seg[0] not in "'\"" or seg[-1] != seg[0] or seg.startswith(seg[0] * 3):
        return
    if "\\" in seg or seg[1:-1] != node.value:
        return
    start, end = mod.span(node)
    for variant in _misspellings(node.value):
        add(_Site("misspell_string", start, end, seg[0] + variant + seg[0], node))


def _guard_site(mod: _Module, node: ast.If, add) -> None:
    if node.orelse or len(node.body) > 2 or not all(isinstance(s, _SIMPLE_STMTS) for s in node.body):
        return
    first = mod.lines[node.lineno - 1]
    if first[: node.col_offset].strip() or not first[node.col_offset:].startswith("if "):
        return   # an elif, or not the first thing on its line
    if mod.lines[node.end_lineno - 1][node.end_col_offset:].strip():
        return
    start, end = mod.starts[node.lineno - 1], mod.starts[node.end_lineno]
    add(_Site("drop_guard", start, end, "", node, whole_lines=True))


def _call_sites(mod: _Module, node: ast.Call, add) -> None:
    func = node.func
    # swap_args
    args = node.args
    name = func.id if isinstance(func, ast.Name) else None
    if len(args) >= 2 and name not in _NO_SWAP_CALLS and mod.single_line(node) \
            and not any(isinstance(a, ast.Starred) for a in args):
        for a, b in zip(args, args[1:]):
            ta, tb = mod.text(a), mod.text(b)
            if ta != tb:
                (sa, ea), (sb, eb) = mod.span(a), mod.span(b)
                add(_Site("swap_args", sa, eb, tb + mod.source[ea:sb] + ta, node))
    # rename_call
    if not mod.single_line(func):
        return
    nargs = len(args)
    if isinstance(func, ast.Name):
        start, end = mod.span(func)
        others: list[str] = []
        if func.id in mod.functions:
            others = [n for n, f in sorted(mod.functions.items())
                      if n != func.id and _accepts(f, nargs, method=False)]
        elif func.id in _BUILTIN_SWAPS:
            others = list(_BUILTIN_SWAPS[func.id])
        for other in others:
            add(_Site("rename_call", start, end, other, node))
    elif isinstance(func, ast.Attribute):
        end = mod.span(func)[1]
        start = end - len(func.attr)
        others = []
        for methods in mod.methods.values():
            if func.attr in methods:
                others = [n for n, f in sorted(methods.items())
                          if n != func.attr and _accepts(f, nargs, method=True)]
                break
        else:
            others = list(_METHOD_SWAPS.get(func.attr, ()))
        for other in others:
            add(_Site("rename_call", start, end, other, node))


def mutants(source: str) -> dict[str, list[Mutant]]:
    """Every candidate mutant of `source`, by kind (unverified: some may parse badly or be harmless)."""
    mod = _Module(source)
    by_kind: dict[str, list[_Site]] = {k: [] for k in KINDS}
    for site in _sites(mod):
        by_kind[site.kind].append(site)
    result: dict[str, list[Mutant]] = {}
    for kind in KINDS:
        unique: dict[tuple[int, int, str], _Site] = {}
        for site in by_kind[kind]:
            unique.setdefault((site.start, site.end, site.replacement), site)
        out = []
        for (start, end, rep), site in sorted(unique.items()):
            new = source[:start] + rep + source[end:]
            if new == source:
                continue
            try:
                ast.parse(new)
            except SyntaxError:
                continue
            line = mod.line_of(start)
            new_lines = new.splitlines()
            if site.whole_lines:
                original_line = "".join(mod.lines[site.node.lineno - 1: site.node.end_lineno]).rstrip("\n")
                mutated_line = ""
                line = min(line, max(len(new_lines), 1))
            else:
                original_line = mod.lines[line - 1].rstrip("\n")
                mutated_line = new_lines[line - 1]
            cls, func, prop = mod.where(site.node)
            out.append(Mutant(kind, len(out), line, new, original_line, mutated_line, cls, func, prop))
        result[kind] = out
    return result
