"""The candidate search's view of files in the languages tree-sitter parses (JavaScript, TypeScript,
Go, Rust, Java, C, ...): a parsed file (`TreeFile`, one per path through `tree_file()`), its
functions and classes (`ts_functions()`, `ts_definitions()`), the names in scope at a line, and
whether an edited text still parses as well as the original (`TreeFile.parses()`).

The grammars and parsers are the syntax gate's (core/validation/treesitter.py); nothing here
raises on a file it cannot parse: such a file has no functions and gets no candidates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..validation.kinds import kind_of
from ..validation.treesitter import GRAMMARS, _lock, _parser
from .sources import Sources, is_test_path

FUNCTION_TYPES = frozenset((
    "function_declaration", "function_expression", "function", "arrow_function", "method_definition",
    "generator_function_declaration", "generator_function", "function_item", "method_declaration",
    "function_definition", "method", "singleton_method", "constructor_declaration", "func_literal",
    "closure_expression", "lambda_expression", "function_signature_item"))
CLASS_TYPES = frozenset(("class_declaration", "class", "abstract_class_declaration", "class_specifier",
                         "impl_item", "struct_item", "interface_declaration"))
COMMENT_TYPES = frozenset(("comment", "line_comment", "block_comment", "doc_comment"))
# where a name is declared (its identifier is not a use of a variable)
DECLARING_PARENTS = frozenset(("variable_declarator", "formal_parameters", "required_parameter",
                               "optional_parameter", "parameter_declaration", "parameter", "short_var_declaration",
                               "let_declaration", "catch_clause", "for_in_statement", "import_specifier",
                               "shorthand_property_identifier_pattern", "assignment_pattern", "rest_pattern",
                               "object_pattern", "array_pattern", "pair_pattern", "import_clause",
                               "namespace_import", "export_specifier", "labeled_statement", "break_statement",
                               "continue_statement"))


def language_of(path: str) -> str | None:
    """The tree-sitter grammar for `path` (None: Python, or nothing tree-sitter parses)."""
    kind = kind_of(path)
    return kind if kind in GRAMMARS and kind not in ("css", "html") else None


def _parse(kind: str, data: bytes):
    with _lock:
        parser = _parser(kind)
        return None if parser is None else parser.parse(data)


def _error_count(node) -> int:
    if not node.has_error:
        return 0
    if node.is_error or node.is_missing:
        return 1
    return sum(_error_count(c) for c in node.children)


@dataclass
class TsFunction:
    """One function (or method, or arrow function) of a parsed file."""

    name: str
    lineno: int  # 1-based, the first line
    end_lineno: int
    node: object = field(repr=False, compare=False)

    @property
    def lines(self) -> range:
        return range(self.lineno, self.end_lineno + 1)


@dataclass
class TsClass:
    name: str
    lineno: int
    end_lineno: int
    methods: list[TsFunction]


class TreeFile:
    """One file parsed by tree-sitter: its bytes, tree and how many syntax errors it has."""

    def __init__(self, text: str, kind: str, tree):
        self.text, self.kind, self.tree = text, kind, tree
        self.data = text.encode("utf-8")
        self.errors = _error_count(tree.root_node)
        self._functions: list[TsFunction] | None = None
        self.memo: dict[str, object] = {}  # what the rules compute once per file

    def node_text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def parses(self, new_text: str) -> bool:
        """`new_text` has no more ERROR and MISSING nodes than this file (none, for a clean file)."""
        tree = _parse(self.kind, new_text.encode("utf-8"))
        return tree is not None and _error_count(tree.root_node) <= self.errors

    def edit(self, spans: list[tuple[int, int, str]]) -> str:
        """The text with byte spans [start, end) replaced (spans must not overlap)."""
        out, at = [], 0
        for start, end, new in sorted(spans):
            out.append(self.data[at:start])
            out.append(new.encode("utf-8"))
            at = end
        out.append(self.data[at:])
        return b"".join(out).decode("utf-8", "replace")

    def walk(self) -> Iterator:
        """Every node, in document order."""
        return _walk(self.tree.root_node)

    def starting_on(self, line: int) -> list:
        """The nodes that start on 1-based `line`, outermost first, comments left out."""
        out = []
        row = line - 1
        stack = [self.tree.root_node]
        while stack:
            node = stack.pop()
            if node.end_point[0] < row or node.start_point[0] > row or node.type in COMMENT_TYPES:
                continue
            if node.start_point[0] == row:
                out.append(node)
            stack.extend(reversed(node.children))
        return out

    def functions(self) -> list[TsFunction]:
        if self._functions is None:
            self._functions = [TsFunction(_function_name(self, n), n.start_point[0] + 1, n.end_point[0] + 1, n)
                               for n in self.walk() if n.type in FUNCTION_TYPES]
        return self._functions

    def classes(self) -> list[TsClass]:
        out = []
        for n in self.walk():
            if n.type in CLASS_TYPES:
                name = n.child_by_field_name("name") or n.child_by_field_name("type")
                start, end = n.start_point[0] + 1, n.end_point[0] + 1
                methods = [f for f in self.functions() if start <= f.lineno and f.end_lineno <= end]
                out.append(TsClass(self.node_text(name) if name is not None else "", start, end, methods))
        return out

    def enclosing(self, line: int) -> TsFunction | None:
        """The innermost function around 1-based `line`."""
        best = None
        for fn in self.functions():
            if fn.lineno <= line <= fn.end_lineno and (best is None or fn.lineno >= best.lineno):
                best = fn
        return best

    def scope_names(self, line: int, limit: int = 8) -> list[str]:
        """Variables and parameters declared in the functions around `line` (the nearest
        declarations first), then the file's top-level declarations."""
        found: list[tuple[int, str]] = []
        for fn in self.functions():
            if fn.lineno <= line <= fn.end_lineno:
                for node in _walk(fn.node):
                    if node.type == "identifier" and _declares(node) and node.start_point[0] + 1 <= line:
                        found.append((abs(line - 1 - node.start_point[0]), self.node_text(node)))
        names = [n for _, n in sorted(found)]
        for child in self.tree.root_node.named_children:
            for node in _walk(child):
                if node.type in FUNCTION_TYPES:
                    break
                if node.type == "identifier" and node.parent is not None \
                        and node.parent.type == "variable_declarator" and node.start_point[0] + 1 < line:
                    names.append(self.node_text(node))
        return list(dict.fromkeys(names))[:limit]


