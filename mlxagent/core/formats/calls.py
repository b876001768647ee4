"""What parsing a model's output yields: its plain text, its tool calls, and what went wrong."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def call_arguments(call: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a saved OpenAI-style `tool_calls` entry as a dict ({} when they are not
    a JSON object)."""
    arguments = (call.get("function") or {}).get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return {}
    return arguments if isinstance(arguments, dict) else {}


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI `tool_calls` entry for this call (arguments as a JSON string, as the API has them)."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments, ensure_ascii=False)},
        }


@dataclass(frozen=True)
class ParsedOutput:
    content: str  # the text outside tool calls
    calls: list[ToolCall] = field(default_factory=list)
    # One corrective message per malformed call; the agent sends each back as a tool error.
    errors: list[str] = field(default_factory=list)
