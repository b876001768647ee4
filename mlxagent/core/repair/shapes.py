"""More fix shapes for the candidate search: statements inserted or deleted, calls wrapped or
unwrapped, conditions added or removed, references, containers and operators swapped, missing
imports, raise versus return. `ShapeMaker.shapes()` yields (new file text, rule, description) for
one suspect line of a Python file; `candidates()` (candidates.py) gives them their priors. Edits
are made on the lines at `ast`'s positions (the rest of the file stays byte-identical), every
candidate parses, and docstrings and comments are never changed (`protected_lines()`,
`comment_start()`)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Iterator

from .sources import Sources, _enclosing, is_test_path

STDLIB_MODULES = frozenset((
    "math", "re", "os", "sys", "json", "itertools", "collections", "functools", "string", "random", "time",
    "datetime", "operator", "heapq", "bisect", "statistics", "decimal", "fractions", "copy", "textwrap",
    "csv", "io", "pathlib", "typing", "dataclasses", "enum", "shutil", "struct", "hashlib", "uuid",
    "unicodedata", "calendar", "contextlib", "logging", "argparse", "glob", "tempfile", "subprocess"))
STDLIB_NAMES = {
    "defaultdict": "collections", "Counter": "collections", "deque": "collections",
    "namedtuple": "collections", "OrderedDict": "collections", "reduce": "functools", "partial": "functools",
    "lru_cache": "functools", "wraps": "functools", "cache": "functools", "dataclass": "dataclasses",
    "field": "dataclasses", "Path": "pathlib", "Decimal": "decimal", "Fraction": "fractions", "sqrt": "math",
    "floor": "math", "ceil": "math", "inf": "math", "pi": "math", "chain": "itertools", "groupby": "itertools",
    "product": "itertools", "permutations": "itertools", "combinations": "itertools", "islice": "itertools",
    "accumulate": "itertools", "heappush": "heapq", "heappop": "heapq", "bisect_left": "bisect",
    "bisect_right": "bisect", "insort": "bisect", "Enum": "enum", "deepcopy": "copy", "timedelta": "datetime",
    "date": "datetime", "mean": "statistics", "median": "statistics", "Optional": "typing", "Any": "typing",
    "Iterable": "typing", "Iterator": "typing"}
WRAPPERS = ("max", "min", "abs", "len", "int", "sorted", "list")
UNWRAP = WRAPPERS + ("float", "str", "tuple", "set", "reversed", "round", "bool")
BITWISE = {"^": ("|", "&"), "|": ("^", "&"), "&": ("^", "|"), "<<": (">>",), ">>": ("<<",)}
AUG_OPS = ("^=", "&=", "|=", "+=", "-=", "*=")
TAKEN_AUG = {"+=": ("-=",), "-=": ("+=",)}  # made by candidates.py's arith rule already
EXIT_STMTS = (ast.Return, ast.Raise, ast.Break, ast.Continue)
SIMPLE_STMTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return, ast.Raise, ast.Pass,
                ast.Break, ast.Continue, ast.Delete, ast.Assert)
PER_LINE = 24  # shapes one suspect line yields at most
_EXC = re.compile(r"\b([A-Z][A-Za-z]*(?:Error|Exception))\b")
_NAME_ERROR = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


def protected_lines(text: str, tree: ast.AST | None) -> set[int]:
    """Lines no rule may change: docstrings (the first string statement of a module, class or
    function, doctest examples in them included) and comment-only lines."""
    out = {i for i, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith("#")}
    if tree is None:
        return out
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                out.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return out


def comment_start(body: str) -> int | None:
    """Where the `#` comment of one line of Python starts (None without one)."""
    if "#" not in body:
        return None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(body.lstrip()).readline):
            if tok.type == tokenize.COMMENT:
                return tok.start[1] + len(body) - len(body.lstrip()) if tok.start[0] == 1 else None
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # a line inside a string: no comment
    return None


def first_changed_line(old: str, new: str) -> int:
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    return next((i for i, (x, y) in enumerate(zip(a, b), 1) if x != y), min(len(a), len(b)) + 1)


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")):] or "\n"


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _char(line: str, col: int) -> int:
    """A character offset from ast's utf-8 byte offset."""
    return len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))


