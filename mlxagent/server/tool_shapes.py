"""Another API's tools and `tool_choice` as chat-completions ones.

The Messages and Responses APIs each describe tools their own way; a `ToolShape` says how
(what a tool looks like, how it becomes a chat `function`, which `tool_choice` names one
tool) and `chat_tools` / `chat_tool_choice` do the converting, so both APIs share one
converter while each keeps its own error messages. The chat request's own checks
(`parse_chat_request`) then apply as usual: a bad value is named there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .schemas import ApiError, bad_value


@dataclass(frozen=True)
class ToolShape:
    list_of: str  # what 'tools' must be, for the 400: "a list of tools"
    is_tool: Callable[[Any], bool]  # one item of 'tools' is a tool this server can offer
    refusal: str  # the 400 for an item that is not, after "'tools[i]' "
    function: Callable[[Mapping[str, Any]], dict[str, Any]]  # a tool as the chat tool's "function"
    named_choice: str  # the tool_choice "type" that names one tool
    # Other tool_choice types as the chat ones (a type not in it is passed on for the chat
    # checks to refuse); None: any other tool_choice is passed on as it is.
    choice_types: Mapping[str, str] | None = None

    def chat_tools(self, tools: Any) -> list[dict[str, Any]] | None:
        if tools is None:
            return None
        if not isinstance(tools, list):
            raise bad_value("tools", self.list_of, tools)
        out = []
        for i, tool in enumerate(tools):
            if not self.is_tool(tool):
                raise ApiError(400, f"'tools[{i}]' {self.refusal}", param=f"tools[{i}]", code="unsupported_parameter")
            out.append({"type": "function", "function": self.function(tool)})
        return out

    def chat_tool_choice(self, choice: Any) -> Any:
        if not isinstance(choice, Mapping):
            return choice  # parse_chat_request names a bad value
        kind = choice.get("type")
        if kind == self.named_choice:
            return {"type": "function", "function": {"name": choice.get("name")}}
        return choice if self.choice_types is None else self.choice_types.get(kind, kind)
