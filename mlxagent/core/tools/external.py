"""Tools from outside the agent (an MCP server's, mlxagent/mcp_client): their specs and their calls.

An external tool does nothing when the toolbox runs it: like a command tool it returns a
`CommandRequest` (purpose "mcp") that carries the call. The agent loop hands that request to
`run_external`, which asks the user's consent through the same gate as a command
(core/testing/gate.py: once / always / refuse with a reason) unless the tool says it only
reads, then makes the call and returns the text for the model.

The consent prompt shows `("mcp", "SERVER.tool", "<JSON arguments>")`; "always" allows the
tool itself (any arguments) in this repository, saved as `("mcp", "SERVER.tool")`.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..events import CommandFinished, Event
from ..testing.consent import ConsentNotSaved
from .base import CommandRequest, ToolContext, ToolResult, ToolSpec

PURPOSE = "mcp"
MAX_RESULT_CHARS = 8000  # what the model reads of one call's result

# invoke(arguments, cancel) -> (text, is_error); it must return (never raise) within its timeout.
Invoke = Callable[[dict[str, Any], threading.Event], "tuple[str, bool]"]


@dataclass(frozen=True)
class ExternalCall(CommandRequest):
    """One call of an external tool, for the loop to ask about and make (`run_external`)."""

    arguments: dict[str, Any] | None = None
    invoke: Invoke | None = None
    read_only: bool = False
    origin: str = ""  # where the tool comes from, in words for the consent prompt


def external_tool(name: str, description: str, parameters: dict[str, Any], invoke: Invoke, *,
                  read_only: bool = False, origin: str = "") -> ToolSpec:
    """A ToolSpec for a tool another program carries out; its JSON-schema `parameters` go to the
    model and to constrained decoding as they are (with local `$ref`s written out in place)."""
    schema = inline_refs(parameters) if isinstance(parameters, dict) else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    schema.pop("$defs", None)
    schema.pop("definitions", None)

    def run(ctx: ToolContext, **arguments: Any) -> ToolResult:
        argv = (PURPOSE, name, json.dumps(arguments, ensure_ascii=False, sort_keys=True))
        return ToolResult(f"Calling {name}", command=ExternalCall(argv, ".", PURPOSE, dict(arguments), invoke,
                                                                  read_only, origin))

    return ToolSpec(name, description, schema, run)


def run_external(gate, call_id: str, request: ExternalCall, cancel: threading.Event) -> Iterator[Event]:
    """Consent (unless the tool only reads), then the call; returns (text for the model, is_error)."""
    tool_key = request.argv[:2]
    if not request.read_only and not gate.permissions.allowed(tool_key):
        decision = yield from gate.approve(call_id, request.argv, request.cwd, PURPOSE, cancel, request.origin)
        if not decision.allowed:
            reason = decision.reason or "the user refused to call it"
            yield CommandFinished(call_id, tuple(request.argv), None, 0.0, refused=True, message=f"refused: {reason}")
            return f"The tool {request.argv[1]} was not called: {reason}.", True
        if decision.action == "always":
            try:
                gate.permissions.allow(tool_key)
            except ConsentNotSaved:
                pass  # the gate has said so already; allowed for this session
    if request.invoke is None:
        return f"The tool {request.argv[1]} cannot be called.", True
    text, is_error = request.invoke(dict(request.arguments or {}), cancel)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"\n…[{len(text) - MAX_RESULT_CHARS} more characters]"
    return text, is_error


def inline_refs(schema: dict[str, Any], depth: int = 8) -> dict[str, Any]:
    """A copy of `schema` with `{"$ref": "#/$defs/X"}` (or `#/definitions/X`) replaced by what it
    names, `depth` levels deep (deeper, or a ref to elsewhere: any value): the schema is then
    whole wherever it is put (inside a call's schema, in a grammar)."""
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}

    def walk(node: Any, level: int) -> Any:
        if isinstance(node, list):
            return [walk(item, level) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            key = ref.rsplit("/", 1)[-1]
            if ref.startswith(("#/$defs/", "#/definitions/")) and key in defs and level < depth:
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk({**copy.deepcopy(defs[key]), **rest}, level + 1)
            return {k: v for k, v in node.items() if k != "$ref"}
        return {k: walk(v, level) for k, v in node.items() if k not in ("$defs", "definitions")}

    return walk(copy.deepcopy(schema), 0)