def _cols(line: str, node: ast.AST) -> tuple[int, int]:
    """A node's columns on its (single) line as character offsets."""
    return _char(line, node.col_offset), _char(line, node.end_col_offset)


def _empty_value(value: ast.expr | None) -> bool:
    """`return` / `return None` / `return []` / `return -1` and the like: a "no result" value."""
    if isinstance(value, ast.Dict):
        return not value.keys
    return value is None or (isinstance(value, ast.Constant) and value.value in (None, False, 0, "")) \
        or (isinstance(value, (ast.List, ast.Tuple, ast.Set)) and not value.elts) \
        or (isinstance(value, ast.UnaryOp) and isinstance(value.operand, ast.Constant))


class _File:
    """One parsed file and the indexes the rules share."""

    def __init__(self, text: str, tree: ast.Module):
        self.text, self.tree = text, tree
        self.lines = text.splitlines(keepends=True)
        self.protected = protected_lines(text, tree)
        self.parents: dict[ast.AST, ast.AST] = {}
        self.starts: dict[int, ast.stmt] = {}  # line → the outermost statement starting on it
        self.on_line: dict[int, list[ast.AST]] = {}  # line → the expressions wholly on it
        self.functions = []
        self.attrs: dict[str, list[str]] = {}  # object name → the attributes used on it (not called)
        self.keys: list[str] = []  # string keys of subscripts and dict literals
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.append(node)
            if isinstance(node, ast.stmt):
                cur = self.starts.get(node.lineno)
                if cur is None or node.col_offset < cur.col_offset:
                    self.starts[node.lineno] = node
            elif isinstance(node, ast.expr) and node.lineno == node.end_lineno:
                self.on_line.setdefault(node.lineno, []).append(node)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                self.attrs.setdefault(node.value.id, []).append(node.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name):
                self.attrs.setdefault("()" + node.func.value.id, []).append(node.func.attr)
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and isinstance(node.slice.value, str):
                self.keys.append(node.slice.value)
            elif isinstance(node, ast.Dict):
                self.keys += [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        step = next((_indent(l) for l in self.lines if _indent(l) and l.strip()), "    ")
        self.step = step if step.strip(" \t") == "" else "    "

    def splice(self, first: int, last: int, new: list[str]) -> str:
        """The text with lines first..last (1-based, inclusive; last = first - 1 inserts) replaced."""
        before = self.lines[: first - 1]
        if first - 1 == len(self.lines) and before and not before[-1].endswith("\n"):
            before = before[:-1] + [before[-1] + "\n"]
        return "".join(before) + "".join(new) + "".join(self.lines[last:])

    def replace_span(self, node: ast.AST, new: str) -> str:
        line = self.lines[node.lineno - 1]
        s, e = _cols(line, node)
        return self.splice(node.lineno, node.lineno, [line[:s] + new + line[e:]])

    def segment(self, node: ast.AST) -> str:
        s, e = _cols(self.lines[node.lineno - 1], node)
        return self.lines[node.lineno - 1][s:e]

    def owns(self, stmt: ast.stmt) -> bool:
        """The statement has its lines to itself (nothing before it, only a comment after it)."""
        first, last = self.lines[stmt.lineno - 1], self.lines[stmt.end_lineno - 1]
        tail = last[_char(last, stmt.end_col_offset):].strip()
        return not first[: _char(first, stmt.col_offset)].strip() and (not tail or tail.startswith("#"))

    def block(self, stmt: ast.stmt) -> list[ast.stmt] | None:
        parent = self.parents.get(stmt)
        for field in ("body", "orelse", "finalbody"):
            items = getattr(parent, field, None)
            if isinstance(items, list) and any(s is stmt for s in items):
                return items
        return None

    def reindentable(self, nodes: list[ast.stmt]) -> bool:
        """No string of these statements spans lines (re-indenting them would change it)."""
        return not any(isinstance(n, (ast.Constant, ast.JoinedStr)) and n.lineno != n.end_lineno
                       for stmt in nodes for n in ast.walk(stmt))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        while node in self.parents:
            node = self.parents[node]
            yield node


class ShapeMaker:
    """The shapes for suspect lines; `maker` is the CandidateMaker (its sources, request,
    failure messages and exceptions)."""

    def __init__(self, maker):
        self.sources: Sources = maker.sources
        self.request: str = maker.request
        self.failures: str = maker.failure_text
        tests = [self.sources.text(p) or "" for p in self.sources.paths if is_test_path(p) and p.endswith(".py")]
        self.test_text = "\n".join(tests)[:200_000]
        # the exceptions the tests or the request expect (not those the code raised by mistake)
        expected = re.findall(r"DID NOT RAISE[^A-Za-z]*(?:class ')?(\w+)", self.failures) + \
            re.findall(r"raises\(\s*([A-Z]\w*)", self.test_text) + _EXC.findall(self.request)
        self.exceptions = [e for e in dict.fromkeys(expected) if e not in ("NameError", "AttributeError", "AssertionError")]
        self.matches = dict(re.findall(r"raises\(\s*([A-Z]\w*)\s*,\s*match\s*=\s*r?[\"']([^\"'\\]{1,60})[\"']",
                                       self.test_text))
        self.undefined = list(dict.fromkeys(_NAME_ERROR.findall(self.failures)))
        self.test_keys = list(dict.fromkeys(re.findall(r"[\"']([A-Za-z_][A-Za-z0-9_]{0,29})[\"']", self.test_text)))
        self.none_result = bool(re.search(r"\bNone\b|NoneType", self.failures))
        self._files: dict[str, _File | None] = {}
        self._returned: set[tuple[str, int]] = set()

    def file(self, path: str) -> _File | None:
        if path not in self._files:
            text, tree = self.sources.text(path), self.sources.tree(path)
            self._files[path] = _File(text, tree) if text is not None and tree is not None else None
        return self._files[path]

    def shapes(self, path: str, line_no: int, specific: bool = False) -> Iterator[tuple[str, str, str]]:
        """(new file text, rule, description) for the suspect line; each parses and differs.
        `specific`: only the rules that fire on a strong precondition and make few candidates."""
        f = self.file(path) if path.endswith(".py") else None
        if f is None or not 1 <= line_no <= len(f.lines) or line_no in f.protected:
            return
        makers = (self._specific if specific else self._makers)(f, path, line_no, f.starts.get(line_no))
        seen = {f.text}
        made = 0
        for rule_out in makers:
            for new_text, rule, description in rule_out:
                if new_text in seen:
                    continue
                seen.add(new_text)
                try:  # a `return` or `break` in the wrong place parses, but does not compile
                    compile(new_text, path, "exec", dont_inherit=True) if rule in ("return", "loop_exit") \
                        else ast.parse(new_text)
                except (SyntaxError, ValueError):
                    continue
                yield new_text, rule, description
                made += 1
                if made >= PER_LINE:
                    return

    def _specific(self, f: _File, path: str, line_no: int, stmt: ast.stmt | None) -> list:
        return []  # the rules of strong preconditions and few candidates: shapes_more.py's

    def _makers(self, f: _File, path: str, line_no: int, stmt: ast.stmt | None) -> list:
        """The rules for one line, in order (shapes_more.py's `MoreShapes` puts its own first)."""
        return [self._imports(f, path, line_no), self._raise_return(f, stmt), self._bitwise(f, line_no),
                self._containers(f, line_no), self._unwrap(f, line_no), self._references(f, line_no),
                self._returns(f, path, stmt), self._unguard(f, stmt), self._loop_exit(f, stmt),
                self._updates(f, stmt), self._recursion(f, stmt), self._delete(f, stmt),
                self._wrap(f, stmt), self._guard(f, stmt)]

    # --- rules: each yields (new text, rule, description) --------------------------------

    def _imports(self, f: _File, path: str, line_no: int):
        """NameError for a name this line uses: import it (a stdlib module or name, or a name
        another module of the project defines) after the existing imports."""
        used = {n.id for n in f.on_line.get(line_no, ()) if isinstance(n, ast.Name)}
        for name in (n for n in self.undefined if n in used):
            lines = []
            if name in STDLIB_MODULES:
                lines.append(f"import {name}")
            if name in STDLIB_NAMES:
                lines.append(f"from {STDLIB_NAMES[name]} import {name}")
            for other in self._defined_in(name, path):
                lines.append(f"from {other} import {name}")
            at = self._import_line(f)
            ending = _ending(f.lines[0]) if f.lines else "\n"
            for text in lines[:3]:
                yield f.splice(at, at - 1, [text + ending]), "import", f"add `{text}`"

    def _defined_in(self, name: str, path: str) -> list[str]:
        out = []
        for other in self.sources.paths:
            if other == path or not other.endswith(".py") or is_test_path(other):
                continue
            tree = self.sources.tree(other) if name in (self.sources.text(other) or "") else None
            if tree is None:
                continue
            for node in tree.body:
                names = [node.name] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    else [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
                if name in names:
                    module = other[:-3].replace("/", ".")
                    module = module[4:] if module.startswith("src.") else module
                    out.append(module[:-9] if module.endswith(".__init__") else module)
                    folder = other.rsplit("/", 1)[0] if "/" in other else ""
                    if folder and path.startswith(folder + "/") and "/" not in path[len(folder) + 1:]:
                        out.append("." + other.rsplit("/", 1)[1][:-3])  # the same package
                    break
        return out[:2]

    def _import_line(self, f: _File) -> int:
        """The line after the module's docstring and its first imports."""
        last = 0
        for i, node in enumerate(f.tree.body):
            if not (isinstance(node, (ast.Import, ast.ImportFrom)) or (i == 0 and node.lineno in f.protected)):
                break
            last = node.end_lineno or node.lineno
        while last == 0 and last < len(f.lines) and f.lines[last].startswith("#"):
            last += 1
        return last + 1

    def _raise_return(self, f: _File, stmt: ast.stmt | None):
        """`return None` (or an empty value) ↔ `raise X(...)` where the tests or the request
        expect X; a raise of another exception becomes X."""
        if stmt is None or not self.exceptions or not f.owns(stmt) or stmt.lineno != stmt.end_lineno:
            return
        line = f.lines[stmt.lineno - 1]
        fn = _enclosing(f.functions, stmt.lineno)
        at = comment_start(line.rstrip("\r\n"))
        indent, ending = _indent(line), ("  " + line.rstrip("\r\n")[at:] if at else "") + _ending(line)
        if fn is None:
            return
        if isinstance(stmt, ast.Return) and _empty_value(stmt.value):
            for exc in self.exceptions[:3]:
                message = self.matches.get(exc) or f"invalid input to {fn.name}"
                new = f"raise {exc}({message!r})"
                yield f.splice(stmt.lineno, stmt.lineno, [indent + new + ending]), "raise", \
                    f"{line.strip()} → {new}"
        elif isinstance(stmt, ast.Raise) and stmt.exc is not None:
            yield f.splice(stmt.lineno, stmt.lineno, [indent + "return None" + ending]), "raise", \
                f"{line.strip()} → return None"
            called = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(called, ast.Name):
                for exc in (e for e in self.exceptions[:3] if e != called.id):
                    yield f.replace_span(called, exc), "raise", f"raise {called.id} → raise {exc}"

    def _bitwise(self, f: _File, line_no: int):
        """`^` ↔ `|` ↔ `&`, `<<` ↔ `>>`, and the augmented assignments swapped among themselves;
        `x = e` ↔ `x += e`."""
        line = f.lines[line_no - 1]
        body = line.rstrip("\r\n")
        stmt = f.starts.get(line_no)
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(body.lstrip()).readline))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            tokens = []
        shift = len(body) - len(body.lstrip())
        assigned = False
        for tok in tokens:
            if tok.type != tokenize.OP or tok.start[0] != 1 or (tok.string == "=" and assigned):
                continue
            s, e = tok.start[1] + shift, tok.end[1] + shift
            others = BITWISE.get(tok.string, ())
            if tok.string in AUG_OPS:
                others = tuple(o for o in AUG_OPS if o != tok.string and o not in TAKEN_AUG.get(tok.string, ()))
                if isinstance(stmt, ast.AugAssign) and stmt.lineno == line_no:
                    others += ("=",)
            elif tok.string == "=" and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], (ast.Name, ast.Attribute, ast.Subscript)) \
                    and stmt.lineno == line_no and _char(line, stmt.targets[0].end_col_offset) <= s:
                others = ("+=", "-=")
            for other in others:
                rule = "bitwise" if tok.string in BITWISE else "augment"
                yield f.splice(line_no, line_no, [body[:s] + other + body[e:] + _ending(line)]), rule, \
                    f"{body.strip()} → {(body[:s] + other + body[e:]).strip()}"
            assigned = assigned or tok.string == "="  # only the first `=` is the assignment's

    def _containers(self, f: _File, line_no: int):
        """`[]` ↔ `[[]]`, `{}` ↔ `[]`, `()`."""
        for node in f.on_line.get(line_no, ()):
            alts: tuple[str, ...] = ()
            if isinstance(node, ast.List) and not node.elts:
                alts = ("[[]]", "{}", "()")
            elif isinstance(node, ast.List) and len(node.elts) == 1 and isinstance(node.elts[0], ast.List) \
                    and not node.elts[0].elts:
                alts = ("[]",)
            elif isinstance(node, ast.Dict) and not node.keys:
                alts = ("[]", "set()")
            elif isinstance(node, ast.Tuple) and not node.elts and f.segment(node) == "()":
                alts = ("[]",)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("set", "dict", "list") \
                    and not node.args and not node.keywords:
                alts = {"set": ("{}", "[]"), "dict": ("[]",), "list": ("[[]]",)}[node.func.id]
            old = f.segment(node)
            for alt in alts:
                yield f.replace_span(node, alt), "container", f"{old} → {alt}"

    def _unwrap(self, f: _File, line_no: int):
        """`max(x)`, `len(x)`, `int(x)`, ... → `x` (each argument of a two-argument max/min);
        `yield f(x)` → `yield x`."""
        for node in f.on_line.get(line_no, ()):
            if isinstance(node, ast.Yield) and isinstance(node.value, ast.Call) and len(node.value.args) == 1 \
                    and not node.value.keywords and not isinstance(node.value.args[0], ast.Starred):
                arg = f.segment(node.value.args[0])
                yield f.replace_span(node.value, arg), "yield", f"yield {f.segment(node.value)} → yield {arg}"
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in UNWRAP
                    and not node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
                continue
            if len(node.args) == 1 or (node.func.id in ("max", "min") and len(node.args) == 2):
                for arg in node.args:
                    text = f.segment(arg)
                    yield f.replace_span(node, text), "unwrap", f"{f.segment(node)} → {text}"

    def _references(self, f: _File, line_no: int):
        """An attribute replaced by another used on the same object in this file; a dict key
        by another key of the file or a string of the tests."""
        made = 0
        for node in f.on_line.get(line_no, ()):
            if made >= 8:
                return
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                base = node.value.id
                called = getattr(f.parents.get(node), "func", None) is node
                others = f.attrs.get("()" + base, []) if called else \
                    [a for a in f.attrs.get(base, []) if a not in f.attrs.get("()" + base, [])]
                for other in list(dict.fromkeys(o for o in others if o != node.attr))[:4]:
                    made += 1
                    yield f.replace_span(node, f"{base}.{other}"), "attr", f"{base}.{node.attr} → {base}.{other}"
            key = None
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and isinstance(node.slice.value, str):
                key = node.slice
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("get", "pop", "setdefault") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                key = node.args[0]
            quote = f.segment(key)[:1] if key is not None else ""
            for other in [k for k in dict.fromkeys(f.keys + self.test_keys) if k != key.value and k.isidentifier()
                          ][:4] if quote in ("'", '"') else ():
                made += 1
                yield f.replace_span(key, quote + other + quote), "key", f"[{key.value!r}] → [{other!r}]"

    def _returns(self, f: _File, path: str, stmt: ast.stmt | None):
        """The tests got None: `return <name>` at the end of the function, for the names it
        assigns (the last assigned first) and its parameters."""
        fn = _enclosing(f.functions, stmt.lineno) if stmt is not None else None
        if fn is None or not self.none_result or (path, fn.lineno) in self._returned or fn.name == "__init__":
            return
        self._returned.add((path, fn.lineno))
        if isinstance(fn.body[-1], (ast.Return, ast.Raise)) or fn.body[0].lineno == fn.lineno or any(
                isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn)):
            return
        stores = sorted(((n.lineno, n.id) for n in ast.walk(fn) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store) and _enclosing(f.functions, n.lineno) is fn), reverse=True)
        names = [name for _, name in stores] + [a.arg for a in fn.args.args if a.arg not in ("self", "cls")]
        first = f.lines[fn.body[0].lineno - 1]
        for name in list(dict.fromkeys(names))[:4]:
            yield f.splice(fn.end_lineno + 1, fn.end_lineno, [_indent(first) + f"return {name}" + _ending(first)]), \
                "return", f"add `return {name}` at the end of {fn.name}()"

    def _unguard(self, f: _File, stmt: ast.stmt | None):
        """`if cond:` removed, its body kept (dedented); an `else` dropped with it."""
        if not isinstance(stmt, ast.If) or stmt.orelse or not f.owns(stmt) or stmt.body[0].lineno == stmt.lineno \
                or stmt.test.end_lineno != stmt.lineno or not f.reindentable(stmt.body):
            return
        line = f.lines[stmt.lineno - 1]
        if not line.lstrip().startswith("if "):
            return
        cut = len(_indent(f.lines[stmt.body[0].lineno - 1])) - len(_indent(line))
        body = [l[cut:] if l[:cut].strip() == "" else l for l in f.lines[stmt.lineno: stmt.end_lineno]]
        at = comment_start(line.rstrip("\r\n"))  # the `if` line's comment stays, on a line of its own
        kept = [_indent(line) + line.rstrip("\r\n")[at:] + _ending(line)] if at is not None else []
        yield f.splice(stmt.lineno, stmt.end_lineno, kept + body), "unguard", f"drop `{line.strip()}`, keep its body"

    def _loop_exit(self, f: _File, stmt: ast.stmt | None):
        """`break` / `continue` after the last statement of a block inside a loop."""
        if stmt is None:
            return
        anchors = [stmt] + ([stmt.body[-1]] if isinstance(stmt, ast.If) else [])
        for anchor in anchors:
            block = f.block(anchor)
            scope = next((a for a in f.ancestors(anchor) if isinstance(
                a, (ast.For, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))), None)
            if not isinstance(scope, (ast.For, ast.While)) or block is None or block[-1] is not anchor \
                    or not isinstance(anchor, SIMPLE_STMTS) or isinstance(anchor, EXIT_STMTS) \
                    or isinstance(f.parents.get(anchor), (ast.For, ast.While)) or not f.owns(anchor):
                continue
            line = f.lines[anchor.lineno - 1]
            for word in ("break", "continue"):
                yield f.splice(anchor.end_lineno + 1, anchor.end_lineno, [_indent(line) + word + _ending(line)]), \
                    "loop_exit", f"add `{word}` after line {anchor.end_lineno}"

    def _updates(self, f: _File, stmt: ast.stmt | None):
        """Inside a `while` loop: an update of a name its condition reads (`i += 1`,
        `lo = mid + 1`, adapted from the function's own updates), after the suspect statement
        or at the end of the loop body."""
        if stmt is None or not f.owns(stmt):
            return
        loop = next((a for a in f.ancestors(stmt) if isinstance(a, (ast.While, ast.For))), None)
        fn = _enclosing(f.functions, stmt.lineno)
        if loop is None or fn is None:
            return
        called = {id(n.func) for n in ast.walk(loop.test) if isinstance(n, ast.Call)} if isinstance(loop, ast.While) else ()
        cond = list(dict.fromkeys(n.id for n in ast.walk(loop.test) if isinstance(n, ast.Name)
                                  and id(n) not in called)) if isinstance(loop, ast.While) else []
        updates = []
        for node in ast.walk(fn):
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.lineno == node.end_lineno:
                updates.append(f.segment(node))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in cond and node.lineno == node.end_lineno:
                value = f.segment(node.value)  # `lo = mid + 1` → `hi = mid`, `hi = mid - 1`, ...
                m = re.fullmatch(r"(.+?)\s*([+-])\s*1", value)
                values = [value, m.group(1), f"{m.group(1)} {'-' if m.group(2) == '+' else '+'} 1"] if m \
                    else [value, f"{value} + 1", f"{value} - 1"]
                updates += [f"{name} = {v}" for name in cond for v in values]
        updates += [f"{name} {op} 1" for name in cond for op in ("+=", "-=")]
        spots = []
        if stmt is not loop and isinstance(stmt, SIMPLE_STMTS) and not isinstance(stmt, EXIT_STMTS):
            spots.append((stmt.end_lineno + 1, _indent(f.lines[stmt.lineno - 1])))
        last = loop.body[-1]
        if not isinstance(last, EXIT_STMTS) and loop.body[0].lineno != loop.lineno:
            spots.append((last.end_lineno + 1, _indent(f.lines[loop.body[0].lineno - 1])))
        made = 0
        for at, indent in dict.fromkeys(spots):
            near = {l.strip() for l in f.lines[max(0, at - 3): at + 1]}
            for text in dict.fromkeys(updates):
                if text in near:
                    continue
                ending = _ending(f.lines[at - 2])
                yield f.splice(at, at - 1, [indent + text + ending]), "update", f"add `{text}` at line {at}"
                made += 1
                if made >= 10:
                    return

    def _recursion(self, f: _File, stmt: ast.stmt | None):
        """A recursive call statement of the function copied after the suspect statement (and
        with left/right swapped)."""
        if stmt is None or not isinstance(stmt, SIMPLE_STMTS) or not f.owns(stmt):
            return
        fn = _enclosing(f.functions, stmt.lineno)
        if fn is None:
            return
        copies = []
        for node in ast.walk(fn):
            if isinstance(node, SIMPLE_STMTS) and node.lineno == node.end_lineno and any(
                    isinstance(c, ast.Call) and (getattr(c.func, "id", None) == fn.name or getattr(c.func, "attr", None) == fn.name)
                    for c in ast.walk(node)):
                text = f.lines[node.lineno - 1].strip()
                swapped = re.sub(r"\b(left|right)\b", lambda m: "right" if m.group(1) == "left" else "left", text)
                copies += [text, swapped] if node is not stmt else [swapped] if swapped != text else []
        line = f.lines[stmt.lineno - 1]
        for text in list(dict.fromkeys(copies))[:6]:
            if "#" in text:
                text = text[: comment_start(text)].rstrip()
            yield f.splice(stmt.end_lineno + 1, stmt.end_lineno, [_indent(line) + text + _ending(line)]), \
                "recurse", f"add `{text}` after line {stmt.end_lineno}"

    def _delete(self, f: _File, stmt: ast.stmt | None):
        """The suspect statement deleted (a `pass` where it is alone in its block); its comment
        stays."""
        if stmt is None or not isinstance(stmt, SIMPLE_STMTS) or isinstance(stmt, ast.Pass) or not f.owns(stmt) \
                or any(i in f.protected for i in range(stmt.lineno, stmt.end_lineno + 1)):
            return  # (a comment inside it would go with it)
        block = f.block(stmt)
        if block is None:
            return
        line, last = f.lines[stmt.lineno - 1], f.lines[stmt.end_lineno - 1].rstrip("\r\n")
        comment = last[comment_start(last):] if comment_start(last) is not None else ""
        kept = ("pass" + (" " + comment if comment else "")) if len(block) == 1 else comment
        new = [_indent(line) + kept + _ending(f.lines[stmt.end_lineno - 1])] if kept else []
        yield f.splice(stmt.lineno, stmt.end_lineno, new), "delete", f"delete `{line.strip()}`"

    def _wrap(self, f: _File, stmt: ast.stmt | None):
        """An expression of the suspect statement (its value, or a call's argument) wrapped in
        max/min/abs/len/int/sorted/list."""
        if stmt is None or stmt.lineno != stmt.end_lineno:
            return
        targets = []
        value = getattr(stmt, "value", None)
        if isinstance(stmt, (ast.Return, ast.Assign, ast.AugAssign)) and value is not None:
            targets.append(value)
        for node in f.on_line.get(stmt.lineno, ()):
            if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in WRAPPERS):
                targets += node.args[:2]
        made = 0
        for node in dict.fromkeys(t for t in targets if not isinstance(t, (ast.Constant, ast.Starred, ast.JoinedStr))):
            text = f.segment(node)
            inner = getattr(node, "func", None)
            for name in WRAPPERS:
                if isinstance(inner, ast.Name) and inner.id == name:
                    continue
                new = f"{name}(0, {text})" if name == "max" and isinstance(node, (ast.BinOp, ast.UnaryOp)) \
                    else f"{name}({text})"
                yield f.replace_span(node, new), "wrap", f"{text} → {new}"
                made += 1
            if made >= 14:
                return

    def _guard(self, f: _File, stmt: ast.stmt | None):
        """`if <cond>:` around the suspect statement (not the first of its function): a name it
        uses tested for truth or None, or compared with another name in scope."""
        fn = _enclosing(f.functions, stmt.lineno) if stmt is not None else None
        if fn is None or not isinstance(stmt, SIMPLE_STMTS) or not f.owns(stmt) or stmt is fn.body[0] \
                or (len(fn.body) > 1 and stmt is fn.body[1] and fn.body[0].lineno in f.protected) \
                or not f.reindentable([stmt]):
            return
        scope = [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
        scope += [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                  and n.lineno < stmt.lineno]
        scope = list(dict.fromkeys(scope))
        bases = {n.value.id for n in ast.walk(stmt) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
        used = [n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id in scope]
        used = sorted(dict.fromkeys(used), key=lambda n: n in bases)[:3]  # an object whose method is called: last
        conds = [c for n in used for c in [n, f"not {n}", f"{n} is not None"]
                 + [f"{n} {op} {b}" for b in scope[:6] if b != n for op in ("<", ">", "!=")]]
        line = f.lines[stmt.lineno - 1]
        indent = _indent(line)
        body = [f.step + l if l.strip() else l for l in f.lines[stmt.lineno - 1: stmt.end_lineno]]
        for cond in conds[:16]:
            yield f.splice(stmt.lineno, stmt.end_lineno, [indent + f"if {cond}:" + _ending(line)] + body), \
                "cond", f"if {cond}: around `{line.strip()}`"
