"""A tool call in the transcript: one line (tool, main argument, result in brief) that
expands to the full arguments and result."""

from __future__ import annotations

import json
from typing import Any

from textual.content import Content
from textual.widgets import Collapsible, Static

# The argument that says the most about a call, per tool; others show as k=v.
MAIN_ARGUMENT = ("path", "pattern", "query", "folder", "directory")
SUMMARY_CHARS = 70


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def summarize_call(name: str, arguments: dict[str, Any]) -> str:
    """"read_file README.md" / "search pattern=foo path=src" — one short line."""
    for key in MAIN_ARGUMENT:
        if isinstance(arguments.get(key), str):
            others = [k for k in arguments if k != key and k in MAIN_ARGUMENT]
            extra = " ".join(f"{k}={_clip(str(arguments[k]), 20)}" for k in others)
            return _clip(f"{name} {arguments[key]} {extra}".strip(), SUMMARY_CHARS)
    args = " ".join(f"{k}={_clip(json.dumps(v) if not isinstance(v, str) else v, 24)}" for k, v in arguments.items())
    return _clip(f"{name} {args}".strip(), SUMMARY_CHARS)


def summarize_result(result: str, is_error: bool) -> str:
    lines = [line for line in result.splitlines() if line.strip()]
    if not lines:
        return "no output"
    if is_error or len(lines) == 1:
        return _clip(lines[0], SUMMARY_CHARS)
    return f"{len(lines)} lines"


class ToolCard(Collapsible):
    """Collapsed: `⚙ read_file README.md → 9 lines`; expanded: arguments and the whole result."""

    def __init__(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        self.call_id = call_id
        self.tool_name = name
        self.arguments = arguments
        self._call = summarize_call(name, arguments)
        self._result = Static(Content("running…"), classes="tool-result")
        args = Static(Content(json.dumps(arguments, indent=2, ensure_ascii=False)), classes="tool-args")
        super().__init__(args, self._result, title=Content(f"⚙ {self._call} …"), collapsed=True,
                         classes="tool-card -running")

    def finish(self, result: str, is_error: bool) -> None:
        mark = "✗" if is_error else "⚙"
        self.title = Content(f"{mark} {self._call} → {summarize_result(result, is_error)}")
        self.remove_class("-running")
        self.add_class("-error" if is_error else "-done")
        self._result.update(Content(result or "(no output)"))
