"""A scripted model: the test double for agent-loop tests. It replays given outputs.

Each script entry is a string, or a function `(messages, constraint) -> str` for
outputs that depend on what the agent asked (e.g. a sensible edit when forced).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterator

from mlxagent.core.events import GenerationStats
from mlxagent.core.llm import Chunk, Constraint

Script = str | Callable[[list[dict[str, Any]], Constraint | None], str]


class ScriptedModel:
    def __init__(self, script: list[Script], tool_format: str = "prompted_hermes", name: str = "scripted",
                 context_length: int = 8192, piece: int = 7, repeat_last: bool = False, delay: float = 0.0):
        self.script = list(script)
        self.tool_format = tool_format
        self.name = name
        self.context_length = context_length
        self.piece = piece
        self.repeat_last = repeat_last
        self.delay = delay
        self.calls: list[dict[str, Any]] = []  # what the agent asked, for assertions

    def count_tokens(self, messages, tools) -> int:
        return len(json.dumps(messages)) // 4 + len(json.dumps(tools)) // 4

    def stream(self, messages, tools, *, constraint: Constraint | None = None, max_tokens: int = 1024,
               cancel: threading.Event | None = None, **_) -> Iterator[Chunk]:
        self.calls.append({"messages": [dict(m) for m in messages], "constraint": constraint})
        if not self.script:
            text = "Done."
        elif len(self.script) == 1 and self.repeat_last:
            text = self.script[0]
        else:
            text = self.script.pop(0)
        if callable(text):
            text = text(messages, constraint)
        sent = 0
        for start in range(0, len(text), self.piece):
            if cancel is not None and cancel.is_set():
                yield Chunk("", "cancelled", GenerationStats(generated_tokens=sent))
                return
            if self.delay:
                threading.Event().wait(self.delay)
            yield Chunk(text[start:start + self.piece])
            sent += 1
        yield Chunk("", "stop", GenerationStats(prompt_tokens=self.count_tokens(messages, tools),
                                                generated_tokens=sent))


def hermes_call(name: str, **arguments: Any) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"


def allowed_call(constraint: Constraint) -> tuple[str, str, str]:
    """The first (tool, path, search line) the forced edit_file schema allows."""
    tool = next(t["function"] for t in constraint.tools if t["function"]["name"] == "edit_file")
    params = tool["parameters"]
    first = (params.get("anyOf") or [params])[0]["properties"]
    path = first["path"].get("const") or first["path"]["enum"][0]
    search = first["search"]
    return tool["name"], path, search["const"] if "const" in search else search["enum"][0]


class AlwaysReads:
    """Worst case: wants to read forever, but writes a sensible edit when constrained to one."""

    def __init__(self, files):
        self.files = files
        self.n = 0
        self.forced_constraints = []

    def __call__(self, messages, constraint):
        if constraint is not None and constraint.forced:
            self.forced_constraints.append(constraint)
            name, path, line = allowed_call(constraint)
            assert name == "edit_file"
            return hermes_call("edit_file", path=path, search=line, replace=line + "  # reviewed")
        self.n += 1
        return hermes_call("read_file", path=self.files[self.n % len(self.files)])
