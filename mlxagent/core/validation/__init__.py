"""The syntax gate run on every edit: parse the file before and after, and refuse an edit that
leaves a parseable file unparseable (or adds errors to a broken one).

Python, JSON, TOML, YAML and INI use the standard library (and PyYAML); the common programming
languages use tree-sitter grammars. Files no parser covers always pass. Nothing here raises, and
nothing here imports from the rest of mlxagent."""

from __future__ import annotations

from .gate import syntax_problem
from .issues import SyntaxIssue
from .kinds import kind_of
from .parsers import parse_issues

__all__ = ["SyntaxIssue", "kind_of", "parse_issues", "syntax_problem"]
