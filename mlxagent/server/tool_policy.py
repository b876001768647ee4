"""The weak-tool-user policy on the server, as the local agent has it (AgentConfig.require_tool_calls).

A model whose chat template ignores `tools` (SmolLM2) was never taught to call them: under a
client's long system prompt it answers in prose and the client's loop ends at once. Offered
tools on a user's turn, such a model answers with a tool call held to the tools' schemas by the
grammar; after the client sends the tool's result back the model may answer in text. Which
models: `[server] weak_tools = { NAME = true | false }` (a key applies when it occurs in the
model's names, case-insensitively; the longest wins), else what the template says. One request
may say otherwise: `"mlxagent": {"weak_tools": false}` or the `X-Mlxagent-Weak-Tools` header.
The held call takes each tool's required arguments only, its free strings capped (`held_tools`).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..core.formats.schemas import arguments_schema, normalize_tools

# A held call's free strings stop here: a tiny model, made to call, can fill a `cmd` or a
# `content` with the same line until the context ends (seen with Codex's exec_command).
HELD_STRING_MAX_CHARS = 400
HELD_NUMBER_LIMIT = 10**6


def weak_tool_user(overrides: Mapping[str, bool], names: str, detected: bool) -> bool:
    """Whether the model going by `names` is held to tool calls (`detected`: what its template says)."""
    text = names.lower()
    matching = sorted((k for k in overrides if k.lower() in text), key=len)
    return bool(overrides[matching[-1]]) if matching else detected


def holds_to_a_call(messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: str) -> bool:
    """A user's turn with tools offered and the choice left to the model."""
    return bool(tools) and tool_choice == "auto" and bool(messages) and messages[-1]["role"] == "user"


def held_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tools as a held call may use them: required arguments only (where a tool names
    some), free strings at most HELD_STRING_MAX_CHARS long."""
    out = []
    for tool in normalize_tools(tools):
        fn = tool["function"]
        params = arguments_schema(fn)
        props, required = params.get("properties"), params.get("required")
        if isinstance(props, dict) and isinstance(required, list) and required:
            params["properties"] = {k: v for k, v in props.items() if k in required}
            params["additionalProperties"] = False
        out.append({"type": "function", "function": {**fn, "parameters": _capped(params)}})
    return out


def _capped(schema: Any) -> Any:
    """A copy of `schema` with every free string (no enum, const or pattern) length-capped and
    every free number bounded."""
    if isinstance(schema, list):
        return [_capped(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _capped(v) for k, v in schema.items()}
    if any(k in out for k in ("enum", "const", "pattern")):
        return out
    if out.get("type") == "string":
        out["maxLength"] = min(int(out.get("maxLength") or HELD_STRING_MAX_CHARS), HELD_STRING_MAX_CHARS)
    elif out.get("type") in ("integer", "number"):  # digits without end otherwise (a session id of 50 digits)
        out.setdefault("minimum", -HELD_NUMBER_LIMIT)
        out.setdefault("maximum", HELD_NUMBER_LIMIT)
    return out
