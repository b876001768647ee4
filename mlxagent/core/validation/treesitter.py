"""Tree-sitter parsing for the programming languages. Each grammar comes from its own PyPI package
(they ship the compiled grammar; nothing is fetched at run time). A grammar that will not load
means "no parser" for that kind; nothing here raises."""

from __future__ import annotations

import importlib
import threading

from .issues import SyntaxIssue, make_issue

# kind -> (module, function returning the language pointer)
GRAMMARS: dict[str, tuple[str, str]] = {
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "bash": ("tree_sitter_bash", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "css": ("tree_sitter_css", "language"),
    "html": ("tree_sitter_html", "language"),
}

# Past this many issues the rest add nothing: the file is broken either way.
MAX_ISSUES = 200

_FAILED = object()
_parsers: dict[str, object] = {}  # kind -> tree_sitter.Parser, or _FAILED
_lock = threading.Lock()  # a Parser is not safe to share between threads


def _parser(kind: str):
    cached = _parsers.get(kind)
    if cached is not None:
        return None if cached is _FAILED else cached
    parser = _FAILED
    try:
        module_name, function = GRAMMARS[kind]
        import tree_sitter

        grammar = importlib.import_module(module_name)
        language = tree_sitter.Language(getattr(grammar, function)())
        parser = tree_sitter.Parser(language)
    except Exception:
        parser = _FAILED
    _parsers[kind] = parser
    return None if parser is _FAILED else parser


def tree_sitter_issues(kind: str, data: bytes) -> list[SyntaxIssue] | None:
    """ERROR and MISSING nodes of `data` parsed as `kind`; None when the grammar is unavailable or
    anything goes wrong."""
    try:
        if kind not in GRAMMARS:
            return None
        with _lock:
            parser = _parser(kind)
            if parser is None:
                return None
            tree = parser.parse(data)
        return _collect(tree.root_node, data)
    except Exception:
        return None


def _collect(root, data: bytes) -> list[SyntaxIssue]:
    issues: list[SyntaxIssue] = []
    if not root.has_error:
        return issues
    cursor = root.walk()
    while len(issues) < MAX_ISSUES:
        node = cursor.node
        descend = False
        if node.is_missing:
            issues.append(_issue(node, data, _missing_message(node)))
        elif node.is_error:
            issues.append(_issue(node, data, "syntax error"))
        elif node.has_error:
            descend = True
        if descend and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return issues
    return issues


def _missing_message(node) -> str:
    kind = node.type or "token"
    return f"missing {kind}" if node.is_named else f"missing '{kind}'"


def _issue(node, data: bytes, message: str) -> SyntaxIssue:
    row = node.start_point[0]
    start = node.start_byte
    line_start = data.rfind(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", "replace")) + 1
    return make_issue(row + 1, column, message)