def _walk(node) -> Iterator:
    """`node` and every node below it, in document order (a cursor: no recursion)."""
    cursor = node.walk()
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent() or cursor.node == node:
                return


def _declares(node) -> bool:
    """`node` (an identifier) declares a name rather than uses one."""
    parent = node.parent
    if parent is None:
        return False
    if parent.type == "variable_declarator":
        return parent.child_by_field_name("name") == node
    if parent.type in ("assignment_pattern",):
        return parent.child_by_field_name("left") == node
    if parent.type in FUNCTION_TYPES:
        return parent.child_by_field_name("parameter") == node  # x => ...
    return parent.type in DECLARING_PARENTS and parent.type not in ("break_statement", "continue_statement",
                                                                   "labeled_statement")


def _function_name(f: TreeFile, node) -> str:
    name = node.child_by_field_name("name")
    if name is not None:
        return f.node_text(name)
    parent = node.parent
    if parent is not None:
        for fld in ("name", "left", "key"):
            other = parent.child_by_field_name(fld)
            if other is not None and other != node:
                text = f.node_text(other)
                return text.rsplit(".", 1)[-1]
    declarator = node.child_by_field_name("declarator")  # C and C++: int name(...) {...}
    while declarator is not None:
        if declarator.type in ("identifier", "field_identifier"):
            return f.node_text(declarator)
        declarator = declarator.child_by_field_name("declarator")
    return ""


def tree_file(sources: Sources, path: str) -> TreeFile | None:
    """`path` parsed (cached per Sources); None when no grammar covers it or it cannot be read."""
    cache = sources.__dict__.setdefault("_tree_files", {})
    if path in cache:
        return cache[path]
    kind = language_of(path)
    text = sources.text(path) if kind is not None else None
    tree = _parse(kind, text.encode("utf-8")) if text is not None else None
    cache[path] = TreeFile(text, kind, tree) if tree is not None else None
    return cache[path]


def ts_functions(sources: Sources, path: str) -> list[TsFunction]:
    f = tree_file(sources, path)
    return f.functions() if f is not None else []


def ts_definitions(sources: Sources, name: str) -> list[tuple[str, TsFunction | TsClass]]:
    """(path, function or class) of every definition called `name` outside the tests."""
    out: list[tuple[str, TsFunction | TsClass]] = []
    if not name:
        return out
    for path in sources.paths:
        if is_test_path(path) or language_of(path) is None:
            continue
        f = tree_file(sources, path)
        if f is None:
            continue
        out += [(path, fn) for fn in f.functions() if fn.name == name]
        out += [(path, c) for c in f.classes() if c.name == name]
    return out


def called_in(sources: Sources, path: str, fn: TsFunction) -> list[str]:
    """Names of the functions and methods `fn` calls, in order."""
    f = tree_file(sources, path)
    if f is None:
        return []
    names = []
    for node in _walk(fn.node):
        if node.type in ("call_expression", "new_expression", "call", "method_invocation", "invocation_expression"):
            target = node.child_by_field_name("function") or node.child_by_field_name("constructor") \
                or node.child_by_field_name("method") or node.child_by_field_name("name")
            if target is None:
                continue
            if target.type in ("member_expression", "field_expression", "selector_expression"):
                target = target.child_by_field_name("property") or target.child_by_field_name("field") or target
            names.append(f.node_text(target))
    return list(dict.fromkeys(names))
