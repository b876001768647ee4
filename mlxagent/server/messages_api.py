"""Anthropic's Messages API (`POST /v1/messages`) on the chat-completions machinery, so that
Claude Code and other Anthropic-API clients reach local models.

A request becomes a chat request (same validation, worker, prompt-cache pool, guard and
limits): `system` is the system message (with any `system`-role messages inside `messages`
joined to it, in order: Claude Code sends its environment so); text blocks are text; an assistant's `tool_use`
blocks are its tool calls; a user's `tool_result` blocks are tool results (each its own
tool message, before the rest of that user turn). Tools are `{name, description,
input_schema}`; `tool_choice` is auto / any / tool (by name) / none. Streaming sends
message_start, content_block_start / _delta (text_delta, input_json_delta) / _stop per
block, message_delta (stop_reason, output tokens) and message_stop; message_start reports the
prompt's tokens. Without `max_tokens` a reply may use the context the prompt leaves. Errors on
this endpoint are in Anthropic's shape (http_guard.py).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Mapping

from .chat_api import sse_event
from .schemas import ApiError, ChatRequest, bad_value, parse_chat_request
from .tool_shapes import ToolShape

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "stop_string": "stop_sequence"}


def _blocks(content: Any, where: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise bad_value(where, "a string or a list of content blocks", content)
    for i, block in enumerate(content):
        if not isinstance(block, Mapping) or block.get("type") not in ("text", "tool_use", "tool_result"):
            kind = block.get("type") if isinstance(block, Mapping) else block
            raise ApiError(400, f"'{where}[{i}]': content blocks of type {kind!r} are not supported "
                                "(text, tool_use, tool_result).", param=f"{where}[{i}]", code="unsupported_parameter")
    return content


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping) and b.get("type") == "text")
    return "" if content is None else json.dumps(content)


def _system_text(content: Any, where: str) -> str:
    return content if isinstance(content, str) else _result_text(_blocks(content, where))


def chat_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The request's `system` and `messages` as chat messages. A `system`-role message inside
    `messages` (Claude Code sends its environment so) stays a system message here; all of them
    join one system prompt, in order (schemas.template_turns)."""
    messages: list[dict[str, Any]] = []
    if body.get("system"):
        messages.append({"role": "system", "content": _system_text(body["system"], "system")})
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list.", param="messages", code="invalid_value")
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if isinstance(message, Mapping) and message.get("role") == "system":
            messages.append({"role": "system", "content": _system_text(message.get("content", ""), f"{where}.content")})
            continue
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
            role = message.get("role") if isinstance(message, Mapping) else message
            raise bad_value(f"{where}.role", '"user", "assistant" or "system"', role)
        blocks = _blocks(message.get("content", ""), f"{where}.content")
        text = "".join(str(b.get("text", "")) for b in blocks if b["type"] == "text")
        if message["role"] == "assistant":
            calls = [{"id": str(b.get("id") or f"toolu_{i}_{j}"), "type": "function",
                      "function": {"name": str(b.get("name", "")), "arguments": json.dumps(b.get("input") or {})}}
                     for j, b in enumerate(blocks) if b["type"] == "tool_use"]
            messages.append({"role": "assistant", "content": text, **({"tool_calls": calls} if calls else {})})
            continue
        for b in blocks:
            if b["type"] == "tool_result":
                result = _result_text(b.get("content"))
                messages.append({"role": "tool", "tool_call_id": str(b.get("tool_use_id", "")),
                                 "content": f"Error: {result}" if b.get("is_error") else result})
        if text or not any(b["type"] == "tool_result" for b in blocks):
            messages.append({"role": "user", "content": text})
    if all(m["role"] == "system" for m in messages):
        raise ApiError(400, "'messages' holds only system messages: send at least one user message.",
                       param="messages", code="invalid_value")
    return messages


TOOL_SHAPE = ToolShape(
    list_of="a list of tools",
    is_tool=lambda tool: isinstance(tool, Mapping) and isinstance(tool.get("name"), str) and "input_schema" in tool,
    refusal="must be a client tool with 'name' and 'input_schema' (server tools are not supported).",
    function=lambda tool: {"name": tool["name"], "description": tool.get("description", ""),
                           "parameters": tool["input_schema"]},
    named_choice="tool",
    choice_types={"auto": "auto", "any": "required", "none": "none"},
)


