"""MCP tools as the agent's tools: ToolSpecs named SERVER.tool, and the share of a small
context they may take.

Every tool schema goes into every prompt, so on an 8k-context model a server with many tools
would leave no room for the conversation. The tools get a budget (a share of the model's
context for all tool schemas, the built-in ones included); when the MCP tools do not fit, the
largest are left out first, and `FittedTools.left_out` says which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..core.tools import ToolSpec, Toolbox
from ..core.tools.external import external_tool
from .manager import McpManager, McpTool

TOOL_SHARE = 0.25  # of the model's context, for all tool schemas together
DEFAULT_CONTEXT = 8192  # when the model is not known yet (the TUI loads it later)
DESCRIPTION_MAX_CHARS = 600


def estimate_tokens(schema: Any) -> int:
    """A schema's prompt cost, roughly (JSON text at ~4 characters a token)."""
    return len(json.dumps(schema, ensure_ascii=False)) // 4 + 1


@dataclass
class FittedTools:
    kept: list[McpTool] = field(default_factory=list)
    left_out: list[McpTool] = field(default_factory=list)
    budget: int = 0

    def notice(self) -> str:
        """One line when tools were left out, else ""."""
        if not self.left_out:
            return ""
        names = ", ".join(t.full_name for t in self.left_out[:8]) + (" …" if len(self.left_out) > 8 else "")
        return (f"MCP: {len(self.left_out)} tool(s) left out of the prompt to fit the model's context "
                f"(~{self.budget} tokens for tool schemas): {names}")


def tool_spec(manager: McpManager, tool: McpTool) -> ToolSpec:
    description = tool.description.strip() or f"{tool.name} (from the MCP server {tool.server})"
    if len(description) > DESCRIPTION_MAX_CHARS:
        description = description[:DESCRIPTION_MAX_CHARS].rstrip() + "…"

    def invoke(arguments: dict[str, Any], cancel) -> tuple[str, bool]:
        return manager.call(tool.server, tool.name, arguments, cancel)

    return external_tool(tool.full_name, description, tool.input_schema, invoke, read_only=tool.read_only,
                         origin=f"the MCP server {tool.server!r} (your settings)")


def fit(specs: Sequence[tuple[McpTool, ToolSpec]], builtin: Sequence[dict[str, Any]],
        context_length: int | None) -> FittedTools:
    """The MCP tools that fit the budget, largest left out first; in the servers' order."""
    budget = int((context_length or DEFAULT_CONTEXT) * TOOL_SHARE)
    room = budget - sum(estimate_tokens(s) for s in builtin)
    sizes = {id(tool): estimate_tokens(spec.schema()) for tool, spec in specs}
    left: set[int] = set()
    total = sum(sizes.values())
    for tool, _spec in sorted(specs, key=lambda pair: -sizes[id(pair[0])]):
        if total <= room:
            break
        left.add(id(tool))
        total -= sizes[id(tool)]
    return FittedTools([t for t, _ in specs if id(t) not in left], [t for t, _ in specs if id(t) in left], budget)


def add_tools(toolbox: Toolbox, manager: McpManager, context_length: int | None) -> FittedTools:
    """Add the ready servers' tools that fit to `toolbox` (those already there are kept)."""
    specs = [(tool, tool_spec(manager, tool)) for tool in manager.tools()]
    builtin = [s for s in toolbox.schemas() if "." not in s["function"]["name"]]
    fitted = fit(specs, builtin, context_length)
    wanted = {t.full_name for t in fitted.kept}
    toolbox.add(spec for tool, spec in specs if tool.full_name in wanted)
    manager.left_out = [t.full_name for t in fitted.left_out]
    return fitted
