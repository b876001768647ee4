"""The repository as the candidate search reads it: file texts, ASTs and definitions (`Sources`),
which paths are tests (`is_test_path`), and the functions around a line."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable

from ..testing.detect import is_test_path  # noqa: F401 - which paths are tests, for the search

MAX_FILE_BYTES = 200_000  # larger files are not mutated


class Sources:
    """The repository's text files, read once (utf-8; anything else is left alone)."""

    def __init__(self, root: Path, files: Iterable[str]):
        self.root = Path(root)
        self.paths = sorted(files)
        self._text: dict[str, str | None] = {}
        self._trees: dict[str, ast.Module | None] = {}

    def text(self, path: str) -> str | None:
        if path not in self._text:
            try:
                data = (self.root / path).read_bytes()
                self._text[path] = None if len(data) > MAX_FILE_BYTES or b"\0" in data[:8192] \
                    else data.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                self._text[path] = None
        return self._text[path]

    def lines(self, path: str) -> list[str]:
        text = self.text(path)
        return text.splitlines(keepends=True) if text is not None else []

    def tree(self, path: str) -> ast.Module | None:
        """The file's syntax tree, parsed once (callers read it; none changes it)."""
        if path not in self._trees:
            text = self.text(path) if path.endswith(".py") else None
            try:
                self._trees[path] = ast.parse(text) if text is not None else None
            except (SyntaxError, ValueError):
                self._trees[path] = None
        return self._trees[path]

    def functions(self, path: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        tree = self.tree(path)
        if tree is None:
            return []
        return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]

    def definitions(self, name: str) -> list[tuple[str, ast.AST]]:
        """(path, node) of every function or class called `name` outside the tests."""
        out = []
        for path in self.paths:
            if is_test_path(path) or not path.endswith(".py"):
                continue
            tree = self.tree(path)
            if tree is None:
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                    out.append((path, node))
        return out


def _enclosing(functions, line: int):
    best = None
    for fn in functions:
        if fn.lineno <= line <= (fn.end_lineno or fn.lineno) and (best is None or fn.lineno > best.lineno):
            best = fn
    return best


def _body_lines(node: ast.AST) -> range:
    body = getattr(node, "body", [])
    start = body[0].lineno if body else node.lineno
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str) and len(body) > 1:
        start = body[1].lineno  # past the docstring
    return range(start, (node.end_lineno or node.lineno) + 1)