def parse_messages_request(body: Mapping[str, Any], guard_header: str | None = None) -> ChatRequest:
    chat: dict[str, Any] = {"model": body.get("model"), "messages": chat_messages(body),
                            "max_tokens": body.get("max_tokens"), "stream": body.get("stream", False)}
    for key in ("temperature", "top_p", "mlxagent"):
        if key in body:
            chat[key] = body[key]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    if (tools := TOOL_SHAPE.chat_tools(body.get("tools"))) is not None:
        chat["tools"] = tools
    if (choice := TOOL_SHAPE.chat_tool_choice(body.get("tool_choice"))) is not None:
        chat["tool_choice"] = choice
    try:
        return parse_chat_request(chat, guard_header)
    except ApiError as e:
        if e.param and e.param.startswith("stop"):
            e.param = "stop_sequences" + e.param[len("stop"):]
        raise


# ---------------------------------------------------------------- output

def message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


def usage(chat_usage: Mapping[str, Any]) -> dict[str, Any]:
    cached = int((chat_usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0))
    return {"input_tokens": int(chat_usage.get("prompt_tokens", 0)), "output_tokens":
            int(chat_usage.get("completion_tokens", 0)), "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": 0}


def tool_use_block(call: Mapping[str, Any]) -> dict[str, Any]:
    fn = call["function"]
    try:
        arguments = json.loads(fn["arguments"]) if fn["arguments"] else {}
    except json.JSONDecodeError:
        arguments = {"arguments": fn["arguments"]}
    return {"type": "tool_use", "id": call["id"], "name": fn["name"], "input": arguments}


def message_object(mid: str, model: str, text: str, calls: list[dict[str, Any]], finish_reason: str,
                   chat_usage: Mapping[str, Any], guard: dict[str, Any] | None) -> dict[str, Any]:
    content = ([{"type": "text", "text": text}] if text or not calls else []) + [tool_use_block(c) for c in calls]
    body = {"id": mid, "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": STOP_REASONS.get(finish_reason, "end_turn"), "stop_sequence": None,
            "usage": usage(chat_usage)}
    if guard is not None:
        body["mlxagent"] = {"guard": guard}
    return body


class EventWriter:
    """`event: TYPE` / `data: {...}` lines for one streamed message."""

    def __init__(self, model: str, input_tokens: int = 0) -> None:
        self.id = message_id()
        self.model = model
        self.input_tokens = input_tokens  # the prompt's, for message_start
        self.index = -1
        self.open_text = False

    @staticmethod
    def event(kind: str, **fields: Any) -> bytes:
        return sse_event(kind, {"type": kind, **fields})

    def start(self) -> list[bytes]:
        return [self.event("message_start", message={
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0}})]

    def text(self, delta: str) -> list[bytes]:
        out = []
        if not self.open_text:
            self.index += 1
            self.open_text = True
            out.append(self.event("content_block_start", index=self.index,
                                  content_block={"type": "text", "text": ""}))
        out.append(self.event("content_block_delta", index=self.index, delta={"type": "text_delta", "text": delta}))
        return out

    def _close_text(self) -> list[bytes]:
        if not self.open_text:
            return []
        self.open_text = False
        return [self.event("content_block_stop", index=self.index)]

    def calls(self, calls: list[dict[str, Any]]) -> list[bytes]:
        out = self._close_text()
        for call in calls:
            self.index += 1
            block = tool_use_block(call)
            out += [self.event("content_block_start", index=self.index,
                               content_block={**block, "input": {}}),
                    self.event("content_block_delta", index=self.index,
                               delta={"type": "input_json_delta", "partial_json": json.dumps(block["input"])}),
                    self.event("content_block_stop", index=self.index)]
        return out

    def finish(self, finish_reason: str, chat_usage: Mapping[str, Any], guard: dict[str, Any] | None) -> list[bytes]:
        extra = {"mlxagent": {"guard": guard}} if guard is not None else {}
        return self._close_text() + [
            self.event("message_delta", delta={"stop_reason": STOP_REASONS.get(finish_reason, "end_turn"),
                                               "stop_sequence": None}, usage=usage(chat_usage), **extra),
            self.event("message_stop")]

    def failed(self, error: Mapping[str, Any]) -> list[bytes]:
        kind = {"server_error": "api_error"}.get(str(error.get("type")), error.get("type") or "api_error")
        if error.get("code") == "shutting_down":
            kind = "overloaded_error"
        return [self.event("error", error={"type": kind, "message": error.get("message", "")})]
