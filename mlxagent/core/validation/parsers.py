"""The parsers behind the syntax gate, one per kind of file, and `parse_issues` to pick one.

Every parser takes the decoded text (or the raw bytes, for tree-sitter) and returns the list of
issues it found: [] when the text parses. Any surprise inside a parser (a recursion limit, a
library that will not import) means "no parser" (None), never an exception."""

from __future__ import annotations

import configparser
import json
import re
import warnings
from typing import Callable

from .issues import SyntaxIssue, make_issue
from .kinds import kind_of
from .treesitter import GRAMMARS, tree_sitter_issues

_BOM = b"\xef\xbb\xbf"


def parse_issues(path: str, data: bytes) -> list[SyntaxIssue] | None:
    """The syntax errors of `data` as the file `path` (chosen by extension / file name). [] = parses.
    None = no parser for this kind of file (unknown extension, binary, not UTF-8 decodable)."""
    try:
        kind = kind_of(path)
        if kind is None or not isinstance(data, (bytes, bytearray, memoryview)):
            return None
        raw = bytes(data)
        if raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if b"\x00" in raw:
            return None  # binary
        text = raw.decode("utf-8")
        if kind in GRAMMARS:
            return _tree_sitter(kind, raw)
        parser = _TEXT_PARSERS.get(kind)
        if parser is None:
            return None
        return parser(text)
    except Exception:
        return None


def _tree_sitter(kind: str, raw: bytes) -> list[SyntaxIssue] | None:
    issues = tree_sitter_issues(kind, raw)
    if kind == "c" and issues:
        # a .h file is as often C++ as C: take whichever grammar finds it cleaner
        as_cpp = tree_sitter_issues("cpp", raw)
        if as_cpp is not None and len(as_cpp) < len(issues):
            return as_cpp
    return issues


def python_issues(text: str) -> list[SyntaxIssue]:
    """CPython's own compiler; it stops at the first error, so there is at most one issue."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning (invalid escapes, `is` with a literal)
            compile(text, "<edit>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return [make_issue(error.lineno, error.offset, error.msg or "invalid syntax")]
    return []


def json_issues(text: str) -> list[SyntaxIssue]:
    if not text.strip():
        return [make_issue(1, 1, "empty file")]
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return [make_issue(error.lineno, error.colno, error.msg)]
    return []


_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def toml_issues(text: str) -> list[SyntaxIssue]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line = getattr(error, "lineno", 0) or 0
        column = getattr(error, "colno", 0) or 0
        message = getattr(error, "msg", None) or message
        where = _TOML_WHERE.search(message)
        if where:
            line, column = int(where.group(1)), int(where.group(2))
            message = message[: where.start()]
        elif _TOML_END.search(message):
            line, column = text.count("\n") + 1, 0
            message = _TOML_END.sub("", message) + " (at end of file)"
        return [make_issue(line, column, message)]
    return []


def yaml_issues(text: str) -> list[SyntaxIssue]:
    """Scanning, parsing and composing (aliases) only: tags are not resolved into objects, so a
    custom tag such as CloudFormation's `!Ref` is not mistaken for a syntax error."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    loader = loader_class(text)
    try:
        while loader.check_node():
            loader.get_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        column = mark.column + 1 if mark is not None else 0
        return [make_issue(line, column, error.problem or error.context or "invalid YAML")]
    except yaml.YAMLError as error:  # ReaderError: a character YAML does not allow
        return [make_issue(0, 0, getattr(error, "reason", None) or str(error))]
    finally:
        try:
            loader.dispose()
        except Exception:
            pass
    return []


def ini_issues(text: str) -> list[SyntaxIssue]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as error:
        return [make_issue(error.lineno, 1, "missing section header")]
    except configparser.ParsingError as error:
        issues = []
        for entry in getattr(error, "errors", None) or []:
            line = entry[0] if isinstance(entry, tuple) and entry else 0
            issues.append(make_issue(line, 1, "line is not 'key = value' or '[section]'"))
        return issues or [make_issue(getattr(error, "lineno", 0), 1, "invalid INI")]
    except configparser.Error as error:
        return [make_issue(getattr(error, "lineno", 0), 1, getattr(error, "message", "") or str(error))]
    return []


_TEXT_PARSERS: dict[str, Callable[[str], list[SyntaxIssue]]] = {
    "python": python_issues,
    "json": json_issues,
    "toml": toml_issues,
    "yaml": yaml_issues,
    "ini": ini_issues,
}
